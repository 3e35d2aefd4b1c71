package remote_test

import (
	"testing"

	"github.com/pactor-go/actor"
	"github.com/pactor-go/actor/remote"
)

// TestCall is the round trip: Handle, then Call right after, served by the actor.
func TestCall(t *testing.T) {
	ns := startNATS(t)
	n := newNode(t, ns)
	ref := actor.Spawn(n.sup, &Counter{})
	if err := remote.Handle(n.srv, addEP, ref, (*Counter).add); err != nil {
		t.Fatalf("Handle: %v", err)
	}
	c := remote.NewClient(connect(t, ns))
	for i := 1; i <= 3; i++ {
		resp, err := addEP.Call(ctxFor(t, long), c, AddReq{N: 2})
		if err != nil || resp.Total != 2*i {
			t.Fatalf("Call %d = %v, %v; want Total %d, nil", i, resp, err, 2*i)
		}
	}
	if got := count(t, ref); got != 6 {
		t.Fatalf("count = %d, want 6", got)
	}
}
