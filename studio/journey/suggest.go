package journey

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/store"
)

// SuggestEvents bounds the events a suggestion reads: the window's newest.
const SuggestEvents = 20000

// maxSuggestions bounds the suggestions returned.
const maxSuggestions = 10

// Suggestion is a journey seen in traffic: the most common pairs of a
// correlation's first and last published event, with the times between
// them. Journey is ready to adopt (POST /api/v1/journeys).
type Suggestion struct {
	Journey Journey `json:"journey"`
	// Correlations is how many correlations went from start to end.
	Correlations int    `json:"correlations"`
	P50NS        uint64 `json:"p50_ns"`
	P99NS        uint64 `json:"p99_ns"`
	// Defined names the journey already defined with this start and end.
	Defined string `json:"defined,omitempty"`
}

// published is a correlation's published event types with their first time.
type published struct {
	first map[string]uint64
}

// stepOfEvent names an event for a suggestion: its type, else its destination.
func stepOfEvent(e *event.Event) Step {
	if e.EventType != "" {
		return Step{EventType: e.EventType}
	}
	return Step{Destination: e.Destination}
}

// Suggest reads the newest SuggestEvents events of w and returns the most
// common start → end pairs of their correlations, most common first.
func (s *Service) Suggest(ctx context.Context, w Window) ([]Suggestion, error) {
	corrs := map[string]*published{}
	steps := map[string]Step{}
	q := store.EventQuery{Since: w.Since, Until: w.Until, Limit: store.MaxLimit}
	for read := 0; read < SuggestEvents; {
		page, err := s.r.Events(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("journey suggestions: %w", err)
		}
		for i := range page.Events {
			e := &page.Events[i]
			if e.CorrelationID == "" || (e.Op != event.OpPublish) {
				continue
			}
			st := stepOfEvent(e)
			k := st.StepName()
			steps[k] = st
			c := corrs[e.CorrelationID]
			if c == nil {
				c = &published{first: map[string]uint64{}}
				corrs[e.CorrelationID] = c
			}
			if t, ok := c.first[k]; !ok || e.StartNS < t {
				c.first[k] = e.StartNS
			}
		}
		read += len(page.Events)
		if page.Next == "" {
			break
		}
		q.Cursor = page.Next
	}
	type pair struct{ start, end string }
	durs := map[pair][]uint64{}
	middles := map[pair]map[string][]uint64{} // step → offsets from start
	for _, c := range corrs {
		if len(c.first) < 2 {
			continue
		}
		var start, end string
		for k, t := range c.first {
			if start == "" || t < c.first[start] || t == c.first[start] && k < start {
				start = k
			}
			if end == "" || t > c.first[end] || t == c.first[end] && k < end {
				end = k
			}
		}
		p := pair{start, end}
		durs[p] = append(durs[p], c.first[end]-c.first[start])
		if middles[p] == nil {
			middles[p] = map[string][]uint64{}
		}
		for k, t := range c.first {
			if k != start && k != end {
				middles[p][k] = append(middles[p][k], t-c.first[start])
			}
		}
	}
	pairs := make([]pair, 0, len(durs))
	for p := range durs {
		pairs = append(pairs, p)
	}
	sort.Slice(pairs, func(i, j int) bool {
		a, b := pairs[i], pairs[j]
		if len(durs[a]) != len(durs[b]) {
			return len(durs[a]) > len(durs[b])
		}
		return a.start+"\x00"+a.end < b.start+"\x00"+b.end
	})
	set := s.reg.Set()
	names := map[string]bool{}
	for _, j := range set.Journeys() {
		names[j.Name] = true
	}
	out := []Suggestion{}
	for _, p := range pairs[:min(len(pairs), maxSuggestions)] {
		qs := quantiles(durs[p])
		j := Journey{Name: suggestName(p.start, names), Start: steps[p.start], Success: []Step{steps[p.end]},
			Description: fmt.Sprintf("suggested from %d correlations going from %s to %s", qs.Count, p.start, p.end)}
		names[j.Name] = true
		// Steps met by at least half of them, in the order of their median offset.
		type mid struct {
			name   string
			median uint64
		}
		var mids []mid
		for k, offs := range middles[p] {
			if 2*len(offs) >= qs.Count {
				mids = append(mids, mid{k, quantiles(offs).P50NS})
			}
		}
		sort.Slice(mids, func(a, b int) bool {
			return mids[a].median < mids[b].median || mids[a].median == mids[b].median && mids[a].name < mids[b].name
		})
		for _, m := range mids {
			j.Steps = append(j.Steps, steps[m.name])
		}
		// Room for the slowest seen: half again the p99, in whole seconds.
		within := time.Duration(math.Ceil(float64(qs.P99NS)*1.5/1e9)) * time.Second
		j.SLO = SLO{Target: DefaultTarget, Within: Duration(max(within, time.Second))}
		j = j.WithDefaults()
		sug := Suggestion{Journey: j, Correlations: qs.Count, P50NS: qs.P50NS, P99NS: qs.P99NS}
		for _, d := range set.Journeys() {
			if d.Start.StepName() == p.start && len(d.Success) > 0 && d.Success[0].StepName() == p.end {
				sug.Defined = d.Name
			}
		}
		out = append(out, sug)
	}
	return out, nil
}

// suggestName names a journey after its start ("order.placed" → "order"),
// made unique against taken.
func suggestName(start string, taken map[string]bool) string {
	base := start
	if i := strings.IndexAny(base, "._"); i > 0 {
		base = base[:i]
	}
	base = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-' {
			return r
		}
		return '-'
	}, base)
	if base == "" || !nameRE.MatchString(base) {
		base = "journey"
	}
	name := base
	for i := 2; taken[name] || name == reservedName; i++ {
		name = fmt.Sprintf("%s-%d", base, i)
	}
	return name
}
