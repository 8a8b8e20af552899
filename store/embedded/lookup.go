package embedded

// messageKey narrows a query to the events of messages with key k (schema
// 008): the second term lets SQLite use the partial index
// events_message_key, which holds keyed events only.
func (w *where) messageKey(k string) {
	if k != "" {
		w.add("message_key = ? AND message_key != ''", k)
	}
}
