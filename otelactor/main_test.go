package otelactor_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks, after every test and example, that nothing the tests started is left
// running: no actor, no supervisor task, no NATS connection.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
