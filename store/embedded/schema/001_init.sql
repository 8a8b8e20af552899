-- Events, causation edges and spans. Every table is keyed so that a
-- re-written row is ignored (INSERT OR IGNORE): retried batches never
-- duplicate rows. Links and attributes are JSON text ('' when empty).
CREATE TABLE events (
    trace_id TEXT NOT NULL, span_id TEXT NOT NULL, event_id TEXT NOT NULL,
    event_type TEXT NOT NULL, schema_version TEXT NOT NULL, correlation_id TEXT NOT NULL,
    causation_id TEXT NOT NULL, parent_span_id TEXT NOT NULL, links TEXT NOT NULL,
    service TEXT NOT NULL, handler TEXT NOT NULL, system TEXT NOT NULL, cluster TEXT NOT NULL,
    destination TEXT NOT NULL, partition INTEGER NOT NULL, "offset" INTEGER NOT NULL,
    consumer_group TEXT NOT NULL, op TEXT NOT NULL, outcome TEXT NOT NULL, error TEXT NOT NULL,
    attempt INTEGER NOT NULL, start_ns INTEGER NOT NULL, duration_ns INTEGER NOT NULL,
    payload_size INTEGER NOT NULL, replay_of TEXT NOT NULL, attributes TEXT NOT NULL,
    PRIMARY KEY (trace_id, span_id)
) WITHOUT ROWID;
-- Newest-first pages and time windows.
CREATE INDEX events_start ON events (start_ns DESC, span_id DESC);
-- Partial indexes: queries must repeat "correlation_id != ''" (and the
-- like) for SQLite to use them; the plan test checks that they do.
CREATE INDEX events_correlation ON events (correlation_id, start_ns) WHERE correlation_id != '';
CREATE INDEX events_event_id ON events (event_id);
CREATE INDEX events_service ON events (service, start_ns DESC);
-- The primary key serves lookups by to_trace_id.
CREATE TABLE edges (
    from_trace_id TEXT NOT NULL, from_span_id TEXT NOT NULL, from_event_id TEXT NOT NULL,
    to_trace_id TEXT NOT NULL, to_span_id TEXT NOT NULL, correlation_id TEXT NOT NULL,
    kind TEXT NOT NULL, start_ns INTEGER NOT NULL,
    PRIMARY KEY (to_trace_id, to_span_id, from_trace_id, from_span_id, from_event_id, kind)
) WITHOUT ROWID;
CREATE INDEX edges_from_trace ON edges (from_trace_id) WHERE from_trace_id != '';
CREATE INDEX edges_from_event ON edges (from_event_id) WHERE from_event_id != '';
CREATE TABLE spans (
    trace_id TEXT NOT NULL, span_id TEXT NOT NULL, parent_span_id TEXT NOT NULL,
    service TEXT NOT NULL, name TEXT NOT NULL, kind TEXT NOT NULL,
    start_ns INTEGER NOT NULL, duration_ns INTEGER NOT NULL,
    status_code TEXT NOT NULL, status_message TEXT NOT NULL, links TEXT NOT NULL, attributes TEXT NOT NULL,
    PRIMARY KEY (trace_id, span_id)
) WITHOUT ROWID;
