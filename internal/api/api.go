// Package api serves callbacksim's HTTP surface: the gateway APIs (mounted
// from package gateway's sub-packages), the operator API under /v1, and the
// operations endpoints /healthz, /readyz and /metrics.
package api

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/callbacksim/callbacksim/internal/httpapi"
	"github.com/callbacksim/callbacksim/internal/metrics"
)

// Pinger reports whether Redis answers.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Mounter adds routes to a mux: a gateway, the operator API.
type Mounter interface {
	Register(mux *http.ServeMux)
}

// Options configure the handler.
type Options struct {
	Redis    Pinger
	Gatherer prometheus.Gatherer
	Metrics  *metrics.Metrics
	Log      *slog.Logger
	// Ready says whether the process takes work, besides Redis answering:
	// nil when it does, else why not (it is draining, its workers are not
	// running). A nil Ready leaves readiness to Redis alone.
	Ready func() error
	// Mount holds the API's route groups; a worker-only process mounts none
	// and serves only the operations endpoints.
	Mount []Mounter
}

// NewHandler returns the HTTP handler of a process.
func NewHandler(o Options) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		httpapi.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if o.Ready != nil {
			if err := o.Ready(); err != nil {
				httpapi.WriteJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "error": err.Error()})
				return
			}
		}
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := o.Redis.Ping(ctx); err != nil {
			httpapi.WriteJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "error": "redis does not answer"})
			return
		}
		httpapi.WriteJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(o.Gatherer, promhttp.HandlerOpts{}))
	for _, m := range o.Mount {
		m.Register(mux)
	}
	return instrument(o.Metrics, o.Log, mux)
}

// statusRecorder remembers the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Flush lets server-sent events through.
func (s *statusRecorder) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// instrument gives every request an id (RequestIDHeader), counts requests
// by route pattern and status, writes one access log line per request,
// answers unknown routes with a JSON 404 and a method a path does not take
// with a JSON 405 whose Allow lists every method it takes, and turns a
// panic into a JSON 500 instead of a dropped connection.
func instrument(m *metrics.Metrics, log *slog.Logger, mux *http.ServeMux) http.Handler {
	ranker := &pathRanker{}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := requestID(r.Header.Get(RequestIDHeader))
		w.Header().Set(RequestIDHeader, id)
		rec := &statusRecorder{ResponseWriter: w}
		defer func() {
			if p := recover(); p != nil {
				log.Error("handler panic", "route", r.Pattern, "request_id", id, "panic", p)
				if rec.status == 0 {
					httpapi.WriteJSON(rec, http.StatusInternalServerError, httpapi.Errorf(http.StatusInternalServerError, "internal error"))
				}
			}
			route := r.Pattern
			if route == "" {
				route = "unmatched"
			}
			status := rec.status
			if status == 0 {
				status = http.StatusOK // the handler wrote nothing
			}
			took := time.Since(start)
			m.HTTPRequest(route, status, took)
			// The route pattern, never the URL: a path or query may carry
			// an id or a secret. "code", as the metric's label, since
			// "status" is a callback's status in other lines.
			log.Info("request", "method", r.Method, "route", route, "code", status,
				"duration_ms", float64(took.Microseconds())/1000, "request_id", id)
		}()
		if allow := ranker.disallowed(mux, r); allow != nil {
			r.Pattern = ""
			rec.Header().Set("Allow", strings.Join(allow, ", "))
			httpapi.WriteError(rec, httpapi.Errorf(http.StatusMethodNotAllowed, "%s is not allowed on %s; use %s", r.Method, r.URL.Path, strings.Join(allow, " or ")))
			return
		}
		if _, pattern := mux.Handler(r); pattern == "" {
			r.Pattern = ""
			httpapi.WriteError(rec, httpapi.Errorf(http.StatusNotFound, "no such endpoint: %s %s", r.Method, r.URL.Path))
			return
		}
		mux.ServeHTTP(rec, r)
	})
}
