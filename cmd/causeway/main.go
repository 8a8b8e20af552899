// Command causeway is Causeway's one binary: the collector, the studio, the
// broker sidecar and the all-in-one demo are its subcommands.
//
//	causeway collector  receive OTLP, derive lineage, write to the store
//	causeway studio     the read API with the collector in-process (UI: issue #5)
//	causeway agent      the broker sidecar: Kafka consumer lag and DLQ arrivals
//	causeway demo       everything in one process with a demo shop
//	causeway audit      verify or list the audit log
//	causeway spool      list, requeue or drop quarantined spool records
//	causeway version    print the version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/causeway-dev/causeway/studio/server"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// command is one subcommand.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"collector", "receive OTLP traces and metrics, derive lineage, write to the store", runCollector},
		{"studio", "serve the read API (/api/v1) with the collector in-process", runStudio},
		{"agent", "run the broker sidecar next to Kafka: consumer lag and DLQ arrivals", runAgent},
		{"demo", "run everything in one process with a demo shop on embedded Kafka and NATS", runDemo},
		{"audit", "verify the tamper-evident audit log (verify) or print its latest records (list)", runAudit},
		{"spool", "list, requeue or drop the spool records the collector quarantined", runSpool},
		{"version", "print the version", func(_ context.Context, _ []string, stdout, _ io.Writer) error {
			_, err := fmt.Fprintf(stdout, "causeway %s\n", version)
			return err
		}},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// run dispatches to a subcommand and returns the process exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, args[1:], stdout, stderr)
		switch {
		case err == nil:
			return 0
		case errors.Is(err, flag.ErrHelp):
			return 0
		case errors.As(err, new(usageError)), errors.As(err, new(server.UsageError)):
			fmt.Fprintf(stderr, "causeway %s: %v\n", c.name, err)
			return 2
		default:
			fmt.Fprintf(stderr, "causeway %s: %v\n", c.name, err)
			return 1
		}
	}
	fmt.Fprintf(stderr, "causeway: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "Causeway %s — see what happens across your async hops.\n\nUsage: causeway <command> [flags]\n\nCommands:\n", version)
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "\nRun 'causeway <command> -h' for a command's flags.\n")
}

// usageError is a mistake in the command line, reported with exit code 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }
