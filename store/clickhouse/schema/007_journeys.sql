-- Journeys (issue #17). The ledger writer inserts one row per ledger
-- update into journey_ledger_in (Null engine: nothing is kept there; ord
-- is store.LedgerRank, at_ns the event's time, first_at the earliest
-- event's the update folds in, pl the state, step,
-- service, destination, op and reason joined by the byte 0x1F, eid the
-- event id); the
-- materialized view folds them into journey_ledger as aggregate states,
-- so a read merges at most a few rows per correlation: first_ns is the
-- minimum, has_start and rank the maximum, and place, event_id and
-- last_ns those of the greatest rank (store.LedgerRank: terminal states
-- above the others, then the furthest step, a dead-lettering, the latest
-- event). Each is a String or a UInt64: argMax of a tuple
-- is about ten times slower to merge on 18.16. Every merge is idempotent,
-- so a retried batch changes nothing. Partitioned by day (the update's)
-- like every table retention drops days of (migration 008).
CREATE TABLE IF NOT EXISTS journey_ledger_in (
    date Date,
    journey String,
    correlation_id String,
    at_ns UInt64,
    first_at UInt64,
    start UInt8,
    ord UInt64,
    pl String,
    eid String
) ENGINE = Null
;
CREATE TABLE IF NOT EXISTS journey_ledger (
    date Date,
    journey String,
    correlation_id String,
    first_ns AggregateFunction(min, UInt64),
    has_start AggregateFunction(max, UInt8),
    rank AggregateFunction(max, UInt64),
    place AggregateFunction(argMax, String, UInt64),
    event_id AggregateFunction(argMax, String, UInt64),
    last_ns AggregateFunction(argMax, UInt64, UInt64)
) ENGINE = AggregatingMergeTree() PARTITION BY date ORDER BY (journey, correlation_id)
;
CREATE MATERIALIZED VIEW IF NOT EXISTS journey_ledger_mv TO journey_ledger AS SELECT
    date, journey, correlation_id,
    minState(first_at) AS first_ns,
    maxState(start) AS has_start,
    maxState(ord) AS rank,
    argMaxState(pl, ord) AS place,
    argMaxState(eid, ord) AS event_id,
    argMaxState(at_ns, ord) AS last_ns
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
