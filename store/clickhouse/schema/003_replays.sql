-- The replay audit log. Every progress write of a replay is a new row;
-- ReplacingMergeTree keeps the one with the highest updated_ns and reads
-- use FINAL, so a reader never sees two versions.
CREATE TABLE IF NOT EXISTS replays (
    id String,
    idempotency_key String,
    requested_by String,
    reason String,
    request String,
    target String,
    state String,
    total Int64,
    sent Int64,
    failed Int64,
    rate_per_sec Float64,
    created_ns UInt64,
    started_ns UInt64,
    finished_ns UInt64,
    updated_ns UInt64,
    error String
) ENGINE = ReplacingMergeTree(updated_ns) ORDER BY (id)
;
CREATE TABLE IF NOT EXISTS replay_items (
    replay_id String,
    seq Int64,
    dlq_id String,
    event_id String,
    new_event_id String,
    system String,
    destination String,
    status String,
    error String,
    time_ns UInt64
) ENGINE = ReplacingMergeTree(time_ns) ORDER BY (replay_id, seq)
