package otelactor_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDeps: the core links no OpenTelemetry, and otelactor links neither NATS, nor the
// OpenTelemetry SDK, nor Prometheus: a program pays for those only where it imports them
// (otelremote, its own choice of SDK and exporter).
func TestDeps(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	for pkg, banned := range map[string][]string{
		"github.com/pactor-go/actor":           {"go.opentelemetry.io/"},
		"github.com/pactor-go/actor/otelactor": {"github.com/nats-io/", "go.opentelemetry.io/otel/sdk", "github.com/prometheus/"},
	} {
		out, err := exec.Command(goTool, "list", "-deps", pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps %s: %v\n%s", pkg, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			for _, b := range banned {
				if strings.HasPrefix(dep, b) {
					t.Errorf("%s depends on %s", pkg, dep)
				}
			}
		}
	}
}
