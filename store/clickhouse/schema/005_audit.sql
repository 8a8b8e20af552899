-- Trust of DLQ entries (set by the collector for entries signed by a
-- trusted sidecar) and the append-only audit log: hash chains, one per
-- writer. Plain MergeTree: nothing is collapsed, so a record stored twice
-- or changed by ALTER shows up when the chain is verified.
ALTER TABLE dlq ADD COLUMN trusted UInt8
;
CREATE TABLE IF NOT EXISTS audit (
    writer String,
    seq UInt64,
    time_ns UInt64,
    actor String,
    action String,
    subject String,
    detail String,
    prev_hash String,
    hash String
) ENGINE = MergeTree() ORDER BY (writer, seq)
