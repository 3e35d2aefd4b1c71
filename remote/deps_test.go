package remote_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoServerInRemote: a program that imports remote does not link the NATS server; only
// remote/embedded does.
func TestNoServerInRemote(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	out, err := exec.Command(goTool, "list", "-deps", "github.com/pactor-go/actor/remote").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if strings.HasPrefix(pkg, "github.com/nats-io/nats-server") {
			t.Fatalf("remote depends on %s", pkg)
		}
	}
}
