-- Broker state from the sidecar: consumer-lag samples and DLQ arrivals.
CREATE TABLE IF NOT EXISTS lag (
    date Date,
    time_ns UInt64,
    system String,
    cluster String,
    group_name String,
    topic String,
    partition Int32,
    committed Int64,
    end_offset Int64,
    lag Int64,
    lag_seconds Float64,
    status String,
    group_status String
) ENGINE = MergeTree() PARTITION BY toYYYYMM(date) ORDER BY (group_name, topic, partition, time_ns)
;
CREATE TABLE IF NOT EXISTS dlq (
    date Date,
    id String,
    time_ns UInt64,
    system String,
    source String,
    source_partition Int32,
    source_offset Int64,
    original String,
    original_partition Int32,
    original_offset Int64,
    reason String,
    deliveries Int64,
    event_id String,
    correlation_id String,
    header_keys Array(String),
    header_values Array(String),
    payload String,
    payload_size Int64,
    truncated UInt8
) ENGINE = ReplacingMergeTree() PARTITION BY toYYYYMM(date) ORDER BY (id)
