-- Causeway schema v1. Runs on ClickHouse 18.16 and on current releases:
-- no DateTime64, Map, CTEs, JSONExtract or toStartOfInterval.
-- Statements are separated by a line holding only ";".

CREATE TABLE IF NOT EXISTS events (
    date Date,
    start_ns UInt64,
    trace_id String,
    span_id String,
    event_id String,
    event_type String,
    schema_version String,
    correlation_id String,
    causation_id String,
    parent_span_id String,
    links_trace_id Array(String),
    links_span_id Array(String),
    service String,
    handler String,
    system String,
    cluster String,
    destination String,
    partition Int32,
    offset Int64,
    consumer_group String,
    op String,
    outcome String,
    error String,
    attempt Int32,
    duration_ns UInt64,
    payload_size Int64,
    replay_of String,
    attr_keys Array(String),
    attr_values Array(String)
) ENGINE = MergeTree() PARTITION BY toYYYYMM(date) ORDER BY (start_ns, span_id)
;
-- Index tables: lookups by trace, correlation and event id read these
-- (sorted by the id) to find the time range, then the events table by
-- primary key within it.
CREATE TABLE IF NOT EXISTS events_by_trace (
    trace_id String, date Date, start_ns UInt64
) ENGINE = MergeTree() PARTITION BY toYYYYMM(date) ORDER BY (trace_id, start_ns)
;
CREATE MATERIALIZED VIEW IF NOT EXISTS events_by_trace_mv TO events_by_trace
AS SELECT trace_id, date, start_ns FROM events
;
CREATE TABLE IF NOT EXISTS events_by_correlation (
    correlation_id String, date Date, start_ns UInt64
) ENGINE = MergeTree() PARTITION BY toYYYYMM(date) ORDER BY (correlation_id, start_ns)
;
CREATE MATERIALIZED VIEW IF NOT EXISTS events_by_correlation_mv TO events_by_correlation
AS SELECT correlation_id, date, start_ns FROM events WHERE correlation_id != ''
;
CREATE TABLE IF NOT EXISTS events_by_event_id (
    event_id String, date Date, start_ns UInt64
) ENGINE = MergeTree() PARTITION BY toYYYYMM(date) ORDER BY (event_id, start_ns)
;
CREATE MATERIALIZED VIEW IF NOT EXISTS events_by_event_id_mv TO events_by_event_id
AS SELECT event_id, date, start_ns FROM events
;
CREATE TABLE IF NOT EXISTS spans (
    date Date,
    trace_id String,
    span_id String,
    parent_span_id String,
    service String,
    name String,
    kind String,
    start_ns UInt64,
    duration_ns UInt64,
    status_code String,
    status_message String,
    links_trace_id Array(String),
    links_span_id Array(String),
    attr_keys Array(String),
    attr_values Array(String)
) ENGINE = MergeTree() PARTITION BY toYYYYMM(date) ORDER BY (trace_id, span_id)
;
-- Edges are stored three times, each copy sorted for one lookup: by the
-- caused span's trace, by the causing span's trace, by the causing event id.
CREATE TABLE IF NOT EXISTS edges (
    date Date,
    from_trace_id String,
    from_span_id String,
    from_event_id String,
    to_trace_id String,
    to_span_id String,
    correlation_id String,
    kind String,
    start_ns UInt64
) ENGINE = MergeTree() PARTITION BY toYYYYMM(date) ORDER BY (to_trace_id, to_span_id)
;
CREATE TABLE IF NOT EXISTS edges_by_from_trace AS edges
ENGINE = MergeTree() PARTITION BY toYYYYMM(date) ORDER BY (from_trace_id, from_span_id)
;
CREATE MATERIALIZED VIEW IF NOT EXISTS edges_by_from_trace_mv TO edges_by_from_trace
AS SELECT * FROM edges WHERE from_trace_id != ''
;
CREATE TABLE IF NOT EXISTS edges_by_from_event AS edges
ENGINE = MergeTree() PARTITION BY toYYYYMM(date) ORDER BY (from_event_id)
;
CREATE MATERIALIZED VIEW IF NOT EXISTS edges_by_from_event_mv TO edges_by_from_event
AS SELECT * FROM edges WHERE from_event_id != ''
;
-- Flow map: per-minute aggregates fed by the events insert.
CREATE TABLE IF NOT EXISTS flows_1m (
    minute DateTime,
    service String,
    system String,
    destination String,
    consumer_group String,
    op String,
    count AggregateFunction(count),
    errors AggregateFunction(countIf, UInt8),
    durations AggregateFunction(quantiles(0.5, 0.99), UInt64)
) ENGINE = AggregatingMergeTree() PARTITION BY toYYYYMM(minute)
ORDER BY (minute, service, system, destination, consumer_group, op)
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
