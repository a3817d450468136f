// Package metrics defines callbacksim's Prometheus metrics. Every label comes
// from a bounded set (provider, outcome, status, code class): never an id or
// a URL.
package metrics

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/callbacksim/callbacksim/config"
)

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
	// FirstAttemptDelayBuckets spans a first attempt taken by an idle
	// worker within its poll interval to a backlog of minutes behind busy
	// workers or a saturated host.
	FirstAttemptDelayBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600}
	// HTTPRequestBuckets spans API answers from sub-millisecond to a slow
	// Redis.
	HTTPRequestBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5}
)

// The bounded label values. Every combination of them exists from New on,
// so that a rate over a failure series reads 0, not "no data", before the
// first failure.
var (
	// Outcomes are the outcome label's values (store.Outcome).
	Outcomes = []string{"delivered", "retry", "rejected", "failed"}
	// CodeClasses are the code_class label's values: the class of the
	// merchant's answer, or why none came.
	CodeClasses = []string{"1xx", "2xx", "3xx", "4xx", "5xx", "timeout", "network"}
	// FinalStatuses are the status label's values (the final store.Status).
	FinalStatuses = []string{"delivered", "rejected", "failed"}
	// DeferReasons are the reason label's values of deliveries_deferred_total:
	// why a due automatic attempt went back to the queue unsent.
	DeferReasons = []string{DeferHostBusy, DeferHostSlow}
)

// Why a due attempt was deferred.
const (
	// DeferHostBusy: the merchant host's attempts in flight are at
	// worker.max_per_host and come back; the attempt tries again in a second.
	DeferHostBusy = "host_busy"
	// DeferHostSlow: the host is at its limit with attempts that do not
	// come back; the attempt waits until the first of them times out.
	DeferHostSlow = "host_slow"
)

// Metrics holds the collectors of one process; its methods record what
// happened, with bounded labels. The zero value is not usable: call New.
type Metrics struct {
	paymentsInitiated  *prometheus.CounterVec
	attempts           *prometheus.CounterVec
	attemptDuration    *prometheus.HistogramVec
	finished           *prometheus.CounterVec
	deliveryLatency    *prometheus.HistogramVec
	failureLatency     *prometheus.HistogramVec
	retryLateness      *prometheus.HistogramVec
	deferred           *prometheus.CounterVec
	inFlight           *prometheus.GaugeVec
	firstAttemptDelay  *prometheus.HistogramVec
	concurrency        prometheus.Gauge
	httpRequests       *prometheus.CounterVec
	httpRequestSeconds *prometheus.HistogramVec
}

// New creates the metrics, with every bounded label combination, and
// registers them with reg.
func New(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		paymentsInitiated: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "payments_initiated_total",
			Help: "Simulated payments created through a gateway API.",
		}, []string{"provider"}),
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "delivery_attempts_total",
			Help: "Callback delivery attempts, by outcome and by class of the merchant's answer.",
		}, []string{"provider", "outcome", "code_class"}),
		attemptDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "delivery_attempt_duration_seconds",
			Help:    "Time from the start of an attempt to the merchant's full answer (or the error).",
			Buckets: AttemptDurationBuckets,
		}, []string{"provider"}),
		finished: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "callbacks_finished_total",
			Help: "Callbacks that reached a final status.",
		}, []string{"provider", "status"}),
		deliveryLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "callback_delivery_latency_seconds",
			Help:    "Time from the payment's outcome to the callback's delivery by its automatic attempts, retries included; manual resends are not counted.",
			Buckets: DeliveryLatencyBuckets,
		}, []string{"provider"}),
		failureLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "callback_failure_latency_seconds",
			Help:    "Time from the payment's outcome to the callback's failure, its retries used up.",
			Buckets: DeliveryLatencyBuckets,
		}, []string{"provider"}),
		retryLateness: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "retry_lateness_seconds",
			Help:    "Actual minus scheduled start of each retry.",
			Buckets: RetryLatenessBuckets,
		}, []string{"provider"}),
		deferred: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "deliveries_deferred_total",
			Help: "Due automatic attempts sent back to the queue unsent, by reason (host_busy, host_slow).",
		}, []string{"provider", "reason"}),
		inFlight: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "delivery_attempts_in_flight",
			Help: "Attempts being sent by this process, from their start until they are recorded.",
		}, []string{"provider"}),
		firstAttemptDelay: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "first_attempt_delay_seconds",
			Help:    "Time from a callback's creation (or the end of its scenario delay) to the start of its first attempt.",
			Buckets: FirstAttemptDelayBuckets,
		}, []string{"provider"}),
		concurrency: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "worker_concurrency",
			Help: "Deliveries this process runs at a time (worker.concurrency; 0 without the worker role).",
		}),
		httpRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "http_requests_total",
			Help: "Requests served by the HTTP API, by route pattern and status code.",
		}, []string{"route", "code"}),
		httpRequestSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "http_request_duration_seconds",
			Help:    "Time to serve a request of the HTTP API, by route pattern.",
			Buckets: HTTPRequestBuckets,
		}, []string{"route"}),
	}
	reg.MustRegister(m.paymentsInitiated, m.attempts, m.attemptDuration, m.finished,
		m.deliveryLatency, m.failureLatency, m.retryLateness, m.deferred, m.inFlight, m.firstAttemptDelay, m.concurrency,
		m.httpRequests, m.httpRequestSeconds)
	for _, p := range config.ProviderNames {
		m.paymentsInitiated.WithLabelValues(p)
		m.attemptDuration.WithLabelValues(p)
		m.deliveryLatency.WithLabelValues(p)
		m.failureLatency.WithLabelValues(p)
		m.retryLateness.WithLabelValues(p)
		m.inFlight.WithLabelValues(p)
		m.firstAttemptDelay.WithLabelValues(p)
		for _, r := range DeferReasons {
			m.deferred.WithLabelValues(p, r)
		}
		for _, o := range Outcomes {
			for _, c := range CodeClasses {
				m.attempts.WithLabelValues(p, o, c)
			}
		}
		for _, st := range FinalStatuses {
			m.finished.WithLabelValues(p, st)
		}
	}
	return m
}

// PaymentInitiated counts a payment created through provider's API.
func (m *Metrics) PaymentInitiated(provider string) {
	m.paymentsInitiated.WithLabelValues(provider).Inc()
}

// AttemptDone counts an attempt of provider that ended with outcome, the
// merchant's answer in codeClass, after d.
func (m *Metrics) AttemptDone(provider, outcome, codeClass string, d time.Duration) {
	m.attempts.WithLabelValues(provider, outcome, codeClass).Inc()
	m.attemptDuration.WithLabelValues(provider).Observe(d.Seconds())
}

// CallbackFinished counts a callback of provider that reached final status
// status for the first time, latency after the payment's outcome. Each
// callback is counted once: a resend that changes a final status later
// (a failed callback delivered) is not counted again. The latency of a
// delivery or a failure is observed when the automatic attempts got there
// (automatic), not a manual resend.
func (m *Metrics) CallbackFinished(provider, status string, latency time.Duration, automatic bool) {
	m.finished.WithLabelValues(provider, status).Inc()
	if !automatic {
		return
	}
	switch status {
	case "delivered":
		m.deliveryLatency.WithLabelValues(provider).Observe(latency.Seconds())
	case "failed":
		m.failureLatency.WithLabelValues(provider).Observe(latency.Seconds())
	}
}

// RetryStarted records how late a retry of provider started: its actual
// minus its scheduled start.
func (m *Metrics) RetryStarted(provider string, lateness time.Duration) {
	m.retryLateness.WithLabelValues(provider).Observe(lateness.Seconds())
}

// Deferred counts a due automatic attempt of provider sent back to the
// queue unsent, for reason (one of DeferReasons).
func (m *Metrics) Deferred(provider, reason string) {
	m.deferred.WithLabelValues(provider, reason).Inc()
}

// AttemptStarted counts an attempt of provider in flight, until the
// returned function is called.
func (m *Metrics) AttemptStarted(provider string) (ended func()) {
	g := m.inFlight.WithLabelValues(provider)
	g.Inc()
	return g.Dec
}

// FirstAttempt records how long after it was due (its creation, or the end
// of its scenario delay) the first attempt of a callback of provider
// started.
func (m *Metrics) FirstAttempt(provider string, delay time.Duration) {
	m.firstAttemptDelay.WithLabelValues(provider).Observe(max(delay, 0).Seconds())
}

// WorkerConcurrency records how many deliveries the process runs at a time.
func (m *Metrics) WorkerConcurrency(n int) { m.concurrency.Set(float64(n)) }

// HTTPRequest counts a request the HTTP API served on route (a mux
// pattern, or "unmatched") with status code, in d.
func (m *Metrics) HTTPRequest(route string, code int, d time.Duration) {
	m.httpRequests.WithLabelValues(route, strconv.Itoa(code)).Inc()
	m.httpRequestSeconds.WithLabelValues(route).Observe(d.Seconds())
}
