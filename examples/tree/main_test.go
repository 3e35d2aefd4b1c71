package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pactor-go/actor"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// TestCrashesAreRestartedAndNothingIsLost runs the service flat out, with a crash on about
// one item in a hundred, until the store holds 3,000 items, and checks that workers were
// restarted and that every item a client had acknowledged is in the store, once, in order.
// With seed 1 each worker's crashes come at fixed items, and 3,000 items cannot pass
// without one (the chance is 0.99^3000).
func TestCrashesAreRestartedAndNothingIsLost(t *testing.T) {
	c := config{workers: 4, crashRate: 0.01, maxRestarts: 10_000, within: time.Second,
		backoff: 100 * time.Microsecond, seed: 1, stopAfter: 3_000}
	var out bytes.Buffer
	r := run(t.Context(), c, &out)
	if r.err != nil {
		t.Fatalf("run: the service failed: %s", r.err.Error())
	}
	if want := "the store holds 3000 items"; r.why != want {
		t.Fatalf("run stopped because %q; want %q", r.why, want)
	}
	restarts, crashed := 0, 0
	for i, cl := range r.clients {
		restarts += r.generations[i] - 1
		crashed += cl.crashed
		if cl.acknowledged != r.store.stored[i] {
			t.Errorf("worker-%d: clients had %d items acknowledged, the store holds %d; want equal",
				i+1, cl.acknowledged, r.store.stored[i])
		}
		if cl.offered != cl.acknowledged+cl.refused+cl.lost+cl.failed {
			t.Errorf("worker-%d: offered %d != acknowledged %d + refused %d + lost %d + failed %d",
				i+1, cl.offered, cl.acknowledged, cl.refused, cl.lost, cl.failed)
		}
		if cl.failed != 0 {
			t.Errorf("worker-%d: the store refused %d items; want none, the store stops last", i+1, cl.failed)
		}
	}
	if restarts < 1 || crashed < restarts {
		t.Errorf("%d restarts after %d crashes; want at least 1, and no more restarts than crashes", restarts, crashed)
	}
	if r.store.outOfOrder != 0 || r.store.total < c.stopAfter {
		t.Errorf("store holds %d items, %d out of order; want at least %d, none out of order",
			r.store.total, r.store.outOfOrder, c.stopAfter)
	}
	if !strings.Contains(out.String(), "restart: worker-") {
		t.Errorf("no restart line printed:\n%s", &out)
	}
	if !r.report(&out) {
		t.Errorf("report says the counts do not reconcile:\n%s", &out)
	}
	t.Logf("%d items stored, %d crashes, %d restarts", r.store.total, crashed, restarts)
}

// TestGiveUp makes every item crash: the four workers crash on their first items, the
// ingest subsystem allows three restarts and gives up at the fourth crash, the service
// gives up with it, and the failure reaches the root's Wait with the panic inside. The
// backoff is long, so the restarted workers are still waiting when the give-up stops them.
// Nothing was acknowledged, so nothing may be stored, and every item is counted as lost.
func TestGiveUp(t *testing.T) {
	c := config{workers: 4, crashRate: 1, maxRestarts: 3, within: time.Minute,
		backoff: time.Minute, seed: 1}
	r := run(t.Context(), c, new(bytes.Buffer))
	var pe *actor.PanicError
	if !errors.As(r.err, &pe) {
		t.Fatalf("root's Wait = %v; want the workers' panic", r.err)
	}
	if r.why != "the service stopped by itself" {
		t.Errorf("run stopped because %q; want the service to stop by itself", r.why)
	}
	if r.store.total != 0 {
		t.Errorf("store holds %d items; want 0, every item crashed", r.store.total)
	}
	for i, cl := range r.clients {
		if cl.offered != 1 || cl.lost != 1 || r.generations[i] != 1 {
			t.Errorf("worker-%d: %d items offered, %d lost, %d generations; want 1, 1, 1",
				i+1, cl.offered, cl.lost, r.generations[i])
		}
	}
	var out bytes.Buffer
	if r.report(&out) || !strings.Contains(out.String(), "failure: supervisor service gave up") {
		t.Errorf("report says ok, or names no failure:\n%s", &out)
	}
}

// TestCLI runs the command as a user would, and checks its exit codes.
func TestCLI(t *testing.T) {
	for _, tc := range []struct {
		args  []string
		stdin string
		code  int
		out   string // a line stdout must have
	}{
		{[]string{"-duration", "100ms"}, "", 0, "stopped: -duration passed"},
		{[]string{"-interval", "0", "-crash-rate", "0.01", "-max-restarts", "10000", "-stop-after", "500"}, "", 0,
			"stopped: the store holds 500 items"},
		{[]string{"-crash-rate", "0"}, "q\n", 0, "stopped: q typed"},
		{[]string{"-crash-rate", "1", "-max-restarts", "2", "-backoff", "1m"}, "", 1, "failure: supervisor service gave up"},
		{[]string{"-workers", "0"}, "", 2, ""},
		{[]string{"-crash-rate", "2"}, "", 2, ""},
		{[]string{"-nosuchflag"}, "", 2, ""},
		{[]string{"extra"}, "", 2, ""},
	} {
		var stdout, stderr bytes.Buffer
		code := cli(tc.args, strings.NewReader(tc.stdin), &stdout, &stderr)
		if code != tc.code || !strings.Contains(stdout.String(), tc.out) {
			t.Errorf("tree %s: exit %d, stdout:\n%s\nstderr:\n%s\nwant exit %d and a line %q",
				strings.Join(tc.args, " "), code, &stdout, &stderr, tc.code, tc.out)
		}
		if tc.code == 0 && !strings.Contains(stdout.String(), "reconciled:") {
			t.Errorf("tree %s: no reconciled line:\n%s", strings.Join(tc.args, " "), &stdout)
		}
	}
}
