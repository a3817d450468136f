package api

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/callbacksim/callbacksim/internal/curlcmd"
	"github.com/callbacksim/callbacksim/internal/httpapi"
	"github.com/callbacksim/callbacksim/internal/store"
)

// curlAnswer is the body of GET /v1/callbacks/{id}/attempts/{n}/curl.
type curlAnswer struct {
	CallbackID string `json:"callback_id"`
	Attempt    int    `json:"attempt"`
	Curl       string `json:"curl"`
}

// curl answers attempt n of a callback as the curl command that sends its
// request again, byte for byte; ?url= sends it elsewhere (see
// curlcmd.Command).
func (o *Operator) curl(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil || n < 1 {
		return httpapi.BadField("n", "must be an attempt number, 1 or more; got %q", r.PathValue("n"))
	}
	cb, err := o.store.Get(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		return httpapi.Errorf(http.StatusNotFound, "no callback %q (unknown, or older than the retention)", id)
	}
	if err != nil {
		return err
	}
	if n > len(cb.Attempts) {
		return httpapi.Errorf(http.StatusNotFound, "callback %s has %d attempt(s), no attempt %d", id, len(cb.Attempts), n)
	}
	target := r.URL.Query().Get("url")
	line, err := curlcmd.Command(cb.Attempts[n-1].Request, target)
	if errors.Is(err, curlcmd.ErrBadTarget) {
		return httpapi.BadField("url", "must be an absolute http or https URL, got %q", target)
	}
	if err != nil {
		return httpapi.Errorf(http.StatusUnprocessableEntity, "attempt %d of %s cannot be replayed with curl: %v", n, id, err)
	}
	httpapi.WriteJSON(w, http.StatusOK, curlAnswer{CallbackID: id, Attempt: n, Curl: line})
	return nil
}
