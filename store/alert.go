package store

import "context"

// AlertRuleRecord is an alert rule as the alert engine keeps it: its spec
// (the engine's encoding, webhook secrets included) and whether it was
// deleted. The latest write of an ID wins.
type AlertRuleRecord struct {
	ID        string
	Spec      string
	Deleted   bool
	UpdatedNS uint64
}

// AlertEventRecord is one alert transition (firing, resolved, test) in
// the engine's encoding.
type AlertEventRecord struct {
	TimeNS uint64
	RuleID string
	Status string
	Body   string
}

// AlertLog keeps the alert rules made through the API and the alert
// history, so that both survive a restart. Writes are durable when they
// return.
type AlertLog interface {
	// PutAlertRule stores r, replacing earlier writes of r.ID with an
	// older or equal UpdatedNS.
	PutAlertRule(ctx context.Context, r AlertRuleRecord) error
	// AlertRules returns the latest write of every rule not deleted, by ID.
	AlertRules(ctx context.Context) ([]AlertRuleRecord, error)
	// PutAlertEvent appends an alert event.
	PutAlertEvent(ctx context.Context, e AlertEventRecord) error
	// AlertEvents returns at most limit events (0 means DefaultLimit),
	// newest first.
	AlertEvents(ctx context.Context, limit int) ([]AlertEventRecord, error)
}
