package scheduler

import (
	"testing"
	"time"
)

func TestNewTiming(t *testing.T) {
	tests := []struct {
		poll time.Duration
		want Timing
	}{
		{10 * time.Millisecond, Timing{ForwardInterval: time.Second, EnqueueLead: 1150 * time.Millisecond,
			WakeLead: 20 * time.Millisecond, Hold: 50 * time.Millisecond, DuplicateWait: 3150 * time.Millisecond}},
		{100 * time.Millisecond, Timing{ForwardInterval: time.Second, EnqueueLead: 1150 * time.Millisecond,
			WakeLead: 200 * time.Millisecond, Hold: 400 * time.Millisecond, DuplicateWait: 3150 * time.Millisecond}},
	}
	for _, tt := range tests {
		got := NewTiming(tt.poll)
		if got != tt.want {
			t.Errorf("NewTiming(%s) = %+v, want %+v", tt.poll, got, tt.want)
		}
		// A task the waker hands over must be held, not sent back to the
		// queue: the hold covers the wake lead.
		if got.Hold < got.WakeLead {
			t.Errorf("NewTiming(%s): hold %s < wake lead %s", tt.poll, got.Hold, got.WakeLead)
		}
		// asynq's forwarding, once every ForwardInterval, never makes a
		// held first attempt late.
		if got.EnqueueLead <= got.ForwardInterval {
			t.Errorf("NewTiming(%s): enqueue lead %s <= forward interval %s", tt.poll, got.EnqueueLead, got.ForwardInterval)
		}
	}
}
