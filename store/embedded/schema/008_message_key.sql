-- Message keys (issue #14): the Kafka record key or NATS Nats-Msg-Id an
-- instrumentation records, which users search by when no span carries a
-- correlation id. Partial index: only keyed events pay for it, and
-- queries repeat "message_key != ''" so that SQLite uses it; start_ns
-- serves newest-first pages of a key many messages share.
ALTER TABLE events ADD COLUMN message_key TEXT NOT NULL DEFAULT '';
CREATE INDEX events_message_key ON events (message_key, start_ns) WHERE message_key != '';
