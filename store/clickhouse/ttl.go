package clickhouse

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
)

// TTL on current ClickHouse releases. 18.16 has no TTL, so retention
// there is the pass's partition drops alone. A server with table TTL
// (19.6 and later) that can also change it without rewriting every part
// (the materialize_ttl_after_modify setting, 20.x and later) gets, at each
// pass, a TTL on every daily-partitioned table equal to the pass's
// horizon: the server then drops expired days by itself between passes,
// and when no Causeway process is running at all. The pass still drops
// the days it finds, so both kinds of server behave the same in what a
// pass deletes and counts. The TTL changes only when the horizon moves
// by a day or more (or the watermark shortens it).

// serverVersion returns the server's major and minor version.
func serverVersion(v string) (major, minor int, err error) {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return 0, 0, fmt.Errorf("server version %q: want major.minor…", v)
	}
	if major, err = strconv.Atoi(parts[0]); err == nil {
		minor, err = strconv.Atoi(parts[1])
	}
	if err != nil {
		return 0, 0, fmt.Errorf("server version %q: %w", v, err)
	}
	return major, minor, nil
}

// hasTTL says whether a server of this version with (or without) the
// materialize_ttl_after_modify setting gets a TTL from retention.
func hasTTL(version string, materializeSetting bool) bool {
	major, minor, err := serverVersion(version)
	if err != nil {
		return false
	}
	return (major > 19 || major == 19 && minor >= 6) && materializeSetting
}

// serverHasTTL asks the server for its version and settings.
func serverHasTTL(ctx context.Context, conn ch.Conn) (bool, error) {
	var version string
	var setting uint64
	if err := conn.QueryRow(ctx, "SELECT version(), (SELECT count() FROM system.settings WHERE name = 'materialize_ttl_after_modify')").Scan(&version, &setting); err != nil {
		return false, fmt.Errorf("server version: %w", err)
	}
	return hasTTL(version, setting > 0), nil
}

// ttlDays is the TTL interval, in days, that expires the rows of days
// before day: a row of date d expires once d + n <= today, that is when
// d < day for n = (today - day) + 1.
func ttlDays(now, day time.Time) int {
	today := now.UTC().Truncate(24 * time.Hour)
	return max(0, int(today.Sub(day)/(24*time.Hour))) + 1
}

// ttlStatement is the ALTER giving table t (of database db) a TTL of n days.
func ttlStatement(db string, t chRetentionTable, n int) string {
	col := t.dateCol
	if col != "date" {
		col = "toDate(" + col + ")"
	}
	return fmt.Sprintf("ALTER TABLE %s.%s MODIFY TTL %s + toIntervalDay(%d)", db, t.name, col, n)
}

// ttlState remembers the TTL last set per node and table, so a pass
// alters a table only when its TTL changes.
type ttlState struct {
	mu   sync.Mutex
	days map[string]int
}

// set gives t on node n a TTL of days, unless it already has it. The
// change applies to new merges only (materialize_ttl_after_modify = 0):
// the pass's partition drops have removed the older days already.
func (st *ttlState) set(ctx context.Context, n retentionNode, t chRetentionTable, days int) error {
	key := n.addr + "/" + n.db + "." + t.name
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.days[key] == days {
		return nil
	}
	ctx = ch.Context(ctx, ch.WithSettings(ch.Settings{"materialize_ttl_after_modify": 0}))
	if err := n.conn.Exec(ctx, ttlStatement(n.db, t, days)); err != nil {
		return fmt.Errorf("set TTL: %w", err)
	}
	if st.days == nil {
		st.days = map[string]int{}
	}
	st.days[key] = days
	return nil
}
