package remote_test

import (
	"context"
	"errors"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/pactor-go/actor"
	"github.com/pactor-go/actor/remote"
)

type traceKey struct{}

var traceEP = remote.NewEndpoint[string, string]("test.trace")

// TestTracingHooks: the client hook adds a header, the server hook reads it into the
// context that the handler receives, and both hear how the call ended.
func TestTracingHooks(t *testing.T) {
	ns := startNATS(t)
	serverEnd := make(chan error, 2)
	n := newNode(t, ns, remote.WithRequestHook(func(ctx context.Context, subject string, h nats.Header) (context.Context, func(error)) {
		if subject != traceEP.Subject() {
			t.Errorf("server hook got subject %q", subject)
		}
		return context.WithValue(ctx, traceKey{}, h.Get("Traceparent")), func(err error) { serverEnd <- err }
	}))
	err := remote.HandleContext(n.srv, traceEP, actor.Spawn(n.sup, &Counter{}), func(_ *Counter, ctx context.Context, req string) (string, error) {
		if req == "fail" {
			return "", errors.New("failed")
		}
		tp, _ := ctx.Value(traceKey{}).(string)
		return tp, nil
	})
	if err != nil {
		t.Fatalf("HandleContext: %v", err)
	}
	const tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	clientEnd := make(chan error, 2)
	c := remote.NewClient(connect(t, ns), remote.WithCallHook(func(ctx context.Context, subject string, h nats.Header) func(error) {
		h.Set("Traceparent", tp)
		return func(err error) { clientEnd <- err }
	}))

	got, err := traceEP.Call(ctxFor(t, long), c, "ok")
	if err != nil || got != tp {
		t.Fatalf("Call = %q, %v; want the traceparent %q", got, err, tp)
	}
	if err := <-clientEnd; err != nil {
		t.Fatalf("client end = %v, want nil", err)
	}
	if err := <-serverEnd; err != nil {
		t.Fatalf("server end = %v, want nil", err)
	}

	if _, err := traceEP.Call(ctxFor(t, long), c, "fail"); !errors.Is(err, remote.ErrHandler) {
		t.Fatalf("Call = %v, want ErrHandler", err)
	}
	if err := <-clientEnd; !errors.Is(err, remote.ErrHandler) {
		t.Fatalf("client end = %v, want ErrHandler", err)
	}
	if err := <-serverEnd; err == nil || err.Error() != "failed" {
		t.Fatalf("server end = %v, want the handler's error", err)
	}
}
