package remote_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pactor-go/actor"
	"github.com/pactor-go/actor/remote"
)

// Entry is a ledger request: its ID is unique, and Do says how the handler should end.
type Entry struct {
	ID int
	Do string
}

var ledgerEP = remote.NewEndpoint[Entry, int]("test.ledger")

// Book records every request its handler runs.
type Book struct{ runs map[int]int }

func (b *Book) record(e Entry) (int, error) {
	b.runs[e.ID]++
	switch e.Do {
	case "fail":
		return 0, errors.New("refused")
	case "panic":
		panic("ledger panic")
	}
	return e.ID, nil
}

// TestLedger runs many concurrent calls, with every kind of ending (successes, handler
// errors, panics, full mailboxes, deadlines that pass anywhere along the way), over two
// servers, one of which leaves gracefully half-way. Then it checks each call against what
// the servers ran: no call reported a result, or an error that says the handler ran, for a
// request that did not run; no call that says "did not run" ran; none ran twice.
func TestLedger(t *testing.T) {
	ns := startNATS(t)
	type server struct {
		n    *node
		book *Book
	}
	var servers []server
	for range 2 {
		n := newNode(t, ns)
		b := &Book{runs: map[int]int{}}
		// A small mailbox, so that some requests find it full.
		ref := actor.Spawn(n.sup, b, actor.WithMailboxSize(4), actor.WithRestart(1<<20, time.Hour))
		if err := remote.Handle(n.srv, ledgerEP, ref, (*Book).record); err != nil {
			t.Fatalf("Handle: %v", err)
		}
		servers = append(servers, server{n, b})
	}
	c := remote.NewClient(connect(t, ns))

	const callers, perCaller = 8, 150
	outcomes := make([]error, callers*perCaller)
	replies := make([]int, callers*perCaller)
	var done atomic.Int32
	left := make(chan struct{})
	var wg sync.WaitGroup
	// The first server leaves once half the calls have returned: Stop, then its
	// supervisor, as the docs say.
	wg.Go(func() {
		<-left
		if err := servers[0].n.srv.Stop(); err != nil {
			t.Errorf("Stop: %v", err)
		}
		servers[0].n.sup.Stop()
		if err := servers[0].n.sup.Wait(); err != nil {
			t.Errorf("Wait: %v", err)
		}
	})
	for g := range callers {
		wg.Go(func() {
			for i := range perCaller {
				id := g*perCaller + i
				e := Entry{ID: id, Do: "ok"}
				switch id % 10 {
				case 3:
					e.Do = "fail"
				case 7:
					e.Do = "panic"
				}
				d := long
				if id%5 == 1 {
					// Short enough to expire before sending, in transit, in the
					// mailbox or while running, depending on the machine's mood.
					d = time.Duration(id%7) * 200 * time.Microsecond
				}
				ctx, cancel := context.WithTimeout(context.Background(), d)
				replies[id], outcomes[id] = ledgerEP.Call(ctx, c, e)
				cancel()
				if done.Add(1) == callers*perCaller/2 {
					close(left)
				}
			}
		})
	}
	wg.Wait()
	servers[1].n.srv.Stop()
	servers[1].n.sup.Stop()
	if err := servers[1].n.sup.Wait(); err != nil {
		t.Fatalf("Wait: %v", err)
	}

	// Both supervisors have been waited for: the books are safe to read.
	tally := map[string]int{}
	for id, err := range outcomes {
		runs := servers[0].book.runs[id] + servers[1].book.runs[id]
		var pe *actor.PanicError
		var kind string
		var ran bool // what the error says: the handler ran
		var known = true
		switch {
		case err == nil:
			kind, ran = "ok", true
			if replies[id] != id {
				t.Errorf("call %d: reply %d", id, replies[id])
			}
		case errors.Is(err, remote.ErrHandler):
			kind, ran = "handler error", true
		case errors.As(err, &pe):
			kind, ran = "panic", true
		case errors.Is(err, actor.ErrMailboxFull):
			kind = "mailbox full"
		case errors.Is(err, actor.ErrStopped):
			kind = "stopped"
		case errors.Is(err, remote.ErrNoResponders):
			kind = "no responders"
		case errors.Is(err, context.DeadlineExceeded):
			kind, known = "deadline", false
		default:
			t.Errorf("call %d: unexpected error %v", id, err)
			continue
		}
		tally[kind]++
		switch {
		case runs > 1:
			t.Errorf("call %d (%s) ran %d times", id, kind, runs)
		case known && ran && runs != 1:
			t.Errorf("call %d says the handler ran (%s), but it did not", id, kind)
		case known && !ran && runs != 0:
			t.Errorf("call %d says the handler did not run (%s), but it did", id, kind)
		}
	}
	t.Logf("outcomes: %v", tally)
	if tally["ok"] == 0 || tally["handler error"] == 0 || tally["panic"] == 0 {
		t.Fatalf("outcomes %v: the ledger should see successes, handler errors and panics", tally)
	}
}
