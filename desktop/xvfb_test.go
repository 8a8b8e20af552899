package desktop

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/png"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/frontend"
)

// TestDesktopUnderXvfb builds the desktop app, runs it under Xvfb in
// local mode with the demo (the mode remembered in desktop.json, as a
// user's second launch), and checks what a person would see: the flow map
// and a causation graph on screen (screenshots in artifacts/, not blank),
// and live updates reaching the webview (the app's own log of what the
// page's websocket received). It takes a minute or more (the build), so
// it runs in CI (CI=true, where anything missing fails it) or with
// CAUSEWAY_DESKTOP_TEST=1.
func TestDesktopUnderXvfb(t *testing.T) {
	if os.Getenv("CI") != "true" && os.Getenv("CAUSEWAY_DESKTOP_TEST") == "" {
		t.Skip("builds and runs the desktop app under Xvfb: set CAUSEWAY_DESKTOP_TEST=1 (CI runs it)")
	}
	for _, tool := range []string{"Xvfb", "/usr/bin/import", "pkg-config"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is missing: .ci/setup installs what the desktop test needs (xvfb, imagemagick, libwebkit2gtk-4.1-dev)", tool)
		}
	}
	if out, err := exec.Command("pkg-config", "--exists", "--print-errors", "webkit2gtk-4.1", "gtk+-3.0").CombinedOutput(); err != nil {
		t.Fatalf("WebKitGTK 4.1 / GTK 3 development files are missing (.ci/setup installs libwebkit2gtk-4.1-dev): %s", out)
	}
	if !frontend.Built() {
		t.Fatal("the web UI is not built into this test binary's frontend package: run `make frontend` first (make test does)")
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	artifacts := filepath.Join(root, "desktop", "artifacts")
	if err := os.MkdirAll(artifacts, 0o755); err != nil {
		t.Fatal(err)
	}

	bin := filepath.Join(t.TempDir(), "causeway-desktop")
	began := time.Now()
	build := exec.Command("go", "build", "-tags", "desktop,production,webkit2_41", "-ldflags", "-X main.version=xvfb-test", "-o", bin, ".")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the desktop app: %v\n%s", err, out)
	}
	t.Logf("desktop app built in %v", time.Since(began).Round(time.Second))

	display := startXvfb(t)
	home := t.TempDir()
	runtimeDir := filepath.Join(home, "run")
	os.MkdirAll(runtimeDir, 0o700)
	env := append(os.Environ(),
		"DISPLAY="+display,
		"HOME="+home,
		"XDG_CONFIG_HOME="+filepath.Join(home, "config"),
		"XDG_DATA_HOME="+filepath.Join(home, "data"),
		"XDG_CACHE_HOME="+filepath.Join(home, "cache"),
		"XDG_RUNTIME_DIR="+runtimeDir,
		// WebKit takes its language from the locale: with C.UTF-8 it says
		// "C", and the UI's charts (uPlot's Intl) throw.
		"LANG=en_US.UTF-8", "LC_ALL=",
		"GDK_BACKEND=x11",
		"NO_AT_BRIDGE=1",
		// No session bus: notifications are off, quietly.
		"DBUS_SESSION_BUS_ADDRESS=unix:path="+filepath.Join(home, "no-bus"),
	)
	// The remembered choice: local with the demo.
	cfgPath := filepath.Join(home, "config", "causeway", "desktop.json")
	if err := SaveConfig(cfgPath, Config{Mode: ModeLocal, Demo: true}); err != nil {
		t.Fatal(err)
	}
	// Free ports only: the standard 7070/4317/4318/19092/14222 stay free
	// for whatever else runs on the machine.
	studio := "127.0.0.1:" + strconv.Itoa(freePort(t))
	args := []string{"--listen", studio, "--otlp-http", "127.0.0.1:0", "--otlp-grpc", "127.0.0.1:0",
		"--kafka-port", "0", "--nats-port", "0", "--log-level", "debug"}

	// First run: the flow map fills in and follows the live channel.
	app := startApp(t, bin, env, args, filepath.Join(artifacts, "desktop-flowmap.log"))
	first := app.waitReport(t, 90*time.Second, "a live frame on the flow map", func(r report) bool {
		return r.path == "/flows" && r.frames > 0
	})
	rendered := app.waitReport(t, 60*time.Second, "the flow map drawn with its nodes, and more live frames", func(r report) bool {
		return r.path == "/flows" && r.status == "live" && r.elements["flow-node"] >= 8 && r.channels["flows"] >= 3 && r.frames >= first.frames+3
	})
	if !app.logged("webview: live updates arriving") {
		t.Error("the app did not log live updates arriving at the webview")
	}
	time.Sleep(2 * time.Second) // the layout settles, edges get their rates
	shot(t, display, filepath.Join(artifacts, "desktop-flowmap.png"), graphArea)
	t.Logf("flow map: %d nodes, %d live frames received by the webview (%v)", rendered.elements["flow-node"], rendered.frames, rendered.channels)

	corr := finishedOrder(t, "http://"+studio)
	app.stop(t)
	if cfg, err := LoadConfig(cfgPath); err != nil || cfg.Mode != ModeLocal || !cfg.Demo || cfg.GatewayPort == 0 {
		t.Errorf("desktop.json after a run: %+v, %v", cfg, err)
	}

	// Second run, same data and config, now with a session bus and a
	// notification service: a causation graph opened by --open; then a
	// notification of one of the demo's alerts, whose click opens the
	// alert's view in the window.
	bus := privateSessionBus(t)
	notifier, notes := serveNotifications(t, bus)
	env = append(env, "DBUS_SESSION_BUS_ADDRESS="+bus) // the last value of a key wins
	app = startApp(t, bin, env, append(args, "--open", "/graph?id="+corr), filepath.Join(artifacts, "desktop-graph.log"))
	graph := app.waitReport(t, 90*time.Second, "the causation graph of "+corr+" with its waterfall", func(r report) bool {
		return strings.HasPrefix(r.path, "/graph?") && r.elements["graph-canvas"] == 1 && r.elements["timeline-row"] >= 5 && r.status == "live"
	})
	time.Sleep(2 * time.Second)
	shot(t, display, filepath.Join(artifacts, "desktop-graph.png"), graphArea)
	t.Logf("causation graph of %s: %d events in the waterfall", corr, graph.elements["timeline-row"])

	// The demo's alerts, the view each links to first, and what that view draws.
	views := map[string]struct{ path, element string }{
		"Causeway alert: analytics is falling behind": {"/lag?group=analytics", "lag-group"},
		"Causeway alert: orders are stuck":            {"/journeys?journey=order&step=", "journey-step"},
	}
	var note shownNote
	for deadline := time.After(3 * time.Minute); note.id == 0; {
		select {
		case n := <-notes.got:
			if _, ok := views[n.summary]; ok {
				note = n
			}
		case <-deadline:
			t.Fatalf("no notification of the demo's alerts within 3 min; the app's log ends:\n%s", app.tail(30))
		}
	}
	if len(note.actions) == 0 || note.actions[0] != "default" {
		t.Fatalf("the notification %q cannot be clicked: actions %q", note.summary, note.actions)
	}
	if err := notifier.Emit(notifyPath, notifyIface+".ActionInvoked", note.id, "default"); err != nil {
		t.Fatal(err)
	}
	view := views[note.summary]
	shown := app.waitReport(t, 60*time.Second, "the view of the clicked notification "+note.summary+" ("+view.path+")", func(r report) bool {
		return strings.HasPrefix(r.path, view.path) && r.elements[view.element] >= 1
	})
	time.Sleep(2 * time.Second)
	shot(t, display, filepath.Join(artifacts, "desktop-alert-view.png"), image.Rectangle{})
	t.Logf("notification %q clicked: the window shows %s", note.summary, shown.path)
	app.stop(t)
}

// startXvfb starts a virtual screen and returns its display name; Xvfb
// picks a free display number itself (-displayfd).
func startXvfb(t *testing.T) string {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("Xvfb", "-displayfd", "3", "-screen", "0", "1440x900x24", "-nolisten", "tcp")
	cmd.ExtraFiles = []*os.File{w}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	got := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(r).ReadString('\n')
		r.Close()
		got <- strings.TrimSpace(line)
	}()
	select {
	case n := <-got:
		if n == "" {
			t.Fatalf("Xvfb did not start: %s", stderr.String())
		}
		return ":" + n
	case <-time.After(20 * time.Second):
		t.Fatalf("Xvfb did not start within 20 s: %s", stderr.String())
	}
	return ""
}

func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// runningApp is the desktop app under test, its log kept in memory and
// in an artifact file.
type runningApp struct {
	cmd  *exec.Cmd
	done chan error

	mu    sync.Mutex
	lines []string
}

func startApp(t *testing.T, bin string, env, args []string, logPath string) *runningApp {
	f, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	pr, pw := io.Pipe()
	a := &runningApp{cmd: exec.Command(bin, args...), done: make(chan error, 1)}
	a.cmd.Env = env
	a.cmd.Stdout, a.cmd.Stderr = pw, pw
	if err := a.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		err := a.cmd.Wait()
		pw.Close()
		a.done <- err
	}()
	go func() {
		sc := bufio.NewScanner(io.TeeReader(pr, f))
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			a.mu.Lock()
			a.lines = append(a.lines, sc.Text())
			a.mu.Unlock()
		}
		io.Copy(io.Discard, pr)
		f.Close()
	}()
	t.Cleanup(func() {
		if a.cmd.ProcessState == nil {
			a.cmd.Process.Kill()
			<-a.done
		}
	})
	return a
}

func (a *runningApp) logged(s string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, l := range a.lines {
		if strings.Contains(l, s) {
			return true
		}
	}
	return false
}

func (a *runningApp) tail(n int) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return strings.Join(a.lines[max(0, len(a.lines)-n):], "\n")
}

// report is a "webview report" log line: what the page said it shows.
type report struct {
	path, status string
	frames       int
	channels     map[string]int
	elements     map[string]int
}

var (
	reportPath   = regexp.MustCompile(` path=("(?:[^"\\]|\\.)*"|\S+)`)
	reportStatus = regexp.MustCompile(` status=("(?:[^"\\]|\\.)*"|\S+)`)
	reportFrames = regexp.MustCompile(` frames=(\d+)`)
	reportMaps   = regexp.MustCompile(` (channels|elements)="?map\[([^\]]*)\]`)
)

func parseReport(line string) (report, bool) {
	if !strings.Contains(line, `msg="webview report"`) {
		return report{}, false
	}
	unq := func(s string) string {
		if u, err := strconv.Unquote(s); err == nil {
			return u
		}
		return s
	}
	r := report{channels: map[string]int{}, elements: map[string]int{}}
	if m := reportPath.FindStringSubmatch(line); m != nil {
		r.path = unq(m[1])
	}
	if m := reportStatus.FindStringSubmatch(line); m != nil {
		r.status = unq(m[1])
	}
	if m := reportFrames.FindStringSubmatch(line); m != nil {
		r.frames, _ = strconv.Atoi(m[1])
	}
	for _, m := range reportMaps.FindAllStringSubmatch(line, -1) {
		into := r.channels
		if m[1] == "elements" {
			into = r.elements
		}
		for _, kv := range strings.Fields(m[2]) {
			if i := strings.LastIndexByte(kv, ':'); i > 0 {
				into[kv[:i]], _ = strconv.Atoi(kv[i+1:])
			}
		}
	}
	return r, true
}

// waitReport waits for a webview report that satisfies ok.
func (a *runningApp) waitReport(t *testing.T, within time.Duration, what string, ok func(report) bool) report {
	t.Helper()
	deadline := time.Now().Add(within)
	seen := 0
	for time.Now().Before(deadline) {
		a.mu.Lock()
		lines := a.lines[seen:]
		seen = len(a.lines)
		a.mu.Unlock()
		for _, l := range lines {
			if r, isReport := parseReport(l); isReport && ok(r) {
				return r
			}
		}
		select {
		case err := <-a.done:
			a.done <- err
			t.Fatalf("the desktop app exited (%v) before showing %s; its log ends:\n%s", err, what, a.tail(30))
		case <-time.After(250 * time.Millisecond):
		}
	}
	t.Fatalf("no %s within %v; the app's log ends:\n%s", what, within, a.tail(30))
	return report{}
}

// stop sends SIGTERM, as a session logout would, and expects a clean exit.
func (a *runningApp) stop(t *testing.T) {
	t.Helper()
	a.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-a.done:
		if err != nil {
			t.Errorf("the desktop app exited with %v after SIGTERM; its log ends:\n%s", err, a.tail(20))
		}
	case <-time.After(30 * time.Second):
		a.cmd.Process.Kill()
		t.Fatalf("the desktop app did not stop within 30 s of SIGTERM; its log ends:\n%s", a.tail(20))
	}
	time.Sleep(100 * time.Millisecond) // the log reader's last lines
	if !a.logged("desktop app stopped") {
		t.Errorf("no clean stop in the log:\n%s", a.tail(20))
	}
}

// finishedOrder asks the local studio for an order that got all the way
// to shipping, so that its graph crosses Kafka and NATS.
func finishedOrder(t *testing.T, studio string) string {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(studio + "/api/v1/events?service=shipping-service&limit=50")
		if err == nil {
			var page struct {
				Events []struct {
					CorrelationID string `json:"correlation_id"`
				} `json:"events"`
			}
			json.NewDecoder(resp.Body).Decode(&page)
			resp.Body.Close()
			for _, e := range page.Events {
				if strings.HasPrefix(e.CorrelationID, "order-") {
					return e.CorrelationID
				}
			}
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Fatal("no order reached shipping-service within 30 s")
	return ""
}

// shot takes a screenshot of the whole screen and fails when it is blank:
// a real page has many colours and contrast.
// graphArea is a part of the screen that the flow map and the causation
// graph draw nodes into (below the view's header, right of the sidebar),
// and that holds plain background while a view still says "Loading…" or
// when the webview leaves its canvas unpainted.
var graphArea = image.Rect(300, 200, 900, 750)

// shot takes a screenshot into path and fails the test when it looks
// blank, or when drawn (if not empty) holds no drawing: under a dozen
// colours.
func shot(t *testing.T, display, path string, drawn image.Rectangle) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "/usr/bin/import", "-display", display, "-window", "root", path)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("screenshot: %v %s", err, out)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	colours, stddev := imageStats(img)
	t.Logf("%s: %d colours, luminance standard deviation %.3f", filepath.Base(path), colours, stddev)
	if colours < 64 || stddev < 0.05 {
		t.Errorf("%s looks blank: %d colours, luminance standard deviation %.3f", path, colours, stddev)
	}
	if drawn.Empty() {
		return
	}
	sub, ok := img.(interface {
		SubImage(image.Rectangle) image.Image
	})
	if !ok {
		t.Fatalf("%s: cannot crop a %T", path, img)
	}
	if n, _ := imageStats(sub.SubImage(drawn)); n < 12 {
		t.Errorf("%s: nothing drawn in %v (%d colours): the view was still loading, or the webview did not paint its canvas", path, drawn, n)
	}
}

// imageStats counts distinct colours and the luminance's standard
// deviation (0..1) over every pixel.
func imageStats(img image.Image) (int, float64) {
	b := img.Bounds()
	seen := map[uint32]struct{}{}
	var sum, sumSq float64
	n := float64(b.Dx() * b.Dy())
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			seen[(r>>8)<<16|(g>>8)<<8|bl>>8] = struct{}{}
			l := (0.2126*float64(r) + 0.7152*float64(g) + 0.0722*float64(bl)) / 65535
			sum += l
			sumSq += l * l
		}
	}
	mean := sum / n
	return len(seen), math.Sqrt(math.Max(0, sumSq/n-mean*mean))
}

func TestImageStatsTellsBlankFromDrawn(t *testing.T) {
	blank := image.NewGray(image.Rect(0, 0, 64, 64))
	if c, sd := imageStats(blank); c != 1 || sd != 0 {
		t.Errorf("blank: %d colours, sd %v", c, sd)
	}
	drawn := image.NewRGBA(image.Rect(0, 0, 64, 64))
	for i := range drawn.Pix {
		drawn.Pix[i] = byte(i * 7)
	}
	if c, sd := imageStats(drawn); c < 64 || sd < 0.05 {
		t.Errorf("drawn: %d colours, sd %v", c, sd)
	}
	r, ok := parseReport(`time=x level=DEBUG msg="webview report" path="/graph?id=order-1" status=live frames=12 channels="map[flows:9 lag:3]" sockets=1 elements="map[flow-node:21 timeline-row:15]"`)
	if !ok || r.path != "/graph?id=order-1" || r.status != "live" || r.frames != 12 || r.channels["lag"] != 3 || r.elements["flow-node"] != 21 {
		t.Errorf("parseReport: %+v", r)
	}
	r, _ = parseReport(`msg="webview report" path=/flows status=live frames=0 channels=map[] sockets=1 elements=map[live-status:1]`)
	if r.path != "/flows" || r.elements["live-status"] != 1 || len(r.channels) != 0 {
		t.Errorf("parseReport: %+v", r)
	}
}
