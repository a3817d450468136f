package gateway

import (
	"github.com/callbacksim/callbacksim/internal/store"
	"github.com/callbacksim/callbacksim/payloads"
)

// CheckDelivery is how a notification that a handler check asks of a
// gateway goes out: to the handler under test, tagged with the check run,
// bent by its variant, and never retried (a check never waits for the
// gateway's retry schedule). The zero value leaves a callback as the
// gateway makes it.
type CheckDelivery struct {
	URL     string // the handler under test; "" keeps the payment's own URL
	CheckID string
	Variant payloads.Variant
}

// Apply tags cb with d; the zero CheckDelivery changes nothing.
func (d CheckDelivery) Apply(cb *store.Callback) {
	if d == (CheckDelivery{}) {
		return
	}
	if d.URL != "" {
		cb.URL = d.URL
	}
	cb.CheckID, cb.Variant, cb.NoRetry = d.CheckID, d.Variant, true
}
