package clickhouse

import (
	"context"
	"fmt"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/ext"
)

// idSet is a set of ids a query tests a column against (col IN set). On
// one server the ids go with the query as an external table (name), sent
// in Native form: ClickHouse 18.16 parses a list of literals slowly (about
// 10 ms for 1,000 ids, more than the lookup takes), and an IN on a table
// still narrows the read by the primary key. A single id is a literal
// (an external table costs more than parsing one), and so is every list
// on a cluster, whose shards do not see the query's external tables.
type idSet struct {
	expr string // a table name or "(?,…)"
	args []any  // the list's values (literal form only)
}

// idSets returns the sets for lists of ids named by names, and ctx with
// their external tables attached.
func (s *Store) idSets(ctx context.Context, names []string, lists ...[]string) (context.Context, []idSet, error) {
	sets := make([]idSet, len(lists))
	var tables []*ext.Table
	for i, ids := range lists {
		if s.cluster != "" || len(ids) == 1 {
			in, args := inList("", ids)
			sets[i] = idSet{expr: in[len(" IN "):], args: args}
			continue
		}
		t, err := ext.NewTable(names[i], ext.Column("id", "String"))
		if err != nil {
			return nil, nil, fmt.Errorf("external table %s: %w", names[i], err)
		}
		for _, id := range ids {
			if err := t.Append(id); err != nil {
				return nil, nil, fmt.Errorf("external table %s: %w", names[i], err)
			}
		}
		tables = append(tables, t)
		sets[i] = idSet{expr: names[i]}
	}
	if len(tables) > 0 {
		ctx = ch.Context(ctx, ch.WithExternalTable(tables...))
	}
	return ctx, sets, nil
}
