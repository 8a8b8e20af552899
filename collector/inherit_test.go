package collector

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/store"
)

// eventStore keeps the events it is given.
type eventStore struct {
	mu     sync.Mutex
	events []event.Event
}

func (s *eventStore) Write(_ context.Context, b *store.Batch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events = append(s.events, b.Events...)
	return nil
}

// TestInheritAtIngest: a consumer span arriving in a later request than
// its producer's, with no correlation id of its own, is stored with the
// producer's; the inheritance metrics count it and show the cache.
func TestInheritAtIngest(t *testing.T) {
	st := &eventStore{}
	c := start(t, testConfig(t, t.TempDir()), st)
	defer shutdown(t, c, 5*time.Second)

	trace := pcommon.TraceID([16]byte{0xfe, 1})
	post := func(span, parent byte, corr string) {
		td := ptrace.NewTraces()
		sp := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
		sp.SetTraceID(trace)
		sp.SetSpanID(pcommon.SpanID([8]byte{span}))
		if parent != 0 {
			sp.SetParentSpanID(pcommon.SpanID([8]byte{parent}))
			sp.SetKind(ptrace.SpanKindConsumer)
		} else {
			sp.SetKind(ptrace.SpanKindProducer)
		}
		sp.Attributes().PutStr(event.AttrMessagingSystem, "kafka")
		sp.Attributes().PutStr(event.AttrMessagingDestinationName, "orders")
		if corr != "" {
			sp.Attributes().PutStr(event.AttrMessagingConversationID, corr)
		}
		body, _ := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
		resp, err := http.Post("http://"+c.HTTPAddr()+"/v1/traces", "application/x-protobuf", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	stored := func(n int) []event.Event {
		deadline := time.Now().Add(10 * time.Second)
		for {
			st.mu.Lock()
			evs := append([]event.Event(nil), st.events...)
			st.mu.Unlock()
			if len(evs) >= n {
				return evs
			}
			if time.Now().After(deadline) {
				t.Fatalf("stored %d events, want %d", len(evs), n)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	post(1, 0, "order-1")
	stored(1)
	post(2, 1, "")
	if evs := stored(2); evs[1].CorrelationID != "order-1" {
		t.Fatalf("consumer event stored with correlation %q, want the producer's", evs[1].CorrelationID)
	}
	m := gather(t, c)
	if m["causeway_lineage_correlation_inherited_total"] != 1 || m["causeway_lineage_inherit_cache_hits_total"] != 1 ||
		m["causeway_lineage_inherit_cache_entries"] != 2 || m["causeway_lineage_inherit_cache_capacity"] != 100_000 {
		t.Errorf("metrics: inherited %v, hits %v, entries %v, capacity %v", m["causeway_lineage_correlation_inherited_total"],
			m["causeway_lineage_inherit_cache_hits_total"], m["causeway_lineage_inherit_cache_entries"], m["causeway_lineage_inherit_cache_capacity"])
	}
}
