-- Retention (issue #15) deletes spans and edges by start time in bounded
-- batches: these indexes find the oldest rows without scanning the tables.
CREATE INDEX spans_start ON spans (start_ns);
CREATE INDEX edges_start ON edges (start_ns);
