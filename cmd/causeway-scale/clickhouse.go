package main

import (
	"context"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/causeway-dev/causeway/store"
	"github.com/causeway-dev/causeway/store/clickhouse"
	"github.com/causeway-dev/causeway/store/clickhouse/chtest"
)

// The ClickHouse rows (-clickhouse): the same load and queries against a
// ClickHouse store, on a private 18.16 server started for the run
// ("private", via chtest; CAUSEWAY_CLICKHOUSE_DSN names another) or on
// the server at a clickhouse://host:port URL. Each scenario gets a
// database of its own; its size is what the server's system.parts says
// its tables take (clickhouse.Store.DiskBytes).

// clickHouseServer starts the server -clickhouse names and returns its
// base URL and a function that stops it.
func clickHouseServer(arg string) (string, func(), error) {
	if arg != "private" {
		if !strings.HasPrefix(arg, "clickhouse://") {
			return "", nil, fmt.Errorf("-clickhouse %q: want private or a clickhouse://host:port URL", arg)
		}
		return strings.TrimSuffix(arg, "/"), func() {}, nil
	}
	srv, err := chtest.StartProcess()
	if err != nil {
		return "", nil, fmt.Errorf("start a private ClickHouse server: %w", err)
	}
	return strings.TrimSuffix(srv.DSN(""), "/"), srv.Close, nil
}

// openStore opens a fresh store for a scenario and returns it with a
// function measuring its bytes on disk (every table and index) once the
// load and the queries are done: an embedded store in the bench's
// directory (closed first, which checkpoints its WAL into the file), or
// a ClickHouse database of its own.
func (b *bench) openStore(ctx context.Context, name string) (store.Store, func() (int64, error), error) {
	if b.clickhouse == "" {
		s, dir, err := b.openEmbedded(ctx, name)
		if err != nil {
			return nil, nil, err
		}
		return s, func() (int64, error) {
			if err := s.Close(); err != nil {
				return 0, err
			}
			return dirSize(dir)
		}, nil
	}
	u, err := url.Parse(b.clickhouse)
	if err != nil {
		return nil, nil, err
	}
	u.Path = "/" + fmt.Sprintf("scale_%s_%d", filepath.Base(name), time.Now().UnixNano())
	s, err := clickhouse.Open(ctx, u.String())
	if err != nil {
		return nil, nil, err
	}
	return s, func() (int64, error) { return s.DiskBytes(ctx) }, nil
}
