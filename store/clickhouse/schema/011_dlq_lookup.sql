-- A correlation's or an event's dead letters (issue #17 item 6): the
-- causation graph of an entity opens its DLQ entry in one request, not by
-- reading the newest pages. dlq is sorted by id; these index tables,
-- sorted by the correlation or event id and fed by materialized views,
-- give the entries' ids, which DLQ then reads from dlq by its key. Both
-- partitioned by day, like dlq, for retention.
CREATE TABLE IF NOT EXISTS dlq_by_correlation (
    correlation_id String, date Date, id String
) ENGINE = MergeTree() PARTITION BY date ORDER BY (correlation_id, id)
;
CREATE TABLE IF NOT EXISTS dlq_by_event_id (
    event_id String, date Date, id String
) ENGINE = MergeTree() PARTITION BY date ORDER BY (event_id, id)
;
CREATE MATERIALIZED VIEW IF NOT EXISTS dlq_by_correlation_mv TO dlq_by_correlation
AS SELECT correlation_id, date, id FROM dlq WHERE correlation_id != ''
;
CREATE MATERIALIZED VIEW IF NOT EXISTS dlq_by_event_id_mv TO dlq_by_event_id
AS SELECT event_id, date, id FROM dlq WHERE event_id != ''
;
-- The entries stored before this migration.
INSERT INTO dlq_by_correlation SELECT correlation_id, date, id FROM dlq FINAL WHERE correlation_id != ''
;
INSERT INTO dlq_by_event_id SELECT event_id, date, id FROM dlq FINAL WHERE event_id != ''
