package clickhouse

// messageKeyIndex is the index table a lookup by message key reads first
// (schema 006, fed by events_by_message_key_mv), in the shape of Events'
// list of id filters: no ids when the query has no key.
func messageKeyIndex(key string) struct {
	table, col string
	ids        []string
} {
	return struct {
		table, col string
		ids        []string
	}{"events_by_message_key", "message_key", nonEmpty(key)}
}
