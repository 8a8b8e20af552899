-- The journey ledger's write cost (issue #17): each ledger row carried
-- its place (state, step, service, destination, op and reason) as six
-- strings, bound and stored again for every update although a journey
-- has a handful of places. journey_places keeps each place once; a
-- ledger row holds its number (place), which the writer looks up (or
-- adds) once per place and batch. journey_entries is the ledger as it
-- read before, which the queries read.
CREATE TABLE journey_places (
    id INTEGER PRIMARY KEY,
    state TEXT NOT NULL,
    step TEXT NOT NULL,
    service TEXT NOT NULL,
    destination TEXT NOT NULL,
    op TEXT NOT NULL,
    reason TEXT NOT NULL
);
CREATE UNIQUE INDEX journey_places_key ON journey_places (step, service, destination, op, state, reason);
INSERT INTO journey_places (state, step, service, destination, op, reason)
    SELECT DISTINCT state, step, service, destination, op, reason FROM journey_ledger;
CREATE TABLE journey_ledger_v2 (
    journey TEXT NOT NULL,
    correlation_id TEXT NOT NULL,
    first_ns INTEGER NOT NULL,
    has_start INTEGER NOT NULL,
    rank INTEGER NOT NULL,
    done INTEGER NOT NULL,
    last_ns INTEGER NOT NULL,
    place INTEGER NOT NULL,
    event_id TEXT NOT NULL,
    PRIMARY KEY (journey, correlation_id)
) WITHOUT ROWID;
INSERT INTO journey_ledger_v2
    SELECT l.journey, l.correlation_id, l.first_ns, l.has_start, l.rank, l.done, l.last_ns, p.id, l.event_id
    FROM journey_ledger l JOIN journey_places p USING (step, service, destination, op, state, reason);
DROP TABLE journey_ledger;
ALTER TABLE journey_ledger_v2 RENAME TO journey_ledger;
CREATE INDEX journey_ledger_first ON journey_ledger (first_ns);
CREATE INDEX journey_ledger_open ON journey_ledger (journey, first_ns) WHERE done = 0;
CREATE VIEW journey_entries AS
    SELECT l.journey, l.correlation_id, l.first_ns, l.has_start, l.rank, l.done, l.last_ns, l.event_id,
        p.state, p.step, p.service, p.destination, p.op, p.reason
    FROM journey_ledger l JOIN journey_places p ON p.id = l.place;
