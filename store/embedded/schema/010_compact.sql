-- Schema v2 (issue #15): a store 5× smaller and faster to write.
-- * Each messaging span is stored once: its event row carries what the
--   trace waterfall needs (name, kind, status, the attributes the event
--   does not keep), and spans keeps only plain spans.
-- * Trace, span and event ids that are lowercase hex are stored as bytes
--   (BLOB, half the size); other ids stay text.
-- * Strings that repeat (services, destinations, types, names, attribute
--   keys) are numbers into dict; everything a query does not filter on is
--   packed into one body column (see pack.go).
-- * events is a rowid table: its indexes carry a small row number, not
--   the 24-byte (trace_id, span_id) key.
-- * Parent, causation and same-trace link edges implied by an event row
--   are not stored again: Edges derives them (events_causation serves
--   lookups by the causing event's id); edges keeps the others.
-- * flow_minute holds per-minute flow-map aggregates kept on ingest.
-- The old tables are renamed here and copied into the new ones by the Go
-- half of this migration (upgrade.go), then dropped.
DROP INDEX events_start;
DROP INDEX events_correlation;
DROP INDEX events_event_id;
DROP INDEX events_service;
DROP INDEX events_flow;
DROP INDEX events_message_key;
DROP INDEX spans_start;
DROP INDEX edges_from_trace;
DROP INDEX edges_from_event;
DROP INDEX edges_start;
ALTER TABLE events RENAME TO events_v1;
ALTER TABLE spans RENAME TO spans_v1;
ALTER TABLE edges RENAME TO edges_v1;
CREATE TABLE dict (id INTEGER PRIMARY KEY, s TEXT NOT NULL UNIQUE);
CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    trace_id BLOB NOT NULL, span_id BLOB NOT NULL, start_ns INTEGER NOT NULL,
    service INTEGER NOT NULL, destination INTEGER NOT NULL, event_type INTEGER NOT NULL,
    op INTEGER NOT NULL, system INTEGER NOT NULL, consumer_group INTEGER NOT NULL,
    outcome TEXT NOT NULL, correlation_id TEXT NOT NULL, event_id BLOB NOT NULL,
    causation_id BLOB NOT NULL, message_key TEXT NOT NULL, body BLOB NOT NULL
);
CREATE UNIQUE INDEX events_key ON events (trace_id, span_id);
-- Newest-first pages and time windows; filters without an index of
-- their own (type, destination, outcome) read the window through it.
CREATE INDEX events_start ON events (start_ns);
-- Partial indexes: queries repeat "x != ''" so that SQLite uses them.
CREATE INDEX events_correlation ON events (correlation_id, start_ns) WHERE correlation_id != '';
CREATE INDEX events_message_key ON events (message_key, start_ns) WHERE message_key != '';
CREATE INDEX events_event_id ON events (event_id);
CREATE INDEX events_causation ON events (causation_id) WHERE causation_id != '';
CREATE INDEX events_service ON events (service, start_ns);
CREATE TABLE spans (
    trace_id BLOB NOT NULL, span_id BLOB NOT NULL, start_ns INTEGER NOT NULL, body BLOB NOT NULL,
    PRIMARY KEY (trace_id, span_id)
) WITHOUT ROWID;
CREATE INDEX spans_start ON spans (start_ns);
CREATE TABLE edges (
    from_trace_id BLOB NOT NULL, from_span_id BLOB NOT NULL, from_event_id BLOB NOT NULL,
    to_trace_id BLOB NOT NULL, to_span_id BLOB NOT NULL, correlation_id TEXT NOT NULL,
    kind TEXT NOT NULL, start_ns INTEGER NOT NULL,
    PRIMARY KEY (to_trace_id, to_span_id, from_trace_id, from_span_id, from_event_id, kind)
) WITHOUT ROWID;
CREATE INDEX edges_from_trace ON edges (from_trace_id) WHERE from_trace_id != '';
CREATE INDEX edges_from_event ON edges (from_event_id) WHERE from_event_id != '';
CREATE INDEX edges_start ON edges (start_ns);
-- One row per minute and flow-map row: counts, errors and a duration
-- histogram (hist.go) merged on ingest. minute_ns is the minute's start.
CREATE TABLE flow_minute (
    minute_ns INTEGER NOT NULL, service INTEGER NOT NULL, system INTEGER NOT NULL,
    destination INTEGER NOT NULL, consumer_group INTEGER NOT NULL, op INTEGER NOT NULL,
    count INTEGER NOT NULL, errors INTEGER NOT NULL, hist BLOB NOT NULL,
    PRIMARY KEY (minute_ns, service, system, destination, consumer_group, op)
) WITHOUT ROWID;
