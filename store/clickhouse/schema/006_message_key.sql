-- Message keys (issue #14): the Kafka record key or NATS Nats-Msg-Id an
-- instrumentation records, which users search by when no span carries a
-- correlation id. Looked up like correlation ids: an index table sorted
-- by the key, fed by a materialized view, gives the time range to read
-- from the events table.
ALTER TABLE events ADD COLUMN message_key String AFTER causation_id
;
CREATE TABLE IF NOT EXISTS events_by_message_key (
    message_key String, date Date, start_ns UInt64
) ENGINE = MergeTree() PARTITION BY toYYYYMM(date) ORDER BY (message_key, start_ns)
;
CREATE MATERIALIZED VIEW IF NOT EXISTS events_by_message_key_mv TO events_by_message_key
AS SELECT message_key, date, start_ns FROM events WHERE message_key != ''
