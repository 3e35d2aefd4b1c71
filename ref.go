package actor

import (
	"context"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Ref is the handle to an actor that owns a *T. Every method is safe to call from any
// goroutine, including from inside the actor's own messages.
//
// A Ref comes only from [Spawn], [SpawnFunc] or [SpawnPool]; methods on a nil or zero Ref
// panic. Refs compare equal
// exactly when they name the same actor.
type Ref[T any] struct {
	// Set by Spawn, then read-only.
	sup    *Supervisor
	runFn  func()     // r.run, bound once so that starting an activation does not allocate
	x      *refExt[T] // what few actors need; nil for most
	member member     // r's entry in sup's list of live children; guarded by sup.mu
	bound  int32      // mailbox size; 0 means unbounded
	named  bool       // WithName gave the name

	mu        sync.Mutex
	running   bool          // guarded by mu; an activation is scheduled or running, or the actor is down
	stopping  bool          // guarded by mu; set once by Stop, StopNow or failure: sends fail
	ended     bool          // guarded by mu; set once, after OnStop, when Wait may return
	hooksDone bool          // guarded by mu; set once, just before ended, when hooks are settled
	life      *life         // guarded by mu; what few actors need (names, restarts, contexts), made when needed
	q         queue         // guarded by mu; accepted messages not yet taken
	err       error         // guarded by mu; Wait's result, set before ended
	done      chan struct{} // guarded by mu; made on first use, closed when ended is set
	hooks     *hook         // guarded by mu; pending timers and watches, settled when the actor ends

	// Owned by the running activation. Activations run one at a time, and each one starts
	// after the previous one has released mu (or, for a restart, has gone down), so these
	// need no lock of their own. The activation changes batch only under mu, so that
	// StopNow, end and a restart can take the rest of a batch away under mu (see claimed).
	state       *T        // the current incarnation's; replaced at a restart of SpawnFunc's
	batch       batch     // messages taken from q, run in order
	cur         cursor    // the message of batch running (or last run)
	labels      *labelSet // pprof labels naming the actor, made on the first activation
	started     bool      // OnStart has run (since the last restart)
	finished    bool      // end has been called; it runs once
	needState   bool      // the next incarnation must come up first (newState, bind)
	cameUp      bool      // this activation brought up an incarnation: signal it after OnStart
	everStarted bool      // an incarnation has started: the next start is a restart
	stateless   bool      // no state is up: SpawnFunc\'s before newState, or after a restart took it down
	phase       phase     // what the activation is running, for the panic handler
	// claimed is how many messages of batch the activation has claimed: it claims each one
	// with an Add before it runs it. StopNow, end and a restart swap in claimedAll under mu,
	// and the messages from the old value on are theirs to take, so that every message of
	// a batch is either run or taken, exactly once, and StopNow knows how many it dropped.
	// Reset under mu when a batch is taken.
	claimed atomic.Uint32
}

// refExt holds what few actors are configured with, so that the Ref of the others stays
// small. Set by Spawn, then read-only (restart's contents belong to the activation).
type refExt[T any] struct {
	restart  *restarter         // WithRestart
	newState func() (*T, error) // SpawnFunc's
	shutdown time.Duration      // WithShutdownTimeout's; 0: none
	pool     *Pool[T]           // the pool r is a member of, if any
	index    int                // r's place in pool.members
}

// claimedAll is what StopNow and end swap into claimed to take the rest of the batch: as an
// int32 it is negative, so no claim at or above it succeeds. The few Adds that can follow it
// (one per failed claim before the activation ends) cannot wrap, and no batch holds 2^31
// messages (32 GiB of them).
const claimedAll = 1 << 31

// request is a message that is more than a func(*T): an [Ask], a [Request], a timer's tick
// or a watch's notice. run runs it on the actor; abort tells its sender that it will not
// run to the end, with the reason.
type request[T any] interface {
	run(*T)
	abort(error)
}

// closedChan is what Done returns for an actor that ended before anyone asked for it.
var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// nextID numbers actors for their generated names, when they are first asked for.
var nextID atomic.Uint64

func (r *Ref[T]) check(op string) {
	if r == nil || r.sup == nil {
		panic("actor: " + op + " on a nil or zero Ref (Refs come from Spawn)")
	}
}

// Send queues msg for the actor and returns without waiting for it to run. It never blocks.
//
// It returns [ErrNilMessage] for a nil msg, [ErrStopped] once [Ref.Stop] has been called or
// the actor has ended, and [ErrMailboxFull] when the actor has a bounded mailbox
// ([WithMailboxSize]) that is full. A Send that returns nil runs msg exactly once, unless
// the actor fails first (see [Spawn]). Messages sent by one goroutine run in the order it
// sent them.
func (r *Ref[T]) Send(msg func(*T)) error {
	r.check("Send")
	if msg == nil {
		return ErrNilMessage
	}
	return r.accept(msg, false)
}

// SendContext is [Ref.Send] that, when a bounded mailbox is full, waits for room instead of
// failing. It returns ctx's error if ctx ends first, and [ErrStopped] if the actor is
// stopped while it waits. If ctx is already done when it is called, it returns ctx's error
// even if there is room. A SendContext that returns an error never runs msg. An actor that
// calls it on its own full mailbox waits until ctx ends, since only the actor itself could
// make room: use [Ref.Enqueue] for follow-ups.
func (r *Ref[T]) SendContext(ctx context.Context, msg func(*T)) error {
	r.check("SendContext")
	if ctx == nil {
		panic("actor: SendContext: nil Context")
	}
	if msg == nil {
		return ErrNilMessage
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return r.acceptWait(ctx, msg)
}

// Enqueue queues msg like [Ref.Send] but ignores the mailbox bound, so it never returns
// [ErrMailboxFull] and never blocks. It is meant for an actor's follow-ups to itself
// (Self().Enqueue, as in a loop that reschedules itself), which must not deadlock on the
// actor's own full mailbox. Like every send, it returns [ErrStopped] once the actor is
// stopping, which is how self-rescheduling loops end.
func (r *Ref[T]) Enqueue(msg func(*T)) error {
	r.check("Enqueue")
	if msg == nil {
		return ErrNilMessage
	}
	return r.accept(msg, true)
}

// accept queues m, starting an activation if the actor is idle. With ignoreBound (Enqueue,
// and what the package queues for itself: replies, ticks, notices) a bounded mailbox takes
// m even when full; without it, a full one refuses it.
//
// accept, with acceptWait, is the one place where a message is accepted, and it decides
// under mu both that the actor is not stopping and that m is queued: so a message it
// accepts is always run (or dropped by StopNow or a failure, and counted), and a message
// it refuses never is.
func (r *Ref[T]) accept(m any, ignoreBound bool) error {
	r.lock()
	if r.stopping {
		r.mu.Unlock()
		return r.refused(ErrStopped)
	}
	if r.bound > 0 && !ignoreBound && r.q.n >= r.bound {
		r.mu.Unlock()
		return r.refused(ErrMailboxFull)
	}
	return r.pushLocked(m)
}

// lock takes mu for a sender. With more runnable goroutines than cores, sync.Mutex does not
// spin: a sender that finds it held parks, and every unlock wakes one. Yielding a few
// times first lets the holder finish instead.
func (r *Ref[T]) lock() {
	if r.mu.TryLock() {
		return
	}
	for range 3 {
		runtime.Gosched()
		if r.mu.TryLock() {
			return
		}
	}
	r.mu.Lock()
}

// acceptWait is accept for SendContext and Ask: a full bounded mailbox makes it wait for
// room until ctx ends.
func (r *Ref[T]) acceptWait(ctx context.Context, m any) error {
	r.mu.Lock()
	for {
		if r.stopping {
			r.mu.Unlock()
			return r.refused(ErrStopped)
		}
		if r.bound == 0 || r.q.n < r.bound {
			break
		}
		if r.life.room == nil {
			r.life.room = make(chan struct{})
		}
		room := r.life.room
		r.mu.Unlock()
		// If room appears just as ctx ends, either case may win; both are honest,
		// because nothing has been queued yet.
		select {
		case <-room:
		case <-ctx.Done():
			return ctx.Err()
		}
		r.mu.Lock()
	}
	return r.pushLocked(m)
}

// refused reports a refused send to the observer, if any, and returns err.
func (r *Ref[T]) refused(err error) error {
	r.observe(EventRefused, err, 1, "")
	return err
}

// pushLocked queues m and releases mu, starting an activation if none is running.
func (r *Ref[T]) pushLocked(m any) error {
	r.q.push(m)
	if r.running {
		r.mu.Unlock()
		return nil
	}
	r.running = true
	r.mu.Unlock()
	// The actor cannot end before this activation has run m, so its supervisor, which
	// waits for the actor to end, cannot have finished.
	go r.runFn()
	return nil
}

// Stop tells the actor to stop and returns at once; [Ref.Wait] waits for it to end.
//
// From the moment Stop is called, every send returns [ErrStopped]. Messages accepted before
// it still run, in order ([Ref.StopNow] drops them instead); then OnStop runs if T has it;
// then the actor ends and Wait returns nil. An actor that is down for a restart (waiting
// out its backoff, or being brought down by its supervisor's restart) is not brought up
// again to run them: it ends as soon as it is down, and what it had accepted is dropped
// as [Ref.StopNow] drops it. Stop is safe from any goroutine and from inside the actor's
// own messages (where waiting would deadlock, which is why it does not wait). Calling it
// again, or after the actor has ended, does nothing.
func (r *Ref[T]) Stop() {
	r.check("Stop")
	r.stop()
}

func (r *Ref[T]) stop() {
	r.mu.Lock()
	r.stopLocked()
}

// stopLocked is stop for a caller that holds mu, which it releases.
func (r *Ref[T]) stopLocked() {
	if r.stopping {
		r.mu.Unlock()
		return
	}
	r.stopping = true
	r.wakeSenders()
	if l := r.life; l != nil && l.down {
		// Down after a failure, waiting for its backoff or its supervisor to bring it up:
		// there is no incarnation left to run what waits, so it ends at once, and what
		// waits is dropped.
		r.mu.Unlock()
		r.end(nil, false)
		return
	}
	r.startDeadlineLocked()
	if r.running {
		// The running activation finds the mailbox empty and stopping set, and ends.
		r.mu.Unlock()
		return
	}
	if hasOnStop[T]() {
		// OnStop runs on the actor's goroutine, like every other hook.
		r.running = true
		r.mu.Unlock()
		go r.runFn()
		return
	}
	r.mu.Unlock()
	// Idle, no hook: there is nothing to run, so end here rather than start a goroutine.
	r.end(nil, false)
}

// StopNow stops the actor after the message it is running, dropping every message that has
// not started, and returns how many it dropped.
//
// It returns at once; [Ref.Wait] waits for the actor to end. The messages it drops are all
// those the mailbox accepted that had not started when StopNow was called, including timer
// ticks, watch notices and replies that were queued; none of them runs, and each is counted,
// so nothing is dropped silently. Their [Ask]s return [ErrStopped] and their [Request]s get
// it as their reply, at once, without waiting for the running message. From the moment
// StopNow is called every send returns ErrStopped, as after [Ref.Stop]. The message that is
// running finishes; then OnStop runs if T has it, the actor ends, and Wait returns nil,
// unless that message fails the actor.
//
// StopNow is safe from any goroutine and from inside the actor's own messages, where it
// means "this is the last message". It may follow Stop, to give up on a graceful stop;
// calling it again, or after the actor has ended, drops nothing and returns 0.
func (r *Ref[T]) StopNow() (dropped int) {
	r.check("StopNow")
	r.mu.Lock()
	taken := r.takeUnstarted(nil)
	if !r.ended {
		r.lifeLocked().cancelCtxLocked(ErrStopped)
	}
	r.stopLocked() // unlocks mu
	// Released after the lock, since an abort may send a reply to another actor, or to
	// this one, which refuses it: it is stopping.
	for _, m := range taken {
		if c, ok := m.(request[T]); ok {
			c.abort(ErrStopped)
		}
	}
	if len(taken) > 0 {
		r.observe(EventDropped, nil, len(taken), "stop_now")
	}
	return len(taken)
}

// wakeSenders releases every SendContext and Ask waiting for room. Callers hold mu.
func (r *Ref[T]) wakeSenders() {
	if r.life != nil && r.life.room != nil {
		close(r.life.room)
		r.life.room = nil
	}
}

// Wait blocks until the actor has ended and returns why: nil after [Ref.Stop] or a graceful
// stop by its supervisor, the failure (a [*PanicError], or an error wrapping [ErrGoexit] or
// OnStart's error) if it failed, and [ErrStopped] if it was spawned on a stopped
// supervisor. OnStop returns, and every message's effects happen, before Wait returns.
// Calling Wait from inside the actor's own messages deadlocks.
func (r *Ref[T]) Wait() error {
	<-r.Done()
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

// Done returns a channel that is closed when the actor has ended, just before [Ref.Wait]
// returns. Every call returns the same channel.
func (r *Ref[T]) Done() <-chan struct{} {
	r.check("Done")
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.done == nil {
		if r.ended {
			r.done = closedChan
		} else {
			r.done = make(chan struct{})
		}
	}
	return r.done
}

// String returns the actor's name: the one given with [WithName], or one made from T's type
// name and a number unique in the process, such as "Monitor#3".
func (r *Ref[T]) String() string {
	r.check("String")
	r.mu.Lock()
	defer r.mu.Unlock()
	l := r.lifeLocked()
	if l.name == "" {
		// Built on first use, so that actors nobody names or prints never pay for it,
		// not even for the number.
		l.name = typeName[T]() + "#" + strconv.FormatUint(nextID.Add(1), 10)
	}
	return l.name
}

// Ask runs fn on the actor and returns its result. Its effects happen before Ask returns.
//
// Ask blocks until fn has run, or ctx ends, or the actor ends without running it. In a
// bounded mailbox it waits for room as [Ref.SendContext] does. It returns:
//   - fn's results, once fn has run;
//   - ctx's error if ctx ends first; if fn had not started by then it never will;
//   - [ErrStopped] if the actor is stopping, or ended (failed) before it ran fn;
//   - a [*PanicError] if fn panicked (the actor then fails or restarts, see [Spawn]);
//   - [ErrNilMessage] for a nil fn.
//
// Ask starts no goroutine.
//
// Never Ask an actor from inside its own message: the actor runs one message at a time, so
// fn waits behind the message that waits for it, and Ask returns only when ctx ends. With
// context.Background that is never, and the actor's Stop, its supervisor's Stop and their
// Waits wait for ever too. Inside a message, run the code directly, use [Ref.Enqueue] or
// [Request] (which never waits), and give any Ask that may wait the actor's own
// [Ref.Context], which a stop with [WithShutdownTimeout] or [Ref.StopNow] cancels.
func Ask[T, R any](ctx context.Context, r *Ref[T], fn func(*T) (R, error)) (R, error) {
	r.check("Ask")
	if ctx == nil {
		panic("actor: Ask: nil Context")
	}
	var zero R
	if fn == nil {
		return zero, ErrNilMessage
	}
	if err := ctx.Err(); err != nil {
		return zero, err
	}
	return ask(ctx, fn, func(m any) error { return r.acceptWait(ctx, m) })
}

// ask is Ask's round trip, for an actor or a pool: accept queues the call.
func ask[T, R any](ctx context.Context, fn func(*T) (R, error), accept func(any) error) (R, error) {
	var zero R
	c := &call[T, R]{fn: fn}
	done := ctx.Done()
	if done == nil {
		// ctx can never end, so nothing but the actor can wake us: wait on the call's
		// WaitGroup, which costs no allocation of its own, unlike a channel.
		c.wg.Add(1)
		if err := accept(c); err != nil {
			return zero, err
		}
		c.wg.Wait()
		return c.res, c.err
	}
	// Each Ask makes its own channel. Recycling them through a sync.Pool would save an
	// allocation, but a channel made inside a testing/synctest bubble must not be used
	// outside it (and one made outside is not durably blocking inside), so a shared pool
	// would break users' synctest tests.
	c.done = make(chan struct{})
	if err := accept(c); err != nil {
		return zero, err
	}
	select {
	case <-c.done:
		return c.res, c.err
	case <-done:
	}
	// Settle the race with the actor: whoever moves the call out of pending decides. If we
	// do, fn never starts. If the actor did, fn is running or has run; return its result
	// if it is there, and ctx's error rather than wait past ctx if it is not.
	if c.state.CompareAndSwap(callPending, callCancelled) {
		return zero, ctx.Err()
	}
	select {
	case <-c.done:
		return c.res, c.err
	default:
		return zero, ctx.Err()
	}
}

// AskErr is [Ask] for a function that has no result to return, only an error: it runs fn
// on the actor and returns fn's error, or why fn did not run, exactly as Ask does. Its
// effects happen before AskErr returns. It suits method expressions of methods that
// return an error, as in actor.AskErr(ctx, acct, (*Account).Close).
func AskErr[T any](ctx context.Context, r *Ref[T], fn func(*T) error) error {
	r.check("AskErr")
	if ctx == nil {
		panic("actor: AskErr: nil Context")
	}
	if fn == nil {
		return ErrNilMessage
	}
	_, err := Ask(ctx, r, func(t *T) (struct{}, error) { return struct{}{}, fn(t) })
	return err
}

// call is one Ask in flight.
type call[T, R any] struct {
	fn    func(*T) (R, error)
	state atomic.Int32   // callPending, then callStarted (by the actor) or callCancelled (by Ask)
	wg    sync.WaitGroup // with a ctx that cannot end: Done after res and err are set
	done  chan struct{}  // with a ctx that can end: closed after res and err are set
	res   R
	err   error
}

const (
	callPending int32 = iota
	callStarted
	callCancelled
)

func (c *call[T, R]) run(t *T) {
	if !c.state.CompareAndSwap(callPending, callStarted) {
		return // Ask has returned ctx's error; fn must not start.
	}
	c.res, c.err = c.fn(t)
	c.complete()
}

// abort ends a call that will not run to the end: dropped from the mailbox, or fn panicked
// or called Goexit. The actor calls it at most once per call, and never after run finished.
func (c *call[T, R]) abort(err error) {
	c.err = err
	c.complete()
}

func (c *call[T, R]) complete() {
	if c.done != nil {
		close(c.done)
	} else {
		c.wg.Done()
	}
}
