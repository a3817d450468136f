package metrics_test

import (
	"bytes"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"

	"github.com/callbacksim/callbacksim/config"
	"github.com/callbacksim/callbacksim/internal/app"
	"github.com/callbacksim/callbacksim/internal/buildinfo"
	"github.com/callbacksim/callbacksim/internal/metrics"
	"github.com/callbacksim/callbacksim/internal/opstest"
	"github.com/callbacksim/callbacksim/internal/queue"
	"github.com/callbacksim/callbacksim/internal/redistest"
	"github.com/callbacksim/callbacksim/internal/simtest"
)

// metricSpec is a metric family's type and exact label names.
type metricSpec struct {
	typ    dto.MetricType
	labels []string
}

// apiMetrics is the metrics table of API.md (plus the queue gauges and the
// HTTP API's metrics): each family's type and exact label names.
var apiMetrics = map[string]metricSpec{
	"callbacksim_payments_initiated_total":          {dto.MetricType_COUNTER, []string{"provider"}},
	"callbacksim_delivery_attempts_total":           {dto.MetricType_COUNTER, []string{"code_class", "outcome", "provider"}},
	"callbacksim_delivery_attempt_duration_seconds": {dto.MetricType_HISTOGRAM, []string{"provider"}},
	"callbacksim_callbacks_finished_total":          {dto.MetricType_COUNTER, []string{"provider", "status"}},
	"callbacksim_callback_delivery_latency_seconds": {dto.MetricType_HISTOGRAM, []string{"provider"}},
	"callbacksim_retry_lateness_seconds":            {dto.MetricType_HISTOGRAM, []string{"provider"}},
	"callbacksim_callback_failure_latency_seconds":  {dto.MetricType_HISTOGRAM, []string{"provider"}},
	"callbacksim_deliveries_deferred_total":         {dto.MetricType_COUNTER, []string{"provider", "reason"}},
	"callbacksim_delivery_attempts_in_flight":       {dto.MetricType_GAUGE, []string{"provider"}},
	"callbacksim_first_attempt_delay_seconds":       {dto.MetricType_HISTOGRAM, []string{"provider"}},
	"callbacksim_worker_concurrency":                {dto.MetricType_GAUGE, nil},
	"callbacksim_queue_tasks":                       {dto.MetricType_GAUGE, []string{"queue", "state"}},
	"callbacksim_queue_latency_seconds":             {dto.MetricType_GAUGE, []string{"queue"}},
	"callbacksim_queue_up":                          {dto.MetricType_GAUGE, nil},
	"callbacksim_http_requests_total":               {dto.MetricType_COUNTER, []string{"code", "route"}},
	"callbacksim_http_request_duration_seconds":     {dto.MetricType_HISTOGRAM, []string{"route"}},
	"callbacksim_build_info":                        {dto.MetricType_GAUGE, []string{"goversion", "revision", "version"}},
}

var (
	routePattern = regexp.MustCompile(`^(unmatched|[A-Z]+ /[A-Za-z0-9_/{}.-]*)$`)
	httpCode     = regexp.MustCompile(`^[1-5][0-9][0-9]$`)
)

// allowed says whether value is a bounded value of label.
func allowed(label, value string) bool {
	switch label {
	case "provider":
		return slices.Contains(config.ProviderNames, value)
	case "outcome":
		return slices.Contains([]string{"delivered", "retry", "rejected", "failed"}, value)
	case "code_class":
		return slices.Contains([]string{"1xx", "2xx", "3xx", "4xx", "5xx", "timeout", "network"}, value)
	case "status":
		return slices.Contains([]string{"delivered", "rejected", "failed"}, value)
	case "reason":
		return slices.Contains(metrics.DeferReasons, value)
	case "state":
		return slices.Contains(metrics.QueueStates, value)
	case "queue":
		return value == queue.Name
	case "route":
		return routePattern.MatchString(value) && !strings.Contains(value, "cb_")
	case "code":
		return httpCode.MatchString(value)
	case "le":
		return true
	case "version":
		return value == buildinfo.Read().Version
	case "revision":
		return value == buildinfo.Read().Revision
	case "goversion":
		return value == buildinfo.Read().GoVersion
	}
	return false
}

func TestMetricsExpositionOfALiveSimulator(t *testing.T) {
	r := redistest.Start(t)
	sim := simtest.StartConfig(t, opstest.Config(r.URL()), app.Roles{API: true, Worker: true}, r)
	tr := opstest.Drive(t, sim)
	// Routes with ids in their paths, and a path no route matches.
	sim.Admin(http.MethodGet, "/v1/callbacks/"+tr.Delivered, nil)
	sim.Do(http.MethodGet, "/api/qris/transactions/ORDER-OPS-OK", nil, "Authorization", "Bearer "+opstest.QRISToken)
	sim.Do(http.MethodGet, "/no/such/path/unmatched-path-secret", nil)
	secrets := append(tr.Secrets, "unmatched-path-secret")

	fams, raw := opstest.Scrape(t, sim.URL)
	for name, want := range apiMetrics {
		f, ok := fams[name]
		if !ok {
			t.Errorf("%s is missing from /metrics", name)
			continue
		}
		if f.GetType() != want.typ {
			t.Errorf("%s is a %s, want a %s", name, f.GetType(), want.typ)
		}
		for _, m := range f.GetMetric() {
			var names []string
			for _, l := range m.GetLabel() {
				names = append(names, l.GetName())
				if !allowed(l.GetName(), l.GetValue()) {
					t.Errorf("%s has %s=%q: not a bounded value", name, l.GetName(), l.GetValue())
				}
			}
			if !slices.Equal(names, want.labels) {
				t.Errorf("%s has labels %v, want %v", name, names, want.labels)
			}
		}
	}
	// Every callbacksim family is in the table: none escapes the label check.
	for name := range fams {
		if _, ok := apiMetrics[name]; strings.HasPrefix(name, metrics.Namespace+"_") && !ok {
			t.Errorf("%s is exported but not checked here (add it to apiMetrics and to the docs)", name)
		}
	}

	for _, s := range append(secrets, "http://", "https://") {
		if bytes.Contains(raw, []byte(s)) {
			t.Errorf("/metrics contains %q: an id, a URL or a secret", s)
		}
	}

	// The traffic shows in the values.
	checks := []struct {
		name  string
		match []string
		want  float64
	}{
		{"callbacksim_payments_initiated_total", []string{"provider", "qris"}, 2},
		{"callbacksim_delivery_attempts_total", []string{"outcome", "delivered", "code_class", "2xx"}, 1},
		{"callbacksim_delivery_attempts_total", []string{"outcome", "retry", "code_class", "5xx"}, 2},
		{"callbacksim_delivery_attempts_total", []string{"outcome", "failed", "code_class", "5xx"}, 1},
		{"callbacksim_delivery_attempt_duration_seconds", []string{"provider", "qris"}, 4},
		{"callbacksim_callbacks_finished_total", []string{"status", "delivered"}, 1},
		{"callbacksim_callbacks_finished_total", []string{"status", "failed"}, 1},
		{"callbacksim_callback_delivery_latency_seconds", []string{"provider", "qris"}, 1},
		{"callbacksim_retry_lateness_seconds", []string{"provider", "qris"}, 2},
		{"callbacksim_queue_up", nil, 1},
		{"callbacksim_queue_tasks", []string{"state", "archived"}, 1},
		{"callbacksim_http_requests_total", []string{"route", "unmatched", "code", "404"}, 1},
		{"callbacksim_build_info", []string{"version", buildinfo.Read().Version}, 1},
	}
	for _, c := range checks {
		if got := opstest.Sum(fams, c.name, c.match...); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.match, got, c.want)
		}
	}
	// Requests are counted by route pattern, not by path.
	for _, route := range []string{"GET /v1/callbacks/{id}", "GET /api/qris/transactions/{order_id}"} {
		if got := opstest.Sum(fams, "callbacksim_http_requests_total", "route", route, "code", "200"); got < 1 {
			t.Errorf("no request counted under route %q", route)
		}
	}
}
