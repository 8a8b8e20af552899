package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/causeway-dev/causeway/store"
	"github.com/causeway-dev/causeway/studio/audit"
)

// `causeway audit` reads the studio's tamper-evident audit log (see
// studio/audit): verify walks every chain and fails naming the first
// record that does not verify; list prints the latest records.

const auditUsage = `Usage: causeway audit <verify|list> [flags]

  verify    check every chain of the audit log; exit 1 naming the first
            record that was changed, removed, inserted or stored twice
  list      print the latest records of every chain (--limit, default 50)

The store is --store, else CAUSEWAY_STORE / the config file's store, as for
causeway studio.
`

func runAudit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, auditUsage)
		if len(args) == 0 {
			return usageError{errors.New("a subcommand is required")}
		}
		return nil
	}
	sub := args[0]
	if sub != "verify" && sub != "list" {
		fmt.Fprint(stderr, auditUsage)
		return usageError{fmt.Errorf("unknown subcommand %q", sub)}
	}
	s := newSettings("audit")
	s.fs.SetOutput(stderr)
	limit := 50
	if sub == "list" {
		s.fs.IntVar(&limit, "limit", limit, "most records to print (`n`), the newest")
	}
	s.fs.Usage = func() {
		fmt.Fprint(stderr, auditUsage)
		s.fs.PrintDefaults()
	}
	if err := s.fs.Parse(args[1:]); err != nil {
		return err
	}
	if s.fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected argument %q", s.fs.Arg(0))}
	}
	cfg, err := s.load()
	if err != nil {
		return err
	}
	st, err := store.Open(ctx, cfg.Store)
	if err != nil {
		return err
	}
	defer st.Close()
	if sub == "list" {
		return listAudit(ctx, st, stdout, limit)
	}
	sum, err := audit.Verify(ctx, st)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "audit log verifies: %d records in %d chains\n", sum.Records, sum.Chains)
	for _, w := range slices.Sorted(maps.Keys(sum.Heads)) {
		h := sum.Heads[w]
		fmt.Fprintf(stdout, "  chain %s: %d records, last %s\n", w, h.Seq, h.Hash)
	}
	return nil
}

// listAudit prints the newest limit records of every chain, oldest first.
func listAudit(ctx context.Context, st store.AuditLog, stdout io.Writer, limit int) error {
	if limit <= 0 || limit > store.MaxLimit {
		return usageError{fmt.Errorf("--limit %d: want 1 to %d", limit, store.MaxLimit)}
	}
	writers, err := st.AuditWriters(ctx)
	if err != nil {
		return err
	}
	var all []store.AuditRecord
	for _, w := range writers {
		last, err := st.LastAudit(ctx, w)
		if err != nil {
			return err
		}
		rs, err := st.AuditRecords(ctx, store.AuditQuery{Writer: w, AfterSeq: last.Seq - min(last.Seq, uint64(limit)), Limit: limit})
		if err != nil {
			return err
		}
		all = append(all, rs...)
	}
	slices.SortFunc(all, func(a, b store.AuditRecord) int {
		return cmp.Or(cmp.Compare(a.TimeNS, b.TimeNS), cmp.Compare(a.Writer, b.Writer), cmp.Compare(a.Seq, b.Seq))
	})
	all = all[max(0, len(all)-limit):]
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tCHAIN\tSEQ\tACTOR\tACTION\tSUBJECT\tDETAIL")
	for _, r := range all {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\n", time.Unix(0, int64(r.TimeNS)).UTC().Format(time.RFC3339), r.Writer, r.Seq,
			r.Actor, r.Action, r.Subject, r.Detail)
	}
	return tw.Flush()
}
