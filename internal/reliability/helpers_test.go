package reliability_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/callbacksim/callbacksim/internal/simtest"
	"github.com/callbacksim/callbacksim/internal/store"
	"github.com/callbacksim/callbacksim/payloads"
)

// simAPI is a running simulator, in-process (*simtest.Sim) or a child
// process (*proc).
type simAPI interface {
	Do(method, path string, body any, header ...string) simtest.Response
	Admin(method, path string, body any) simtest.Response
}

var (
	_ simAPI = (*simtest.Sim)(nil)
	_ simAPI = (*proc)(nil)
)

// submit initiates a QRIS payment of the merchant with token, whose
// callbacks go to url, completes it and returns the callback id.
func submit(t *testing.T, sim simAPI, token, orderID, url string) string {
	t.Helper()
	auth := []string{"Authorization", "Bearer " + token}
	r := sim.Do(http.MethodPost, "/api/qris/initiate", map[string]any{"amount": 50000, "order_id": orderID, "callback_url": url}, auth...)
	if r.Status != http.StatusCreated {
		t.Fatalf("initiate %s: %d %s", orderID, r.Status, r.Body)
	}
	r = sim.Do(http.MethodPost, "/api/qris/simulate", map[string]any{"order_id": orderID, "status": "SUCCESS"}, auth...)
	if r.Status != http.StatusAccepted {
		t.Fatalf("simulate %s: %d %s", orderID, r.Status, r.Body)
	}
	var ans struct {
		CallbackID string `json:"callback_id"`
	}
	r.JSON(t, &ans)
	if ans.CallbackID == "" {
		t.Fatalf("simulate %s: no callback_id in %s", orderID, r.Body)
	}
	return ans.CallbackID
}

// callback reads a callback with its attempts; ok is false while the API
// does not answer 200 (the process restarting, Redis down).
func callback(t *testing.T, sim simAPI, id string) (store.Callback, bool) {
	t.Helper()
	r := sim.Admin(http.MethodGet, "/v1/callbacks/"+id, nil)
	if r.Status != http.StatusOK {
		return store.Callback{}, false
	}
	var cb store.Callback
	r.JSON(t, &cb)
	return cb, true
}

// waitStatus waits until every callback in ids has status want and returns
// them by id. It polls every 50 ms, one callback at a time, so that the
// admin token stays far below its rate limit.
func waitStatus(t *testing.T, sim simAPI, ids []string, want store.Status, timeout time.Duration) map[string]store.Callback {
	t.Helper()
	got := map[string]store.Callback{}
	last := map[string]store.Status{}
	deadline := time.Now().Add(timeout)
	for _, id := range ids {
		for {
			cb, ok := callback(t, sim, id)
			if ok && cb.Status == want {
				got[id] = cb
				break
			}
			last[id] = cb.Status
			if time.Now().After(deadline) {
				t.Fatalf("timed out after %s waiting for %d callbacks to become %s: %d are; %s is %q", timeout, len(ids), want, len(got), id, last[id])
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return got
}

// merchant is a callback endpoint whose answer the test changes on the way:
// a status code, and optionally holding every request until released.
type merchant struct {
	URL string

	mu       sync.Mutex
	code     int
	hold     chan struct{}
	received []received
	inFlight atomic.Int32
}

// received is a callback as the merchant knows it: by the order_id in its
// body (no gateway sends a callback id; a QRIS callback's reference is its
// order_id).
type received struct {
	order string
	at    time.Time
}

func newMerchant(t *testing.T, code int) *merchant {
	m := &merchant{code: code}
	srv := httptest.NewServer(http.HandlerFunc(m.serve))
	t.Cleanup(func() {
		m.release()
		srv.Close()
	})
	m.URL = srv.URL + "/callback"
	return m
}

func (m *merchant) serve(w http.ResponseWriter, r *http.Request) {
	var cb payloads.QRISCallback
	_ = json.NewDecoder(r.Body).Decode(&cb)
	_, _ = io.Copy(io.Discard, r.Body)
	m.mu.Lock()
	m.received = append(m.received, received{order: cb.OrderID, at: time.Now()})
	hold, code := m.hold, m.code
	m.mu.Unlock()
	if hold != nil {
		m.inFlight.Add(1)
		select {
		case <-hold:
		case <-r.Context().Done(): // the simulator went away
		}
		m.inFlight.Add(-1)
	}
	w.WriteHeader(code)
}

// setCode changes the answer of the next requests.
func (m *merchant) setCode(code int) {
	m.mu.Lock()
	m.code = code
	m.mu.Unlock()
}

// holdAll makes every next request wait until release.
func (m *merchant) holdAll() {
	m.mu.Lock()
	m.hold = make(chan struct{})
	m.mu.Unlock()
}

// release lets held requests answer, and the next ones answer at once.
func (m *merchant) release() {
	m.mu.Lock()
	if m.hold != nil {
		close(m.hold)
		m.hold = nil
	}
	m.mu.Unlock()
}

// counts returns how many requests the merchant got per order_id: the
// Reference of the callbacks.
func (m *merchant) counts() map[string]int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := map[string]int{}
	for _, r := range m.received {
		n[r.order]++
	}
	return n
}

// requests returns what the merchant received so far.
func (m *merchant) requests() []received {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]received(nil), m.received...)
}
