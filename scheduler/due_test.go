package scheduler

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestRetryDelay(t *testing.T) {
	now := time.Date(2024, 1, 20, 10, 30, 45, 0, time.UTC)
	delay := RetryDelay(func() time.Time { return now })
	tests := []struct {
		name string
		err  error
		want time.Duration
	}{
		{"a retry is queued Lead before its due time", &DueError{At: now.Add(5 * time.Second), Err: errors.New("500")}, 5*time.Second - Lead},
		{"a wrapped DueError counts", fmt.Errorf("dispatch: %w", &DueError{At: now.Add(time.Minute)}), time.Minute - Lead},
		{"a due time closer than Lead runs at once", &DueError{At: now.Add(Lead / 2)}, 0},
		{"a past due time runs at once", &DueError{At: now.Add(-time.Second)}, 0},
		{"anything else backs off", errors.New("redis down"), TransientBackoff},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := delay(1, tt.err, nil); got != tt.want {
				t.Errorf("RetryDelay(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

func TestDueErrorUnwraps(t *testing.T) {
	cause := errors.New("answered 500")
	err := fmt.Errorf("x: %w", &DueError{At: time.Unix(0, 0), Err: cause})
	if !errors.Is(err, cause) {
		t.Errorf("errors.Is(%v, cause) = false", err)
	}
}
