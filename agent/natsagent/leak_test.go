package natsagent_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests when a goroutine they started
// (a server, a client connection) is still running after the last test.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
