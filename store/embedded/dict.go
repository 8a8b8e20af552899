package embedded

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
)

// dictCacheMax bounds the strings a dict keeps in memory; past it, a
// lookup reads the dict table (still correct, slower).
const dictCacheMax = 200_000

// dict numbers the strings that repeat across rows (services,
// destinations, event types, span names, attribute keys). Ids are
// assigned in the writer's transaction and cached once it commits;
// readers resolve an id they have not seen from the table, where it is
// always present: a row and the dict entries it uses commit together.
type dict struct {
	mu   sync.RWMutex
	ids  map[string]int64
	strs map[int64]string
	// values are the distinct values seen per attribute key while there
	// are at most fewValues of them (nil once there were more).
	valuesMu sync.Mutex
	values   map[int64]map[string]struct{}
	// wids is the writer's own copy of ids, read without the RWMutex's
	// atomics on every lookup: a write holds wmu from its first lookup to
	// the end of writeRows, and committed adds what its commit made valid.
	wmu  sync.Mutex
	wids map[string]int64
}

// fewValues and fewValueLen bound what few numbers: short values of keys
// with at most fewValues distinct ones (a service's version, an SDK's
// language, a client id), not ids or offsets.
const (
	fewValues   = 64
	fewValueLen = 64
	fewKeys     = 10_000
	// fewNames is few's limit for span names (spanNameKey).
	fewNames = 4096
)

func newDict() *dict {
	return &dict{ids: map[string]int64{}, strs: map[int64]string{}, values: map[int64]map[string]struct{}{},
		wids: map[string]int64{}}
}

// few reports whether v, a value of the attribute key numbered key, is
// stored as a dict number: while the key has shown at most limit
// distinct values since the store opened. Only what a row holds decides
// how it reads back, so this memory may start empty after a restart.
func (d *dict) few(key int64, v string, limit int) bool {
	if len(v) > fewValueLen || key == 0 {
		return false
	}
	d.valuesMu.Lock()
	defer d.valuesMu.Unlock()
	vs, ok := d.values[key]
	if ok && vs == nil || !ok && len(d.values) >= fewKeys {
		return false // many values, or too many keys to follow
	}
	if _, seen := vs[v]; seen {
		return true
	}
	if len(vs) >= limit {
		d.values[key] = nil
		return false
	}
	if vs == nil {
		vs = map[string]struct{}{}
		d.values[key] = vs
	}
	vs[v] = struct{}{}
	return true
}

func (d *dict) cached(s string) (int64, bool) {
	d.mu.RLock()
	id, ok := d.ids[s]
	d.mu.RUnlock()
	return id, ok
}

func (d *dict) add(id int64, s string) {
	d.mu.Lock()
	if len(d.ids) < dictCacheMax {
		d.ids[s], d.strs[id] = id, s
	}
	d.mu.Unlock()
}

// lookup returns the id of s for a query, or -1 (no row has it) when s
// was never stored.
func (d *dict) lookup(ctx context.Context, db *sql.DB, s string) (int64, error) {
	if id, ok := d.cached(s); ok {
		return id, nil
	}
	var id int64
	switch err := db.QueryRowContext(ctx, `SELECT id FROM dict WHERE s = ?`, s).Scan(&id); err {
	case nil:
		d.add(id, s)
		return id, nil
	case sql.ErrNoRows:
		return -1, nil
	default:
		return 0, fmt.Errorf("dict: %w", err)
	}
}

// strings resolves ids for one query result.
type dictReader struct {
	d   *dict
	ctx context.Context
	db  *sql.DB
	err error
}

func (r *dictReader) str(id int64) string {
	r.d.mu.RLock()
	s, ok := r.d.strs[id]
	r.d.mu.RUnlock()
	if ok || r.err != nil {
		return s
	}
	if err := r.db.QueryRowContext(r.ctx, `SELECT s FROM dict WHERE id = ?`, id).Scan(&s); err != nil {
		r.err = fmt.Errorf("dict id %d: %w", id, err)
		return ""
	}
	r.d.add(id, s)
	return s
}

// dictWriter assigns ids within one write transaction; commit publishes
// them to the cache once the transaction has committed.
type dictWriter struct {
	d       *dict
	ctx     context.Context
	tx      *sql.Tx
	pending map[string]int64
	err     error
}

func (w *dictWriter) id(s string) int64 {
	if id, ok := w.d.wids[s]; ok {
		return id
	}
	if id, ok := w.pending[s]; ok {
		return id
	}
	return w.assign(s)
}

// idBytes is id of string(b), without a copy when b is known.
func (w *dictWriter) idBytes(b []byte) int64 {
	if id, ok := w.d.wids[string(b)]; ok {
		return id
	}
	if id, ok := w.pending[string(b)]; ok {
		return id
	}
	return w.assign(string(b))
}

// assign finds or makes s's id in the transaction.
func (w *dictWriter) assign(s string) int64 {
	if w.err != nil {
		return 0
	}
	var id int64
	err := w.tx.QueryRowContext(w.ctx, `SELECT id FROM dict WHERE s = ?`, s).Scan(&id)
	if err == sql.ErrNoRows {
		err = w.tx.QueryRowContext(w.ctx, `INSERT INTO dict (s) VALUES (?) RETURNING id`, s).Scan(&id)
	}
	if err != nil {
		w.err = fmt.Errorf("dict: %w", err)
		return 0
	}
	if w.pending == nil {
		w.pending = map[string]int64{}
	}
	w.pending[s] = id
	return id
}

// lock takes the writer's cache for one writeRows; committed, after the
// commit, takes it again.
func (w *dictWriter) lock() { w.d.wmu.Lock() }

func (w *dictWriter) unlock() { w.d.wmu.Unlock() }

// committed caches the ids the committed transaction assigned.
func (w *dictWriter) committed() {
	w.d.wmu.Lock()
	for s, id := range w.pending {
		if len(w.d.wids) < dictCacheMax {
			w.d.wids[s] = id
		}
	}
	w.d.wmu.Unlock()
	for s, id := range w.pending {
		w.d.add(id, s)
	}
}
