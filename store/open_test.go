package store_test

import (
	"context"
	"strings"
	"testing"

	"github.com/causeway-dev/causeway/store"
)

// TestRedactHidesPasswords: every way a store URL can carry a secret —
// the user part, clickhouse-go's password= parameter, a token or key
// parameter, a proxy URL with credentials — is hidden, and the rest of
// the URL (hosts, database, TLS options, file paths) is kept for the log.
func TestRedactHidesPasswords(t *testing.T) {
	for in, keep := range map[string][]string{
		"clickhouse://causeway:Hunter2-secret@ch1:9440,ch2:9440/events?secure=true&ca_file=/etc/ca.pem": {"ch1:9440,ch2:9440/events", "secure=true", "ca_file=%2Fetc%2Fca.pem", "causeway:xxxxx@"},
		"clickhouse://ch1:9000/events?username=causeway&password=Hunter2-secret":                        {"username=causeway", "password=xxxxx"},
		"clickhouse://ch1:9000/events?access_token=Hunter2-secret&api_key=Hunter2-secret":               {"access_token=xxxxx", "api_key=xxxxx"},
		"clickhouse://ch1:9000/events?http_proxy=http://u:Hunter2-secret@proxy:3128":                    {"proxy%3A3128"},
		"clickhouse://ch1:9000/events?password_file=/run/secrets/ch":                                    {"password_file=%2Frun%2Fsecrets%2Fch"},
		"embedded:///var/lib/causeway":      {"embedded:///var/lib/causeway"},
		"clickhouse://u:Hunter2-secret@%zz": {"<unparseable URL>"},
	} {
		got := store.Redact(in)
		if strings.Contains(got, "Hunter2-secret") {
			t.Errorf("Redact(%q) = %q shows the password", in, got)
		}
		for _, k := range keep {
			if !strings.Contains(got, k) {
				t.Errorf("Redact(%q) = %q, want it to keep %q", in, got, k)
			}
		}
	}
}

// TestOpenErrorsHidePasswords: a store URL that does not parse, or names
// no known backend, is reported without its password.
func TestOpenErrorsHidePasswords(t *testing.T) {
	for _, u := range []string{"clickhouse://u:Hunter2-secret@%zz/db", "nosuch://u:Hunter2-secret@host/db"} {
		_, err := store.Open(context.Background(), u)
		if err == nil || strings.Contains(err.Error(), "Hunter2-secret") {
			t.Errorf("Open(%q) = %v, want an error without the password", u, err)
		}
	}
}
