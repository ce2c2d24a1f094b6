package service

import (
	"testing"
	"time"
)

// backoff doubles from BaseBackoff per attempt, adds at most 20 % jitter,
// stops at MaxBackoff, and takes any attempt number without panicking.
func TestOutboxBackoff(t *testing.T) {
	t.Parallel()
	o := &Outbox{BaseBackoff: 5 * time.Second, MaxBackoff: time.Hour}
	cases := []struct {
		attempt int
		base    time.Duration // before jitter
	}{
		{-3, 5 * time.Second},
		{0, 5 * time.Second},
		{1, 5 * time.Second},
		{2, 10 * time.Second},
		{3, 20 * time.Second},
		{10, 2560 * time.Second},
		{11, time.Hour}, // 5120 s, capped
		{64, time.Hour},
		{1 << 40, time.Hour},
	}
	for _, c := range cases {
		for range 50 {
			got := o.backoff(c.attempt)
			if got < c.base || got > c.base+c.base/5 {
				t.Fatalf("backoff(%d): got %v, want %v plus at most 20 %%", c.attempt, got, c.base)
			}
		}
	}
}
