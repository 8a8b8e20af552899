-- The stuck list's own copy of the journey ledger (issue #17): the stuck
-- query over 1,000,000 in-flight correlations folded journey_ledger's
-- String states (the place, the event id) in a hash table keyed by
-- correlation id, about 1.2 s of server CPU. journey_open keeps only what
-- the stuck query needs, each a number: the earliest time, whether a start
-- was seen, the greatest rank (terminal updates have bit 62) and the
-- place of the update of greatest rank as a 64-bit hash (cityHash64 of
-- journey_ledger_in's pl, bit 0 replaced by "dead-lettered"). Its rows are
-- read with FINAL, which merges each correlation's rows in sort order (no
-- hash table), so a stuck query reads four fixed-size states per
-- correlation. journey_places turns a place hash back into its fields
-- (a few rows per place and day). Two places of one journey with the same
-- 63-bit hash would share a group: with thousands of places, a chance
-- below 10^-12. Both fed from journey_ledger_in, like
-- journey_ledger, and partitioned by day for retention.
CREATE TABLE IF NOT EXISTS journey_open (
    date Date,
    journey String,
    correlation_id String,
    first_ns AggregateFunction(min, UInt64),
    has_start AggregateFunction(max, UInt8),
    rank AggregateFunction(max, UInt64),
    place AggregateFunction(argMax, UInt64, UInt64)
) ENGINE = AggregatingMergeTree() PARTITION BY date ORDER BY (journey, correlation_id)
;
CREATE TABLE IF NOT EXISTS journey_places (
    date Date,
    journey String,
    ph UInt64,
    pl String
) ENGINE = ReplacingMergeTree() PARTITION BY date ORDER BY (journey, ph)
;
CREATE MATERIALIZED VIEW IF NOT EXISTS journey_open_mv TO journey_open AS SELECT
    date, journey, correlation_id,
    minState(first_at) AS first_ns,
    maxState(start) AS has_start,
    maxState(ord) AS rank,
    argMaxState(bitOr(bitAnd(cityHash64(pl), 0xFFFFFFFFFFFFFFFE), toUInt64(startsWith(pl, 'dead_lettered\x1F'))), ord) AS place
FROM journey_ledger_in GROUP BY date, journey, correlation_id
;
CREATE MATERIALIZED VIEW IF NOT EXISTS journey_places_mv TO journey_places AS SELECT DISTINCT
    date, journey, bitOr(bitAnd(cityHash64(pl), 0xFFFFFFFFFFFFFFFE), toUInt64(startsWith(pl, 'dead_lettered\x1F'))) AS ph, pl
FROM journey_ledger_in
;
-- The ledger kept before this migration: each journey_ledger row is one
-- day's folded updates of a correlation, its place that of its greatest
-- rank.
INSERT INTO journey_open SELECT date, journey, correlation_id,
    minMergeState(first_ns), maxMergeState(has_start), maxMergeState(rank),
    argMaxState(bitOr(bitAnd(cityHash64(pl), 0xFFFFFFFFFFFFFFFE), toUInt64(startsWith(pl, 'dead_lettered\x1F'))), r)
FROM (SELECT date, journey, correlation_id, first_ns, has_start, rank,
    finalizeAggregation(place) AS pl, finalizeAggregation(rank) AS r FROM journey_ledger)
GROUP BY date, journey, correlation_id
;
INSERT INTO journey_places SELECT DISTINCT date, journey,
    bitOr(bitAnd(cityHash64(pl), 0xFFFFFFFFFFFFFFFE), toUInt64(startsWith(pl, 'dead_lettered\x1F'))), pl
FROM (SELECT date, journey, finalizeAggregation(place) AS pl FROM journey_ledger)
