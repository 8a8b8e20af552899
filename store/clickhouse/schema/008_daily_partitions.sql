-- Daily partitions (issue #15): every table retention deletes from by
-- date was partitioned by month, so a pass could drop only whole months
-- and had to rewrite the horizon's month with a mutation. Partitioned by
-- day, a pass drops whole days (ALTER TABLE ... DROP PARTITION, instant)
-- and rows go within a day of passing the horizon.
--
-- ClickHouse 18.16 cannot change a table's partition key, so each table
-- is copied: a new table <t>_daily with the same columns and sort key,
-- INSERT ... SELECT of every row, then the two swap names and the monthly
-- copy is dropped. The materialized views feeding the index tables, the
-- edge copies and the flow aggregates are dropped first (so the copies
-- do not feed them twice) and made again at the end, as in 001 and 006.
-- The tables read by id (the index tables, the three edge copies and
-- spans) get granules of 1,024 rows instead of 8,192: a lookup reads at
-- least a granule per part, and a causation graph reads a few per
-- table, so they read an eighth of the rows (the marks cost a fraction
-- of a byte per row).
-- Stop every writer while it runs: rows inserted into a table after its
-- copy started and before the swap are not carried over. A copy that
-- failed half-way is dropped and made again when the migration reruns;
-- if the swap went through but the monthly table was not dropped yet,
-- the rerun stops at the RENAME with "<t>_monthly already exists" and the
-- data is whole in <t>: drop <t>_monthly and open again.
DROP TABLE IF EXISTS events_by_trace_mv
;
DROP TABLE IF EXISTS events_by_correlation_mv
;
DROP TABLE IF EXISTS events_by_event_id_mv
;
DROP TABLE IF EXISTS events_by_message_key_mv
;
DROP TABLE IF EXISTS edges_by_from_trace_mv
;
DROP TABLE IF EXISTS edges_by_from_event_mv
;
DROP TABLE IF EXISTS flows_1m_mv
;
DROP TABLE IF EXISTS events_daily
;
CREATE TABLE events_daily AS events ENGINE = MergeTree() PARTITION BY date ORDER BY (start_ns, span_id)
;
INSERT INTO events_daily SELECT * FROM events
;
RENAME TABLE events TO events_monthly, events_daily TO events
;
DROP TABLE events_monthly
;
DROP TABLE IF EXISTS events_by_trace_daily
;
CREATE TABLE events_by_trace_daily AS events_by_trace ENGINE = MergeTree() PARTITION BY date ORDER BY (trace_id, start_ns)
SETTINGS index_granularity = 1024
;
INSERT INTO events_by_trace_daily SELECT * FROM events_by_trace
;
RENAME TABLE events_by_trace TO events_by_trace_monthly, events_by_trace_daily TO events_by_trace
;
DROP TABLE events_by_trace_monthly
;
DROP TABLE IF EXISTS events_by_correlation_daily
;
CREATE TABLE events_by_correlation_daily AS events_by_correlation ENGINE = MergeTree() PARTITION BY date ORDER BY (correlation_id, start_ns)
SETTINGS index_granularity = 1024
;
INSERT INTO events_by_correlation_daily SELECT * FROM events_by_correlation
;
RENAME TABLE events_by_correlation TO events_by_correlation_monthly, events_by_correlation_daily TO events_by_correlation
;
DROP TABLE events_by_correlation_monthly
;
DROP TABLE IF EXISTS events_by_event_id_daily
;
CREATE TABLE events_by_event_id_daily AS events_by_event_id ENGINE = MergeTree() PARTITION BY date ORDER BY (event_id, start_ns)
SETTINGS index_granularity = 1024
;
INSERT INTO events_by_event_id_daily SELECT * FROM events_by_event_id
;
RENAME TABLE events_by_event_id TO events_by_event_id_monthly, events_by_event_id_daily TO events_by_event_id
;
DROP TABLE events_by_event_id_monthly
;
DROP TABLE IF EXISTS events_by_message_key_daily
;
CREATE TABLE events_by_message_key_daily AS events_by_message_key ENGINE = MergeTree() PARTITION BY date ORDER BY (message_key, start_ns)
SETTINGS index_granularity = 1024
;
INSERT INTO events_by_message_key_daily SELECT * FROM events_by_message_key
;
RENAME TABLE events_by_message_key TO events_by_message_key_monthly, events_by_message_key_daily TO events_by_message_key
;
DROP TABLE events_by_message_key_monthly
;
DROP TABLE IF EXISTS spans_daily
;
CREATE TABLE spans_daily AS spans ENGINE = MergeTree() PARTITION BY date ORDER BY (trace_id, span_id)
SETTINGS index_granularity = 1024
;
INSERT INTO spans_daily SELECT * FROM spans
;
RENAME TABLE spans TO spans_monthly, spans_daily TO spans
;
DROP TABLE spans_monthly
;
DROP TABLE IF EXISTS edges_daily
;
CREATE TABLE edges_daily AS edges ENGINE = MergeTree() PARTITION BY date ORDER BY (to_trace_id, to_span_id)
SETTINGS index_granularity = 1024
;
INSERT INTO edges_daily SELECT * FROM edges
;
RENAME TABLE edges TO edges_monthly, edges_daily TO edges
;
DROP TABLE edges_monthly
;
DROP TABLE IF EXISTS edges_by_from_trace_daily
;
CREATE TABLE edges_by_from_trace_daily AS edges_by_from_trace ENGINE = MergeTree() PARTITION BY date ORDER BY (from_trace_id, from_span_id)
SETTINGS index_granularity = 1024
;
INSERT INTO edges_by_from_trace_daily SELECT * FROM edges_by_from_trace
;
RENAME TABLE edges_by_from_trace TO edges_by_from_trace_monthly, edges_by_from_trace_daily TO edges_by_from_trace
;
DROP TABLE edges_by_from_trace_monthly
;
DROP TABLE IF EXISTS edges_by_from_event_daily
;
CREATE TABLE edges_by_from_event_daily AS edges_by_from_event ENGINE = MergeTree() PARTITION BY date ORDER BY (from_event_id)
SETTINGS index_granularity = 1024
;
INSERT INTO edges_by_from_event_daily SELECT * FROM edges_by_from_event
;
RENAME TABLE edges_by_from_event TO edges_by_from_event_monthly, edges_by_from_event_daily TO edges_by_from_event
;
DROP TABLE edges_by_from_event_monthly
;
DROP TABLE IF EXISTS flows_1m_daily
;
CREATE TABLE flows_1m_daily AS flows_1m ENGINE = AggregatingMergeTree() PARTITION BY toDate(minute) ORDER BY (minute, service, system, destination, consumer_group, op)
;
INSERT INTO flows_1m_daily SELECT * FROM flows_1m
;
RENAME TABLE flows_1m TO flows_1m_monthly, flows_1m_daily TO flows_1m
;
DROP TABLE flows_1m_monthly
;
DROP TABLE IF EXISTS lag_daily
;
CREATE TABLE lag_daily AS lag ENGINE = MergeTree() PARTITION BY date ORDER BY (group_name, topic, partition, time_ns)
;
INSERT INTO lag_daily SELECT * FROM lag
;
RENAME TABLE lag TO lag_monthly, lag_daily TO lag
;
DROP TABLE lag_monthly
;
DROP TABLE IF EXISTS dlq_daily
;
CREATE TABLE dlq_daily AS dlq ENGINE = ReplacingMergeTree() PARTITION BY date ORDER BY (id)
;
INSERT INTO dlq_daily SELECT * FROM dlq
;
RENAME TABLE dlq TO dlq_monthly, dlq_daily TO dlq
;
DROP TABLE dlq_monthly
;
CREATE MATERIALIZED VIEW IF NOT EXISTS events_by_trace_mv TO events_by_trace
AS SELECT trace_id, date, start_ns FROM events
;
CREATE MATERIALIZED VIEW IF NOT EXISTS events_by_correlation_mv TO events_by_correlation
AS SELECT correlation_id, date, start_ns FROM events WHERE correlation_id != ''
;
CREATE MATERIALIZED VIEW IF NOT EXISTS events_by_event_id_mv TO events_by_event_id
AS SELECT event_id, date, start_ns FROM events
;
CREATE MATERIALIZED VIEW IF NOT EXISTS events_by_message_key_mv TO events_by_message_key
AS SELECT message_key, date, start_ns FROM events WHERE message_key != ''
;
CREATE MATERIALIZED VIEW IF NOT EXISTS edges_by_from_trace_mv TO edges_by_from_trace
AS SELECT * FROM edges WHERE from_trace_id != ''
;
CREATE MATERIALIZED VIEW IF NOT EXISTS edges_by_from_event_mv TO edges_by_from_event
AS SELECT * FROM edges WHERE from_event_id != ''
;
CREATE MATERIALIZED VIEW IF NOT EXISTS flows_1m_mv TO flows_1m
AS SELECT
    toStartOfMinute(toDateTime(intDiv(start_ns, 1000000000))) AS minute,
    service, system, destination, consumer_group, op,
    countState() AS count,
    countIfState(outcome != 'ok') AS errors,
    quantilesState(0.5, 0.99)(duration_ns) AS durations
FROM events
GROUP BY minute, service, system, destination, consumer_group, op
