package actor

import (
	"testing"
	"unsafe"
)

// TestRefSize keeps a Ref in the 256-byte size class: one field more would move every
// actor to the next class (288 bytes). Rarely used things go behind Ref.x.
func TestRefSize(t *testing.T) {
	if got := unsafe.Sizeof(Ref[struct{}]{}); got > 256 {
		t.Fatalf("unsafe.Sizeof(Ref[struct{}]{}) = %d, want <= 256", got)
	}
}
