// Package remote calls actors in other processes, on this machine or others, over NATS.
//
// Closures cannot cross a process, so a remote call is explicit and typed: an [Endpoint]
// names a NATS subject, a request type and a response type, and is declared once in a
// package that both sides import, so that the compiler checks both against it. The server
// side serves an endpoint with an actor and a function run on it; the calling side calls
// the endpoint and gets the function's result. Requests and responses are JSON by default
// ([Codec] is pluggable); there is no type registry, no generated code, and no protobuf.
//
// # The model
//
//	// Shared by both sides:
//	var Add = remote.NewEndpoint[AddReq, AddResp]("counter.add")
//
//	// The serving process:
//	sup := actor.NewSupervisor(ctx)
//	srv, err := remote.NewServer(sup, nc, "counter", "1.0.0")
//	counter := actor.Spawn(sup, &Counter{})
//	err = remote.Handle(srv, Add, counter, (*Counter).Add) // func(*Counter, AddReq) (AddResp, error)
//
//	// Any process:
//	c := remote.NewClient(nc)
//	resp, err := Add.Call(ctx, c, AddReq{N: 2})
//
// [Handle] subscribes to the subject. Each request is decoded on the subscription's
// goroutine and handed to the actor with [actor.Request], which never blocks; the function
// then runs on the actor like any message, and its result goes back to the caller. The
// subscription never waits for an actor, so a busy actor holds up nothing else, and back
// pressure reaches callers at once: an actor with a bounded mailbox that is full makes the
// call fail with [actor.ErrMailboxFull].
//
// Every server that handles a subject joins one NATS queue group ([DefaultQueueGroup]), so
// N processes serving the same endpoint share its requests, each request going to one of
// them; [WithBroadcast] sends every request to every server instead.
//
// # Delivery is at most once
//
// Inside a process, an actor runs a message that it accepted exactly once. Across processes
// that cannot be promised: a server can die with a request in hand, and a reply can be
// lost with its connection. What a call promises is at most once: it never runs the
// function twice, and it never reports a result, or an error that says the function ran,
// for a function that did not run. When a call fails, its error says whether the function
// ran: yes, no, or unknown. Only a deadline (or the caller's cancellation, or a broken
// connection) leaves it unknown; a caller that retries after one must make the function
// safe to run twice.
//
//	error (errors.Is, or errors.As for *actor.PanicError)    did fn run?
//	ErrNoResponders        nobody serves the subject               no
//	ErrBadRequest          request not encodable or decodable      no
//	actor.ErrStopped       the actor was stopping or dropped it    no
//	actor.ErrMailboxFull   the actor's bounded mailbox was full    no
//	ErrHandler             fn returned an error (and a sentinel    yes
//	                       registered with WithErrors matches too)
//	*actor.PanicError      fn panicked (Value is its text)         yes
//	actor.ErrGoexit        fn called runtime.Goexit                yes
//	ErrBadResponse         the result not encodable or decodable   yes
//	context.DeadlineExceeded, context.Canceled                     unknown
//	other errors, from nats (a closed connection)                  unknown
//
// A panic's stack stays on the server unless it uses [WithPanicStacks].
//
// # Deadlines
//
// A call's remaining time goes with the request, as a duration rather than a time, so the
// two machines' clocks need not agree. The server starts that duration when the request
// arrives and runs the function under it: a request whose deadline passes while it waits in
// the actor's mailbox never runs. A call whose context has no deadline gets the client's
// timeout ([DefaultTimeout], 5 s, unless [WithTimeout] changes it), because a request
// without one would wait for ever for a server that died. A server that dies mid-call leaves
// its caller waiting until that deadline; the next call goes to a live server, or fails at
// once with [ErrNoResponders] if none is left (NATS notices a dead process when its socket
// closes, and a lost machine within its ping interval).
//
// # Lifecycle and shutdown order
//
// [Handle] returns once the NATS server has the subscription, so a call made right after
// it is served. When an actor that is served ends, its endpoints stop taking requests.
// [Server.Stop] returns once no new request can reach the server; the requests it had
// taken still run and are answered, which is how a server leaves a queue group without
// losing a call. Shut a serving process down in this order:
//
//  1. [Server.Stop]: no new request arrives; in a queue group the others take over;
//  2. stop the actors' supervisor and wait for it: the requests taken run and are answered;
//  3. drain (or close) the NATS connection: the last replies go out;
//  4. shut down the embedded NATS server, if the process runs one.
//
// Nothing in this package outlives these steps: it starts no goroutine of its own; the
// subscriptions' goroutines belong to nats and end with Stop, and the [Server]'s small
// actor belongs to the supervisor. Create the Server before the actors it serves, so that
// the supervisor stops that actor after them (see [NewServer]).
//
// # Tracing
//
// This package does not depend on OpenTelemetry or any tracer, but it has the hooks one
// needs: a [ClientHook] ([WithCallHook]) may add headers to each request, such as a W3C
// traceparent, and learns how the call ended; a [RequestHook] ([WithRequestHook]) reads
// them on the server and returns the context the actor's request runs in, which
// [HandleContext] handlers receive, and learns what was answered.
//
// # Wire format
//
// A request is a NATS request on the endpoint's subject: its body is the codec's encoding
// of the request, and its header Pactor-Timeout holds the time left, in nanoseconds, as a
// decimal integer (a request without it gets [DefaultTimeout]). A success is a reply whose
// body is the codec's encoding of the response, without headers. A failure is a reply with
// the header Pactor-Error, whose value says what failed (stopped, mailbox-full, deadline,
// canceled, panic, goexit, handler, bad-request, bad-response), and a JSON body
// {"message": ..., "code": ..., "stack": ...}, where code is the text of the registered
// sentinel that a handler's error matched. So any NATS client can call an endpoint, for
// instance `nats req counter.add '{"N":2}'` with the JSON codec.
//
// # The embedded server
//
// Package [github.com/pactor-go/actor/remote/embedded] runs a NATS server inside the
// process, without a listener (in-process connections only) or on 127.0.0.1, for tests
// and programs that live on one machine. It is a package of its own so that a program that
// only imports remote does not link the NATS server. Against a real NATS server or cluster,
// connect with nats.Connect as usual; nothing else changes.
//
// # Cost
//
// A remote call is a NATS request/reply plus a deadline header, JSON both ways, and a hop
// through the actor's mailbox. Over a loopback socket, with one caller, it takes 1.23× a
// raw NATS request/reply of the same bytes; in-process, where the raw round trip is only
// 15 µs, 1.8×, of which JSON is a quarter (a [Codec] is pluggable). BENCHMARKS.md in this
// module has the figures and how they were measured.
package remote
