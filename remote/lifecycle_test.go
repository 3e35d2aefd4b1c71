package remote_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/pactor-go/actor"
	"github.com/pactor-go/actor/remote"
)

// TestHandleIsReadyOnReturn: a call made right after Handle returns is served, every time
// (without the flush in Handle, some would get "no responders").
func TestHandleIsReadyOnReturn(t *testing.T) {
	ns := startNATS(t)
	n := newNode(t, ns)
	c := remote.NewClient(connect(t, ns))
	for i := range 20 {
		ep := remote.NewEndpoint[AddReq, AddResp](fmt.Sprintf("test.ready.%d", i))
		if err := remote.Handle(n.srv, ep, actor.Spawn(n.sup, &Counter{}), (*Counter).add); err != nil {
			t.Fatalf("Handle: %v", err)
		}
		if _, err := ep.Call(ctxFor(t, long), c, AddReq{N: 1}); err != nil {
			t.Fatalf("Call %d right after Handle: %v", i, err)
		}
	}
}

// TestActorEndStopsItsEndpoint: when a served actor ends, its endpoint stops taking
// requests while the server's other endpoints go on. Requests that still reach it are
// refused with actor.ErrStopped and never run.
func TestActorEndStopsItsEndpoint(t *testing.T) {
	ns := startNATS(t)
	n := newNode(t, ns)
	gone := actor.Spawn(n.sup, &Counter{})
	stays := actor.Spawn(n.sup, &Counter{})
	other := remote.NewEndpoint[AddReq, AddResp]("test.other")
	if err := remote.Handle(n.srv, addEP, gone, (*Counter).add); err != nil {
		t.Fatalf("Handle: %v", err)
	}
	if err := remote.Handle(n.srv, other, stays, (*Counter).add); err != nil {
		t.Fatalf("Handle: %v", err)
	}
	c := remote.NewClient(connect(t, ns))
	gone.Stop()
	if err := gone.Wait(); err != nil {
		t.Fatalf("Wait: %v", err)
	}
	// The endpoint is drained when the server's own actor runs the notice of the end, a
	// moment after Wait returns; nothing outside the server can observe that moment but
	// the answers. Each try is one round trip, and the loop is bounded in time.
	for limit := time.Now().Add(long); ; {
		_, err := addEP.Call(ctxFor(t, long), c, AddReq{N: 1})
		if errors.Is(err, remote.ErrNoResponders) {
			break
		}
		if !errors.Is(err, actor.ErrStopped) {
			t.Fatalf("Call to an ended actor = %v, want actor.ErrStopped or ErrNoResponders", err)
		}
		if time.Now().After(limit) {
			t.Fatal("the endpoint of an ended actor still takes requests")
		}
	}
	if _, err := other.Call(ctxFor(t, long), c, AddReq{N: 1}); err != nil {
		t.Fatalf("Call to the other endpoint: %v", err)
	}
	if err := remote.Handle(n.srv, addEP, gone, (*Counter).add); !errors.Is(err, actor.ErrStopped) {
		t.Fatalf("Handle with an ended actor = %v, want actor.ErrStopped", err)
	}
}

// TestServerMisuse: the errors of NewServer and Handle.
func TestServerMisuse(t *testing.T) {
	ns := startNATS(t)
	nc := connect(t, ns)
	sup := actor.NewSupervisor(context.Background())
	t.Cleanup(func() { sup.Stop(); _ = sup.Wait() })
	for _, tc := range []struct{ name, version string }{{"", "1"}, {"a.b", "1"}, {"a b", "1"}, {"ok", ""}} {
		if _, err := remote.NewServer(sup, nc, tc.name, tc.version); err == nil {
			t.Errorf("NewServer(%q, %q) = nil error", tc.name, tc.version)
		}
	}
	srv, err := remote.NewServer(sup, nc, "ok", "1")
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	if err := srv.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if err := remote.Handle(srv, addEP, actor.Spawn(sup, &Counter{}), (*Counter).add); !errors.Is(err, remote.ErrServerStopped) {
		t.Fatalf("Handle after Stop = %v, want ErrServerStopped", err)
	}

	stopped := actor.NewSupervisor(context.Background())
	stopped.Stop()
	_ = stopped.Wait()
	if _, err := remote.NewServer(stopped, nc, "ok", "1"); !errors.Is(err, actor.ErrStopped) {
		t.Fatalf("NewServer on a stopped supervisor = %v, want actor.ErrStopped", err)
	}
	closed, err := ns.Connect()
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	closed.Close()
	if _, err := remote.NewServer(sup, closed, "ok", "1"); !errors.Is(err, nats.ErrConnectionClosed) {
		t.Fatalf("NewServer on a closed connection = %v, want nats.ErrConnectionClosed", err)
	}
}

// TestStopAfterConnectionClosed: the wrong shutdown order (the connection first) still
// lets Stop return.
func TestStopAfterConnectionClosed(t *testing.T) {
	ns := startNATS(t)
	n := newNode(t, ns)
	if err := remote.Handle(n.srv, addEP, actor.Spawn(n.sup, &Counter{}), (*Counter).add); err != nil {
		t.Fatalf("Handle: %v", err)
	}
	n.nc.Close()
	if err := n.srv.Stop(); err != nil {
		t.Fatalf("Stop after Close = %v", err)
	}
}

// TestConcurrentStops: every Stop returns only once the first one has finished, and none
// fails.
func TestConcurrentStops(t *testing.T) {
	ns := startNATS(t)
	n := newNode(t, ns)
	if err := remote.Handle(n.srv, addEP, actor.Spawn(n.sup, &Counter{}), (*Counter).add); err != nil {
		t.Fatalf("Handle: %v", err)
	}
	c := remote.NewClient(connect(t, ns))
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			if err := n.srv.Stop(); err != nil {
				t.Errorf("Stop: %v", err)
			}
			if _, err := addEP.Call(ctxFor(t, long), c, AddReq{N: 1}); !errors.Is(err, remote.ErrNoResponders) {
				t.Errorf("Call after Stop = %v, want ErrNoResponders", err)
			}
		})
	}
	wg.Wait()
}

// TestStopInsideAMessage: a handler may stop its own server; it still answers.
func TestStopInsideAMessage(t *testing.T) {
	ns := startNATS(t)
	n := newNode(t, ns)
	ep := remote.NewEndpoint[struct{}, string]("test.quit")
	err := remote.Handle(n.srv, ep, actor.Spawn(n.sup, &Counter{}), func(*Counter, struct{}) (string, error) {
		return "bye", n.srv.Stop()
	})
	if err != nil {
		t.Fatalf("Handle: %v", err)
	}
	c := remote.NewClient(connect(t, ns))
	if got, err := ep.Call(ctxFor(t, long), c, struct{}{}); err != nil || got != "bye" {
		t.Fatalf("Call = %q, %v; want bye", got, err)
	}
	if _, err := ep.Call(ctxFor(t, long), c, struct{}{}); !errors.Is(err, remote.ErrNoResponders) {
		t.Fatalf("Call after Stop = %v, want ErrNoResponders", err)
	}
}
