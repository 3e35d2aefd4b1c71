package remote_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/pactor-go/actor"
	"github.com/pactor-go/actor/remote"
	"github.com/pactor-go/actor/remote/embedded"
)

// childEnv holds the NATS URL in a child process: TestMain then runs runChild instead of the
// tests.
const childEnv = "REMOTE_TEST_CHILD_NATS"

const eventsSubject = "test.proc.events" // children announce "ready <pid>" and "held <pid>"

const aliveF = "test.proc.alive.%d" // each child's own subject, outside any queue group

var (
	pidEP  = remote.NewEndpoint[struct{}, int]("test.proc.pid")  // answers its process id
	holdEP = remote.NewEndpoint[struct{}, int]("test.proc.hold") // announces itself, then hangs
)

// Proc is a child's actor.
type Proc struct {
	nc      *nats.Conn
	release chan struct{} // closed when the child shuts down
}

func (p *Proc) pid(struct{}) (int, error) { return os.Getpid(), nil }

func (p *Proc) hold(struct{}) (int, error) {
	// Flushed, so that the parent hears of it before this process can be killed.
	_ = p.nc.Publish(eventsSubject, []byte("held "+strconv.Itoa(os.Getpid())))
	_ = p.nc.Flush()
	<-p.release
	return os.Getpid(), nil
}

// runChild is a serving process: it serves pidEP and holdEP until its stdin closes, then
// shuts down in the documented order. Its exit code is 0 if all went well.
func runChild(url string) int {
	fail := func(err error) int { fmt.Fprintln(os.Stderr, "child:", err); return 1 }
	nc, err := nats.Connect(url)
	if err != nil {
		return fail(err)
	}
	sup := actor.NewSupervisor(context.Background())
	srv, err := remote.NewServer(sup, nc, "child", "1.0.0")
	if err != nil {
		return fail(err)
	}
	p := &Proc{nc: nc, release: make(chan struct{})}
	// Two actors, so that a held request does not hold up pidEP.
	if err := remote.Handle(srv, pidEP, actor.Spawn(sup, p), (*Proc).pid); err != nil {
		return fail(err)
	}
	if err := remote.Handle(srv, holdEP, actor.Spawn(sup, p), (*Proc).hold); err != nil {
		return fail(err)
	}
	alive, err := nc.Subscribe(fmt.Sprintf(aliveF, os.Getpid()), func(m *nats.Msg) { _ = m.Respond(nil) })
	if err != nil {
		return fail(err)
	}
	if err := nc.Publish(eventsSubject, []byte("ready "+strconv.Itoa(os.Getpid()))); err != nil {
		return fail(err)
	}
	if err := nc.Flush(); err != nil {
		return fail(err)
	}
	_, _ = io.Copy(io.Discard, os.Stdin)
	close(p.release)
	_ = alive.Unsubscribe()
	code := 0
	if err := srv.Stop(); err != nil {
		code = fail(err)
	}
	sup.Stop()
	if err := sup.Wait(); err != nil {
		code = fail(err)
	}
	nc.Close()
	return code
}

// child is a serving process started by the test.
type child struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// TestKilledProcess starts three serving processes (this test binary, run again), kills the
// one that took a call, in the middle of that call, and checks that the caller gets its
// deadline, that the next calls are served by the two others, and that once those leave
// gracefully a call fails at once with no responders.
func TestKilledProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	ns := startNATS(t, embedded.Loopback())
	if !strings.HasPrefix(ns.URL(), "nats://127.0.0.1:") {
		t.Fatalf("URL = %q, want a loopback address", ns.URL())
	}
	nc := connect(t, ns)
	events := make(chan string, 16)
	if _, err := nc.Subscribe(eventsSubject, func(m *nats.Msg) { events <- string(m.Data) }); err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	// next waits for the next event, bounded so that a broken child fails the test rather
	// than hanging it.
	next := func(want string) int {
		t.Helper()
		select {
		case e := <-events:
			pid, err := strconv.Atoi(strings.TrimPrefix(e, want+" "))
			if err != nil {
				t.Fatalf("event %q, want %q and a pid", e, want)
			}
			return pid
		case <-time.After(long):
			t.Fatalf("no %q event", want)
			return 0
		}
	}

	children := map[int]*child{}
	for range 3 {
		ch := &child{cmd: exec.Command(os.Args[0], "-test.run=^$"), out: &syncBuffer{}}
		// Under -race a process sleeps a second on its way out unless told not to.
		ch.cmd.Env = append(os.Environ(), childEnv+"="+ns.URL(),
			"GORACE="+strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
		ch.cmd.Stdout, ch.cmd.Stderr = ch.out, ch.out
		var err error
		if ch.stdin, err = ch.cmd.StdinPipe(); err != nil {
			t.Fatalf("StdinPipe: %v", err)
		}
		if err := ch.cmd.Start(); err != nil {
			t.Fatalf("start a child: %v", err)
		}
		children[ch.cmd.Process.Pid] = ch
		t.Cleanup(func() {
			// Only after a failure is anything left running here.
			_ = ch.cmd.Process.Kill()
			_ = ch.cmd.Wait()
		})
	}
	for range 3 {
		if pid := next("ready"); children[pid] == nil {
			t.Fatalf("ready from unknown pid %d", pid)
		}
	}

	c := remote.NewClient(nc)
	// Two seconds: ample for the request to reach a child, and the test waits them out.
	hold := goCall(ctxFor(t, 2*time.Second), holdEP, c, struct{}{})
	dead := next("held")
	if err := children[dead].cmd.Process.Kill(); err != nil {
		t.Fatalf("Kill: %v", err)
	}
	_ = children[dead].cmd.Wait()
	delete(children, dead)
	if r := <-hold; !errors.Is(r.err, context.DeadlineExceeded) {
		t.Fatalf("Call to a killed process = %v, want context.DeadlineExceeded", r.err)
	}

	// The process is gone, but NATS learns it from the closed socket, in its own time:
	// wait until the dead child's own subject has no responders. A probe that reaches the
	// dead process before that times out, and the next one tries again.
	for limit := time.Now().Add(long); ; {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		_, err := nc.RequestWithContext(ctx, fmt.Sprintf(aliveF, dead), nil)
		cancel()
		if errors.Is(err, nats.ErrNoResponders) {
			break
		}
		if time.Now().After(limit) {
			t.Fatalf("NATS still routes to the killed process: %v", err)
		}
	}
	seen := map[int]bool{}
	for range 40 {
		pid, err := pidEP.Call(ctxFor(t, long), c, struct{}{})
		if err != nil || children[pid] == nil {
			t.Fatalf("Call after the kill = %d, %v; want a live child's pid", pid, err)
		}
		seen[pid] = true
	}
	if len(seen) != 2 {
		t.Errorf("served by %d children, want both live ones (a 2^-39 chance to miss one)", len(seen))
	}

	// The others leave gracefully: closing stdin makes them shut down in order.
	for pid, ch := range children {
		_ = ch.stdin.Close()
		if err := ch.cmd.Wait(); err != nil {
			t.Fatalf("child %d: %v\n%s", pid, err, ch.out)
		}
	}
	start := time.Now()
	if _, err := pidEP.Call(ctxFor(t, long), c, struct{}{}); !errors.Is(err, remote.ErrNoResponders) {
		t.Fatalf("Call with every server gone = %v, want ErrNoResponders", err)
	}
	if d := time.Since(start); d > long/10 {
		t.Fatalf("no responders took %v", d)
	}
}
