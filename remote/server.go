package remote

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sync"

	"github.com/nats-io/nats.go"
	"github.com/pactor-go/actor"
)

// Server serves endpoints with actors: [Handle] subscribes to an endpoint's subject and
// turns each request into an [actor.Request] on the actor that serves it. It comes only
// from [NewServer]; its methods are safe to call from any goroutine.
type Server struct {
	nc      *nats.Conn
	name    string
	version string
	hook    RequestHook
	stacks  bool
	// replier receives the replies of actor.Request that carry a failure (a panic, a
	// dropped request, an expired deadline), publishes them, and is told when a served
	// actor ends. A success is published by the served actor itself (see call.run).
	replier *actor.Ref[replier]

	mu      sync.Mutex
	stopped bool          // guarded by mu; set once by Stop: Handle refuses
	subs    []*sub        // guarded by mu; every subscription Handle made
	done    chan struct{} // closed when the first Stop has finished
}

// replier is the Server's own actor. It has no state: it gives the replies of actor.Request
// a mailbox to run in, and runs the notices of the watches on served actors.
type replier struct{}

// sub is one subscription made by Handle.
type sub struct {
	subject string
	closed  chan struct{} // closed by nats once the subscription's goroutine runs no callback again
	unwatch func()        // cancels the watch on the served actor; set before sub is shared

	ns      *nats.Subscription // guarded by Server.mu; nil until Handle has subscribed
	retired bool               // guarded by Server.mu; set once the subscription is draining
}

// RequestHook is called by a [Server] for each request before the actor gets it, on the
// subscription's goroutine, with the request's headers, which it may read but must not
// keep or change. It returns the context the actor's request runs in (derived from ctx;
// the server adds the caller's deadline to it), which [HandleContext] handlers receive,
// and a func, possibly nil, that the server calls once, on whichever goroutine answers
// (the subscription's, the actor's, or the Server's own actor's), with the error it sends
// back, nil for a success. The hook must not block: every later request waits for it.
type RequestHook func(ctx context.Context, subject string, h nats.Header) (context.Context, func(error))

// serviceName is what a service name may hold, as in NATS's micro services, so that the
// name reads the same in NATS tooling.
var serviceName = regexp.MustCompile(`^[A-Za-z0-9\-_]+$`)

// NewServer returns a Server that serves endpoints over nc with actors of sup. name and
// version identify the program that serves (a name of letters, digits, - and _, and a
// non-empty version, such as "counter" and "1.2.0"). Options: [WithRequestHook] and
// [WithPanicStacks].
//
// NewServer spawns one small actor under sup, which publishes the replies that carry a
// failure. Create the Server before spawning the actors it will serve: sup stops actors in
// reverse spawn order, so that actor then outlives them, and the failures of requests that
// they still run while the supervisor drains them reach their callers (a success always
// does, whatever the order). It returns an error for a bad name or version, a closed
// connection, or a supervisor that has stopped (wrapping [actor.ErrStopped]). It panics if
// sup or nc is nil.
//
// Shut down in this order: [Server.Stop] (no new request reaches the server), then stop
// sup and wait for it (the requests already taken run and are answered), then drain or
// close nc, then, if there is one, shut the embedded NATS server down.
func NewServer(sup *actor.Supervisor, nc *nats.Conn, name, version string, opts ...ServerOption) (*Server, error) {
	if sup == nil {
		panic("remote: NewServer: nil Supervisor")
	}
	if nc == nil {
		panic("remote: NewServer: nil *nats.Conn")
	}
	if !serviceName.MatchString(name) {
		return nil, fmt.Errorf("remote: NewServer: invalid name %q: use letters, digits, - and _", name)
	}
	if version == "" {
		return nil, errors.New("remote: NewServer: empty version")
	}
	if nc.IsClosed() {
		return nil, fmt.Errorf("remote: NewServer: %w", nats.ErrConnectionClosed)
	}
	s := &Server{nc: nc, name: name, version: version, done: make(chan struct{})}
	for _, o := range opts {
		if o == nil {
			panic("remote: NewServer: nil ServerOption")
		}
		o.applyServer(s)
	}
	s.replier = actor.Spawn(sup, &replier{}, actor.WithName("remote.Server "+name))
	select {
	case <-s.replier.Done():
		return nil, fmt.Errorf("remote: NewServer: %w", actor.ErrStopped)
	default:
	}
	return s, nil
}

func (s *Server) check(op string) {
	if s == nil || s.replier == nil {
		panic("remote: " + op + ": nil or zero *Server (Servers come from NewServer)")
	}
}

// String returns the server's name and version, such as "counter 1.2.0".
func (s *Server) String() string {
	s.check("String")
	return s.name + " " + s.version
}

// Stop makes the server stop taking requests, and returns once no new request can reach
// it: every subscription has been removed on the NATS server, and every request that had
// already arrived has been handed to its actor (or answered, if the actor refused it).
// Those requests still run and are answered: stop the actors' supervisor afterwards, and
// wait for it, to let them finish. In a queue group, the requests that come later go to
// the other servers; with none left, callers get [ErrNoResponders] at once.
//
// Stop does not stop any actor, and does not close the connection. It blocks for about a
// round trip to NATS, and is safe from inside an actor's message. Calling it again waits
// for the first call to finish and returns nil. Its error, if any, comes from nats while
// unsubscribing; the subscriptions are gone all the same.
func (s *Server) Stop() error {
	s.check("Stop")
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		<-s.done
		return nil
	}
	s.stopped = true
	subs := s.subs
	s.mu.Unlock()
	var errs []error
	for _, sb := range subs {
		sb.unwatch()
		if err := s.retire(sb); err != nil {
			errs = append(errs, fmt.Errorf("remote: Stop: %s: %w", sb.subject, err))
		}
	}
	// A drained subscription closes after nats has flushed its unsubscription to the
	// server and its goroutine has run every request that had arrived; a closed
	// connection closes them too.
	for _, sb := range subs {
		<-sb.closed
	}
	close(s.done)
	return errors.Join(errs...)
}

// retire drains sb's subscription, once: the NATS server sends it nothing more, and the
// requests already delivered are still dispatched. It does not wait. Before Handle has
// subscribed it only marks sb, and Handle drains it.
func (s *Server) retire(sb *sub) error {
	s.mu.Lock()
	if sb.retired {
		s.mu.Unlock()
		return nil
	}
	sb.retired = true
	ns := sb.ns
	s.mu.Unlock()
	if ns == nil {
		return nil
	}
	return drain(ns)
}

// drain drains ns. A closed connection has closed ns already, which is what draining was for.
func drain(ns *nats.Subscription) error {
	if err := ns.Drain(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) && !errors.Is(err, nats.ErrBadSubscription) {
		return err
	}
	return nil
}
