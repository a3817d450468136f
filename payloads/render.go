package payloads

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"
)

// CallbackIDHeader carries the callback id when the operator turns tracing
// on (TraceCallbackID). No gateway sends it: a merchant that de-duplicates
// on it de-duplicates nothing in production, so merchants key on the
// gateway's own ids (QRIS transaction_id, CinetPay cpm_trans_id, Centili
// transactionid).
const CallbackIDHeader = "X-Callback-Id"

// UserAgent is the User-Agent of every request. None of the three gateways
// documents its own, so the simulator sends the one Go's net/http client
// sends when none is set: a plain HTTP library's, like the Guzzle, axios or
// Java clients gateways are built on, which neither names callbacksim nor
// pretends to be a gateway. It is set explicitly so that the recorded
// request holds exactly what went out.
const UserAgent = "Go-http-client/1.1"

// ErrBadPayload: a stored notification that its renderer cannot read.
var ErrBadPayload = errors.New("payloads: unreadable notification payload")

// Notification is what a Renderer turns into requests: one stored callback,
// at the time of one attempt.
type Notification struct {
	ID      string          // the callback id
	URL     string          // where it goes
	Payload json.RawMessage // the gateway's data, as its builder stored it
	At      time.Time       // when this attempt starts (per-attempt signatures use it)
	Variant Variant         // how a handler check bends it; the zero value: as the gateway sends it
}

// Request is one HTTP request of an attempt. Header holds every header the
// gateway sends (Host and Content-Length aside, which net/http writes).
type Request struct {
	Method string
	URL    string
	Header http.Header
	Body   []byte
	// Probe is set on a request whose answer decides nothing but that the
	// gateway still wants answered 200 (CinetPay's GET ping); nil on the
	// notification itself.
	Probe *Probe
}

// Probe names a reachability check, for the hint of an attempt whose check
// was not answered 200: "your <Target> answered 404 to <Name>".
type Probe struct {
	Target string // what the merchant calls the URL, e.g. "notify_url"
	Name   string // what the check is, e.g. "CinetPay's GET check"
}

// Renderer builds the HTTP requests of one attempt, in the order they are
// sent. The last request's answer decides the attempt's outcome; earlier
// ones (CinetPay's GET ping) are recorded but decide nothing.
type Renderer interface {
	Render(n Notification) ([]Request, error)
}

// baseHeader holds the headers every request carries.
func baseHeader() http.Header {
	return http.Header{"User-Agent": {UserAgent}}
}

// TraceCallbackID returns r with CallbackIDHeader added to every request it
// renders, carrying the callback id: the opt-in tracing header of config
// key delivery.callback_id_header. It is not sent by the real gateways.
func TraceCallbackID(r Renderer) Renderer { return traced{r} }

type traced struct{ Renderer }

// Render implements Renderer.
func (t traced) Render(n Notification) ([]Request, error) {
	reqs, err := t.Renderer.Render(n)
	for i := range reqs {
		reqs[i].Header.Set(CallbackIDHeader, n.ID)
	}
	return reqs, err
}
