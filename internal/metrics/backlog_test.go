package metrics_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/callbacksim/callbacksim/internal/app"
	"github.com/callbacksim/callbacksim/internal/opstest"
	"github.com/callbacksim/callbacksim/internal/redistest"
	"github.com/callbacksim/callbacksim/internal/simtest"
	"github.com/callbacksim/callbacksim/internal/store"
)

// TestABacklogBehindTheHostLimitShows sends three callbacks at once to a
// merchant that takes 400 ms to answer, with one attempt in flight per
// host: one attempt is in flight at a time, the others are deferred, and
// their first attempts start late, by at least the second a deferred
// attempt waits.
func TestABacklogBehindTheHostLimitShows(t *testing.T) {
	r := redistest.Start(t)
	cfg := opstest.Config(r.URL())
	cfg.Worker.Concurrency = 4
	cfg.Worker.MaxPerHost = 1
	cfg.Providers.QRIS.Timeout = time.Second
	sim := simtest.StartConfig(t, cfg, app.Roles{API: true, Worker: true}, r)
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		select {
		case <-time.After(400 * time.Millisecond):
		case <-req.Context().Done():
		}
	}))
	t.Cleanup(slow.Close)

	var ids []string
	for i := range 3 {
		ids = append(ids, opstest.QRISCallback(t, sim.URL, fmt.Sprintf("ORDER-BACKLOG-%d", i), slow.URL, "SUCCESS"))
	}
	var inFlight, deferred float64
	simtest.Eventually(t, 5*time.Second, func() bool {
		fams, _ := opstest.Scrape(t, sim.URL)
		inFlight = opstest.Sum(fams, "callbacksim_delivery_attempts_in_flight", "provider", "qris")
		deferred = opstest.Sum(fams, "callbacksim_deliveries_deferred_total", "provider", "qris")
		if inFlight > 1 {
			t.Fatalf("%v attempts in flight to a host limited to 1", inFlight)
		}
		return inFlight == 1 && deferred >= 1
	}, func() string {
		return fmt.Sprintf("an attempt in flight and one deferred (last: %v in flight, %v deferred)", inFlight, deferred)
	})
	for _, id := range ids {
		sim.WaitStatus(id, store.StatusDelivered, 20*time.Second)
	}

	fams, _ := opstest.Scrape(t, sim.URL)
	if n := opstest.Sum(fams, "callbacksim_delivery_attempts_in_flight"); n != 0 {
		t.Errorf("%v attempts in flight once every callback is delivered, want 0", n)
	}
	busy := opstest.Sum(fams, "callbacksim_deliveries_deferred_total", "provider", "qris", "reason", "host_busy")
	slowed := opstest.Sum(fams, "callbacksim_deliveries_deferred_total", "provider", "qris", "reason", "host_slow")
	if busy+slowed < 2 {
		t.Errorf("deferred %v host_busy + %v host_slow, want at least one of each of the two callbacks that waited", busy, slowed)
	}
	first := fams["callbacksim_first_attempt_delay_seconds"]
	var count uint64
	var sum float64
	for _, m := range first.GetMetric() {
		if opstest.Label(m, "provider") == "qris" {
			count, sum = m.GetHistogram().GetSampleCount(), m.GetHistogram().GetSampleSum()
		}
	}
	if count != 3 || sum < 2 {
		t.Errorf("first attempt delay: %d samples adding up to %.3fs, want 3, two of them deferred at least 1 s each", count, sum)
	}
	if c := opstest.Sum(fams, "callbacksim_worker_concurrency"); c != 4 {
		t.Errorf("callbacksim_worker_concurrency = %v, want 4", c)
	}
	t.Logf("deferred: %v host_busy, %v host_slow; first attempts: %d, %.3fs in all", busy, slowed, count, sum)
}
