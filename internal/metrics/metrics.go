// Package metrics defines callbacksim's Prometheus metrics. Every label comes
// from a bounded set (provider, outcome, status, code class): never an id or
// a URL.
package metrics

import "github.com/prometheus/client_golang/prometheus"

// Namespace prefixes every metric name.
const Namespace = "callbacksim"

// Histogram buckets, in seconds, chosen for what each histogram measures.
var (
	// AttemptDurationBuckets spans a local merchant answering in a
	// millisecond to one that hits a long per-attempt timeout (the default
	// is 10 s; 15 s sits just past it so that timeouts stand apart).
	AttemptDurationBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 15, 30, 60}
	// DeliveryLatencyBuckets spans a first-attempt delivery at time_scale
	// 0.01 (milliseconds) to the end of Centili's default schedule at
	// time_scale 1 (3 x 10 min) and beyond.
	DeliveryLatencyBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 180, 600, 1200, 1800, 3600}
	// RetryLatenessBuckets resolves the worker's poll interval (10 ms by
	// default) in milliseconds, and still places a backlog of seconds.
	RetryLatenessBuckets = []float64{.0005, .001, .002, .005, .01, .02, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}
	// HTTPRequestBuckets spans API answers from sub-millisecond to a slow
	// Redis.
	HTTPRequestBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5}
)

// Metrics holds the collectors of one process. The zero value is not usable:
// call New.
type Metrics struct {
	PaymentsInitiated  *prometheus.CounterVec
	Attempts           *prometheus.CounterVec
	AttemptDuration    *prometheus.HistogramVec
	Finished           *prometheus.CounterVec
	DeliveryLatency    *prometheus.HistogramVec
	RetryLateness      *prometheus.HistogramVec
	HTTPRequests       *prometheus.CounterVec
	HTTPRequestSeconds *prometheus.HistogramVec
}

// New creates the metrics and registers them with reg.
func New(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		PaymentsInitiated: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "payments_initiated_total",
			Help: "Simulated payments created through a gateway API.",
		}, []string{"provider"}),
		Attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "delivery_attempts_total",
			Help: "Callback delivery attempts, by outcome and by class of the merchant's answer.",
		}, []string{"provider", "outcome", "code_class"}),
		AttemptDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "delivery_attempt_duration_seconds",
			Help:    "Time from the start of an attempt to the merchant's full answer (or the error).",
			Buckets: AttemptDurationBuckets,
		}, []string{"provider"}),
		Finished: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "callbacks_finished_total",
			Help: "Callbacks that reached a final status.",
		}, []string{"provider", "status"}),
		DeliveryLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "callback_delivery_latency_seconds",
			Help:    "Time from the payment's outcome to the callback's delivery, retries included.",
			Buckets: DeliveryLatencyBuckets,
		}, []string{"provider"}),
		RetryLateness: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "retry_lateness_seconds",
			Help:    "Actual minus scheduled start of each retry.",
			Buckets: RetryLatenessBuckets,
		}, []string{"provider"}),
		HTTPRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "http_requests_total",
			Help: "Requests served by the HTTP API, by route pattern and status code.",
		}, []string{"route", "code"}),
		HTTPRequestSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "http_request_duration_seconds",
			Help:    "Time to serve a request of the HTTP API, by route pattern.",
			Buckets: HTTPRequestBuckets,
		}, []string{"route"}),
	}
	reg.MustRegister(m.PaymentsInitiated, m.Attempts, m.AttemptDuration, m.Finished,
		m.DeliveryLatency, m.RetryLateness, m.HTTPRequests, m.HTTPRequestSeconds)
	return m
}
