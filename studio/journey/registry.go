package journey

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/causeway-dev/causeway/store"
)

// Source says where a journey was defined.
type Source string

// Journey sources.
const (
	SourceConfig Source = "config" // the configuration file: read-only through the API
	SourceAPI    Source = "api"    // the API, kept in the store
)

// ErrReadOnly is returned when the API tries to change or delete a
// journey defined in the configuration file.
var ErrReadOnly = errors.New("journey defined in the configuration file")

// Registry holds the journeys in effect: those of the configuration file
// and those defined through the API (kept in the store, so that every
// studio and collector sharing it sees them), compiled into a Set.
// It is safe for concurrent use.
type Registry struct {
	ledger store.Ledger
	config []Journey
	log    *slog.Logger

	mu     sync.Mutex // serialises Load, Put and Delete (store I/O included)
	stored map[string]Journey
	set    atomic.Pointer[Set]
	loaded atomic.Int64 // Unix ns of the last Load
}

// NewRegistry returns a registry of the configuration file's journeys
// (each valid, names unique) over the store's ledger; Load adds those
// defined through the API.
func NewRegistry(config []Journey, l store.Ledger, log *slog.Logger) (*Registry, error) {
	seen := map[string]bool{}
	for _, j := range config {
		if err := j.Validate(); err != nil {
			return nil, err
		}
		if seen[j.Name] {
			return nil, fmt.Errorf("%w: two journeys named %q", ErrInvalid, j.Name)
		}
		seen[j.Name] = true
	}
	if log == nil {
		log = slog.Default()
	}
	r := &Registry{ledger: l, config: slices.Clone(config), log: log, stored: map[string]Journey{}}
	r.compile()
	return r, nil
}

// compile rebuilds the set: config journeys first, then the stored ones
// by name (a stored journey never shadows a config one). Callers hold mu
// or own r exclusively.
func (r *Registry) compile() {
	all := slices.Clone(r.config)
	names := make([]string, 0, len(r.stored))
	for n := range r.stored {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if !slices.ContainsFunc(r.config, func(j Journey) bool { return j.Name == n }) {
			all = append(all, r.stored[n])
		}
	}
	r.set.Store(NewSet(all))
}

// Set returns the journeys in effect.
func (r *Registry) Set() *Set { return r.set.Load() }

// Load reads the journeys defined through the API from the store. A
// stored journey that no longer validates is skipped with a warning.
func (r *Registry) Load(ctx context.Context) error {
	// Held across the read: a Put of this process cannot land between
	// the read and the swap and be lost until the next Load.
	r.mu.Lock()
	defer r.mu.Unlock()
	recs, err := r.ledger.Journeys(ctx)
	if err != nil {
		return fmt.Errorf("journeys: %w", err)
	}
	stored := map[string]Journey{}
	for _, rec := range recs {
		var j Journey
		if err := json.Unmarshal([]byte(rec.Spec), &j); err != nil {
			r.log.Warn("stored journey unreadable; skipped", "journey", rec.Name, "error", err)
			continue
		}
		if err := j.Validate(); err != nil {
			r.log.Warn("stored journey refused; skipped", "journey", rec.Name, "error", err)
			continue
		}
		stored[j.Name] = j
	}
	r.stored = stored
	r.compile()
	r.loaded.Store(time.Now().UnixNano())
	return nil
}

// refresh reloads when the last Load is older than every: a collector
// without the API sees journeys other studios defined within that time.
func (r *Registry) refresh(ctx context.Context, every time.Duration) {
	if time.Since(time.Unix(0, r.loaded.Load())) < every {
		return
	}
	r.loaded.Store(time.Now().UnixNano()) // one attempt per period, also when it fails
	if err := r.Load(ctx); err != nil {
		r.log.Warn("journeys not reloaded from the store", "error", err)
	}
}

// Source returns where the journey named name is defined, and whether it is.
func (r *Registry) Source(name string) (Source, bool) {
	if slices.ContainsFunc(r.config, func(j Journey) bool { return j.Name == name }) {
		return SourceConfig, true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.stored[name]; ok {
		return SourceAPI, true
	}
	return "", false
}

// Put defines or replaces a journey through the API and keeps it in the store.
func (r *Registry) Put(ctx context.Context, j Journey) error {
	if err := j.Validate(); err != nil {
		return err
	}
	if src, _ := r.Source(j.Name); src == SourceConfig {
		return fmt.Errorf("%w: %q cannot be changed through the API", ErrReadOnly, j.Name)
	}
	spec, err := json.Marshal(j)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.ledger.PutJourney(ctx, store.JourneyRecord{Name: j.Name, Spec: string(spec), UpdatedNS: uint64(time.Now().UnixNano())}); err != nil {
		return fmt.Errorf("journey %s: %w", j.Name, err)
	}
	r.stored[j.Name] = j
	r.compile()
	return nil
}

// Delete removes a journey defined through the API; it reports whether
// it existed. Its ledger entries stay until retention deletes them.
func (r *Registry) Delete(ctx context.Context, name string) (bool, error) {
	src, ok := r.Source(name)
	if !ok {
		return false, nil
	}
	if src == SourceConfig {
		return true, fmt.Errorf("%w: %q cannot be deleted through the API", ErrReadOnly, name)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.ledger.PutJourney(ctx, store.JourneyRecord{Name: name, Deleted: true, UpdatedNS: uint64(time.Now().UnixNano())}); err != nil {
		return true, fmt.Errorf("journey %s: %w", name, err)
	}
	delete(r.stored, name)
	r.compile()
	return true, nil
}
