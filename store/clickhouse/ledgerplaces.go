package clickhouse

import (
	"context"
	"sync"
	"time"
)

// placesCacheMax bounds the places a placeCache remembers; past it the
// cache starts again empty (a place written again is harmless:
// journey_places is a ReplacingMergeTree).
const placesCacheMax = 100_000

// placeKey is one row of journey_places_in: a journey's packed place
// (packPlace) on one day, as days since the epoch (retention drops
// journey_places by day together with journey_open).
type placeKey struct {
	day     int64
	journey string
	pl      string
}

// placeKeyOf is the key of place pl of journey on the day of ns.
func placeKeyOf(ns uint64, journey, pl string) placeKey {
	return placeKey{day: int64(ns / uint64(24*time.Hour)), journey: journey, pl: pl}
}

// placeCache remembers the places this store has written to
// journey_places (schema 012), so that a ledger insert names only new
// places: journey_open holds a place's hash, journey_places its fields.
type placeCache struct {
	// mu is held while new places are written, so that no ledger insert
	// stores a place's hash before the place's name is stored.
	mu   sync.Mutex
	seen map[placeKey]struct{}
}

// reset forgets every place: retention dropped days of journey_places.
func (c *placeCache) reset() {
	c.mu.Lock()
	c.seen = nil
	c.mu.Unlock()
}

// writePlaces writes to journey_places the places of ks (distinct) this
// store has not written yet, and returns when they are stored.
func (s *Store) writePlaces(ctx context.Context, ks []placeKey) error {
	c := &s.places
	c.mu.Lock()
	defer c.mu.Unlock()
	var add []placeKey
	for _, k := range ks {
		if _, ok := c.seen[k]; !ok {
			add = append(add, k)
		}
	}
	if len(add) == 0 {
		return nil
	}
	err := s.insert(ctx, "journey_places_in", "date, journey, pl", len(add), func(i int) []any {
		return []any{time.Unix(add[i].day*24*3600, 0).UTC(), add[i].journey, add[i].pl}
	})
	if err != nil {
		return err
	}
	if c.seen == nil || len(c.seen)+len(add) > placesCacheMax {
		c.seen = make(map[placeKey]struct{}, len(add))
	}
	for _, k := range add {
		c.seen[k] = struct{}{}
	}
	return nil
}
