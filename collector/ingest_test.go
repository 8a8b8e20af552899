package collector

import (
	"strings"
	"testing"
)

func TestParseIngest(t *testing.T) {
	c, err := ParseIngest("kafka://b1:9092,b2:9092/otlp?group=g&mode=receive&partitions=3")
	if err != nil || strings.Join(c.Brokers, ",") != "b1:9092,b2:9092" || c.Topic != "otlp" || c.Group != "g" ||
		!c.Receive || c.Store || c.Partitions != 3 {
		t.Fatalf("%+v, %v", c, err)
	}
	if c, err := ParseIngest("kafka://b:9092/t"); err != nil || c.Group != "causeway-collectors" || !c.Receive || !c.Store {
		t.Fatalf("defaults: %+v, %v", c, err)
	}
	for _, bad := range []string{"", "http://b/t", "kafka:///t", "kafka://b:9092", "kafka://b:9092/a/b", "kafka://b/t?mode=x", "kafka://b/t?partitions=0", "::", "kafka://,/t"} {
		if _, err := ParseIngest(bad); err == nil {
			t.Errorf("%q: want an error", bad)
		}
	}
	if err := (Config{Ingest: "kafka://b/t"}).Validate(); err != nil {
		t.Errorf("an ingest buffer needs no spool directory: %v", err)
	}
}

// FuzzParseIngest: any string parses or is refused, never a panic, and
// what parses has brokers and a topic.
func FuzzParseIngest(f *testing.F) {
	for _, s := range []string{"kafka://b:9092/t", "kafka://a,b/t?mode=store", "kafka://%zz/t", "kafka://b/t?partitions=-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseIngest(s)
		if err == nil && (len(c.Brokers) == 0 || c.Topic == "" || (!c.Receive && !c.Store) || c.Partitions <= 0) {
			t.Fatalf("%q parsed into %+v", s, c)
		}
	})
}
