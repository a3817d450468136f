package scheduler

import (
	"testing"
	"time"
)

func TestPolicyDelay(t *testing.T) {
	qris := []time.Duration{5 * time.Second, 30 * time.Second, 2 * time.Minute}
	centili := []time.Duration{10 * time.Minute, 10 * time.Minute, 10 * time.Minute}
	tests := []struct {
		name      string
		schedule  []time.Duration
		scale     float64
		retry     int
		wantDelay time.Duration
		wantOK    bool
	}{
		{"qris first retry", qris, 1, 1, 5 * time.Second, true},
		{"qris second retry", qris, 1, 2, 30 * time.Second, true},
		{"qris third retry", qris, 1, 3, 2 * time.Minute, true},
		{"qris gives up after the third retry", qris, 1, 4, 0, false},
		{"qris scaled first", qris, 0.01, 1, 50 * time.Millisecond, true},
		{"qris scaled second", qris, 0.01, 2, 300 * time.Millisecond, true},
		{"qris scaled third", qris, 0.01, 3, 1200 * time.Millisecond, true},
		{"qris scaled gives up", qris, 0.01, 4, 0, false},
		{"centili third retry", centili, 1, 3, 10 * time.Minute, true},
		{"centili gives up", centili, 1, 4, 0, false},
		{"scale zero retries at once", qris, 0, 2, 0, true},
		{"retry zero is not a retry", qris, 1, 0, 0, false},
		{"empty schedule never retries", nil, 1, 1, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := NewPolicy(tt.schedule, tt.scale)
			got, ok := p.Delay(tt.retry)
			if got != tt.wantDelay || ok != tt.wantOK {
				t.Errorf("Delay(%d) = %v, %v; want %v, %v", tt.retry, got, ok, tt.wantDelay, tt.wantOK)
			}
		})
	}
}

func TestPolicyMaxAttempts(t *testing.T) {
	p := NewPolicy([]time.Duration{5 * time.Second, 30 * time.Second, 2 * time.Minute}, 1)
	if got := p.MaxAttempts(); got != 4 {
		t.Errorf("MaxAttempts() = %d, want 4 (the first attempt and three retries)", got)
	}
	var zero Policy
	if got := zero.MaxAttempts(); got != 1 {
		t.Errorf("zero Policy MaxAttempts() = %d, want 1", got)
	}
}
