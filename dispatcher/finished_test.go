package dispatcher

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/callbacksim/callbacksim/internal/egress"
	"github.com/callbacksim/callbacksim/internal/metrics"
	"github.com/callbacksim/callbacksim/internal/queue"
	"github.com/callbacksim/callbacksim/internal/store"
	"github.com/callbacksim/callbacksim/scheduler"
)

// finishedCounts reads what the metrics say of finished callbacks: the
// count per status, and how many deliveries and failures had their
// latency observed.
func finishedCounts(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range fams {
		for _, m := range f.GetMetric() {
			switch f.GetName() {
			case "callbacksim_callbacks_finished_total":
				for _, l := range m.GetLabel() {
					if l.GetName() == "status" && m.GetCounter().GetValue() > 0 {
						got[l.GetValue()] += m.GetCounter().GetValue()
					}
				}
			case "callbacksim_callback_delivery_latency_seconds", "callbacksim_callback_failure_latency_seconds":
				if n := m.GetHistogram().GetSampleCount(); n > 0 {
					got[f.GetName()] += float64(n)
				}
			}
		}
	}
	return got
}

// TestEachCallbackIsFinishedOnce: callbacks_finished_total counts a
// callback at its first final status, and the end-to-end latencies are
// those of the automatic attempts.
func TestEachCallbackIsFinishedOnce(t *testing.T) {
	const (
		delivered = "callbacksim_callback_delivery_latency_seconds"
		failed    = "callbacksim_callback_failure_latency_seconds"
	)
	tests := []struct {
		name   string
		code   int
		status store.Status
		tries  int
		kind   store.Kind
		want   map[string]float64
	}{
		{"delivered by its schedule", 200, store.StatusRetrying, 1, store.Automatic, map[string]float64{"delivered": 1, delivered: 1}},
		{"failed by its schedule", 500, store.StatusRetrying, 3, store.Automatic, map[string]float64{"failed": 1, failed: 1}},
		{"rejected by its schedule", 406, store.StatusPending, 0, store.Automatic, map[string]float64{"rejected": 1}},
		{"a retrying callback delivered by a resend: counted, no latency", 200, store.StatusRetrying, 1, store.Manual, map[string]float64{"delivered": 1}},
		{"a failed callback delivered by a resend: counted already", 200, store.StatusFailed, 4, store.Manual, map[string]float64{}},
		{"a rejected callback delivered by a resend: counted already", 200, store.StatusRejected, 1, store.Manual, map[string]float64{}},
		{"a delivered callback rejected by a resend: counted already", 406, store.StatusDelivered, 1, store.Manual, map[string]float64{}},
		{"a failed resend", 500, store.StatusFailed, 4, store.Manual, map[string]float64{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, _ := merchantAnswering(t, tt.code)
			cb := callback("cb_1", srv.URL, tt.status, tt.tries)
			st := &fakeStore{cbs: map[string]*store.Callback{cb.ID: cb}}
			reg := prometheus.NewRegistry()
			d := New(Options{
				Store: st, Providers: fakeProviders{Policy{
					Retry:      scheduler.NewPolicy([]time.Duration{5 * time.Second, 30 * time.Second, 2 * time.Minute}, 1),
					Timeout:    2 * time.Second,
					Classifier: Classifier{SuccessCodes: []int{200}, StopCodes: []int{406}},
				}}, Sender: NewSender(egress.Policy{AllowPrivate: true}),
				Metrics: metrics.New(reg), Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
			})
			_ = d.ProcessTask(context.Background(), task(t, queue.Task{ID: cb.ID, Kind: tt.kind}))
			if diff := cmp.Diff(tt.want, finishedCounts(t, reg)); diff != "" {
				t.Errorf("finished callbacks (-want +got):\n%s", diff)
			}
		})
	}
}
