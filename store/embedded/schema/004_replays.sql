-- The replay audit log: one row per replay (latest state) and one per replayed message.
CREATE TABLE replays (
    id TEXT PRIMARY KEY, idempotency_key TEXT NOT NULL, requested_by TEXT NOT NULL, reason TEXT NOT NULL,
    request TEXT NOT NULL, target TEXT NOT NULL, state TEXT NOT NULL, total INTEGER NOT NULL, sent INTEGER NOT NULL,
    failed INTEGER NOT NULL, rate_per_sec REAL NOT NULL, created_ns INTEGER NOT NULL, started_ns INTEGER NOT NULL,
    finished_ns INTEGER NOT NULL, updated_ns INTEGER NOT NULL, error TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX replays_created ON replays (created_ns DESC, id DESC);
CREATE INDEX replays_key ON replays (idempotency_key) WHERE idempotency_key <> '';
CREATE TABLE replay_items (
    replay_id TEXT NOT NULL, seq INTEGER NOT NULL, dlq_id TEXT NOT NULL, event_id TEXT NOT NULL,
    new_event_id TEXT NOT NULL, system TEXT NOT NULL, destination TEXT NOT NULL, status TEXT NOT NULL,
    error TEXT NOT NULL, time_ns INTEGER NOT NULL,
    PRIMARY KEY (replay_id, seq)
) WITHOUT ROWID;
