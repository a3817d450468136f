// Package opstest drives a running simulator the way operators' tools see
// it: QRIS payments that end in callbacks, and scrapes of /metrics parsed
// into metric families.
package opstest

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/callbacksim/callbacksim/config"
	"github.com/callbacksim/callbacksim/internal/simtest"
	"github.com/callbacksim/callbacksim/internal/store"
)

// QRISToken is the demo merchant's QRIS access token.
const QRISToken = "demo-qris-token"

// QRISCallback initiates a QRIS payment on the simulator at baseURL whose
// callbacks go to callbackURL, completes it with status (SUCCESS or
// FAILED), and returns the callback's id.
func QRISCallback(tb testing.TB, baseURL, orderID, callbackURL, status string) string {
	tb.Helper()
	auth := []string{"Authorization", "Bearer " + QRISToken}
	r := simtest.Do(tb, http.MethodPost, baseURL+"/api/qris/initiate", map[string]any{
		"amount": 25000, "order_id": orderID, "callback_url": callbackURL,
	}, auth...)
	if r.Status != http.StatusCreated {
		tb.Fatalf("opstest: initiate %s: %d %s", orderID, r.Status, r.Body)
	}
	r = simtest.Do(tb, http.MethodPost, baseURL+"/api/qris/simulate", map[string]any{"order_id": orderID, "status": status}, auth...)
	if r.Status != http.StatusAccepted {
		tb.Fatalf("opstest: simulate %s: %d %s", orderID, r.Status, r.Body)
	}
	var ans struct {
		CallbackID string `json:"callback_id"`
	}
	r.JSON(tb, &ans)
	if ans.CallbackID == "" {
		tb.Fatalf("opstest: simulate %s answered no callback_id: %s", orderID, r.Body)
	}
	return ans.CallbackID
}

// Config is simtest.Config with a short QRIS retry schedule (two retries,
// 50 ms each at time scale 0.01), so that a failing merchant fails a
// callback quickly.
func Config(redisURL string) config.Config {
	cfg := simtest.Config(redisURL)
	cfg.Providers.QRIS.Retry.Schedule = []time.Duration{5 * time.Second, 5 * time.Second}
	return cfg
}

// Traffic is what Drive did: the ids and references it used, none of which
// may appear in a metric.
type Traffic struct {
	Delivered, Failed string // callback ids
	Secrets           []string
}

// Drive sends, through sim (started with Config), a QRIS callback that is
// delivered at once and one that fails after its retries, and waits until
// both are final. The failing merchant's URL carries a query string.
func Drive(tb testing.TB, sim *simtest.Sim) Traffic {
	tb.Helper()
	ok := simtest.NewMerchant(tb)
	failing := simtest.NewMerchant(tb, http.StatusInternalServerError)
	tr := Traffic{
		Delivered: QRISCallback(tb, sim.URL, "ORDER-OPS-OK", ok.URL+"/callbacks/qris", "SUCCESS"),
		Failed:    QRISCallback(tb, sim.URL, "ORDER-OPS-KO", failing.URL+"/callbacks/qris?key=query-secret", "FAILED"),
	}
	sim.WaitStatus(tr.Delivered, store.StatusDelivered, 10*time.Second)
	sim.WaitStatus(tr.Failed, store.StatusFailed, 10*time.Second)
	tr.Secrets = []string{
		tr.Delivered, tr.Failed, "ORDER-OPS-OK", "ORDER-OPS-KO", "query-secret",
		strings.TrimPrefix(ok.URL, "http://"), strings.TrimPrefix(failing.URL, "http://"),
		QRISToken, simtest.AdminToken,
	}
	return tr
}

// Scrape fetches baseURL/metrics and returns its families by name, and the
// raw exposition.
func Scrape(tb testing.TB, baseURL string) (map[string]*dto.MetricFamily, []byte) {
	tb.Helper()
	r := simtest.Do(tb, http.MethodGet, baseURL+"/metrics", nil)
	if r.Status != http.StatusOK {
		tb.Fatalf("opstest: GET /metrics: %d %s", r.Status, r.Body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(r.Body))
	if err != nil {
		tb.Fatalf("opstest: /metrics is not the Prometheus text format: %v", err)
	}
	return fams, r.Body
}

// Sum adds the values of family name's samples whose labels include every
// name, value pair of match (counters and gauges; histograms: their count).
func Sum(fams map[string]*dto.MetricFamily, name string, match ...string) float64 {
	f, ok := fams[name]
	if !ok {
		return 0
	}
	var total float64
samples:
	for _, m := range f.GetMetric() {
		for i := 0; i+1 < len(match); i += 2 {
			if Label(m, match[i]) != match[i+1] {
				continue samples
			}
		}
		switch {
		case m.Counter != nil:
			total += m.GetCounter().GetValue()
		case m.Gauge != nil:
			total += m.GetGauge().GetValue()
		case m.Histogram != nil:
			total += float64(m.GetHistogram().GetSampleCount())
		}
	}
	return total
}

// Label returns the value of m's label name, "" when it has none.
func Label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}
