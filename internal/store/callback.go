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
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/callbacksim/callbacksim/payloads"
)

// Errors returned by the store.
var (
	// ErrNotFound: no callback or payment with that id (or it expired).
	ErrNotFound = errors.New("store: not found")
	// ErrUnavailable wraps every failure to reach Redis.
	ErrUnavailable = errors.New("store: redis unavailable")
	// ErrExists: a payment with that key already exists.
	ErrExists = errors.New("store: already exists")
	// ErrBadKind: an attempt kind that is not one of the three.
	ErrBadKind = errors.New("store: unknown attempt kind")
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
	ID         string `json:"id"`
	Provider   string `json:"provider"`
	MerchantID string `json:"merchant_id"`
	// Reference is the merchant's own id of the payment it is about: the
	// QRIS order_id, the CinetPay transaction_id, the Centili reference
	// (or clientid).
	Reference string `json:"reference"`
	// TransactionID is the gateway's id of that payment, what a merchant
	// de-duplicates on: QRIS transaction_id, CinetPay cpm_trans_id (its
	// transaction_id again), Centili transactionid. Empty in records made
	// before it was kept.
	TransactionID string     `json:"transaction_id,omitempty"`
	Event         string     `json:"event"` // the status it notifies, e.g. SUCCESS
	Status        Status     `json:"status"`
	Method        string     `json:"method"`
	URL           string     `json:"url"`
	CreatedAt     time.Time  `json:"created_at"`
	UpdatedAt     time.Time  `json:"updated_at"`
	NextAttemptAt *time.Time `json:"next_attempt_at"`
	// CheckID is the handler check run that sent the callback, if any.
	CheckID string `json:"check_id,omitempty"`
	// Variant is how a handler check bends the notification at render
	// time (a forged signature, ...); the zero value: as the gateway sends it.
	Variant payloads.Variant `json:"variant,omitzero"`
	// NoRetry makes the first failed automatic attempt final: the callback
	// fails at once instead of following the provider's retry schedule (a
	// handler check's callbacks, which must not wait for retries).
	NoRetry  bool      `json:"no_retry,omitempty"`
	Attempts []Attempt `json:"attempts,omitempty"`

	// Payload is the provider's notification data, rendered into an HTTP
	// request by package payloads at every attempt.
	Payload json.RawMessage `json:"-"`
	// Tries counts the automatic attempts made so far (manual ones excluded).
	Tries int `json:"-"`
}

// Kind says why an attempt is made.
type Kind uint8

// Attempt kinds.
const (
	// Automatic is the first attempt or a scheduled retry: it uses up one
	// of the provider's tries and follows the retry schedule.
	Automatic Kind = iota
	// Manual is an operator's resend: it never touches the schedule, and
	// changes the status only when it delivers or is rejected.
	Manual
	// Duplicate is an extra copy of a notification (scenario "duplicates"):
	// it changes nothing in the callback.
	Duplicate
)

// kindNames are the kinds as text, in the order of their values.
var kindNames = [...]string{Automatic: "automatic", Manual: "manual", Duplicate: "duplicate"}

// String returns "automatic", "manual" or "duplicate".
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// MarshalText implements encoding.TextMarshaler.
func (k Kind) MarshalText() ([]byte, error) {
	if int(k) >= len(kindNames) {
		return nil, fmt.Errorf("store: %w: %d", ErrBadKind, k)
	}
	return []byte(kindNames[k]), nil
}

// UnmarshalText implements encoding.TextUnmarshaler; it refuses any text
// but the three names.
func (k *Kind) UnmarshalText(b []byte) error {
	for i, name := range kindNames {
		if string(b) == name {
			*k = Kind(i)
			return nil
		}
	}
	return fmt.Errorf("store: %w: %q", ErrBadKind, b)
}

// Attempt is one delivery attempt, as it went over the wire. In JSON its
// Kind is two booleans, manual and duplicate, as the operator API has
// always shown it.
type Attempt struct {
	N          int       `json:"n"`
	At         time.Time `json:"at"`
	DurationMS float64   `json:"duration_ms"`
	Kind       Kind      `json:"-"`
	Outcome    Outcome   `json:"outcome"`
	Ping       *Exchange `json:"ping,omitempty"` // the reachability check sent before the notification (CinetPay)
	Request    Request   `json:"request"`
	Response   *Response `json:"response,omitempty"`
	Error      string    `json:"error,omitempty"`
	Hint       string    `json:"hint,omitempty"`
}

// attemptFields is Attempt without its JSON methods.
type attemptFields Attempt

// attemptJSON is an Attempt as JSON has it; BodyIsPayload is the store's
// own (see encodeAttempt) and never set in an API answer.
type attemptJSON struct {
	attemptFields
	Manual        bool `json:"manual"`
	Duplicate     bool `json:"duplicate,omitempty"` // an extra copy (scenario "duplicates"): changes no status
	BodyIsPayload bool `json:"body_is_payload,omitempty"`
}

func (a Attempt) toJSON() attemptJSON {
	return attemptJSON{attemptFields: attemptFields(a), Manual: a.Kind == Manual, Duplicate: a.Kind == Duplicate}
}

func (j attemptJSON) attempt() Attempt {
	a := Attempt(j.attemptFields)
	switch {
	case j.Duplicate:
		a.Kind = Duplicate
	case j.Manual:
		a.Kind = Manual
	default:
		a.Kind = Automatic
	}
	return a
}

// MarshalJSON implements json.Marshaler.
func (a Attempt) MarshalJSON() ([]byte, error) { return json.Marshal(a.toJSON()) }

// UnmarshalJSON implements json.Unmarshaler.
func (a *Attempt) UnmarshalJSON(b []byte) error {
	var j attemptJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*a = j.attempt()
	return nil
}

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

// Response is an answer as received; Body and Headers are capped, and
// Truncated and HeadersTruncated say when something was left out.
type Response struct {
	Status           int         `json:"status"`
	Headers          http.Header `json:"headers"`
	Body             string      `json:"body"`
	Truncated        bool        `json:"truncated,omitempty"`
	HeadersTruncated bool        `json:"headers_truncated,omitempty"`
}

// Update is what one attempt changes in its callback, as the dispatcher
// decided it: the store records it and decides nothing.
type Update struct {
	Attempt Attempt
	// From is the status the caller loaded; To the status after the
	// attempt (From when it stays). When the stored status is no longer
	// From (a concurrent manual resend), the attempt is still appended but
	// the status is left alone.
	From, To Status
	// KeepNext leaves the next automatic attempt as it is; otherwise Next
	// replaces it (nil: none).
	KeepNext bool
	Next     *time.Time
	// CountsTry says the attempt uses up one of the automatic tries.
	CountsTry bool
}

// Filter selects callbacks in a listing. Zero fields select everything.
type Filter struct {
	Provider string
	Status   Status
	Since    time.Time // created at or after
	Until    time.Time // created before
	// Search selects the callbacks whose id, reference or transaction id
	// contains it, in any letter case.
	Search string
}

// Matches reports whether cb passes f's provider, status and search; the
// listing indexes select by creation time.
func (f Filter) Matches(cb *Callback) bool {
	if (f.Status != "" && cb.Status != f.Status) || (f.Provider != "" && cb.Provider != f.Provider) {
		return false
	}
	if f.Search == "" {
		return true
	}
	q := strings.ToLower(f.Search)
	for _, s := range [...]string{cb.ID, cb.Reference, cb.TransactionID} {
		if strings.Contains(strings.ToLower(s), q) {
			return true
		}
	}
	return false
}

// Page is one page of a listing, newest first.
type Page struct {
	Callbacks  []Callback
	NextCursor string // empty on the last page
}
