-- Consumer-lag samples and dead-letter queue entries from the sidecar.
CREATE TABLE lag (
    time_ns INTEGER NOT NULL, system TEXT NOT NULL, cluster TEXT NOT NULL, group_name TEXT NOT NULL,
    topic TEXT NOT NULL, partition INTEGER NOT NULL, committed INTEGER NOT NULL, end_offset INTEGER NOT NULL,
    lag INTEGER NOT NULL, lag_seconds REAL NOT NULL, status TEXT NOT NULL, group_status TEXT NOT NULL,
    PRIMARY KEY (group_name, topic, partition, time_ns, system)
) WITHOUT ROWID;
CREATE INDEX lag_time ON lag (time_ns);
CREATE TABLE dlq (
    id TEXT PRIMARY KEY, time_ns INTEGER NOT NULL, system TEXT NOT NULL, source TEXT NOT NULL,
    source_partition INTEGER NOT NULL, source_offset INTEGER NOT NULL, original TEXT NOT NULL,
    original_partition INTEGER NOT NULL, original_offset INTEGER NOT NULL, reason TEXT NOT NULL,
    deliveries INTEGER NOT NULL, event_id TEXT NOT NULL, correlation_id TEXT NOT NULL, headers TEXT NOT NULL,
    payload BLOB, payload_size INTEGER NOT NULL, truncated INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX dlq_time ON dlq (time_ns DESC, id DESC);
