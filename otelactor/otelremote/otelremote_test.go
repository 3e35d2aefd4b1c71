package otelremote_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/pactor-go/actor"
	"github.com/pactor-go/actor/otelactor"
	"github.com/pactor-go/actor/otelactor/otelremote"
	"github.com/pactor-go/actor/remote"
	"github.com/pactor-go/actor/remote/embedded"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Counter serves test.add.
type Counter struct{ n int }

var addEP = remote.NewEndpoint[int, int]("test.add")

// TestPropagation runs a call through an embedded NATS server, traced on both sides with
// one in-memory exporter: the client span is a child of the caller's span, the server span
// a child of the client span, and a span the handler starts from its context a child of
// the server span. A failing call marks both spans.
func TestPropagation(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	tracer := otelactor.Tracer(tp)

	ns, err := embedded.Start()
	if err != nil {
		t.Fatalf("embedded.Start: %v", err)
	}
	defer ns.Shutdown()
	srvConn, err := ns.Connect()
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	defer srvConn.Close()
	cliConn, err := ns.Connect()
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	defer cliConn.Close()

	sup := actor.NewSupervisor(context.Background(), actor.WithSupervisorName("server"))
	srv, err := remote.NewServer(sup, srvConn, "test", "0.0.1", remote.WithRequestHook(otelremote.RequestHook(tp)))
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	counter := actor.Spawn(sup, &Counter{}, actor.WithName("counter"))
	err = remote.HandleContext(srv, addEP, counter, func(c *Counter, ctx context.Context, n int) (int, error) {
		if n < 0 {
			return 0, errors.New("negative")
		}
		// The handler runs on the actor; a call it makes from ctx continues the trace.
		_, child := tracer.Start(ctx, "handler work")
		defer child.End()
		c.n += n
		return c.n, nil
	})
	if err != nil {
		t.Fatalf("HandleContext: %v", err)
	}
	client := remote.NewClient(cliConn, remote.WithCallHook(otelremote.ClientHook(tp)))

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ctx, root := tracer.Start(ctx, "caller")
	if got, err := addEP.Call(ctx, client, 2); got != 2 || err != nil {
		t.Fatalf("Call = %d, %v; want 2, nil", got, err)
	}
	if _, err := addEP.Call(ctx, client, -1); !errors.Is(err, remote.ErrHandler) {
		t.Fatalf("Call(-1) = %v, want ErrHandler", err)
	}
	root.End()
	// The server ends its spans on whichever goroutine answers: once it has stopped and
	// its supervisor has joined every actor, all of them have ended.
	if err := srv.Stop(); err != nil {
		t.Fatalf("Server.Stop: %v", err)
	}
	sup.Stop()
	if err := sup.Wait(); err != nil {
		t.Fatalf("Supervisor.Wait: %v", err)
	}

	spans := exp.GetSpans()
	byKind := func(k trace.SpanKind) []tracetest.SpanStub {
		var out []tracetest.SpanStub
		for _, s := range spans {
			if s.SpanKind == k {
				out = append(out, s)
			}
		}
		return out
	}
	clients, servers := byKind(trace.SpanKindClient), byKind(trace.SpanKindServer)
	if len(clients) != 2 || len(servers) != 2 {
		t.Fatalf("%d client and %d server spans, want 2 and 2: %v", len(clients), len(servers), spans)
	}
	rc := root.SpanContext()
	for i, c := range clients {
		if c.Name != "test.add" || c.Parent.SpanID() != rc.SpanID() || c.SpanContext.TraceID() != rc.TraceID() {
			t.Errorf("client span %d: %q with parent %v, want test.add under the caller's %v", i, c.Name, c.Parent.SpanID(), rc.SpanID())
		}
		// The server span of this call is the one whose parent is this client span.
		var s *tracetest.SpanStub
		for j := range servers {
			if servers[j].Parent.SpanID() == c.SpanContext.SpanID() {
				s = &servers[j]
			}
		}
		if s == nil {
			t.Fatalf("client span %d: no server span has it as parent", i)
		}
		if !s.Parent.IsRemote() || s.SpanContext.TraceID() != rc.TraceID() || s.Name != "test.add" {
			t.Errorf("server span %q: parent remote %v, trace %v; want a remote parent in %v", s.Name, s.Parent.IsRemote(), s.SpanContext.TraceID(), rc.TraceID())
		}
		failed := i == 1
		if got := c.Status.Code == codes.Error; got != failed {
			t.Errorf("client span %d: status %v, want an error: %v", i, c.Status, failed)
		}
		if got := s.Status.Code == codes.Error; got != failed {
			t.Errorf("server span %d: status %v, want an error: %v", i, s.Status, failed)
		}
		if failed {
			for _, kv := range c.Attributes {
				if kv.Key == "error.type" && kv.Value.AsString() != "handler" {
					t.Errorf("client span: error.type %q, want handler", kv.Value.AsString())
				}
			}
			continue
		}
		work := 0
		for _, w := range spans {
			if w.Name == "handler work" && w.Parent.SpanID() == s.SpanContext.SpanID() {
				work++
			}
		}
		if work != 1 {
			t.Errorf("%d handler spans under the server span, want 1", work)
		}
	}
}

// TestErrorType: the remote package's errors get names of their own.
func TestErrorType(t *testing.T) {
	for _, c := range []struct {
		err  error
		want string
	}{
		{remote.ErrNoResponders, "no_responders"},
		{remote.ErrBadRequest, "bad_request"},
		{remote.ErrBadResponse, "bad_response"},
		{remote.ErrServerStopped, "server_stopped"},
		{remote.ErrHandler, "handler"},
		{actor.ErrStopped, "stopped"},
		{actor.ErrMailboxFull, "mailbox_full"},
		{context.DeadlineExceeded, "deadline_exceeded"},
		{errors.New("x"), "_OTHER"},
	} {
		if got := otelremote.ErrorType(c.err); got != c.want {
			t.Errorf("ErrorType(%v) = %q, want %q", c.err, got, c.want)
		}
	}
}
