package metrics_test

import (
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/callbacksim/callbacksim/config"
	"github.com/callbacksim/callbacksim/internal/buildinfo"
	"github.com/callbacksim/callbacksim/internal/metrics"
)

// longestDelivery is the longest a callback of the default configuration can
// take to be delivered at time_scale 1: every retry delay plus a timed-out
// attempt before each.
func longestDelivery() time.Duration {
	cfg := config.Default()
	var longest time.Duration
	for _, name := range config.ProviderNames {
		p, _ := cfg.Providers.Get(name)
		total := time.Duration(len(p.Retry.Schedule)+1) * p.Timeout
		for _, d := range p.Retry.Schedule {
			total += d
		}
		longest = max(longest, total)
	}
	return longest
}

func TestHistogramBucketsFitWhatTheyMeasure(t *testing.T) {
	cfg := config.Default()
	tests := []struct {
		name    string
		buckets []float64
		// lo and hi bound what the histogram must resolve, in seconds.
		lo, hi float64
		// bounds must be bucket bounds, so that "at most this" is exact.
		bounds []float64
	}{
		{
			name: "attempt duration: ms to tens of seconds", buckets: metrics.AttemptDurationBuckets,
			lo: .001, hi: 30, bounds: []float64{cfg.Providers.QRIS.Timeout.Seconds()},
		},
		{
			name:    "delivery latency: a first attempt at time_scale 0.01 to the longest default schedule",
			buckets: metrics.DeliveryLatencyBuckets, lo: .005, hi: longestDelivery().Seconds(),
		},
		{
			name: "retry lateness: ms, around the poll interval", buckets: metrics.RetryLatenessBuckets,
			lo: .001, hi: 10, bounds: []float64{cfg.Worker.PollInterval.Seconds(), 2 * cfg.Worker.PollInterval.Seconds()},
		},
		{
			name: "first attempt delay: within a poll interval to a backlog of minutes", buckets: metrics.FirstAttemptDelayBuckets,
			lo: .001, hi: 300, bounds: []float64{cfg.Worker.PollInterval.Seconds(), 1},
		},
		{name: "http request duration", buckets: metrics.HTTPRequestBuckets, lo: .0005, hi: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := tt.buckets
			if !slices.IsSorted(b) || len(slices.Compact(slices.Clone(b))) != len(b) {
				t.Fatalf("buckets %v are not strictly increasing", b)
			}
			if b[0] > tt.lo {
				t.Errorf("first bucket %v > %v: the low end is not resolved", b[0], tt.lo)
			}
			if b[len(b)-1] < tt.hi {
				t.Errorf("last bucket %v < %v: the high end falls in +Inf", b[len(b)-1], tt.hi)
			}
			for i := 1; i < len(b); i++ {
				if b[i]/b[i-1] > 5 {
					t.Errorf("buckets %v and %v are more than 5x apart: quantiles between them are guesses", b[i-1], b[i])
				}
			}
			for _, v := range tt.bounds {
				if !slices.Contains(b, v) {
					t.Errorf("%v is not a bound of %v", v, b)
				}
			}
		})
	}
}

func TestNewRegistersEveryMetricWithItsLabels(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := metrics.New(reg)
	m.PaymentInitiated("qris")
	m.AttemptDone("qris", "delivered", "2xx", 10*time.Millisecond)
	m.CallbackFinished("qris", "delivered", 20*time.Millisecond, true)
	m.RetryStarted("qris", 3*time.Millisecond)
	m.Deferred("qris", metrics.DeferHostBusy)
	m.AttemptStarted("qris")()
	m.FirstAttempt("qris", 5*time.Millisecond)
	m.WorkerConcurrency(50)
	m.HTTPRequest("GET /healthz", 200, time.Millisecond)

	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]*dto.MetricFamily{}
	for _, f := range fams {
		got[f.GetName()] = f
	}
	// Everything of API.md's table but the queue gauges and the build
	// information, which come from the QueueCollector and NewBuildInfo,
	// not from New.
	want := maps.Clone(apiMetrics)
	maps.DeleteFunc(want, func(name string, _ metricSpec) bool {
		return strings.HasPrefix(name, "callbacksim_queue_") || name == "callbacksim_build_info"
	})
	if len(got) != len(want) {
		t.Errorf("registered %d families, want %d", len(got), len(want))
	}
	for name, w := range want {
		f, ok := got[name]
		if !ok {
			t.Errorf("%s is not registered", name)
			continue
		}
		if f.GetType() != w.typ {
			t.Errorf("%s is a %s, want %s", name, f.GetType(), w.typ)
		}
		var labels []string
		for _, l := range f.GetMetric()[0].GetLabel() {
			labels = append(labels, l.GetName())
		}
		if !slices.Equal(labels, w.labels) {
			t.Errorf("%s labels = %v, want %v", name, labels, w.labels)
		}
	}
}

// Every bounded label combination exists from the start, at 0: a rate over
// a failure series reads 0, not "no data", before the first failure.
func TestEveryLabelCombinationStartsAtZero(t *testing.T) {
	reg := prometheus.NewRegistry()
	metrics.New(reg)
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	series := map[string][]*dto.Metric{}
	for _, f := range fams {
		series[f.GetName()] = f.GetMetric()
	}
	providers := len(config.ProviderNames)
	want := map[string]int{
		"callbacksim_payments_initiated_total":          providers,
		"callbacksim_delivery_attempts_total":           providers * len(metrics.Outcomes) * len(metrics.CodeClasses),
		"callbacksim_delivery_attempt_duration_seconds": providers,
		"callbacksim_callbacks_finished_total":          providers * len(metrics.FinalStatuses),
		"callbacksim_callback_delivery_latency_seconds": providers,
		"callbacksim_retry_lateness_seconds":            providers,
		"callbacksim_callback_failure_latency_seconds":  providers,
		"callbacksim_deliveries_deferred_total":         providers * len(metrics.DeferReasons),
		"callbacksim_delivery_attempts_in_flight":       providers,
		"callbacksim_first_attempt_delay_seconds":       providers,
	}
	for name, n := range want {
		if got := len(series[name]); got != n {
			t.Errorf("%s: %d series at start, want %d", name, got, n)
		}
		for _, s := range series[name] {
			if v := s.GetCounter().GetValue() + s.GetGauge().GetValue() + float64(s.GetHistogram().GetSampleCount()); v != 0 {
				t.Errorf("%s %v = %v at start, want 0", name, s.GetLabel(), v)
			}
		}
	}
	failed := false
	for _, s := range series["callbacksim_callbacks_finished_total"] {
		for _, l := range s.GetLabel() {
			failed = failed || l.GetName() == "status" && l.GetValue() == "failed"
		}
	}
	if !failed {
		t.Error(`callbacks_finished_total{status="failed"} does not exist before the first failure`)
	}
}

func TestBuildInfo(t *testing.T) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(metrics.NewBuildInfo(buildinfo.Info{Version: "v1.2.0", Revision: "1a2b3c4d", GoVersion: "go1.26.8"}))
	fams, err := reg.Gather()
	if err != nil || len(fams) != 1 || len(fams[0].GetMetric()) != 1 {
		t.Fatalf("Gather = %v, %v; want one family of one series", fams, err)
	}
	f, m := fams[0], fams[0].GetMetric()[0]
	labels := map[string]string{}
	for _, l := range m.GetLabel() {
		labels[l.GetName()] = l.GetValue()
	}
	want := map[string]string{"version": "v1.2.0", "revision": "1a2b3c4d", "goversion": "go1.26.8"}
	if f.GetName() != "callbacksim_build_info" || f.GetType() != dto.MetricType_GAUGE || m.GetGauge().GetValue() != 1 || !maps.Equal(labels, want) {
		t.Errorf("got %s %s %v = %v; want callbacksim_build_info GAUGE %v = 1", f.GetName(), f.GetType(), labels, m.GetGauge().GetValue(), want)
	}
}
