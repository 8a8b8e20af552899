package clickhouse

import (
	"context"
	"fmt"

	"github.com/causeway-dev/causeway/store"
)

// PutAlertRule implements store.AlertLog.
func (s *Store) PutAlertRule(ctx context.Context, r store.AlertRuleRecord) error {
	var deleted uint8
	if r.Deleted {
		deleted = 1
	}
	return s.insert(ctx, "alert_rules", "id, spec, deleted, updated_ns", 1, func(int) []any {
		return []any{r.ID, r.Spec, deleted, r.UpdatedNS}
	})
}

// AlertRules implements store.AlertLog.
func (s *Store) AlertRules(ctx context.Context) ([]store.AlertRuleRecord, error) {
	rows, err := s.conn.Query(ctx, "SELECT id, spec, updated_ns FROM alert_rules FINAL WHERE deleted = 0 ORDER BY id")
	if err != nil {
		return nil, fmt.Errorf("clickhouse store: alert rules: %w", err)
	}
	defer rows.Close()
	out := []store.AlertRuleRecord{}
	for rows.Next() {
		var r store.AlertRuleRecord
		if err := rows.Scan(&r.ID, &r.Spec, &r.UpdatedNS); err != nil {
			return nil, fmt.Errorf("clickhouse store: alert rules: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// PutAlertEvent implements store.AlertLog.
func (s *Store) PutAlertEvent(ctx context.Context, e store.AlertEventRecord) error {
	return s.insert(ctx, "alert_events", "time_ns, rule_id, status, body", 1, func(int) []any {
		return []any{e.TimeNS, e.RuleID, e.Status, e.Body}
	})
}

// AlertEvents implements store.AlertLog.
func (s *Store) AlertEvents(ctx context.Context, limit int) ([]store.AlertEventRecord, error) {
	limit, err := store.Limit(limit)
	if err != nil {
		return nil, fmt.Errorf("clickhouse store: alert events: %w", err)
	}
	rows, err := s.conn.Query(ctx, "SELECT time_ns, rule_id, status, body FROM alert_events ORDER BY time_ns DESC LIMIT ?", limit)
	if err != nil {
		return nil, fmt.Errorf("clickhouse store: alert events: %w", err)
	}
	defer rows.Close()
	out := []store.AlertEventRecord{}
	for rows.Next() {
		var e store.AlertEventRecord
		if err := rows.Scan(&e.TimeNS, &e.RuleID, &e.Status, &e.Body); err != nil {
			return nil, fmt.Errorf("clickhouse store: alert events: %w", err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}
