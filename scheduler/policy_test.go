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

func TestPolicyRetryAt(t *testing.T) {
	t0 := time.Date(2024, 1, 20, 10, 0, 0, 0, time.UTC)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	qris := NewPolicy([]time.Duration{5 * time.Second, 30 * time.Second, 2 * time.Minute}, 1)
	centili := NewPolicy([]time.Duration{10 * time.Minute, 10 * time.Minute, 10 * time.Minute}, 1).FromFirstFailure()
	tests := []struct {
		name   string
		policy Policy
		retry  int
		failed Failed
		want   time.Time
		wantOK bool
	}{
		{"from the end: first retry", qris, 1, Failed{Start: t0, End: at(10 * time.Second)}, at(15 * time.Second), true},
		{"from the end: a slow attempt pushes the retry", qris, 2,
			Failed{Due: at(15 * time.Second), Start: at(15 * time.Second), End: at(25 * time.Second)}, at(55 * time.Second), true},
		{"from the end: none after the last", qris, 4, Failed{Start: t0, End: t0}, time.Time{}, false},
		{"first failure: retry 1 from the first attempt's start, not its end", centili, 1,
			Failed{Start: t0, End: at(10 * time.Second)}, at(10 * time.Minute), true},
		{"first failure: a held first attempt anchors at its start", centili, 1,
			Failed{Due: at(-time.Minute), Start: t0, End: at(time.Second)}, at(10 * time.Minute), true},
		{"first failure: retry 2 from retry 1's due time, not its slow end", centili, 2,
			Failed{Due: at(10 * time.Minute), Start: at(10*time.Minute + 3*time.Millisecond), End: at(10*time.Minute + 10*time.Second)},
			at(20 * time.Minute), true},
		{"first failure: retry 3 at the 30-minute mark", centili, 3,
			Failed{Due: at(20 * time.Minute), Start: at(20 * time.Minute), End: at(20*time.Minute + 10*time.Second)},
			at(30 * time.Minute), true},
		{"first failure: never before the failed attempt ended", centili, 2,
			Failed{Due: at(10 * time.Minute), Start: at(10 * time.Minute), End: at(25 * time.Minute)}, at(25 * time.Minute), true},
		{"first failure: none after the last", centili, 4, Failed{Due: at(30 * time.Minute), Start: t0, End: t0}, time.Time{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := tt.policy.RetryAt(tt.retry, tt.failed)
			if !got.Equal(tt.want) || ok != tt.wantOK {
				t.Errorf("RetryAt(%d, %+v) = %s, %v; want %s, %v", tt.retry, tt.failed, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}
