-- Alert rules made through the API (ReplacingMergeTree keeps the latest
-- write; reads use FINAL) and the alert history.
CREATE TABLE IF NOT EXISTS alert_rules (
    id String,
    spec String,
    deleted UInt8,
    updated_ns UInt64
) ENGINE = ReplacingMergeTree(updated_ns) ORDER BY (id)
;
CREATE TABLE IF NOT EXISTS alert_events (
    time_ns UInt64,
    rule_id String,
    status String,
    body String
) ENGINE = MergeTree() ORDER BY (time_ns, rule_id)
