// Package check runs the handler checks: a gateway's suite of deliveries
// that tell an integrator whether a merchant's callback handler is ready
// for the real gateway (callbacksim check, POST /v1/checks).
//
// Each check is a real delivery through the normal engine: the check asks
// the gateway for a notification (of a payment the merchant's app created,
// or of one of the check's own), tagged with the run, bent by a variant
// when the check needs it (payloads.Variant: a forged signature, Centili's
// parameters in another order) and never retried; the queue and the
// dispatcher send it and record it like any other callback, and the check
// judges what the store recorded, and for CinetPay whether the handler
// called the verification API. A check that a failed check makes
// meaningless (a forged signature refused by a handler that refuses
// everything) is skipped, so that one bug fails one check.
package check

import (
	"errors"
	"time"
)

// Status is the verdict of one check.
type Status string

// Verdicts.
const (
	Pass Status = "pass"
	Fail Status = "fail"
	Warn Status = "warn" // passed, with a caveat
	Skip Status = "skip" // not run: no suitable payment, or a check it needs did not pass
)

// RunStatus is where a run stands.
type RunStatus string

// Run statuses.
const (
	Running RunStatus = "running"
	Passed  RunStatus = "passed" // finished, and no check failed
	Failed  RunStatus = "failed" // a check failed, or the run could not finish (Run.Error)
)

// Result is the verdict of one check, as the API shows it.
type Result struct {
	Name   string `json:"name"`
	Rule   string `json:"rule"`   // the gateway's rule, quoted briefly
	Source string `json:"source"` // where the rule comes from
	Status Status `json:"status"`
	// Detail says what happened: the answers, and why a check was skipped.
	Detail string `json:"detail"`
	// Hint says how to fix a failure or a warning.
	Hint string `json:"hint,omitempty"`
	// CallbackIDs are the callbacks the check sent, to open in the
	// dashboard.
	CallbackIDs []string `json:"callback_ids"`
}

// Run is one run of a gateway's suite, as the API shows it.
type Run struct {
	ID         string    `json:"id"`
	Provider   string    `json:"provider"`
	URL        string    `json:"url"`
	MerchantID string    `json:"merchant_id"`
	Orders     []string  `json:"orders"`
	Only       []string  `json:"only,omitempty"`
	Status     RunStatus `json:"status"`
	StartedAt  time.Time `json:"started_at"`
	// FinishedAt is null while the run is running.
	FinishedAt *time.Time `json:"finished_at"`
	// UpdatedAt is the run's last sign of life.
	UpdatedAt time.Time `json:"updated_at"`
	// Checks names the checks the run reports, in order; Results holds
	// those finished so far, in the same order.
	Checks []string `json:"checks"`
	// Current is the check in progress, "" when none.
	Current string   `json:"current,omitempty"`
	Results []Result `json:"results"`
	// Error says why the run could not finish, when it could not.
	Error string `json:"error,omitempty"`
}

// Request is the body of POST /v1/checks.
type Request struct {
	Provider   string   `json:"provider"`
	URL        string   `json:"url"`
	MerchantID string   `json:"merchant_id"`
	Orders     []string `json:"orders"`
	Only       []string `json:"only"`
	// VerifyWindow is how long cinetpay.status_verified waits for the
	// handler's call to the verification API after a notification, e.g.
	// "10s" (the default).
	VerifyWindow string `json:"verify_window"`
}

// Limits of a request.
const (
	MaxOrders           = 10
	DefaultVerifyWindow = 10 * time.Second
	MaxVerifyWindow     = time.Minute
)

// ErrNotFound: no run with that id (or it expired).
var ErrNotFound = errors.New("check: no such run")
