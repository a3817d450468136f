package payloads

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The headers of the Standard Webhooks scheme (https://www.standardwebhooks.com).
const (
	// WebhookIDHeader carries the message id, the same on every retry, which
	// the merchant can use as an idempotency key.
	WebhookIDHeader = "webhook-id"
	// WebhookTimestampHeader carries the unix time, in seconds, of the attempt.
	WebhookTimestampHeader = "webhook-timestamp"
	// WebhookSignatureHeader carries one or more space-separated signatures,
	// each "v1," followed by a standard base64 HMAC-SHA256.
	WebhookSignatureHeader = "webhook-signature"
)

// webhookSignaturePrefix is the version tag of an HMAC-SHA256 signature.
const webhookSignaturePrefix = "v1,"

var (
	// ErrBadWebhookSecret is returned (possibly wrapped) for a Standard
	// Webhooks secret that is not "whsec_" followed by the standard base64 of
	// a non-empty key.
	ErrBadWebhookSecret = errors.New("payloads: webhook secret must be whsec_<base64>")
	// ErrWebhookTimestamp is returned (wrapped) by VerifyStandardWebhook for a
	// missing or malformed timestamp header, or a timestamp outside tolerance.
	ErrWebhookTimestamp = errors.New("payloads: webhook timestamp missing or outside tolerance")
	// ErrWebhookSignature is returned (possibly wrapped) by
	// VerifyStandardWebhook when the id or signature header is missing or no
	// signature matches.
	ErrWebhookSignature = errors.New("payloads: no matching webhook signature")
)

// DecodeWebhookSecret returns the HMAC key of a Standard Webhooks secret,
// written "whsec_" followed by the standard base64 of the key. A missing
// prefix, bad base64 or an empty key gives an error wrapping
// ErrBadWebhookSecret; the error never contains the secret.
func DecodeWebhookSecret(secret string) ([]byte, error) {
	encoded, ok := strings.CutPrefix(secret, "whsec_")
	if !ok {
		return nil, fmt.Errorf("%w: missing whsec_ prefix", ErrBadWebhookSecret)
	}
	key, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadWebhookSecret, err)
	}
	if len(key) == 0 {
		return nil, fmt.Errorf("%w: empty key", ErrBadWebhookSecret)
	}
	return key, nil
}

// StandardWebhookSignature returns the webhook-signature header of one
// attempt: "v1," followed by the standard base64 HMAC-SHA256, keyed with the
// decoded secret, of "<id>.<timestamp>.<body>", body exactly as sent. It
// fails only for a bad secret (see DecodeWebhookSecret).
func StandardWebhookSignature(secret, id string, timestamp int64, body []byte) (string, error) {
	key, err := DecodeWebhookSecret(secret)
	if err != nil {
		return "", err
	}
	mac := webhookMAC(key, id, strconv.FormatInt(timestamp, 10), body)
	return webhookSignaturePrefix + base64.StdEncoding.EncodeToString(mac), nil
}

func webhookMAC(key []byte, id, timestamp string, body []byte) []byte {
	m := hmac.New(sha256.New, key)
	io.WriteString(m, id) // a hash.Hash never returns an error
	io.WriteString(m, ".")
	io.WriteString(m, timestamp)
	io.WriteString(m, ".")
	m.Write(body)
	return m.Sum(nil)
}

// VerifyStandardWebhook checks a Standard Webhooks message as a merchant
// would: the webhook-timestamp header must be within tolerance of now, in
// either direction (the scheme recommends 5 minutes; a zero tolerance accepts
// only the current second), and at least one of the space-separated "v1,"
// signatures of webhook-signature must match id, timestamp and body.
// Signatures of other versions are ignored. Headers are read with
// http.Header.Get, so h must hold them under canonical keys (as set by
// http.Header.Set or a server).
//
// The error wraps ErrBadWebhookSecret, ErrWebhookTimestamp or
// ErrWebhookSignature; it is nil only for an authentic, fresh message.
func VerifyStandardWebhook(secret string, h http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	key, err := DecodeWebhookSecret(secret)
	if err != nil {
		return err
	}
	id := h.Get(WebhookIDHeader)
	if id == "" {
		return fmt.Errorf("%w: missing %s header", ErrWebhookSignature, WebhookIDHeader)
	}
	ts := h.Get(WebhookTimestampHeader)
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: bad %s header: %w", ErrWebhookTimestamp, WebhookTimestampHeader, err)
	}
	// time.Time.Sub saturates, so an absurd timestamp cannot overflow.
	if age := now.Sub(time.Unix(sec, 0)); age > tolerance || age < -tolerance {
		return fmt.Errorf("%w: %s is %v from now, tolerance %v", ErrWebhookTimestamp, WebhookTimestampHeader, age, tolerance)
	}
	sigs := h.Get(WebhookSignatureHeader)
	if sigs == "" {
		return fmt.Errorf("%w: missing %s header", ErrWebhookSignature, WebhookSignatureHeader)
	}
	want := webhookMAC(key, id, ts, body)
	for _, sig := range strings.Fields(sigs) {
		encoded, ok := strings.CutPrefix(sig, webhookSignaturePrefix)
		if !ok {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(encoded)
		if err == nil && hmac.Equal(want, got) {
			return nil
		}
	}
	return ErrWebhookSignature
}
