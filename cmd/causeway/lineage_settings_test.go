package main

import (
	"errors"
	"reflect"
	"testing"

	"github.com/causeway-dev/causeway/collector/lineage"
)

// TestLineageSettings: the top-level lineage: settings come from the
// environment and flags, reach the collector's configuration, and are
// validated.
func TestLineageSettings(t *testing.T) {
	t.Setenv("CAUSEWAY_SPOOL_DIR", t.TempDir())
	t.Setenv("CAUSEWAY_LINEAGE_CORRELATION_FROM_KEY_DESTINATIONS", "orders.a, payments")
	s := newSettings("collector")
	if err := s.fs.Parse([]string{"--lineage.inherit-cache-entries", "5000"}); err != nil {
		t.Fatal(err)
	}
	c, err := s.load()
	if err != nil {
		t.Fatal(err)
	}
	want := lineage.InheritConfig{CorrelationFromKeyDestinations: []string{"orders.a", "payments"}, CacheEntries: 5000}
	if !reflect.DeepEqual(c.Collector.Lineage, want) {
		t.Errorf("collector's lineage config = %+v, want %+v", c.Collector.Lineage, want)
	}
	if d := defaultConfig().Lineage; d.CorrelationFromKey || d.CacheEntries != lineage.DefaultInheritCacheEntries {
		t.Errorf("defaults = %+v: correlation_from_key must be off", d)
	}

	s = newSettings("studio")
	if err := s.fs.Parse([]string{"--lineage.inherit-cache-entries", "-5"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.load(); !errors.Is(err, lineage.ErrInvalidConfig) {
		t.Errorf("inherit_cache_entries -5: err = %v", err)
	}
}
