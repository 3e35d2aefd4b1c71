package embedded_test

import (
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/pactor-go/actor/remote/embedded"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// roundTrip checks that a request from one connection reaches a subscriber on another.
func roundTrip(t *testing.T, sub, pub *nats.Conn) {
	t.Helper()
	s, err := sub.Subscribe("echo", func(m *nats.Msg) { _ = m.Respond(m.Data) })
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	defer s.Unsubscribe()
	if err := sub.Flush(); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	m, err := pub.Request("echo", []byte("hi"), 30*time.Second)
	if err != nil || string(m.Data) != "hi" {
		t.Fatalf("Request = %v, %v; want hi", m, err)
	}
}

// TestInProcess: by default the server has no listener and Connect still works.
func TestInProcess(t *testing.T) {
	s, err := embedded.Start()
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	defer s.Shutdown()
	if s.URL() != "" {
		t.Fatalf("URL = %q, want none without Loopback", s.URL())
	}
	a, err := s.Connect()
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	defer a.Close()
	b, err := s.Connect(nats.Name("b"))
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	defer b.Close()
	roundTrip(t, a, b)
}

// TestLoopback: with Loopback, other processes (here, a TCP connection) reach URL, which is
// on 127.0.0.1.
func TestLoopback(t *testing.T) {
	s, err := embedded.Start(embedded.Loopback())
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	defer s.Shutdown()
	if !strings.HasPrefix(s.URL(), "nats://127.0.0.1:") {
		t.Fatalf("URL = %q, want nats://127.0.0.1:<port>", s.URL())
	}
	tcp, err := nats.Connect(s.URL())
	if err != nil {
		t.Fatalf("nats.Connect(%s): %v", s.URL(), err)
	}
	defer tcp.Close()
	in, err := s.Connect()
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	defer in.Close()
	roundTrip(t, in, tcp)
}

// TestShutdownClosesConnections: Shutdown closes what Connect made and the caller left open,
// so that nothing is left reconnecting (goleak checks), and Connect fails afterwards.
func TestShutdownClosesConnections(t *testing.T) {
	closed := make(chan struct{})
	s, err := embedded.Start()
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	nc, err := s.Connect(nats.ClosedHandler(func(*nats.Conn) { close(closed) }))
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	s.Shutdown()
	s.Shutdown() // a no-op
	if !nc.IsClosed() {
		t.Fatal("a connection left open survived Shutdown")
	}
	<-closed // the caller's own ClosedHandler still runs
	if _, err := s.Connect(); err == nil {
		t.Fatal("Connect after Shutdown succeeded")
	}
}
