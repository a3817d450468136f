package dispatcher

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/callbacksim/callbacksim/internal/egress"
	"github.com/callbacksim/callbacksim/internal/metrics"
	"github.com/callbacksim/callbacksim/internal/queue"
	"github.com/callbacksim/callbacksim/internal/store"
	"github.com/callbacksim/callbacksim/payloads"
	"github.com/callbacksim/callbacksim/scheduler"
)

// fakeStore keeps callbacks in memory and records every update it is told,
// as the real store would apply it.
type fakeStore struct {
	mu      sync.Mutex
	cbs     map[string]*store.Callback
	updates []store.Update
	// down makes the next Record calls fail as if Redis were unreachable.
	down int
}

var _ Store = (*fakeStore)(nil)

func (s *fakeStore) Load(_ context.Context, id string) (*store.Callback, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cb, ok := s.cbs[id]
	if !ok {
		return nil, fmt.Errorf("fake: %s: %w", id, store.ErrNotFound)
	}
	c := *cb
	return &c, nil
}

func (s *fakeStore) Record(_ context.Context, cb *store.Callback, u store.Update) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down > 0 {
		s.down--
		return fmt.Errorf("fake: %w", store.ErrUnavailable)
	}
	s.updates = append(s.updates, u)
	stored := s.cbs[cb.ID]
	stored.Status = u.To
	if !u.KeepNext {
		stored.NextAttemptAt = u.Next
	}
	if u.CountsTry {
		stored.Tries++
	}
	*cb = *stored
	return nil
}

func (s *fakeStore) last(t *testing.T) store.Update {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.updates) == 0 {
		t.Fatal("nothing was recorded")
	}
	return s.updates[len(s.updates)-1]
}

// fakeProviders has one provider, "qris", with a three-retry schedule, a
// 406 stop code and one merchant, "m".
type fakeProviders struct{ policy Policy }

func (p fakeProviders) Policy(provider string) (Policy, bool) { return p.policy, provider == "qris" }
func (p fakeProviders) Renderer(provider, merchant string) (payloads.Renderer, bool) {
	return payloads.QRISRenderer{}, provider == "qris" && merchant == "m"
}

// merchantAnswering is a merchant that answers each request with the next
// of codes (the last one from then on), and counts the requests.
func merchantAnswering(t *testing.T, codes ...int) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		i := int(n.Add(1)) - 1
		w.WriteHeader(codes[min(i, len(codes)-1)])
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

type testDispatcher struct {
	*Dispatcher
	store *fakeStore
}

func newTestDispatcher(t *testing.T, cbs ...*store.Callback) testDispatcher {
	t.Helper()
	st := &fakeStore{cbs: map[string]*store.Callback{}}
	for _, cb := range cbs {
		st.cbs[cb.ID] = cb
	}
	policy := Policy{
		Retry:      scheduler.NewPolicy([]time.Duration{5 * time.Second, 30 * time.Second, 2 * time.Minute}, 1),
		Timeout:    2 * time.Second,
		Classifier: Classifier{SuccessCodes: []int{200}, StopCodes: []int{406}},
	}
	d := New(Options{
		Store: st, Providers: fakeProviders{policy}, Sender: NewSender(egress.Policy{AllowPrivate: true}),
		Metrics: metrics.New(prometheus.NewRegistry()), Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Timing: scheduler.NewTiming(10 * time.Millisecond),
	})
	return testDispatcher{d, st}
}

func callback(id, url string, status store.Status, tries int) *store.Callback {
	return &store.Callback{
		ID: id, Provider: "qris", MerchantID: "m", Status: status, Method: http.MethodPost, URL: url,
		CreatedAt: time.Now().Add(-time.Minute), Tries: tries, Payload: json.RawMessage(`{"order_id":"O-1"}`),
	}
}

func task(t *testing.T, tk queue.Task) *asynq.Task {
	t.Helper()
	raw, err := json.Marshal(tk)
	if err != nil {
		t.Fatal(err)
	}
	return asynq.NewTask(queue.TypeDeliver, raw)
}

// TestProcessTask runs whole tasks against a merchant, with a store in
// memory: what asynq is told, and what the store is told to record.
func TestProcessTask(t *testing.T) {
	tests := []struct {
		name      string
		codes     []int
		status    store.Status
		tries     int
		kind      store.Kind
		wantEnd   asynqEnd
		wantTo    store.Status
		wantCount bool
	}{
		{"delivered", []int{200}, store.StatusPending, 0, store.Automatic, endDone, store.StatusDelivered, true},
		{"a failure with retries left: retried", []int{500}, store.StatusPending, 0, store.Automatic, endRetry, store.StatusRetrying, true},
		{"a failure with none left: failed for good", []int{500}, store.StatusRetrying, 3, store.Automatic, endStop, store.StatusFailed, true},
		{"a stop code: rejected for good", []int{406}, store.StatusPending, 0, store.Automatic, endStop, store.StatusRejected, true},
		{"a failed manual resend: completed, the status stays", []int{500}, store.StatusFailed, 4, store.Manual, endDone, store.StatusFailed, false},
		{"a delivered manual resend", []int{200}, store.StatusFailed, 4, store.Manual, endDone, store.StatusDelivered, false},
		{"a failed duplicate: completed, the status stays", []int{500}, store.StatusDelivered, 1, store.Duplicate, endDone, store.StatusDelivered, false},
		{"a delivered duplicate changes nothing", []int{200}, store.StatusRetrying, 1, store.Duplicate, endDone, store.StatusRetrying, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, hits := merchantAnswering(t, tt.codes...)
			cb := callback("cb_1", srv.URL, tt.status, tt.tries)
			d := newTestDispatcher(t, cb)
			err := d.ProcessTask(context.Background(), task(t, queue.Task{ID: cb.ID, Kind: tt.kind}))
			if got := endOf(t, err); got != tt.wantEnd {
				t.Fatalf("ProcessTask = %v (%s), want %s", err, got, tt.wantEnd)
			}
			if hits.Load() != 1 {
				t.Errorf("the merchant got %d requests, want 1", hits.Load())
			}
			u := d.store.last(t)
			if u.To != tt.wantTo || u.CountsTry != tt.wantCount || u.Attempt.Kind != tt.kind || u.From != tt.status {
				t.Errorf("recorded %s -> %s (counts a try: %t, kind %s), want %s -> %s (%t, %s)",
					u.From, u.To, u.CountsTry, u.Attempt.Kind, tt.status, tt.wantTo, tt.wantCount, tt.kind)
			}
			if IsFailure(err) != (tt.wantEnd != endDone) {
				t.Errorf("IsFailure(%v) = %t: asynq would count it wrong", err, IsFailure(err))
			}
		})
	}
}

// A callback that takes no retry (a handler check's) fails at its first
// failed attempt, with the retry schedule untouched.
func TestProcessTaskNoRetry(t *testing.T) {
	srv, hits := merchantAnswering(t, 500)
	cb := callback("cb_1", srv.URL, store.StatusPending, 0)
	cb.NoRetry = true
	d := newTestDispatcher(t, cb)
	err := d.ProcessTask(context.Background(), task(t, queue.Task{ID: cb.ID}))
	if got := endOf(t, err); got != endStop {
		t.Fatalf("ProcessTask = %v (%s), want stop", err, got)
	}
	if u := d.store.last(t); u.To != store.StatusFailed || u.Next != nil || u.Attempt.Outcome != store.OutcomeFailed {
		t.Errorf("recorded %s (next %v, outcome %s), want failed with no next attempt", u.To, u.Next, u.Attempt.Outcome)
	}
	if hits.Load() != 1 {
		t.Errorf("the merchant got %d requests, want 1", hits.Load())
	}
}

func TestProcessTaskEndsForGood(t *testing.T) {
	srv, hits := merchantAnswering(t, 200)
	tests := []struct {
		name string
		cb   *store.Callback
		task queue.Task
		want error // besides asynq.SkipRetry
	}{
		{"an unknown or expired callback", nil, queue.Task{ID: "cb_gone"}, store.ErrNotFound},
		{"a provider no longer configured", &store.Callback{ID: "cb_p", Provider: "gone", MerchantID: "m", Status: store.StatusPending, URL: srv.URL},
			queue.Task{ID: "cb_p"}, ErrUnknownProvider},
		{"a merchant no longer configured", &store.Callback{ID: "cb_m", Provider: "qris", MerchantID: "gone", Status: store.StatusPending, URL: srv.URL},
			queue.Task{ID: "cb_m"}, ErrUnknownProvider},
		{"a payload its renderer cannot read", &store.Callback{ID: "cb_b", Provider: "qris", MerchantID: "m", Status: store.StatusPending, URL: srv.URL,
			Payload: json.RawMessage(`{not json`)}, queue.Task{ID: "cb_b"}, payloads.ErrBadPayload},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d testDispatcher
			if tt.cb != nil {
				d = newTestDispatcher(t, tt.cb)
			} else {
				d = newTestDispatcher(t)
			}
			err := d.ProcessTask(context.Background(), task(t, tt.task))
			if !errors.Is(err, asynq.SkipRetry) || !errors.Is(err, tt.want) {
				t.Errorf("ProcessTask = %v, want SkipRetry and %v", err, tt.want)
			}
		})
	}
	t.Run("a task payload that does not decode", func(t *testing.T) {
		d := newTestDispatcher(t)
		err := d.ProcessTask(context.Background(), asynq.NewTask(queue.TypeDeliver, []byte(`{"id":"cb_1","kind":"bogus"}`)))
		if !errors.Is(err, asynq.SkipRetry) || !errors.Is(err, queue.ErrBadTask) {
			t.Errorf("ProcessTask = %v, want SkipRetry and ErrBadTask", err)
		}
	})
	if hits.Load() != 0 {
		t.Errorf("the merchant got %d requests, want none", hits.Load())
	}
}

// An automatic task of a callback a manual resend settled meanwhile sends
// nothing and ends quietly.
func TestProcessTaskSkipsASettledCallback(t *testing.T) {
	srv, hits := merchantAnswering(t, 200)
	d := newTestDispatcher(t, callback("cb_1", srv.URL, store.StatusDelivered, 1))
	if err := d.ProcessTask(context.Background(), task(t, queue.Task{ID: "cb_1"})); err != nil {
		t.Errorf("ProcessTask = %v, want nil", err)
	}
	if hits.Load() != 0 || len(d.store.updates) != 0 {
		t.Errorf("%d requests, %d updates; want none", hits.Load(), len(d.store.updates))
	}
}

// An attempt whose record meets an unreachable Redis is recorded once Redis
// is back, without another request to the merchant.
func TestProcessTaskRecordsOnceRedisIsBack(t *testing.T) {
	srv, hits := merchantAnswering(t, 200)
	d := newTestDispatcher(t, callback("cb_1", srv.URL, store.StatusPending, 0))
	d.store.down = 2
	if err := d.ProcessTask(context.Background(), task(t, queue.Task{ID: "cb_1"})); err != nil {
		t.Fatalf("ProcessTask = %v, want nil", err)
	}
	if hits.Load() != 1 || len(d.store.updates) != 1 || d.store.last(t).To != store.StatusDelivered {
		t.Errorf("%d requests, updates %+v; want 1 request and one delivered record", hits.Load(), d.store.updates)
	}
}

// TestWaitUntil runs in a synctest bubble, so each wait is exact.
func TestWaitUntil(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := newTestDispatcher(t)
		ctx := context.Background()
		const limit = 50 * time.Millisecond

		start := time.Now()
		if err := d.waitUntil(ctx, start.Add(30*time.Millisecond), limit); err != nil {
			t.Fatalf("waitUntil 30ms away = %v, want a wait", err)
		}
		if waited := time.Since(start); waited != 30*time.Millisecond {
			t.Errorf("waited %s, want exactly until the due time (30ms)", waited)
		}

		start = time.Now()
		if err := d.waitUntil(ctx, start.Add(-time.Second), limit); err != nil || time.Since(start) != 0 {
			t.Errorf("waitUntil in the past = %v after %s, want nil at once", err, time.Since(start))
		}

		due := time.Now().Add(limit + time.Millisecond)
		var early *scheduler.DueError
		if err := d.waitUntil(ctx, due, limit); !errors.As(err, &early) || !early.At.Equal(due) || early.Err != nil {
			t.Errorf("waitUntil past the limit = %v, want a DueError at %s without a cause (not a failure)", err, due)
		}

		cctx, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
		defer cancel()
		if err := d.waitUntil(cctx, time.Now().Add(40*time.Millisecond), limit); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("waitUntil with a context ending first = %v, want its error", err)
		}
	})
}

// A held first attempt that reaches a worker within the hold waits there
// for its due time, and is sent at that instant.
func TestProcessTaskHoldsAnEarlyTask(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var sentAt time.Time
		recorder := &fakeStore{cbs: map[string]*store.Callback{}}
		due := time.Now().Add(30 * time.Millisecond)
		cb := callback("cb_1", "http://merchant.invalid/", store.StatusPending, 0)
		cb.NextAttemptAt = &due
		recorder.cbs[cb.ID] = cb
		d := New(Options{
			Store: recorder, Providers: fakeProviders{Policy{Classifier: Classifier{SuccessCodes: []int{200}}, Timeout: time.Second}},
			Sender:  &Sender{client: &http.Client{Transport: roundTripFunc(func(*http.Request) { sentAt = time.Now() })}},
			Metrics: metrics.New(prometheus.NewRegistry()), Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
			Timing: scheduler.NewTiming(10 * time.Millisecond),
		})
		if err := d.ProcessTask(context.Background(), task(t, queue.Task{ID: cb.ID})); err != nil {
			t.Fatalf("ProcessTask = %v", err)
		}
		if !sentAt.Equal(due) {
			t.Errorf("sent %s after its due time, want at it", sentAt.Sub(due))
		}
	})
}

// roundTripFunc is a transport that answers 200 at once, after calling f.
type roundTripFunc func(*http.Request)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) {
	f(r)
	return &http.Response{StatusCode: http.StatusOK, Header: http.Header{}, Body: http.NoBody, Request: r}, nil
}
