// Package gateway holds what the simulated gateways (qris, cinetpay,
// centili) share: the optional "scenario" object of their simulate
// endpoints, the awkward cases QA engineers provoke on purpose.
package gateway

import (
	"encoding/json"
	"time"

	"github.com/callbacksim/callbacksim/internal/httpapi"
	"github.com/callbacksim/callbacksim/internal/queue"
	"github.com/callbacksim/callbacksim/scheduler"
)

// Limits of a scenario.
const (
	MaxDelay      = 24 * time.Hour
	MaxDuplicates = 10
)

// Spacing of out-of-order notifications: SequenceGap (before time_scale)
// separates the first attempts of a payment's successive notifications, and
// never less than MinSequenceGap, so that they reach the merchant in the
// intended order even at a tiny time scale.
const (
	SequenceGap    = 2 * time.Second
	MinSequenceGap = 100 * time.Millisecond
)

// Scenario is {"delay": "30s", "duplicates": 2, "out_of_order": true,
// "shuffle_params": true}. The zero value is a plain, prompt, single
// notification.
type Scenario struct {
	// Delay holds the first attempt back (before time_scale).
	Delay Duration `json:"delay"`
	// Duplicates sends the same notification this many extra times: the
	// same body, the same gateway ids.
	Duplicates int `json:"duplicates"`
	// OutOfOrder delivers a payment's successive notifications in reverse.
	OutOfOrder bool `json:"out_of_order"`
	// ShuffleParams sends a query's parameters in a random order instead
	// of the gateway's (Centili), the same on every attempt.
	ShuffleParams bool `json:"shuffle_params"`
}

// Accepts says which scenario options beyond delay and duplicates a
// gateway takes.
type Accepts struct {
	// OutOfOrder: the gateway sends several notifications per payment
	// (CinetPay's WAITING_FOR_CUSTOMER before the final status).
	OutOfOrder bool
	// ShuffleParams: the gateway sends its data as query parameters
	// (Centili).
	ShuffleParams bool
}

// Duration is a time.Duration written as a Go duration string ("30s").
type Duration time.Duration

// UnmarshalJSON reads "30s" (or a number of seconds).
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		var secs float64
		if err := json.Unmarshal(b, &secs); err != nil {
			return httpapi.BadField("scenario.delay", `must be a duration such as "30s"`)
		}
		*d = Duration(secs * float64(time.Second))
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return httpapi.BadField("scenario.delay", `must be a duration such as "30s", got %q`, s)
	}
	*d = Duration(v)
	return nil
}

// MarshalJSON writes the duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// Validate checks the limits.
func (s Scenario) Validate() error {
	if s.Delay < 0 || time.Duration(s.Delay) > MaxDelay {
		return httpapi.BadField("scenario.delay", "must be between 0s and %s", MaxDelay)
	}
	if s.Duplicates < 0 || s.Duplicates > MaxDuplicates {
		return httpapi.BadField("scenario.duplicates", "must be between 0 and %d", MaxDuplicates)
	}
	return nil
}

// HeldFor is the wait before the first attempt under time scale.
func (s Scenario) HeldFor(scale float64) time.Duration {
	return scheduler.Scale(time.Duration(s.Delay), scale)
}

// ValidateFor is Validate for a gateway that takes what a says.
// out_of_order is refused with a 400 naming scenario.out_of_order on a
// gateway that sends one notification per payment (QRIS, Centili): there
// is no order to reverse; shuffle_params likewise on a gateway whose data
// is not a query (QRIS, CinetPay).
func (s Scenario) ValidateFor(a Accepts) error {
	if err := s.Validate(); err != nil {
		return err
	}
	if s.OutOfOrder && !a.OutOfOrder {
		return httpapi.BadField("scenario.out_of_order",
			"applies to gateways that send several notifications per payment (CinetPay); this one sends one notification per payment")
	}
	if s.ShuffleParams && !a.ShuffleParams {
		return httpapi.BadField("scenario.shuffle_params",
			"applies to gateways that send their data as query parameters (Centili)")
	}
	return nil
}

// Plan is how the notifications of one simulate call are queued under time
// scale: see queue.SubmitSequence.
func (s Scenario) Plan(scale float64) queue.Plan {
	return queue.Plan{
		Hold:       s.HeldFor(scale),
		Duplicates: s.Duplicates,
		OutOfOrder: s.OutOfOrder,
		Gap:        max(scheduler.Scale(SequenceGap, scale), MinSequenceGap),
	}
}
