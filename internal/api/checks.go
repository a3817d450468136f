package api

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"

	"github.com/callbacksim/callbacksim/internal/check"
	"github.com/callbacksim/callbacksim/internal/httpapi"
)

// Listing limits of GET /v1/checks.
const (
	DefaultCheckLimit = 20
	MaxCheckLimit     = 100
)

// Checks makes the operator API serve the handler checks of r
// (/v1/checks), and returns o.
func (o *Operator) Checks(r *check.Runner) *Operator {
	o.checks = r
	return o
}

func (o *Operator) registerChecks(mux *http.ServeMux) {
	if o.checks == nil {
		return
	}
	mux.HandleFunc("POST /v1/checks", o.authorized(o.startCheck))
	mux.HandleFunc("GET /v1/checks", o.authorized(o.listChecks))
	mux.HandleFunc("GET /v1/checks/{id}", o.authorized(o.showCheck))
}

func (o *Operator) startCheck(w http.ResponseWriter, r *http.Request) error {
	var req check.Request
	if err := httpapi.DecodeJSON(w, r, &req); err != nil {
		return err
	}
	id, err := o.checks.Start(r.Context(), req)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/checks/"+url.PathEscape(id))
	httpapi.WriteJSON(w, http.StatusAccepted, map[string]string{"id": id})
	return nil
}

func (o *Operator) showCheck(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	run, err := o.checks.Get(r.Context(), id)
	if errors.Is(err, check.ErrNotFound) {
		return httpapi.Errorf(http.StatusNotFound, "no check run %q (unknown, or older than the retention)", id)
	}
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, run)
	return nil
}

// checksAnswer is the body of GET /v1/checks.
type checksAnswer struct {
	Checks []check.Run `json:"checks"`
}

func (o *Operator) listChecks(w http.ResponseWriter, r *http.Request) error {
	limit := DefaultCheckLimit
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxCheckLimit {
			return httpapi.BadField("limit", "must be an integer from 1 to %d, got %q", MaxCheckLimit, s)
		}
		limit = n
	}
	runs, err := o.checks.List(r.Context(), limit)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, checksAnswer{Checks: runs})
	return nil
}
