package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callbacksim/callbacksim/config"
	"github.com/callbacksim/callbacksim/internal/app"
	"github.com/callbacksim/callbacksim/internal/opstest"
	"github.com/callbacksim/callbacksim/internal/redistest"
	"github.com/callbacksim/callbacksim/internal/simtest"
	"github.com/callbacksim/callbacksim/internal/store"
	"github.com/callbacksim/callbacksim/payloads"
)

var both = app.Roles{API: true, Worker: true}

func TestQRISOnARedisCluster(t *testing.T) {
	cluster := redistest.StartCluster(t, 3)
	cfg := opstest.Config("")
	cfg.Redis.Mode = config.RedisCluster
	cfg.Redis.Addrs = cluster.Addrs()
	// At time scale 0.01: a retry after 50 ms, then one after 36 s that
	// only "retry now" brings forward.
	cfg.Providers.QRIS.Retry.Schedule = []time.Duration{5 * time.Second, time.Hour}
	sim := simtest.StartConfig(t, cfg, both, nil)

	// The happy path.
	ok := simtest.NewMerchant(t)
	delivered := opstest.QRISCallback(t, sim.URL, "ORDER-CLUSTER-1", ok.URL, "SUCCESS")
	cb := sim.WaitStatus(delivered, store.StatusDelivered, 10*time.Second)
	if len(cb.Attempts) != 1 || len(ok.Requests()) != 1 {
		t.Errorf("happy path: %d attempts, %d requests; want 1 and 1", len(cb.Attempts), len(ok.Requests()))
	}

	// A retry: 500, then 200 fifty milliseconds later.
	flaky := simtest.NewMerchant(t, http.StatusInternalServerError, http.StatusOK)
	retried := opstest.QRISCallback(t, sim.URL, "ORDER-CLUSTER-2", flaky.URL, "SUCCESS")
	cb = sim.WaitStatus(retried, store.StatusDelivered, 10*time.Second)
	if len(cb.Attempts) != 2 || cb.Attempts[0].Outcome != store.OutcomeRetry || cb.Attempts[1].Outcome != store.OutcomeDelivered {
		t.Errorf("retry: attempts %+v, want retry then delivered", cb.Attempts)
	}
	if got := flaky.Requests(); len(got) != 2 || string(got[0].Body) != string(got[1].Body) || !strings.Contains(string(got[0].Body), "ORDER-CLUSTER-2") {
		t.Errorf("retry: the merchant got %d requests, want 2 of the same notification of ORDER-CLUSTER-2", len(got))
	}

	// Retry now: the second retry is 36 s away; asynq's Inspector runs it
	// at once.
	slow := simtest.NewMerchant(t, http.StatusInternalServerError, http.StatusInternalServerError, http.StatusOK)
	waiting := opstest.QRISCallback(t, sim.URL, "ORDER-CLUSTER-3", slow.URL, "FAILED")
	simtest.Eventually(t, 10*time.Second, func() bool {
		cb = sim.Callback(waiting)
		return cb.Status == store.StatusRetrying && len(cb.Attempts) == 2
	}, func() string {
		return fmt.Sprintf("two failed attempts of %s (status %s, %d attempts)", waiting, cb.Status, len(cb.Attempts))
	})
	if r := sim.Admin(http.MethodPost, "/v1/callbacks/"+waiting+"/retry-now", nil); r.Status != http.StatusAccepted {
		t.Fatalf("retry-now: %d %s", r.Status, r.Body)
	}
	sim.WaitStatus(waiting, store.StatusDelivered, 10*time.Second)

	// A manual resend, and the listing, whose records live on every node.
	if r := sim.Admin(http.MethodPost, "/v1/callbacks/"+delivered+"/resend", nil); r.Status != http.StatusAccepted {
		t.Fatalf("resend: %d %s", r.Status, r.Body)
	}
	ok.WaitRequests(2, 10*time.Second)
	simtest.Eventually(t, 10*time.Second, func() bool {
		return len(sim.Callback(delivered).Attempts) == 2
	}, func() string { return "the resend to be recorded" })
	var page struct {
		Callbacks []store.Callback `json:"callbacks"`
	}
	sim.Admin(http.MethodGet, "/v1/callbacks?provider=qris&status=delivered", nil).JSON(t, &page)
	if len(page.Callbacks) != 3 || page.Callbacks[0].ID != waiting || page.Callbacks[2].ID != delivered {
		t.Errorf("listing: %d callbacks %+v, want the 3, newest first", len(page.Callbacks), page.Callbacks)
	}

	// The data is spread over the masters, and the queue gauges read it.
	for _, n := range cluster.Nodes {
		if size := n.Client().DBSize(context.Background()).Val(); size == 0 {
			t.Errorf("node %s holds no key: the cluster is not used", n.Addr)
		}
	}
	// Trimming the listing indexes (every key under {idx}) works too.
	if err := store.New(cluster.Client(t), cfg.Retention).Trim(context.Background()); err != nil {
		t.Errorf("trim on the cluster: %v", err)
	}
	fams, _ := opstest.Scrape(t, sim.URL)
	if up := opstest.Sum(fams, "callbacksim_queue_up"); up != 1 {
		t.Errorf("callbacksim_queue_up = %v on the cluster, want 1", up)
	}
}

func TestSentinelModeFindsTheMasterThroughTheSentinel(t *testing.T) {
	master := redistest.Start(t)
	sentinel := redistest.StartSentinel(t, master, "callbacksim")
	cfg := opstest.Config("")
	cfg.Redis.Mode = config.RedisSentinel
	cfg.Redis.Addrs = []string{sentinel.Addr}
	cfg.Redis.MasterName = sentinel.MasterName
	sim := simtest.StartConfig(t, cfg, both, nil)

	merchant := simtest.NewMerchant(t, http.StatusInternalServerError, http.StatusOK)
	id := opstest.QRISCallback(t, sim.URL, "ORDER-SENTINEL", merchant.URL, "SUCCESS")
	cb := sim.WaitStatus(id, store.StatusDelivered, 10*time.Second)
	if len(cb.Attempts) != 2 {
		t.Errorf("%d attempts, want 2 (a retry, then delivered)", len(cb.Attempts))
	}
	// Everything went to the master the sentinel named.
	if n, err := master.Client().Exists(context.Background(), "cbs:{"+id+"}").Result(); err != nil || n != 1 {
		t.Errorf("the master holds no record of %s (%d, %v)", id, n, err)
	}
}

// countingMerchant answers each order's first request 500 and later ones
// 200, after a short pause, and counts requests per order_id (a merchant
// knows a callback by nothing else).
type countingMerchant struct {
	mu    sync.Mutex
	byID  map[string]int // by order_id
	total int
}

func (m *countingMerchant) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var cb payloads.QRISCallback
	_ = json.NewDecoder(r.Body).Decode(&cb)
	id := cb.OrderID
	m.mu.Lock()
	m.byID[id]++
	n := m.byID[id]
	m.total++
	m.mu.Unlock()
	time.Sleep(20 * time.Millisecond) // keeps a worker busy, so both take a share
	if n == 1 {
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func TestOneAPIAndTwoWorkersSendEachAttemptOnce(t *testing.T) {
	r := redistest.Start(t)
	cfg := opstest.Config(r.URL())
	cfg.Worker.Concurrency = 4
	api := simtest.StartConfig(t, cfg, app.Roles{API: true}, r)
	workers := []*simtest.Sim{
		simtest.StartConfig(t, cfg, app.Roles{Worker: true}, r),
		simtest.StartConfig(t, cfg, app.Roles{Worker: true}, r),
	}
	m := &countingMerchant{byID: map[string]int{}}
	srv := httptest.NewServer(m)
	t.Cleanup(srv.Close)

	const n = 50
	ids := make([]string, n)
	for i := range ids {
		ids[i] = opstest.QRISCallback(t, api.URL, fmt.Sprintf("ORDER-SCALE-%02d", i), srv.URL, "SUCCESS")
	}
	for _, id := range ids {
		cb := api.WaitStatus(id, store.StatusDelivered, 20*time.Second)
		if len(cb.Attempts) != 2 {
			t.Errorf("%s: %d attempts recorded, want 2 (500, then 200)", id, len(cb.Attempts))
		}
	}

	m.mu.Lock()
	for i, id := range ids {
		if got := m.byID[fmt.Sprintf("ORDER-SCALE-%02d", i)]; got != 2 {
			t.Errorf("%s: the merchant got %d requests, want 2: each attempt sent by exactly one worker", id, got)
		}
	}
	if m.total != 2*n {
		t.Errorf("the merchant got %d requests, want %d", m.total, 2*n)
	}
	m.mu.Unlock()

	// Each worker's own /metrics counts the attempts it sent: together
	// every attempt once, and both took part.
	var sum float64
	for i, w := range workers {
		fams, _ := opstest.Scrape(t, w.URL)
		sent := opstest.Sum(fams, "callbacksim_delivery_attempts_total")
		if sent == 0 {
			t.Errorf("worker %d sent no attempt", i+1)
		}
		sum += sent
	}
	if sum != 2*n {
		t.Errorf("the workers counted %v attempts, want %d", sum, 2*n)
	}
	fams, _ := opstest.Scrape(t, api.URL)
	if sent := opstest.Sum(fams, "callbacksim_delivery_attempts_total"); sent != 0 {
		t.Errorf("the api-only process sent %v attempts, want 0", sent)
	}
	if got := opstest.Sum(fams, "callbacksim_payments_initiated_total"); got != n {
		t.Errorf("the api counted %v payments, want %d", got, n)
	}
	// A worker-only process serves the operations endpoints, not the API.
	if resp := simtest.Do(t, http.MethodPost, workers[0].URL+"/api/qris/initiate", "{}"); resp.Status != http.StatusNotFound {
		t.Errorf("a worker answered /api/qris/initiate with %d, want 404", resp.Status)
	}
}
