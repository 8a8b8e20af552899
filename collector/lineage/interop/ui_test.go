package interop

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/frontend"
	"github.com/causeway-dev/causeway/store"
)

// shownGraph is what frontend/e2e/find-id.mjs saw on the causation graph
// after typing an id into the studio's search box.
type shownGraph struct {
	URL         string   `json:"url"`
	Matched     string   `json:"matched"`
	MatchedText string   `json:"matched_text"`
	Summary     []string `json:"summary"`
	Rows        []struct {
		Service     string `json:"service"`
		Op          string `json:"op"`
		Destination string `json:"destination"`
		System      string `json:"system"`
	} `json:"rows"`
	InkedPixels int      `json:"inked_pixels"`
	Errors      []string `json:"errors"`
}

// browserScript is frontend/e2e/find-id.mjs, with what it needs checked:
// Chromium, the frontend's packages (playwright-core) and a UI built into
// this binary. Without them the test is skipped, or fails under CI=true.
func browserScript(t *testing.T) string {
	t.Helper()
	fe, _ := filepath.Abs(filepath.Join("..", "..", "..", "frontend"))
	chromium := os.Getenv("CHROMIUM_PATH")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	missing := ""
	if _, err := exec.LookPath("node"); err != nil {
		missing = "node is not installed"
	} else if _, err := os.Stat(chromium); err != nil {
		missing = "no Chromium at " + chromium + " (apt-get install chromium, or set CHROMIUM_PATH)"
	} else if _, err := os.Stat(filepath.Join(fe, "node_modules", "playwright-core")); err != nil {
		missing = "the frontend's packages are not installed: run npm ci in " + fe
	} else if !frontend.Built() {
		missing = "this build has no UI: run make frontend (npm run build in " + fe + ") before go test"
	}
	if missing != "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("the UI search in Chromium: " + missing)
		}
		t.Skip("the UI search in Chromium: " + missing)
	}
	return filepath.Join(fe, "e2e", "find-id.mjs")
}

// searchInUI is a chain's last step, as a user would take it: in headless
// Chromium, `/`, the order id typed into the studio's search box and
// Enter show the chain's events and say the id matched the Kafka message
// key. Called after the API's checks, so that a machine without a browser
// still runs those (the UI step then skips, or fails under CI=true).
func searchInUI(t *testing.T, s *studio, key string, hops []hop) {
	t.Helper()
	shown := findInUI(t, browserScript(t), s.srv.URL(), key)
	t.Logf("Chromium, %s: %q; %q; %d timeline rows", shown.URL, shown.MatchedText, shown.Summary, len(shown.Rows))
	if err := checkShownChain(shown, key, string(store.IDMessageKey), key+" matched the Kafka message key", hops); err != nil {
		t.Fatal(err)
	}
}

// findInUI types id into the studio's search box (the `/` shortcut) in
// headless Chromium and returns what the causation graph shows.
func findInUI(t *testing.T, script, studioURL, id string) shownGraph {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var out, errOut bytes.Buffer
	cmd := exec.CommandContext(ctx, "node", script, studioURL, id)
	cmd.Dir = filepath.Dir(filepath.Dir(script))
	cmd.Stdout, cmd.Stderr = &out, &errOut
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		t.Fatalf("searching %s in Chromium: %v\n%s%s", id, err, out.String(), errOut.String())
	}
	var g shownGraph
	if err := json.Unmarshal(out.Bytes(), &g); err != nil {
		t.Fatalf("find-id.mjs: %v\n%s", err, out.String())
	}
	return g
}

// checkShownChain checks that the graph on screen is the chain's: its
// events (service, op, topic), the edges between them, what the id
// matched, drawn on the canvas, with no console error.
func checkShownChain(g shownGraph, id, matched, matchedText string, hops []hop) error {
	if g.Matched != matched || !strings.Contains(g.MatchedText, matchedText) {
		return fmt.Errorf("%s: the graph says %q (%s), want %q", id, g.MatchedText, g.Matched, matchedText)
	}
	var want, got []string
	for _, h := range hops {
		want = append(want, fmt.Sprintf("%s %s %s", h.service, h.op, h.dest))
	}
	for _, r := range g.Rows {
		got = append(got, fmt.Sprintf("%s %s %s", r.Service, r.Op, r.Destination))
	}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		return fmt.Errorf("%s: the timeline shows %q, want %q", id, got, want)
	}
	for _, s := range []string{fmt.Sprintf("%d events", len(hops)), fmt.Sprintf("%d edges", len(hops)-1)} {
		if !slices.Contains(g.Summary, s) {
			return fmt.Errorf("%s: the graph's summary %q does not say %q", id, g.Summary, s)
		}
	}
	// Four boxes and three arrows on a 1280×800 page ink thousands of pixels.
	if g.InkedPixels < 2000 {
		return fmt.Errorf("%s: the graph canvas looks empty (%d inked pixels)", id, g.InkedPixels)
	}
	if len(g.Errors) > 0 {
		return fmt.Errorf("%s: the page logged errors: %q", id, g.Errors)
	}
	return nil
}
