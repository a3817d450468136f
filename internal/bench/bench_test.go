package bench

import (
	"bytes"
	"context"
	"errors"
	"regexp"
	"testing"
	"time"

	"github.com/callbacksim/callbacksim/internal/redisproc"
)

// TestRunSmall runs every scenario at a small size and checks that each
// prints its figures, and that the figures are plausible: a delivery rate
// above zero, callbacks that reached the merchant, retries counted.
func TestRunSmall(t *testing.T) {
	if _, err := redisproc.Version(); err != nil {
		t.Fatal(err) // make test installs redis-server
	}
	var out bytes.Buffer
	err := Run(context.Background(), Options{
		N: 80, Clients: 8, Rounds: 1, Rate: 100, LatencyFor: 300 * time.Millisecond,
		RetryCallbacks: 10, DeadTimeout: 300 * time.Millisecond, HealthyHosts: 2, IsolationFor: 10 * time.Second,
		IdleFor: time.Second,
	}, &out)
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, out.String())
	}
	got := out.String()
	for _, re := range []string{
		`callbacksim \(median\)\s+[1-9][0-9,]* deliveries/s`,
		`throughput ratio\s+[0-9]+\.[0-9]{2}`,
		`\+ HTTP front ratio\s+[0-9]+\.[0-9]{2}`,
		`\+ records ratio\s+[0-9]+\.[0-9]{2}`,
		`callbacksim / \+ records\s+[0-9]+\.[0-9]{2}`,
		`\+ records\s+2[0-9]\.[0-9] redis commands`, // the references' records were written
		`initiate\s+[1-9][0-9,]* requests/s`,
		`p50 -?[0-9.]+ ms   p99 -?[0-9.]+ ms`,
		`30 retries: min -?[0-9.]+ ms`,
		`callback with one attempt recorded\s+[1-9][0-9,]* bytes each`,
		`isolation ratio\s+[0-9]+\.[0-9]{2}`,
		`healthy latency at 100/s for 900ms with the dead backlog waiting: p50 -?[0-9.]+ ms   p99 -?[0-9.]+ ms`,
		`redis-server:\s+callbacksim [0-9.]+% \+ redis-server [0-9.]+% = [0-9.]+%; [0-9.]+ redis commands/s`,
		`embedded:\s+callbacksim with its Redis [0-9.]+%`,
	} {
		if !regexp.MustCompile(re).MatchString(got) {
			t.Errorf("output lacks %q:\n%s", re, got)
		}
	}
}

func TestRunUnknownScenario(t *testing.T) {
	err := Run(context.Background(), Options{Only: []string{"speed"}}, &bytes.Buffer{})
	if !errors.Is(err, ErrUnknownScenario) {
		t.Errorf("Run(only speed) = %v, want ErrUnknownScenario", err)
	}
}
