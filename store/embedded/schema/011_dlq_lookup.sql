-- A correlation's or an event's dead letters (issue #17 item 6): the
-- causation graph of an entity opens its DLQ entry in one request, not by
-- reading the newest pages. Partial indexes: entries without the id do not
-- pay for them, and DLQ repeats "col != ''" so that SQLite uses them;
-- time_ns and id serve pages newest first.
CREATE INDEX dlq_correlation ON dlq (correlation_id, time_ns DESC, id DESC) WHERE correlation_id != '';
CREATE INDEX dlq_event_id ON dlq (event_id, time_ns DESC, id DESC) WHERE event_id != '';
