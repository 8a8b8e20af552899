package collector

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/agent/brokerconn"
	"github.com/causeway-dev/causeway/agent/brokerconn/brokertest"
	"github.com/causeway-dev/causeway/agent/brokerconn/certtest"
)

// TestIngestOverSASLAndTLS: the Kafka ingest buffer logs in with
// collector.ingest_kafka (SCRAM-SHA-256 over TLS with the test's CA):
// accepted spans go through the topic into the store; a wrong password
// fails New with brokerconn.ErrKafkaAuth; credentials in the URL are refused.
func TestIngestOverSASLAndTLS(t *testing.T) {
	const user, pass = "collector", "Ingest-s3cr3t-pw"
	pki := certtest.New(t)
	kc := brokertest.KafkaSCRAM(t, pki, "SCRAM-SHA-256", user, pass)
	cfg := testConfig(t, "")
	cfg.GRPCAddr = Off
	cfg.Ingest = "kafka://" + kc.ListenAddrs()[0] + "/otlp-sasl?partitions=2"
	cfg.IngestKafka = brokerconn.Kafka{SASL: brokerconn.SASLScramSHA256, User: user, Password: pass, TLS: true, CAFile: pki.CAFile}
	st := &flakyStore{spans: map[string]int{}}
	c := start(t, cfg, st)
	if n := send(t, c, 25); n != 200 {
		t.Fatalf("OTLP post through the SASL/TLS ingest topic: %d", n)
	}
	st.check(t, 25)
	shutdown(t, c, 10*time.Second)

	cfg.IngestKafka.Password = "wrong-" + pass
	if _, err := New(cfg, st, nil); !errors.Is(err, brokerconn.ErrKafkaAuth) {
		t.Fatalf("wrong password: %v, want brokerconn.ErrKafkaAuth", err)
	}
	cfg.IngestKafka.Password = pass
	cfg.Ingest = "kafka://" + user + ":" + pass + "@" + kc.ListenAddrs()[0] + "/otlp-sasl"
	if err := cfg.Validate(); err == nil || strings.Contains(err.Error(), pass) {
		t.Fatalf("an ingest URL with credentials: %v, want refused without the password", err)
	}
}
