package reliability_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/callbacksim/callbacksim/internal/app"
	"github.com/callbacksim/callbacksim/internal/redistest"
	"github.com/callbacksim/callbacksim/internal/simtest"
	"github.com/callbacksim/callbacksim/internal/store"
)

// TestRetentionExpiresEverything runs callbacks (delivered, retried,
// failed) under a retention of 3 s and checks that their records,
// attempts, payments and index entries are gone once it has passed, and
// that Redis holds exactly as many keys as before them: what stays is
// asynq's archive of the failed callbacks' tasks, which asynq itself bounds
// (10,000 tasks, 90 days).
func TestRetentionExpiresEverything(t *testing.T) {
	t.Parallel()
	r := redistest.Start(t)
	cfg := simtest.Config(r.URL())
	cfg.Retention = 3 * time.Second
	sim := simtest.StartConfig(t, cfg, app.Roles{API: true, Worker: true}, r)
	rdb := r.Client()
	ok := newMerchant(t, http.StatusOK)
	flaky := simtest.NewMerchant(t, http.StatusInternalServerError, http.StatusOK)
	down := newMerchant(t, http.StatusServiceUnavailable)

	run := func(prefix string, n int) (all, failed []string) {
		for i := range n {
			all = append(all, submit(t, sim, "demo-qris-token", fmt.Sprintf("%s-OK-%d", prefix, i), ok.URL))
		}
		all = append(all, submit(t, sim, "demo-qris-token", prefix+"-FLAKY", flaky.URL))
		failed = append(failed, submit(t, sim, "demo-qris-token", prefix+"-DOWN", down.URL))
		waitStatus(t, sim, all, store.StatusDelivered, 10*time.Second)
		waitStatus(t, sim, failed, store.StatusFailed, 10*time.Second)
		return append(all, failed...), failed
	}
	gone := func(ids []string) {
		t.Helper()
		simtest.Eventually(t, 3*cfg.Retention, func() bool {
			for _, id := range ids {
				if _, ok := callback(t, sim, id); ok {
					return false
				}
			}
			return !hasKeys(t, rdb, "cbs:*", "pay:*")
		}, func() string { return fmt.Sprintf("the records to expire; left: %v", keys(t, rdb, "cbs:*", "pay:*")) })
	}

	// A first round creates what exists once (asynq's queue and daily
	// counters); once it has expired, Redis is at its baseline.
	warm, _ := run("WARM", 1)
	gone(warm)
	baseline := keys(t, rdb, "*")

	ids, failed := run("RUN", 20)
	if !hasKeys(t, rdb, "cbs:{idx}:*") || !hasKeys(t, rdb, "cbs:{"+ids[0]+"}:attempts") || !hasKeys(t, rdb, "pay:*") {
		t.Fatalf("records, attempts, payments or indexes missing before the retention ran out: %v", keys(t, rdb, "*"))
	}
	gone(ids)
	if page := sim.Admin(http.MethodGet, "/v1/callbacks", nil); !strings.Contains(string(page.Body), `"callbacks":[]`) {
		t.Errorf("the listing still shows callbacks after the retention: %s", page.Body)
	}
	if resp := sim.Do(http.MethodGet, "/api/qris/transactions/RUN-OK-0", nil, "Authorization", "Bearer demo-qris-token"); resp.Status != http.StatusNotFound {
		t.Errorf("the payment after the retention: %d %s, want 404", resp.Status, resp.Body)
	}

	var want []string
	for _, id := range failed {
		want = append(want, "asynq:{callbacks}:t:"+id) // the archived task of a failed callback
	}
	sort.Strings(want)
	simtest.Eventually(t, 5*time.Second, func() bool {
		return slices.Equal(extra(keys(t, rdb, "*"), baseline), want)
	}, func() string {
		return fmt.Sprintf("Redis to be back at its %d keys plus the failed callbacks' archived tasks %v; extra keys: %v",
			len(baseline), want, extra(keys(t, rdb, "*"), baseline))
	})
	t.Logf("after %d callbacks expired: %d keys, as before them (+%d archived asynq tasks of failed callbacks)", len(ids), len(baseline), len(want))
}

// keys lists the keys matching any pattern, sorted, leaving out asynq's
// per-day statistics (one key per day, so a run across midnight would add
// one).
func keys(t *testing.T, rdb *redis.Client, patterns ...string) []string {
	t.Helper()
	var out []string
	for _, p := range patterns {
		ks, err := rdb.Keys(context.Background(), p).Result()
		if err != nil {
			t.Fatalf("KEYS %s: %v", p, err)
		}
		for _, k := range ks {
			if strings.Contains(k, ":processed:") || strings.Contains(k, ":failed:") {
				continue
			}
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

func hasKeys(t *testing.T, rdb *redis.Client, patterns ...string) bool {
	t.Helper()
	return len(keys(t, rdb, patterns...)) > 0
}

// extra returns the keys of got that are not in base, sorted.
func extra(got, base []string) []string {
	var out []string
	for _, k := range got {
		if !slices.Contains(base, k) {
			out = append(out, k)
		}
	}
	return out
}
