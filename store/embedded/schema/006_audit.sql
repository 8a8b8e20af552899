-- Trust of DLQ entries (set by the collector for entries signed by a
-- trusted sidecar) and the append-only audit log: hash chains, one per
-- writer; triggers refuse UPDATE and DELETE through SQL.
ALTER TABLE dlq ADD COLUMN trusted INTEGER NOT NULL DEFAULT 0;
CREATE TABLE audit (
    writer TEXT NOT NULL, seq INTEGER NOT NULL, time_ns INTEGER NOT NULL, actor TEXT NOT NULL,
    action TEXT NOT NULL, subject TEXT NOT NULL, detail TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL,
    PRIMARY KEY (writer, seq)
) WITHOUT ROWID;
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
