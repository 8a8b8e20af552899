package desktop

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/causeway-dev/causeway/collector"
	"github.com/causeway-dev/causeway/demo"
	_ "github.com/causeway-dev/causeway/store/embedded" // registers embedded://
	"github.com/causeway-dev/causeway/studio/server"
)

// localStudio is a studio the app runs in its own process, optionally
// with the demo shop feeding it.
type localStudio struct {
	srv  *server.Server
	demo *demo.Demo // nil without the demo
	log  *slog.Logger
	// dataDir holds the store, the spool and the demo's JetStream files.
	dataDir string
	// notices tell the user about fallbacks (a standard port was taken).
	notices []string
}

// startLocal starts a studio with the embedded store under the data
// directory and the collector on the standard OTLP ports, and with the
// demo, the demo brokers, shop and sidecar. A standard port that is taken
// (another collector, a `causeway studio`) falls back to a free one, and a
// notice says so.
func startLocal(ctx context.Context, o Options, withDemo bool, log *slog.Logger) (_ *localStudio, err error) {
	l := &localStudio{log: log, dataDir: o.dataDir(withDemo)}
	if err := os.MkdirAll(l.dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("cannot create the data directory %q: %w", l.dataDir, err)
	}
	listen, listenMoved := availableAddr(o.Listen)
	otlpHTTP, httpMoved := availableAddr(o.OTLPHTTP)
	otlpGRPC, grpcMoved := availableAddr(o.OTLPGRPC)

	col := collector.DefaultConfig()
	col.HTTPAddr, col.GRPCAddr, col.SpoolDir = otlpHTTP, otlpGRPC, filepath.Join(l.dataDir, "spool")
	studio := server.Config{Listen: listen, Alerts: server.AlertsConfig{Interval: 15 * time.Second}, SecretKeyFile: filepath.Join(l.dataDir, "secret.key")}
	var kafkaMoved, natsMoved bool
	if withDemo {
		var kafkaPort, natsPort int
		kafkaPort, kafkaMoved = availablePort(o.KafkaPort)
		natsPort, natsMoved = availablePort(o.NATSPort)
		l.demo, err = demo.Open(demo.Config{KafkaPort: kafkaPort, NATSPort: natsPort, DataDir: filepath.Join(l.dataDir, "jetstream"),
			OrderEvery: 200 * time.Millisecond, Faults: true}, log)
		if err != nil {
			return nil, err
		}
		defer func() {
			if err != nil {
				l.demo.Close()
			}
		}()
		// As `causeway demo` runs it: the brokers replayable, the sidecar
		// trusted, and the example alert (the slow analytics consumer falls
		// behind), which the desktop notifies.
		l.demo.Configure(&col, &studio)
	}
	setup := server.Setup{
		Store:     "embedded://" + filepath.ToSlash(filepath.Join(l.dataDir, "store")),
		Collector: col,
		Studio:    studio,
		Log:       log,
	}
	if withDemo {
		// The journeys the demo's stuck-orders alert watches, as `causeway demo` has them.
		setup.Journeys = demo.Journeys()
	}
	l.srv, err = server.Start(ctx, setup)
	if err != nil {
		return nil, fmt.Errorf("local studio: %w", err)
	}
	c := l.srv.Collector()
	if listenMoved {
		l.notices = append(l.notices, fmt.Sprintf("Port %s is taken (is `causeway studio` running?): the local studio's API is on %s instead.", portOf(o.Listen), l.srv.URL()))
	}
	if httpMoved {
		l.notices = append(l.notices, fmt.Sprintf("OTLP/HTTP port %s is taken (another collector?): this studio receives OTLP/HTTP on %s instead; point OTEL_EXPORTER_OTLP_ENDPOINT at http://%s.", portOf(o.OTLPHTTP), c.HTTPAddr(), server.DialAddr(c.HTTPAddr())))
	}
	if grpcMoved {
		l.notices = append(l.notices, fmt.Sprintf("OTLP/gRPC port %s is taken (another collector?): this studio receives OTLP/gRPC on %s instead.", portOf(o.OTLPGRPC), c.GRPCAddr()))
	}
	if kafkaMoved {
		l.notices = append(l.notices, fmt.Sprintf("Port %d is taken: the demo's Kafka listens on %s instead.", o.KafkaPort, l.demo.Brokers().KafkaAddr()))
	}
	if natsMoved {
		l.notices = append(l.notices, fmt.Sprintf("Port %d is taken: the demo's NATS listens on %s instead.", o.NATSPort, l.demo.Brokers().NATSURL()))
	}
	for _, n := range l.notices {
		log.Warn(n)
	}
	if l.demo != nil {
		l.demo.Start("http://" + server.DialAddr(c.HTTPAddr()))
	}
	return l, nil
}

// URL is the local studio's base URL.
func (l *localStudio) URL() string { return l.srv.URL() }

// Close stops the demo, then the studio (which flushes the collector to
// the store), then the brokers.
func (l *localStudio) Close(ctx context.Context) error {
	if l.demo != nil {
		l.demo.Stop()
	}
	err := l.srv.Shutdown(ctx)
	if l.demo != nil {
		l.demo.Close()
	}
	return err
}

// availableAddr returns addr if it can be listened on now, else the same
// host with port 0 (any free port) and true. Checking first gives the
// user a notice that names the port; a race with another process taking
// it in between ends in server.Start's own clear error.
func availableAddr(addr string) (string, bool) {
	if addr == collector.Off {
		return addr, false
	}
	ln, err := net.Listen("tcp", addr)
	if err == nil {
		ln.Close()
		return addr, false
	}
	host, _, splitErr := net.SplitHostPort(addr)
	if splitErr != nil || !errors.Is(err, syscall.EADDRINUSE) {
		return addr, false // not a taken port: let server.Start report it
	}
	return net.JoinHostPort(host, "0"), true
}

// availablePort returns port if 127.0.0.1:port is free, else a free port
// and true. Port 0 asks for a free port (the brokers need a real number:
// NATS reads 0 as its default, 4222).
func availablePort(port int) (int, bool) {
	if port > 0 {
		ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err == nil {
			ln.Close()
			return port, false
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return port, false // let StartBrokers report it
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, port > 0
}

func portOf(addr string) string {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	return port
}
