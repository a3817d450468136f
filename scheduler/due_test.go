package scheduler

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestRetryDelay(t *testing.T) {
	now := time.Date(2024, 1, 20, 10, 30, 0, 250_000_000, time.UTC) // .250
	delay := RetryDelay(func() time.Time { return now })
	tests := []struct {
		name string
		err  error
		want time.Duration
	}{
		{"due within this second: the next whole second", &DueError{At: now.Add(50 * time.Millisecond), Err: errors.New("500")}, 750 * time.Millisecond},
		{"due on a whole second: that second", &DueError{At: now.Add(1750 * time.Millisecond)}, 1750 * time.Millisecond},
		{"due later: rounded up, never down", &DueError{At: now.Add(5*time.Second + time.Nanosecond)}, 5750 * time.Millisecond},
		{"due in the past: now", &DueError{At: now.Add(-2 * time.Second)}, 0},
		{"wrapped due error", errors.Join(errors.New("x"), &DueError{At: now.Add(100 * time.Millisecond)}), 750 * time.Millisecond},
		{"any other error: the transient backoff", errors.New("redis down"), TransientBackoff},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := delay(0, tt.err, nil)
			if got != tt.want {
				t.Errorf("delay = %s, want %s", got, tt.want)
			}
			// asynq keeps whole seconds: the task must not become ready before its due time.
			var due *DueError
			if errors.As(tt.err, &due) && now.Add(got).Unix() < due.At.Unix() {
				t.Errorf("asynq would run it in second %d, before its due second %d", now.Add(got).Unix(), due.At.Unix())
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
