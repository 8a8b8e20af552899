package alert

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/causeway-dev/causeway/event"
)

// Deep links: every notification carries links into the studio's UI, the
// views that explain it, built on the studio's public URL
// (studio.public_url). The UI routes them (docs/journeys.md, "Links"):
//
//	/lag?group=G                               the lag view of a consumer group
//	/dlq?reason=R&original=D                   the DLQ filtered to a reason (and destination)
//	/journeys?journey=J&step=S                 a journey's stuck list at a step
//	/graph?id=C&kind=correlation_id[&event=E]  a correlation's causation graph (E: the stuck point)
//	/events?destination=D&outcome=error        events of a destination with an outcome

// Link is a link of a notification: what it opens, for people, and where.
type Link struct {
	// Kind is lag, dlq, journey, graph or events.
	Kind  string `json:"kind"`
	Label string `json:"label"`
	URL   string `json:"url"`
}

// maxSamples bounds a notification's sample ids.
const maxSamples = 10

// link is a Link before the public URL is known.
type link struct {
	kind, label, path string
	query             url.Values
}

// linker turns links into URLs on the studio's public URL.
type linker struct{ base string }

// SetPublicURL sets the URL notifications link to, e.g.
// https://causeway.example.com or http://127.0.0.1:7070 (scheme and host,
// perhaps a path prefix). Call it before Run. Without it, links are paths.
func (e *Engine) SetPublicURL(u string) error {
	if u != "" {
		p, err := url.Parse(u)
		if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" || p.RawQuery != "" || p.Fragment != "" {
			return fmt.Errorf("public URL %q: want http(s)://host[:port][/prefix]", u)
		}
	}
	e.links.base = strings.TrimSuffix(u, "/")
	return nil
}

func (l linker) urls(ls []link) []Link {
	if len(ls) == 0 {
		return nil
	}
	out := make([]Link, len(ls))
	for i, k := range ls {
		u := l.base + k.path
		if q := k.query.Encode(); q != "" {
			u += "?" + q
		}
		out[i] = Link{Kind: k.kind, Label: k.label, URL: u}
	}
	return out
}

func lagLink(group string) link {
	return link{kind: "lag", label: "Consumer lag of " + group, path: "/lag", query: url.Values{"group": {group}}}
}

func dlqLink(reason, original string) link {
	q := url.Values{}
	label := "DLQ entries"
	if reason != "" {
		q.Set("reason", reason)
		label += ": " + reason
	}
	if original != "" {
		q.Set("original", original)
		label += " (from " + original + ")"
	}
	return link{kind: "dlq", label: label, path: "/dlq", query: q}
}

func journeyLink(journey, step string) link {
	q := url.Values{"journey": {journey}}
	label := "Journey " + journey
	if step != "" {
		q.Set("step", step)
		label = fmt.Sprintf("Stuck in %s at %s", journey, step)
	}
	return link{kind: "journey", label: label, path: "/journeys", query: q}
}

func graphLink(correlationID, eventID string) link {
	q := url.Values{"id": {correlationID}, "kind": {"correlation_id"}}
	if eventID != "" {
		q.Set("event", eventID)
	}
	return link{kind: "graph", label: "Causation graph of " + correlationID, path: "/graph", query: q}
}

func eventsLink(destination string, outcome event.Outcome) link {
	q := url.Values{"outcome": {string(outcome)}}
	label := "Failed handler runs"
	if destination != "" {
		q.Set("destination", destination)
		label += " on " + destination
	}
	return link{kind: "events", label: label, path: "/events", query: q}
}
