-- The journey ledger's write cost (issue #17): each ledger insert fed
-- three materialized views, each writing a part (journey_ledger,
-- journey_open, journey_places), and on this server a part costs more
-- than folding the 2,000 updates of a batch into it: the three took about
-- half of the server CPU of the batch's own insert. Now one view feeds
-- one table:
-- * journey_open keeps the whole entry: besides its numbers (earliest
--   time, start seen, rank, the place's hash) the event id and time of
--   the update of greatest rank, which only journey_ledger had. The
--   ledger's reads merge journey_open and name places from
--   journey_places.
-- * journey_places is written by the store only for the places it has not
--   written yet (a handful per day, not one row per update through a
--   DISTINCT view): into journey_places_in, whose view computes the hash
--   journey_open_mv computes.
-- journey_ledger is no longer written: its rows are copied into
-- journey_open below and retention empties it day by day.
ALTER TABLE journey_open ADD COLUMN event_id AggregateFunction(argMax, String, UInt64),
    ADD COLUMN last_ns AggregateFunction(argMax, UInt64, UInt64)
;
DROP TABLE IF EXISTS journey_ledger_mv
;
DROP TABLE IF EXISTS journey_open_mv
;
DROP TABLE IF EXISTS journey_places_mv
;
CREATE MATERIALIZED VIEW IF NOT EXISTS journey_open_mv TO journey_open AS SELECT
    date, journey, correlation_id,
    minState(first_at) AS first_ns,
    maxState(start) AS has_start,
    maxState(ord) AS rank,
    argMaxState(bitOr(bitAnd(cityHash64(pl), 0xFFFFFFFFFFFFFFFE), toUInt64(startsWith(pl, 'dead_lettered\x1F'))), ord) AS place,
    argMaxState(eid, ord) AS event_id,
    argMaxState(at_ns, ord) AS last_ns
FROM journey_ledger_in GROUP BY date, journey, correlation_id
;
CREATE TABLE IF NOT EXISTS journey_places_in (
    date Date,
    journey String,
    pl String
) ENGINE = Null
;
CREATE MATERIALIZED VIEW IF NOT EXISTS journey_places_in_mv TO journey_places AS SELECT
    date, journey, bitOr(bitAnd(cityHash64(pl), 0xFFFFFFFFFFFFFFFE), toUInt64(startsWith(pl, 'dead_lettered\x1F'))) AS ph, pl
FROM journey_places_in
;
-- The event ids and times of the entries kept before this migration (the
-- other columns of these rows are empty states, which merge as nothing).
INSERT INTO journey_open (date, journey, correlation_id, event_id, last_ns)
SELECT date, journey, correlation_id, event_id, last_ns FROM journey_ledger
