// Package store keeps callbacks, their delivery attempts and the simulated
// payments in Redis.
//
// Every key of one callback shares the Redis Cluster hash tag {<id>}, so a
// callback's record and its attempts are written atomically even on a
// cluster. The listing indexes share the tag {idx}.
package store

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"
)

// Errors returned by the store.
var (
	// ErrNotFound: no callback or payment with that id (or it expired).
	ErrNotFound = errors.New("store: not found")
	// ErrUnavailable wraps every failure to reach Redis.
	ErrUnavailable = errors.New("store: redis unavailable")
	// ErrExists: a payment with that key already exists.
	ErrExists = errors.New("store: already exists")
)

// Status is where a callback stands.
type Status string

// Callback statuses, as the API shows them.
const (
	StatusPending   Status = "pending"   // no attempt yet
	StatusRetrying  Status = "retrying"  // failed, another attempt is scheduled
	StatusDelivered Status = "delivered" // a success code came back
	StatusRejected  Status = "rejected"  // a stop code came back
	StatusFailed    Status = "failed"    // retries used up
)

// Statuses lists every status.
var Statuses = []Status{StatusPending, StatusRetrying, StatusDelivered, StatusRejected, StatusFailed}

// Final reports whether no automatic attempt follows a callback in status s.
func (s Status) Final() bool {
	return s == StatusDelivered || s == StatusRejected || s == StatusFailed
}

// Outcome is what one attempt amounted to.
type Outcome string

// Attempt outcomes.
const (
	OutcomeDelivered Outcome = "delivered"
	OutcomeRetry     Outcome = "retry"    // failed; another attempt is scheduled
	OutcomeRejected  Outcome = "rejected" // a stop code
	OutcomeFailed    Outcome = "failed"   // failed, and no automatic attempt follows
)

// Callback is one notification a gateway owes a merchant, with the record of
// its delivery.
type Callback struct {
	ID            string     `json:"id"`
	Provider      string     `json:"provider"`
	MerchantID    string     `json:"merchant_id"`
	Reference     string     `json:"reference"` // the payment it is about: order_id, transaction id
	Event         string     `json:"event"`     // the status it notifies, e.g. SUCCESS
	Status        Status     `json:"status"`
	Method        string     `json:"method"`
	URL           string     `json:"url"`
	CreatedAt     time.Time  `json:"created_at"`
	UpdatedAt     time.Time  `json:"updated_at"`
	NextAttemptAt *time.Time `json:"next_attempt_at"`
	Attempts      []Attempt  `json:"attempts,omitempty"`

	// Payload is the provider's notification data, rendered into an HTTP
	// request by package payloads at every attempt.
	Payload json.RawMessage `json:"-"`
	// Tries counts the automatic attempts made so far (manual ones excluded).
	Tries int `json:"-"`
}

// Attempt is one delivery attempt, as it went over the wire.
type Attempt struct {
	N          int       `json:"n"`
	At         time.Time `json:"at"`
	DurationMS float64   `json:"duration_ms"`
	Manual     bool      `json:"manual"`
	Duplicate  bool      `json:"duplicate,omitempty"` // an extra copy (scenario "duplicates"): changes no status
	Outcome    Outcome   `json:"outcome"`
	Ping       *Exchange `json:"ping,omitempty"` // the reachability check sent before the notification (CinetPay)
	Request    Request   `json:"request"`
	Response   *Response `json:"response,omitempty"`
	Error      string    `json:"error,omitempty"`
	Hint       string    `json:"hint,omitempty"`
}

// Counts reports whether the attempt uses up one of the automatic tries:
// manual resends and duplicates do not.
func (a Attempt) Counts() bool { return !a.Manual && !a.Duplicate }

// Exchange is a request sent within an attempt before the notification
// itself, and what came back.
type Exchange struct {
	Request  Request   `json:"request"`
	Response *Response `json:"response,omitempty"`
	Error    string    `json:"error,omitempty"`
}

// Request is a request as sent.
type Request struct {
	Method  string      `json:"method"`
	URL     string      `json:"url"`
	Headers http.Header `json:"headers"`
	Body    string      `json:"body"`
}

// Response is an answer as received; Body is capped.
type Response struct {
	Status    int         `json:"status"`
	Headers   http.Header `json:"headers"`
	Body      string      `json:"body"`
	Truncated bool        `json:"truncated,omitempty"`
}

// Filter selects callbacks in a listing. Zero fields select everything.
type Filter struct {
	Provider string
	Status   Status
	Since    time.Time // created at or after
	Until    time.Time // created before
}

// Page is one page of a listing, newest first.
type Page struct {
	Callbacks  []Callback
	NextCursor string // empty on the last page
}
