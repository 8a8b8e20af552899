package embedded

import (
	"strings"

	"github.com/causeway-dev/causeway/store"
)

// maxIn bounds the values of one id list in a query, so that a query's
// parameters stay under maxVariables (Edges binds three lists).
const maxIn = 10000

// where collects a query's conditions and their bound values. Values are
// always bound; only column names and placeholders enter the SQL.
type where struct {
	conds []string
	args  []any
}

func (w *where) add(cond string, args ...any) {
	w.conds = append(w.conds, cond)
	w.args = append(w.args, args...)
}

func (w *where) eq(col, v string) {
	if v != "" {
		w.add(col+" = ?", v)
	}
}

func (w *where) in(col string, vs []string) {
	if len(vs) == 0 {
		return
	}
	args := make([]any, len(vs))
	for i, v := range vs {
		args[i] = v
	}
	w.add(col+" IN ("+placeholders(len(vs))+")", args...)
}

func (w *where) String() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

func checkIn(what string, vs []string) error {
	if len(vs) > maxIn {
		return store.Invalid("%d %s in one query, at most %d", len(vs), what, maxIn)
	}
	return nil
}
