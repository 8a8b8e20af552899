package main

import (
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/agent/brokerconn/brokertest"
)

// TestAuditVerify: a studio (the real binary, with an admin token)
// records five alert-rule changes; stopped, `causeway audit verify`
// passes and `audit list` shows them attributed to the token's name.
// Changing one record's actor (sqlite3 UPDATE on the embedded store's
// file, ALTER UPDATE on ClickHouse) makes verify fail naming that record;
// undoing the change passes again; deleting a record in the middle fails
// naming it as missing. On both stores.
func TestAuditVerify(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			dir := t.TempDir()
			listen := freePort(t)
			const token = "admin-token-0123456789"
			cmd := exec.Command(causewayBin, "studio", "--listen", listen, "--store", b.url, "--spool-dir", filepath.Join(dir, "spool"),
				"--otlp-http", freePort(t), "--otlp-grpc", freePort(t))
			cmd.Env = append(os.Environ(), "CAUSEWAY_STUDIO_TOKENS=ada:admin:"+token)
			var log brokertest.LogBuffer
			cmd.Stdout, cmd.Stderr = &log, &log
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			stopped := false
			stop := func() {
				if !stopped {
					stopped = true
					cmd.Process.Signal(os.Interrupt)
					cmd.Wait()
				}
			}
			defer stop()
			eventually(t, 60*time.Second, func() string {
				resp, err := http.Get("http://" + listen + "/api/v1/health")
				if err != nil {
					return err.Error()
				}
				resp.Body.Close()
				return ""
			})
			call := func(method, path, body string, want int) {
				req, _ := http.NewRequest(method, "http://"+listen+path, strings.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+token)
				req.Header.Set("Content-Type", "application/json")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != want {
					t.Fatalf("%s %s: %d %s, want %d", method, path, resp.StatusCode, b, want)
				}
			}
			rule := func(id string, threshold int) string {
				return fmt.Sprintf(`{"id":%q,"name":%q,"kind":"lag_messages","threshold":%d,"webhooks":[{"url":"https://hooks.example.com/%s"}]}`, id, id, threshold, id)
			}
			for _, id := range []string{"a", "b", "c"} {
				call("POST", "/api/v1/alerts/rules", rule(id, 10), 201)
			}
			call("PUT", "/api/v1/alerts/rules/b", rule("b", 20), 200)
			call("DELETE", "/api/v1/alerts/rules/c", "", 204)
			stop()

			audit := func(args ...string) (string, int) {
				c := exec.Command(causewayBin, append(append([]string{"audit"}, args...), "--store", b.url)...)
				out, _ := c.CombinedOutput()
				return string(out), c.ProcessState.ExitCode()
			}
			if out, code := audit("verify"); code != 0 || !strings.Contains(out, "audit log verifies: 5 records in 1 chains") {
				t.Fatalf("verify of an untouched log: exit %d\n%s\nstudio log:\n%s", code, out, log.String())
			}
			out, code := audit("list")
			if code != 0 || strings.Count(out, " ada ") != 5 || !strings.Contains(out, "alert_rule.updated") || !strings.Contains(out, "alert_rule.deleted") ||
				strings.Contains(out, "hooks.example.com") {
				t.Fatalf("list: exit %d\n%s", code, out)
			}

			tamper := tamperer(t, b)
			tamper("UPDATE", "actor = 'mallory'", "seq = 3")
			if out, code := audit("verify"); code == 0 || !strings.Contains(out, "record 3") {
				t.Fatalf("verify after record 3 was changed: exit %d\n%s", code, out)
			}
			tamper("UPDATE", "actor = 'ada'", "seq = 3")
			if out, code := audit("verify"); code != 0 {
				t.Fatalf("verify after the change was undone: exit %d\n%s", code, out)
			}
			tamper("DELETE", "", "seq = 2")
			if out, code := audit("verify"); code == 0 || !strings.Contains(out, "record 2: missing") {
				t.Fatalf("verify after record 2 was deleted: exit %d\n%s", code, out)
			}
		})
	}
}

// tamperer returns a function that changes the audit table behind the
// studio's back as someone with the store's file or credentials could:
// verb UPDATE (with set) or DELETE, where is the condition.
func tamperer(t *testing.T, b backend) func(verb, set, where string) {
	if b.name == "embedded" {
		file := filepath.Join(strings.TrimPrefix(b.url, "embedded://"), "causeway.db")
		return func(verb, set, where string) {
			db, err := sql.Open("sqlite", "file:"+file)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			// The store's triggers refuse changes; whoever holds the file drops them.
			q := "DROP TRIGGER IF EXISTS audit_no_update; DROP TRIGGER IF EXISTS audit_no_delete; "
			if verb == "UPDATE" {
				q += "UPDATE audit SET " + set + " WHERE " + where
			} else {
				q += "DELETE FROM audit WHERE " + where
			}
			if _, err := db.Exec(q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
	}
	return func(verb, set, where string) {
		db, err := sql.Open("clickhouse", b.url)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var before, after uint64
		count := func() uint64 {
			var n uint64
			cond := where
			if verb == "UPDATE" {
				cond += " AND " + set
			}
			if err := db.QueryRow("SELECT count() FROM audit WHERE " + cond).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		before = count()
		q := "ALTER TABLE audit DELETE WHERE " + where
		if verb == "UPDATE" {
			q = "ALTER TABLE audit UPDATE " + set + " WHERE " + where
		}
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		// Mutations run in the background: wait until it shows.
		eventually(t, 30*time.Second, func() string {
			if after = count(); after == before {
				return fmt.Sprintf("%s not applied yet", q)
			}
			return ""
		})
	}
}
