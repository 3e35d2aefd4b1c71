package actor

import "sync"

// A mailbox queue holds messages as values of type any: a plain message is a func(*T),
// which an interface holds without allocating (funcs are pointer-shaped), and everything
// else (an Ask, a Request, a timer tick, a watch notice) is a request[T]. One word fewer
// than a struct of both, and it makes the segments below the same type for every T, so
// that all actors share one pool of them.

// segLen is how many messages a segment holds: 63 interfaces and the link fill the
// 1,024-byte size class.
const segLen = 63

// segment is a fixed-size block of a queue. A queue is a chain of them, so that it grows
// without copying, and gives its memory back as it drains: a drained segment goes back to
// segPool, and the pool is emptied by the garbage collector when nobody needs it. An
// actor that once held a burst of messages therefore keeps nothing of it once idle.
type segment struct {
	msgs [segLen]any
	next *segment
}

// segPool recycles drained segments among all actors, so that a steady stream of messages
// allocates nothing. Segments hold no channel or timer, so sharing them across
// testing/synctest bubbles is harmless.
var segPool = sync.Pool{New: func() any { return new(segment) }}

// queue is a FIFO of messages. The first message lives in one, inline, so that a queue of
// one message (the usual case for an actor woken by a send or an Ask) needs no segment;
// the rest follow in a chain of segments. The zero queue is empty and holds no memory.
// one is empty only when the whole queue is.
type queue struct {
	batch          // one, head, hi and n
	tail  *segment // the last segment; nil when only one is used
	ti    int32    // next free slot in tail
}

// push appends m.
func (q *queue) push(m any) {
	q.n++
	if q.one == nil {
		q.one = m
		return
	}
	if q.tail == nil || q.ti == segLen {
		s := segPool.Get().(*segment)
		if q.tail == nil {
			q.head, q.hi = s, 0
		} else {
			q.tail.next = s
		}
		q.tail, q.ti = s, 0
	}
	q.tail.msgs[q.ti] = m
	q.ti++
}

// pop removes and returns the first message; the queue must not be empty.
func (q *queue) pop() any {
	m := q.one
	q.n--
	if q.head == nil {
		q.one = nil
		return m
	}
	// Move the next message up into one.
	q.one = q.head.msgs[q.hi]
	q.head.msgs[q.hi] = nil
	q.hi++
	switch {
	case q.head == q.tail && q.hi == q.ti:
		segPool.Put(q.head) // every slot is nil again
		q.head, q.tail, q.hi, q.ti = nil, nil, 0, 0
	case q.hi == segLen:
		s := q.head
		q.head, q.hi = s.next, 0
		s.next = nil
		segPool.Put(s)
	}
	return m
}

// take removes every message and returns them as a batch.
func (q *queue) take() batch {
	b := q.batch
	*q = queue{}
	return b
}

// release returns q's segments to the pool and empties q. Every slot must be nil already.
func (q *queue) release() {
	q.batch.release()
	*q = queue{}
}

// batch is the messages an activation took from the queue at once, which it runs in order
// with a cursor. It is a queue without its tail: nothing is added to it.
type batch struct {
	one  any
	head *segment
	hi   int32 // first message in head
	n    int32 // messages, one included
}

// each calls f with the slot of every message from the i-th on, in order.
func (b *batch) each(i int32, f func(*any)) {
	if i >= b.n {
		return
	}
	if i == 0 {
		f(&b.one)
		i++
	}
	// The i-th message (i >= 1) is at head, index hi+i-1, in the chain.
	k := b.hi + i - 1
	s := b.head
	for k >= segLen {
		s, k = s.next, k-segLen
	}
	for ; i < b.n; i++ {
		f(&s.msgs[k])
		if k++; k == segLen {
			s, k = s.next, 0
		}
	}
}

// release returns b's segments to the pool. Every slot must be nil already (messages are
// cleared as they run or are taken), since the pool hands segments out as they are.
func (b *batch) release() {
	for s := b.head; s != nil; {
		next := s.next
		s.next = nil
		segPool.Put(s)
		s = next
	}
}

// cursor is an activation's place in its batch: it walks the batch in order without
// changing it, so that the rest of the batch stays where StopNow and a failure can take it.
type cursor struct {
	s *segment // the segment of the current message; nil while at one
	k int32
}

// advance moves c to the next message of b and returns its slot; with first set, it moves
// to the first.
func (c *cursor) advance(b *batch, first bool) *any {
	if first {
		c.s, c.k = nil, 0
		return &b.one
	}
	if c.s == nil {
		c.s, c.k = b.head, b.hi
	} else if c.k++; c.k == segLen {
		c.s, c.k = c.s.next, 0
	}
	return &c.s.msgs[c.k]
}

// at returns the slot of the current message of b.
func (c *cursor) at(b *batch) *any {
	if c.s == nil {
		return &b.one
	}
	return &c.s.msgs[c.k]
}
