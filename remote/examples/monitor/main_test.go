package main

import (
	"bytes"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	// The aggregator starts monitors by running its own executable again: in a test, this
	// binary, which must then be the monitor rather than run the tests.
	if os.Getenv(childEnv) != "" {
		os.Exit(run(os.Args[1:], os.Stdin, os.Stdout))
	}
	goleak.VerifyTestMain(m)
}

// TestMonitor runs the example for a second, with two monitor processes, and checks that
// each monitor's count of sent reports matches what the aggregator received.
func TestMonitor(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	// A -race binary otherwise sleeps a second on its way out; the monitors inherit this.
	t.Setenv("GORACE", strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
	stdin, keep := io.Pipe() // never written: the run ends by -duration
	defer keep.Close()       // then ends the reader waitForQuit left behind
	var out bytes.Buffer
	code := run([]string{"-duration=1s", "-interval=20ms", "-monitors=2"}, stdin, &out)
	if code != 0 {
		t.Fatalf("exit code %d, output:\n%s", code, out.String())
	}
	rows := regexp.MustCompile(`(?m)^(primary|secondary|total) +(\d+) +(\d+) +(\d+)$`).FindAllStringSubmatch(out.String(), -1)
	if len(rows) != 3 || !strings.Contains(out.String(), "no update lost") {
		t.Fatalf("want a row for each monitor and the total, and no update lost; output:\n%s", out.String())
	}
	for _, r := range rows {
		sent, _ := strconv.Atoi(r[2])
		received, _ := strconv.Atoi(r[3])
		if sent == 0 || sent != received {
			t.Errorf("%s: sent %d, received %d; want equal and not zero", r[1], sent, received)
		}
	}
}
