package desktop

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/causeway-dev/causeway/agent/sidecar"
	"github.com/causeway-dev/causeway/collector"
	"github.com/causeway-dev/causeway/demo"
	_ "github.com/causeway-dev/causeway/store/embedded" // registers embedded://
	"github.com/causeway-dev/causeway/studio/alert"
	"github.com/causeway-dev/causeway/studio/server"
)

// localStudio is a studio the app runs in its own process, optionally
// with the demo shop feeding it.
type localStudio struct {
	srv     *server.Server
	brokers *demo.Brokers // nil without the demo
	stop    context.CancelFunc
	wg      sync.WaitGroup
	log     *slog.Logger
	// dataDir holds the store, the spool and the demo's JetStream files.
	dataDir string
	// notices tell the user about fallbacks (a standard port was taken).
	notices []string
	// dlqKey signs the demo sidecar's DLQ entries; only this process knows
	// it, so only they are trusted (replayable from their stored copy).
	dlqKey []byte
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
		l.brokers, err = demo.StartBrokers(demo.Config{KafkaPort: kafkaPort, NATSPort: natsPort, DataDir: filepath.Join(l.dataDir, "jetstream")})
		if err != nil {
			return nil, err
		}
		defer func() {
			if err != nil {
				l.brokers.Close()
			}
		}()
		studio.Replay.KafkaBrokers, studio.Replay.NATSURL = []string{l.brokers.KafkaAddr()}, l.brokers.NATSURL()
		var key [32]byte
		rand.Read(key[:])
		l.dlqKey = []byte(hex.EncodeToString(key[:]))
		col.TrustedDLQSources = []collector.TrustedDLQSource{{Name: "demo-sidecar", Key: string(l.dlqKey)}}
		// The demo's example alert (as `causeway demo` has it): the slow
		// analytics consumer falls behind, and the desktop notifies.
		studio.Alerts.Rules = append(studio.Alerts.Rules, alert.Rule{ID: "demo-analytics-lag", Name: "analytics is falling behind",
			Kind: alert.KindLagMessages, Group: "analytics", Threshold: 50, For: alert.Duration(30 * time.Second)})
	}
	l.srv, err = server.Start(ctx, server.Setup{
		Store:     "embedded://" + filepath.ToSlash(filepath.Join(l.dataDir, "store")),
		Collector: col,
		Studio:    studio,
		Log:       log,
	})
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
		l.notices = append(l.notices, fmt.Sprintf("Port %d is taken: the demo's Kafka listens on %s instead.", o.KafkaPort, l.brokers.KafkaAddr()))
	}
	if natsMoved {
		l.notices = append(l.notices, fmt.Sprintf("Port %d is taken: the demo's NATS listens on %s instead.", o.NATSPort, l.brokers.NATSURL()))
	}
	for _, n := range l.notices {
		log.Warn(n)
	}
	if withDemo {
		l.startDemo()
	}
	return l, nil
}

// startDemo runs the demo shop and the broker sidecar against the studio,
// wired as `causeway demo` wires them.
func (l *localStudio) startDemo() {
	ctx, stop := context.WithCancel(context.Background())
	l.stop = stop
	collectorURL := "http://" + server.DialAddr(l.srv.Collector().HTTPAddr())
	l.wg.Add(2)
	go func() {
		defer l.wg.Done()
		if err := demo.Run(ctx, demo.Config{Collector: collectorURL, OrderEvery: 200 * time.Millisecond, Faults: true}, l.brokers, l.log.With("component", "demo")); err != nil && ctx.Err() == nil {
			l.log.Error("demo shop stopped", "error", err)
		}
	}()
	go func() {
		defer l.wg.Done()
		err := sidecar.Run(ctx, sidecar.Config{KafkaBrokers: []string{l.brokers.KafkaAddr()}, NATSURL: l.brokers.NATSURL(), Collector: collectorURL,
			Interval: 2 * time.Second, Cluster: "demo", Lag: sidecar.LagOptions{StopAfter: time.Minute},
			DLQSigner: "demo-sidecar", DLQSigningKey: l.dlqKey}, l.log.With("component", "sidecar"))
		if err != nil && ctx.Err() == nil {
			l.log.Error("sidecar stopped", "error", err)
		}
	}()
}

// URL is the local studio's base URL.
func (l *localStudio) URL() string { return l.srv.URL() }

// Close stops the demo, then the studio (which flushes the collector to
// the store), then the brokers.
func (l *localStudio) Close(ctx context.Context) error {
	if l.stop != nil {
		l.stop()
		done := make(chan struct{})
		go func() { l.wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			l.log.Warn("the demo services did not stop within 5 s")
		}
	}
	err := l.srv.Shutdown(ctx)
	if l.brokers != nil {
		l.brokers.Close()
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
