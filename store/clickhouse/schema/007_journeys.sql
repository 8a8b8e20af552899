-- Journeys (issue #17). The ledger writer inserts one row per (journey,
-- correlation) and batch into journey_ledger_in (Null engine: nothing is
-- kept there); the materialized view folds them into journey_ledger as
-- aggregate states, so a read merges at most a few rows per correlation:
-- first_ns is the minimum, has_start and rank the maximum, and `last` is
-- the row of the greatest rank (terminal states above the others, then
-- the latest event). Every merge is idempotent, so a retried batch changes
-- nothing. ORDER BY keeps each day's states apart for retention.
CREATE TABLE IF NOT EXISTS journey_ledger_in (
    date Date,
    journey String,
    correlation_id String,
    first_ns UInt64,
    has_start UInt8,
    rank UInt64,
    last_ns UInt64,
    step String,
    service String,
    destination String,
    op String,
    state String,
    event_id String,
    reason String
) ENGINE = Null
;
CREATE TABLE IF NOT EXISTS journey_ledger (
    date Date,
    journey String,
    correlation_id String,
    first_ns AggregateFunction(min, UInt64),
    has_start AggregateFunction(max, UInt8),
    rank AggregateFunction(max, UInt64),
    last AggregateFunction(argMax, Tuple(UInt64, String, String, String, String, String, String, String), UInt64)
) ENGINE = AggregatingMergeTree() PARTITION BY toYYYYMM(date) ORDER BY (journey, correlation_id, date)
;
CREATE MATERIALIZED VIEW IF NOT EXISTS journey_ledger_mv TO journey_ledger AS SELECT
    date, journey, correlation_id,
    minState(first_ns) AS first_ns,
    maxState(has_start) AS has_start,
    maxState(rank) AS rank,
    argMaxState(tuple(last_ns, step, service, destination, op, state, event_id, reason), rank) AS last
FROM journey_ledger_in GROUP BY date, journey, correlation_id
;
-- Journeys defined through the API (ReplacingMergeTree keeps the latest
-- write; reads use FINAL).
CREATE TABLE IF NOT EXISTS journeys (
    name String,
    spec String,
    deleted UInt8,
    updated_ns UInt64
) ENGINE = ReplacingMergeTree(updated_ns) ORDER BY (name)
