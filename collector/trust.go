package collector

import (
	"fmt"
	"strings"

	"github.com/causeway-dev/causeway/collector/lineage"
)

// TrustedDLQSource is a sidecar whose DLQ entries the collector trusts:
// entries signed with Key under Name (the sidecar's --dlq-signer and
// --dlq-signing-key) are stored with Trusted set, which lets replays use
// their stored copy and recorded original destination. Every other DLQ
// entry, whoever sent it over OTLP, is stored untrusted.
type TrustedDLQSource struct {
	// Name is the signer's name, as the sidecar sends it.
	Name string `yaml:"name"`
	// Key is the shared signing key (at least MinDLQKeyLength characters).
	Key string `yaml:"key"`
}

// MinDLQKeyLength is the shortest DLQ signing key accepted.
const MinDLQKeyLength = 16

// ParseTrustedDLQSources reads CAUSEWAY_TRUSTED_DLQ_SOURCES: comma-separated name:key.
func ParseTrustedDLQSources(s string) ([]TrustedDLQSource, error) {
	var out []TrustedDLQSource
	for _, part := range strings.Split(s, ",") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		name, key, ok := strings.Cut(strings.TrimSpace(part), ":")
		if !ok {
			return nil, fmt.Errorf("trusted DLQ source %d: want name:key", len(out)+1)
		}
		out = append(out, TrustedDLQSource{Name: name, Key: key})
	}
	return out, nil
}

func validateTrusted(ts []TrustedDLQSource) error {
	seen := map[string]bool{}
	for i, t := range ts {
		switch {
		case t.Name == "":
			return fmt.Errorf("trusted_dlq_sources %d: has no name", i+1)
		case len(t.Key) < MinDLQKeyLength:
			return fmt.Errorf("trusted_dlq_sources %d (%s): key shorter than %d characters", i+1, t.Name, MinDLQKeyLength)
		case seen[t.Name]:
			return fmt.Errorf("trusted_dlq_sources %d (%s): the name is listed twice", i+1, t.Name)
		}
		seen[t.Name] = true
	}
	return nil
}

// trustedKeys maps signer names to keys.
// dlqOptions are the derivation options of c, built once per collector.
func (c Config) dlqOptions() lineage.DLQOptions {
	return lineage.DLQOptions{MaxPayload: c.DLQPayloadMaxBytes, Redact: lineage.NewRedactor(c.RedactHeaders), Trusted: trustedKeys(c.TrustedDLQSources)}
}

func trustedKeys(ts []TrustedDLQSource) map[string][]byte {
	out := make(map[string][]byte, len(ts))
	for _, t := range ts {
		out[t.Name] = []byte(t.Key)
	}
	return out
}
