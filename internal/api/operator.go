package api

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/callbacksim/callbacksim/config"
	"github.com/callbacksim/callbacksim/internal/check"
	"github.com/callbacksim/callbacksim/internal/httpapi"
	"github.com/callbacksim/callbacksim/internal/queue"
	"github.com/callbacksim/callbacksim/internal/ratelimit"
	"github.com/callbacksim/callbacksim/internal/session"
	"github.com/callbacksim/callbacksim/internal/store"
)

// Listing limits of GET /v1/callbacks.
const (
	DefaultLimit = 50
	MaxLimit     = 500
	// MaxSearch is the longest ?search= text: the longest reference a
	// gateway takes (Centili's, 255).
	MaxSearch = 255
)

// Operator serves the operator API under /v1, behind the admin token or a
// dashboard session.
type Operator struct {
	auth   *session.Manager
	store  *store.Store
	queue  *queue.Queue
	limit  *ratelimit.Limiter // nil: no limit
	checks *check.Runner      // nil: no /v1/checks
	// merchants are the configured merchants; mux is where the gateways'
	// endpoints are, for the payment simulator (see simulate.go).
	merchants []config.Merchant
	mux       *http.ServeMux
}

// NewOperator returns the operator API, which auth authorizes.
func NewOperator(auth *session.Manager, st *store.Store, q *queue.Queue) *Operator {
	return &Operator{auth: auth, store: st, queue: q}
}

// Limit makes the operator API answer 429 when the admin token goes over
// l's rate, and returns o.
func (o *Operator) Limit(l *ratelimit.Limiter) *Operator {
	o.limit = l
	return o
}

// Register implements Mounter.
func (o *Operator) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /v1/callbacks", o.authorized(o.list))
	mux.HandleFunc("GET /v1/callbacks/{id}", o.authorized(o.show))
	mux.HandleFunc("GET /v1/callbacks/{id}/attempts/{n}/curl", o.authorized(o.curl))
	mux.HandleFunc("POST /v1/callbacks/{id}/resend", o.authorized(o.resend))
	mux.HandleFunc("POST /v1/callbacks/{id}/retry-now", o.authorized(o.retryNow))
	mux.HandleFunc("POST /v1/callbacks/resend", o.authorized(o.resendBulk))
	mux.HandleFunc("GET /v1/merchants", o.authorized(o.listMerchants))
	mux.HandleFunc("GET /v1/payments", o.authorized(o.listPayments))
	mux.HandleFunc("POST /v1/simulate", o.authorized(o.simulate))
	o.mux = mux
	o.registerChecks(mux)
}

// authorized lets a request through with the admin token or a dashboard
// session (session.Manager.Authorize), within the admin token's rate.
func (o *Operator) authorized(h func(http.ResponseWriter, *http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := o.auth.Authorize(w, r); err != nil {
			httpapi.WriteError(w, err)
			return
		}
		if err := httpapi.Throttle(w, o.limit, "admin"); err != nil {
			httpapi.WriteError(w, err)
			return
		}
		httpapi.HandlerFunc(h).ServeHTTP(w, r)
	}
}

// listAnswer is the body of GET /v1/callbacks.
type listAnswer struct {
	Callbacks  []store.Callback `json:"callbacks"`
	NextCursor *string          `json:"next_cursor"`
}

func (o *Operator) list(w http.ResponseWriter, r *http.Request) error {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return httpapi.Errorf(http.StatusBadRequest, "malformed query string: %v", err)
	}
	f, err := parseFilter("", q.Get("provider"), q.Get("status"))
	if err != nil {
		return err
	}
	if f.Search = strings.TrimSpace(q.Get("search")); utf8.RuneCountInString(f.Search) > MaxSearch {
		return httpapi.BadField("search", "must be at most %d characters", MaxSearch)
	}
	limit := DefaultLimit
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxLimit {
			return httpapi.BadField("limit", "must be an integer from 1 to %d, got %q", MaxLimit, s)
		}
		limit = n
	}
	page, err := o.store.List(r.Context(), f, limit, q.Get("cursor"))
	if errors.Is(err, store.ErrBadCursor) {
		return httpapi.BadField("cursor", "is not a cursor this API returned")
	}
	if err != nil {
		return err
	}
	ans := listAnswer{Callbacks: page.Callbacks}
	if ans.Callbacks == nil {
		ans.Callbacks = []store.Callback{}
	}
	if page.NextCursor != "" {
		ans.NextCursor = &page.NextCursor
	}
	httpapi.WriteJSON(w, http.StatusOK, ans)
	return nil
}

// parseFilter reads a provider and a status, either of which may be empty
// (any); prefix names where the fields are in the request ("filter.").
func parseFilter(prefix, provider, status string) (store.Filter, error) {
	f := store.Filter{Provider: provider, Status: store.Status(status)}
	if f.Provider != "" && !slices.Contains(config.ProviderNames, f.Provider) {
		return f, httpapi.BadField(prefix+"provider", "must be one of qris, cinetpay, centili; got %q", f.Provider)
	}
	if f.Status != "" && !slices.Contains(store.Statuses, f.Status) {
		return f, httpapi.BadField(prefix+"status", "must be one of pending, retrying, delivered, rejected, failed; got %q", f.Status)
	}
	return f, nil
}

// detail is a callback with its attempts, an empty list included.
type detail struct {
	*store.Callback
	Attempts []store.Attempt `json:"attempts"`
}

func (o *Operator) show(w http.ResponseWriter, r *http.Request) error {
	cb, err := o.store.Get(r.Context(), r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) {
		return httpapi.Errorf(http.StatusNotFound, "no callback %q (unknown, or older than the retention)", r.PathValue("id"))
	}
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, detail{Callback: cb, Attempts: cb.Attempts})
	return nil
}

func (o *Operator) resend(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	err := o.queue.Resend(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		return httpapi.Errorf(http.StatusNotFound, "no callback %q", id)
	}
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusAccepted, map[string]string{"callback_id": id, "queued": "manual attempt"})
	return nil
}

func (o *Operator) retryNow(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	err := o.queue.RetryNow(r.Context(), id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return httpapi.Errorf(http.StatusNotFound, "no callback %q", id)
	case errors.Is(err, queue.ErrNotScheduled):
		return httpapi.Errorf(http.StatusConflict, "callback %q has no scheduled attempt to run now", id)
	case errors.Is(err, queue.ErrBusy):
		return httpapi.Errorf(http.StatusConflict, "an attempt of callback %q is running; try again in a moment", id)
	case err != nil:
		return err
	}
	httpapi.WriteJSON(w, http.StatusAccepted, map[string]string{"callback_id": id, "queued": "scheduled attempt, now"})
	return nil
}
