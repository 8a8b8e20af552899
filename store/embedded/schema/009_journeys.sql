-- Journeys (issue #17). journey_ledger has one row per (journey,
-- correlation): the collector's ledger writer upserts it on ingest (see
-- ledger.go), first_ns and has_start keep their minimum and maximum, the
-- other columns come from the update with the greatest rank (terminal
-- states above the others, then the latest event).
CREATE TABLE journey_ledger (
    journey TEXT NOT NULL,
    correlation_id TEXT NOT NULL,
    first_ns INTEGER NOT NULL,
    has_start INTEGER NOT NULL,
    rank INTEGER NOT NULL,
    done INTEGER NOT NULL,
    last_ns INTEGER NOT NULL,
    step TEXT NOT NULL,
    service TEXT NOT NULL,
    destination TEXT NOT NULL,
    op TEXT NOT NULL,
    state TEXT NOT NULL,
    event_id TEXT NOT NULL,
    reason TEXT NOT NULL,
    PRIMARY KEY (journey, correlation_id)
) WITHOUT ROWID;
-- Two indexes, as every upsert maintains them: window statistics and
-- retention read entities by start (first_ns), the stuck list reads the
-- open ones (done = 0) of a journey.
CREATE INDEX journey_ledger_first ON journey_ledger (first_ns);
CREATE INDEX journey_ledger_open ON journey_ledger (journey, first_ns) WHERE done = 0;
-- Journeys defined through the API (latest write wins).
CREATE TABLE journeys (
    name TEXT PRIMARY KEY, spec TEXT NOT NULL, deleted INTEGER NOT NULL, updated_ns INTEGER NOT NULL
) WITHOUT ROWID;
