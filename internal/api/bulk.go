package api

import (
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/callbacksim/callbacksim/internal/httpapi"
	"github.com/callbacksim/callbacksim/internal/store"
)

// MaxBulkIDs is the most ids one POST /v1/callbacks/resend takes; a filter
// has no limit.
const MaxBulkIDs = 10_000

// bulkResendRequest is the body of POST /v1/callbacks/resend: ids, or a
// filter.
type bulkResendRequest struct {
	IDs    []string    `json:"ids"`
	Filter *bulkFilter `json:"filter"`
}

// bulkFilter selects callbacks; every field is optional.
type bulkFilter struct {
	Provider string `json:"provider"`
	Status   string `json:"status"`
	Since    string `json:"since"` // RFC 3339, compared with created_at (inclusive)
	Until    string `json:"until"` // RFC 3339, compared with created_at (exclusive)
}

// bulkResendAnswer is the body of its 202.
type bulkResendAnswer struct {
	Queued   int      `json:"queued"`
	NotFound []string `json:"not_found,omitempty"` // ids that are unknown or expired
}

func (o *Operator) resendBulk(w http.ResponseWriter, r *http.Request) error {
	var req bulkResendRequest
	if err := httpapi.DecodeJSON(w, r, &req); err != nil {
		return err
	}
	switch {
	case req.IDs == nil && req.Filter == nil:
		return httpapi.BadField("ids", `send "ids" (a list of callback ids) or "filter" ({"provider", "status", "since", "until"})`)
	case req.IDs != nil && req.Filter != nil:
		return httpapi.BadField("filter", `send "ids" or "filter", not both`)
	case req.Filter != nil:
		f, err := req.Filter.parse()
		if err != nil {
			return err
		}
		n, err := o.queue.ResendMatching(r.Context(), f)
		if err != nil {
			return err
		}
		httpapi.WriteJSON(w, http.StatusAccepted, bulkResendAnswer{Queued: n})
		return nil
	}
	if err := validateIDs(req.IDs); err != nil {
		return err
	}
	n, missing, err := o.queue.ResendIDs(r.Context(), req.IDs)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusAccepted, bulkResendAnswer{Queued: n, NotFound: missing})
	return nil
}

func validateIDs(ids []string) error {
	if len(ids) == 0 {
		return httpapi.BadField("ids", "must hold at least one callback id")
	}
	if len(ids) > MaxBulkIDs {
		return httpapi.BadField("ids", "holds %d ids; at most %d per request (use a filter for more)", len(ids), MaxBulkIDs)
	}
	for i, id := range ids {
		if id == "" || len(id) > 64 || !utf8.ValidString(id) ||
			strings.ContainsFunc(id, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
			return httpapi.BadField("ids["+strconv.Itoa(i)+"]", "must be a callback id such as cb_..., got %q", id)
		}
	}
	return nil
}

func (f bulkFilter) parse() (store.Filter, error) {
	out, err := parseFilter("filter.", f.Provider, f.Status)
	if err != nil {
		return out, err
	}
	for _, t := range []struct {
		field, value string
		into         *time.Time
	}{{"filter.since", f.Since, &out.Since}, {"filter.until", f.Until, &out.Until}} {
		if t.value == "" {
			continue
		}
		v, err := time.Parse(time.RFC3339Nano, t.value)
		if err != nil {
			return out, httpapi.BadField(t.field, "must be an RFC 3339 time such as 2024-01-20T10:30:45Z, got %q", t.value)
		}
		*t.into = v
	}
	if !out.Since.IsZero() && !out.Until.IsZero() && !out.Until.After(out.Since) {
		return out, httpapi.BadField("filter.until", "must be after filter.since")
	}
	return out, nil
}
