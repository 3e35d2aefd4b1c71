package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// childEnv, when set, makes the test binary run the program with the flags it holds: the
// test starts the program as a process of its own that way, without building it.
const childEnv = "OTELACTOR_METRICS_EXAMPLE_ARGS"

func TestMain(m *testing.M) {
	if args, ok := os.LookupEnv(childEnv); ok {
		os.Exit(run(strings.Fields(args), os.Stdin, os.Stdout, os.Stderr))
	}
	goleak.VerifyTestMain(m)
}

var (
	listening = regexp.MustCompile(`^metrics on (http://\S+/metrics)$`)
	report    = regexp.MustCompile(`^ran (\d+) messages; the worker panicked (\d+) times`)
)

// TestScrape starts the program on a free loopback port, scrapes /metrics over HTTP while
// it runs and again once it has stopped, and checks that the final counters are the
// messages the program says it ran, and that the worker's restarts are its panics.
func TestScrape(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=-addr 127.0.0.1:0 -interval 2ms -fail-every 7 -duration 1s -linger 1m")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start: %v", err)
	}
	defer func() {
		if t.Failed() {
			t.Logf("the program's log:\n%s", stderr.String())
		}
	}()
	lines := bufio.NewScanner(stdout)
	next := func(re *regexp.Regexp) []string {
		t.Helper()
		for lines.Scan() {
			if m := re.FindStringSubmatch(lines.Text()); m != nil {
				return m
			}
		}
		t.Fatalf("the program's output ended without a line matching %v", re)
		return nil
	}

	addr := next(listening)[1]
	if u, err := url.Parse(addr); err != nil || u.Hostname() != "127.0.0.1" {
		t.Fatalf("listening on %q, want 127.0.0.1", addr)
	}
	running := scrape(t, addr)
	if _, ok := running["actor_processed_messages_total"]; !ok {
		t.Errorf("no actor_processed_messages_total while running; got %v", running)
	}

	// Once it prints its report every actor has ended, and it serves the final counts
	// until its input ends.
	m := next(report)
	ran, _ := strconv.ParseFloat(m[1], 64)
	panics, _ := strconv.ParseFloat(m[2], 64)
	final := scrape(t, addr)
	if got := final["actor_processed_messages_total"]; got != ran {
		t.Errorf("actor_processed_messages_total = %v, the program ran %v", got, ran)
	}
	if panics == 0 {
		t.Error("the worker never panicked: the run was too short to test restarts")
	}
	for _, name := range []string{"actor_panics_total", "actor_failures_total", "actor_restarts_total"} {
		if got := final[name]; got != panics {
			t.Errorf("%s = %v, the worker panicked %v times", name, got, panics)
		}
	}
	for name, want := range map[string]float64{
		"actor_spawns_total": 4, "actor_count": 0, "actor_mailbox_depth": 0,
		"actor_dropped_messages_total": 0, "actor_refused_messages_total": 0, "actor_supervisor_give_ups_total": 0,
	} {
		if got := final[name]; got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	if final["actor_busy_time_seconds_total"] <= 0 {
		t.Errorf("actor_busy_time_seconds_total = %v, want some time", final["actor_busy_time_seconds_total"])
	}

	_ = stdin.Close() // ends the linger
	_, _ = io.Copy(io.Discard, stdout)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("the program: %v", err)
	}
}

// scrape gets addr with the standard client and returns the sum of each metric over its
// series, for the metrics whose names start with actor_.
func scrape(t *testing.T, addr string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(addr)
	if err != nil {
		t.Fatalf("GET %s: %v", addr, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("GET %s: %s, %q", addr, resp.Status, resp.Header.Get("Content-Type"))
	}
	sums := make(map[string]float64)
	in := bufio.NewScanner(resp.Body)
	for in.Scan() {
		line := in.Text()
		if !strings.HasPrefix(line, "actor_") {
			continue
		}
		// name{labels} value; label values hold no spaces here.
		name, _, _ := strings.Cut(line, "{")
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("bad line %q: %v", line, err)
		}
		sums[strings.Fields(name)[0]] += v
	}
	if err := in.Err(); err != nil {
		t.Fatalf("reading %s: %v", addr, err)
	}
	return sums
}
