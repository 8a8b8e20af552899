package embedded

import (
	"context"
	"fmt"

	"github.com/causeway-dev/causeway/store"
)

// PutAlertRule implements store.AlertLog.
func (s *Store) PutAlertRule(ctx context.Context, r store.AlertRuleRecord) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO alert_rules (id, spec, deleted, updated_ns) VALUES (?,?,?,?)
		ON CONFLICT (id) DO UPDATE SET spec = excluded.spec, deleted = excluded.deleted, updated_ns = excluded.updated_ns
		WHERE excluded.updated_ns >= alert_rules.updated_ns`, r.ID, r.Spec, r.Deleted, int64(r.UpdatedNS))
	if err != nil {
		return fmt.Errorf("embedded store %q: put alert rule %s: %w", s.dir, r.ID, err)
	}
	return nil
}

// AlertRules implements store.AlertLog.
func (s *Store) AlertRules(ctx context.Context) ([]store.AlertRuleRecord, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, spec, deleted, updated_ns FROM alert_rules WHERE deleted = 0 ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("embedded store %q: alert rules: %w", s.dir, err)
	}
	defer rows.Close()
	out := []store.AlertRuleRecord{}
	for rows.Next() {
		var r store.AlertRuleRecord
		var t int64
		if err := rows.Scan(&r.ID, &r.Spec, &r.Deleted, &t); err != nil {
			return nil, fmt.Errorf("embedded store %q: alert rules: %w", s.dir, err)
		}
		r.UpdatedNS = uint64(t)
		out = append(out, r)
	}
	return out, rows.Err()
}

// PutAlertEvent implements store.AlertLog.
func (s *Store) PutAlertEvent(ctx context.Context, e store.AlertEventRecord) error {
	if _, err := s.w.ExecContext(ctx, `INSERT INTO alert_events (time_ns, rule_id, status, body) VALUES (?,?,?,?)`,
		int64(e.TimeNS), e.RuleID, e.Status, e.Body); err != nil {
		return fmt.Errorf("embedded store %q: put alert event: %w", s.dir, err)
	}
	return nil
}

// AlertEvents implements store.AlertLog.
func (s *Store) AlertEvents(ctx context.Context, limit int) ([]store.AlertEventRecord, error) {
	limit, err := store.Limit(limit)
	if err != nil {
		return nil, fmt.Errorf("embedded store: alert events: %w", err)
	}
	rows, err := s.r.QueryContext(ctx, `SELECT time_ns, rule_id, status, body FROM alert_events ORDER BY time_ns DESC, rowid DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("embedded store %q: alert events: %w", s.dir, err)
	}
	defer rows.Close()
	out := []store.AlertEventRecord{}
	for rows.Next() {
		var e store.AlertEventRecord
		var t int64
		if err := rows.Scan(&t, &e.RuleID, &e.Status, &e.Body); err != nil {
			return nil, fmt.Errorf("embedded store %q: alert events: %w", s.dir, err)
		}
		e.TimeNS = uint64(t)
		out = append(out, e)
	}
	return out, rows.Err()
}
