package api_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/callbacksim/callbacksim/internal/api"
	"github.com/callbacksim/callbacksim/internal/metrics"
)

// mount is a route group of one route, for the tests.
type mount struct{}

func (mount) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST /things/{id}", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusCreated)
	})
}

func TestAccessLogAndRequestID(t *testing.T) {
	long := strings.Repeat("a", 129)
	for _, tc := range []struct {
		name, method, target, incoming string
		wantRoute                      string
		wantStatus                     int
		keep                           bool // the incoming id is used
	}{
		{"a route, its id kept", http.MethodPost, "/things/cb_secret?token=query-secret", "req-1f2e.3:A_b", "POST /things/{id}", http.StatusCreated, true},
		{"a uuid kept", http.MethodGet, "/healthz", "0b7c6a1e-9d4f-4e2a-8c3b-5f6e7d8c9b0a", "GET /healthz", http.StatusOK, true},
		{"128 characters kept", http.MethodGet, "/healthz", long[:128], "GET /healthz", http.StatusOK, true},
		{"none: one is made", http.MethodGet, "/healthz", "", "GET /healthz", http.StatusOK, false},
		{"129 characters: replaced", http.MethodGet, "/healthz", long, "GET /healthz", http.StatusOK, false},
		{"a forged log line: replaced", http.MethodGet, "/healthz", "x\" level=ERROR msg=forged", "GET /healthz", http.StatusOK, false},
		{"markup: replaced", http.MethodGet, "/healthz", "<script>", "GET /healthz", http.StatusOK, false},
		{"unknown path: unmatched, not the path", http.MethodGet, "/no/such/cb_secret?key=query-secret", "abc", "unmatched", http.StatusNotFound, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			h := api.NewHandler(api.Options{
				Redis: pinger{}, Gatherer: prometheus.NewRegistry(),
				Metrics: metrics.New(prometheus.NewRegistry()), Log: slog.New(slog.NewJSONHandler(&logs, nil)),
				Mount: []api.Mounter{mount{}},
			})
			req := httptest.NewRequest(tc.method, tc.target, nil)
			if tc.incoming != "" {
				req.Header.Set(api.RequestIDHeader, tc.incoming)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)

			id := rec.Header().Get(api.RequestIDHeader)
			switch {
			case tc.keep && id != tc.incoming:
				t.Errorf("answer's %s = %q, want the request's %q", api.RequestIDHeader, id, tc.incoming)
			case !tc.keep && (id == tc.incoming || len(id) < 16 || strings.ContainsAny(id, " \"<>")):
				t.Errorf("answer's %s = %q, want a new random id", api.RequestIDHeader, id)
			}
			lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
			if len(lines) != 1 {
				t.Fatalf("%d log lines, want 1:\n%s", len(lines), logs.String())
			}
			var l struct {
				Level, Msg, Method, Route string
				Code                      int
				DurationMS                *float64 `json:"duration_ms"`
				RequestID                 string   `json:"request_id"`
			}
			if err := json.Unmarshal([]byte(lines[0]), &l); err != nil {
				t.Fatal(err)
			}
			if l.Level != "INFO" || l.Msg != "request" || l.Method != tc.method || l.Route != tc.wantRoute ||
				l.Code != tc.wantStatus || l.DurationMS == nil || *l.DurationMS < 0 || l.RequestID != id {
				t.Errorf("access log %s, want INFO request, %s, route %q, code %d, a duration and request_id %q", lines[0], tc.method, tc.wantRoute, tc.wantStatus, id)
			}
			if strings.Contains(logs.String(), "secret") {
				t.Errorf("the access log has the URL: %s", lines[0])
			}
		})
	}
}

func TestRequestIDsDiffer(t *testing.T) {
	h := api.NewHandler(api.Options{
		Redis: pinger{}, Gatherer: prometheus.NewRegistry(),
		Metrics: metrics.New(prometheus.NewRegistry()), Log: slog.New(slog.DiscardHandler),
	})
	seen := map[string]bool{}
	for range 100 {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
		id := rec.Header().Get(api.RequestIDHeader)
		if seen[id] {
			t.Fatalf("request id %q made twice", id)
		}
		seen[id] = true
	}
}
