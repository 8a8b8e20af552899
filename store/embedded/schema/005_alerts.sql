-- Alert rules made through the API (latest write wins) and the alert history.
CREATE TABLE alert_rules (
    id TEXT PRIMARY KEY, spec TEXT NOT NULL, deleted INTEGER NOT NULL, updated_ns INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE alert_events (
    time_ns INTEGER NOT NULL, rule_id TEXT NOT NULL, status TEXT NOT NULL, body TEXT NOT NULL
);
CREATE INDEX alert_events_time ON alert_events (time_ns DESC);
