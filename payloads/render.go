package payloads

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"
)

// CallbackIDHeader carries the callback id on every request of every
// attempt, so that merchants can de-duplicate.
const CallbackIDHeader = "X-Callback-Id"

// UserAgent is sent on every request.
const UserAgent = "callbacksim/1"

// ErrBadPayload: a stored notification that its renderer cannot read.
var ErrBadPayload = errors.New("payloads: unreadable notification payload")

// Notification is what a Renderer turns into requests: one stored callback,
// at the time of one attempt.
type Notification struct {
	ID      string          // the callback id
	URL     string          // where it goes
	Payload json.RawMessage // the gateway's data, as its builder stored it
	At      time.Time       // when this attempt starts (per-attempt signatures use it)
}

// Request is one HTTP request of an attempt.
type Request struct {
	Method string
	URL    string
	Header http.Header
	Body   []byte
}

// Renderer builds the HTTP requests of one attempt, in the order they are
// sent. The last request's answer decides the attempt's outcome; earlier
// ones (CinetPay's GET ping) are recorded but decide nothing.
type Renderer interface {
	Render(n Notification) ([]Request, error)
}

// baseHeader holds the headers every request carries.
func baseHeader(id string) http.Header {
	return http.Header{
		CallbackIDHeader: {id},
		"User-Agent":     {UserAgent},
	}
}
