-- Each messaging span stored once (issue #15): the event's row keeps
-- what its span has beyond the event (spans.go), and the span is no
-- longer a row of the spans table too. span = 1 marks the rows holding a
-- span; span_attr_keys/values are the span's attributes the event's
-- attributes lack (those its mapping took out: messaging.system, …).
ALTER TABLE events
    ADD COLUMN span UInt8,
    ADD COLUMN span_name String,
    ADD COLUMN span_kind String,
    ADD COLUMN status_code String,
    ADD COLUMN status_message String,
    ADD COLUMN span_attr_keys Array(String),
    ADD COLUMN span_attr_values Array(String)
