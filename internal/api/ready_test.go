package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/callbacksim/callbacksim/internal/api"
	"github.com/callbacksim/callbacksim/internal/metrics"
)

type pinger struct{ err error }

func (p pinger) Ping(context.Context) error { return p.err }

func TestReadyzAsksRedisAndTheProcess(t *testing.T) {
	down := errors.New("connection refused")
	for _, tc := range []struct {
		name      string
		redis     error
		ready     func() error
		want      int
		wantError string
	}{
		{"redis answers, no process check", nil, nil, http.StatusOK, ""},
		{"redis answers, process ready", nil, func() error { return nil }, http.StatusOK, ""},
		{"redis down", down, func() error { return nil }, http.StatusServiceUnavailable, "redis does not answer"},
		{"draining", nil, func() error { return errors.New("draining: the process is shutting down") }, http.StatusServiceUnavailable, "draining: the process is shutting down"},
		{"workers stopped and redis down", down, func() error { return errors.New("the delivery workers are not running") }, http.StatusServiceUnavailable, "the delivery workers are not running"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := api.NewHandler(api.Options{
				Redis: pinger{tc.redis}, Gatherer: prometheus.NewRegistry(),
				Metrics: metrics.New(prometheus.NewRegistry()), Log: slog.New(slog.DiscardHandler), Ready: tc.ready,
			})
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
			var body struct{ Status, Error string }
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatalf("GET /readyz answered %d, not JSON: %q", rec.Code, rec.Body)
			}
			if rec.Code != tc.want || body.Error != tc.wantError {
				t.Errorf("GET /readyz = %d %q, want %d %q", rec.Code, body.Error, tc.want, tc.wantError)
			}
		})
	}
}
