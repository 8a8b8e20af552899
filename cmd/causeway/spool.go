package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/causeway-dev/causeway/collector/otlp"
	"github.com/causeway-dev/causeway/collector/spool"
)

// `causeway spool` handles the records the collector quarantined (see
// collector/quarantine.go): inspect lists them or summarises one, drop
// deletes them, requeue puts them back in the spool as new records so the
// collector tries them again (after a fix: a new version, a raised limit,
// a repaired store). inspect and drop work while a collector runs; requeue
// appends to the spool, which only one process may hold, so it needs the
// collector stopped and says so.

const spoolUsage = `Usage: causeway spool <inspect|requeue|drop> [flags] [ID]

  inspect [ID]        list quarantined records, or summarise one as JSON
  requeue ID|--all    append records to the spool again (collector stopped)
  drop ID|--all       delete quarantined records

The spool directory is --dir, else --spool-dir / CAUSEWAY_SPOOL_DIR / the
config file's collector.spool_dir, as for causeway collector.
`

// Bounds of an inspect summary: a record can hold 50,000 spans.
const (
	summarySpans      = 100
	summaryAttributes = 50
)

func runSpool(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, spoolUsage)
		if len(args) == 0 {
			return usageError{errors.New("a subcommand is required")}
		}
		return nil
	}
	sub := args[0]
	switch sub {
	case "inspect", "requeue", "drop":
	default:
		fmt.Fprint(stderr, spoolUsage)
		return usageError{fmt.Errorf("unknown subcommand %q", sub)}
	}
	s := newSettings("spool")
	s.fs.SetOutput(stderr)
	dir := s.fs.String("dir", "", "spool `directory` (overrides --spool-dir and the config file)")
	all := false
	if sub != "inspect" {
		s.fs.BoolVar(&all, "all", false, "every quarantined record")
	}
	s.fs.Usage = func() {
		fmt.Fprint(stderr, spoolUsage)
		s.fs.PrintDefaults()
	}
	// Flags may come before or after the id.
	var ids []string
	rest := args[1:]
	for {
		if err := s.fs.Parse(rest); err != nil {
			return err
		}
		if s.fs.NArg() == 0 {
			break
		}
		ids = append(ids, s.fs.Arg(0))
		rest = s.fs.Args()[1:]
	}
	cfg, err := s.load()
	if err != nil {
		return err
	}
	if *dir == "" {
		*dir = cfg.Collector.SpoolDir
	}
	switch {
	case len(ids) > 1:
		return usageError{fmt.Errorf("one id at a time (got %d)", len(ids))}
	case sub == "inspect" && len(ids) == 0:
		return listQuarantine(stdout, *dir)
	case sub == "inspect":
		return inspectRecord(stdout, *dir, ids[0])
	case all == (len(ids) == 1):
		return usageError{fmt.Errorf("%s takes an id or --all", sub)}
	}
	targets := ids
	if all {
		list, err := spool.ListQuarantine(*dir)
		if err != nil {
			return err
		}
		for _, q := range list {
			targets = append(targets, q.ID)
		}
	}
	if len(targets) == 0 {
		fmt.Fprintf(stdout, "no quarantined records in %s\n", *dir)
		return nil
	}
	if sub == "drop" {
		for _, id := range targets {
			if err := spool.DropQuarantined(*dir, id); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "dropped %s\n", id)
		}
		fmt.Fprintf(stdout, "%d records dropped\n", len(targets))
		return nil
	}
	sp, err := spool.Open(*dir, spool.Options{MaxBytes: cfg.Collector.MaxSpoolBytes})
	if errors.Is(err, spool.ErrLocked) {
		return fmt.Errorf("the spool %s is held by a running collector: stop it, requeue, and start it again (inspect and drop work while it runs): %w", *dir, err)
	}
	if err != nil {
		return err
	}
	var errs []error
	n := 0
	for _, id := range targets {
		info, err := sp.Requeue(id)
		if err != nil {
			errs = append(errs, err)
			break
		}
		n++
		fmt.Fprintf(stdout, "requeued %s (%s, %d spans, %d bytes)\n", id, info.Kind, info.Spans, info.Bytes)
	}
	fmt.Fprintf(stdout, "%d records requeued; the collector stores them when it starts\n", n)
	return errors.Join(append(errs, sp.Close())...)
}

func listQuarantine(w io.Writer, dir string) error {
	list, err := spool.ListQuarantine(dir)
	if err != nil {
		return err
	}
	if len(list) == 0 {
		fmt.Fprintf(w, "no quarantined records in %s\n", dir)
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tTIME\tKIND\tSPANS\tBYTES\tREASON\tERROR")
	for _, q := range list {
		msg := q.Error
		if len(msg) > 80 {
			msg = msg[:80] + "…"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\t%s\n", q.ID, q.Time.UTC().Format(time.RFC3339), q.Kind, q.Spans, q.Bytes, q.Reason, strings.ReplaceAll(msg, "\n", " "))
	}
	return tw.Flush()
}

// recordSummary is what inspect prints about one record.
type recordSummary struct {
	spool.QuarantineInfo
	// Decoded says whether the record decodes; DecodeError why not.
	Decoded     bool   `json:"decoded"`
	DecodeError string `json:"decode_error,omitempty"`
	// Spans are the first spans of a traces record; Truncated is set when
	// there are more than shown.
	Spans []spanSummary `json:"spans_shown,omitempty"`
	// Metrics are the first metric names of a metrics record.
	Metrics   []string `json:"metrics,omitempty"`
	Truncated bool     `json:"truncated,omitempty"`
	// Head is the first bytes of a record that does not decode, in hex.
	Head string `json:"head,omitempty"`
}

type spanSummary struct {
	Name          string   `json:"name"`
	Service       string   `json:"service,omitempty"`
	TraceID       string   `json:"trace_id"`
	SpanID        string   `json:"span_id"`
	AttributeKeys []string `json:"attribute_keys,omitempty"`
	Events        int      `json:"events,omitempty"`
	Links         int      `json:"links,omitempty"`
}

func inspectRecord(w io.Writer, dir, id string) error {
	info, data, err := spool.ReadQuarantined(dir, id)
	if err != nil {
		return err
	}
	sum := summarize(info, data)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(sum)
}

// summarize decodes a record defensively: the nesting pre-scan first (a
// record may be nested deep enough to overflow the decoder's stack), any
// panic recovered, at most summarySpans spans and summaryAttributes keys
// each shown.
func summarize(info spool.QuarantineInfo, data []byte) (sum recordSummary) {
	sum.QuarantineInfo = info
	defer func() {
		if r := recover(); r != nil {
			sum.Decoded, sum.DecodeError, sum.Spans, sum.Metrics = false, fmt.Sprintf("panic while decoding: %v", r), nil, nil
		}
		if !sum.Decoded {
			sum.Head = hex.EncodeToString(data[:min(len(data), 64)])
		}
	}()
	if len(data) == 0 {
		sum.DecodeError = "empty record"
		return sum
	}
	// The first byte says what the record holds, as the collector spools it.
	kind, body := data[0], data[1:]
	switch kind {
	case 'T':
		if _, err := otlp.CountSpansProto(body); err != nil {
			sum.DecodeError = err.Error()
			return sum
		}
		req := ptraceotlp.NewExportRequest()
		if err := req.UnmarshalProto(body); err != nil {
			sum.DecodeError = err.Error()
			return sum
		}
		sum.Decoded = true
		rss := req.Traces().ResourceSpans()
		for i := 0; i < rss.Len(); i++ {
			service := ""
			if v, ok := rss.At(i).Resource().Attributes().Get("service.name"); ok {
				service = v.AsString()
			}
			sss := rss.At(i).ScopeSpans()
			for j := 0; j < sss.Len(); j++ {
				spans := sss.At(j).Spans()
				for k := 0; k < spans.Len(); k++ {
					if len(sum.Spans) == summarySpans {
						sum.Truncated = true
						return sum
					}
					sp := spans.At(k)
					s := spanSummary{Name: sp.Name(), Service: service, TraceID: sp.TraceID().String(), SpanID: sp.SpanID().String(),
						Events: sp.Events().Len(), Links: sp.Links().Len()}
					sp.Attributes().Range(func(key string, _ pcommon.Value) bool {
						if len(s.AttributeKeys) == summaryAttributes {
							sum.Truncated = true
							return false
						}
						s.AttributeKeys = append(s.AttributeKeys, key)
						return true
					})
					sum.Spans = append(sum.Spans, s)
				}
			}
		}
	case 'M':
		if err := otlp.PrescanMetricsProto(body, otlp.RequestLimits{MaxAttrDepth: otlp.MaxAttrDepthCeiling}); err != nil {
			sum.DecodeError = err.Error()
			return sum
		}
		req := pmetricotlp.NewExportRequest()
		if err := req.UnmarshalProto(body); err != nil {
			sum.DecodeError = err.Error()
			return sum
		}
		sum.Decoded = true
		rms := req.Metrics().ResourceMetrics()
		for i := 0; i < rms.Len(); i++ {
			sms := rms.At(i).ScopeMetrics()
			for j := 0; j < sms.Len(); j++ {
				ms := sms.At(j).Metrics()
				for k := 0; k < ms.Len(); k++ {
					if len(sum.Metrics) == summarySpans {
						sum.Truncated = true
						return sum
					}
					sum.Metrics = append(sum.Metrics, ms.At(k).Name())
				}
			}
		}
	default:
		sum.DecodeError = fmt.Sprintf("unknown record kind %q", kind)
	}
	return sum
}
