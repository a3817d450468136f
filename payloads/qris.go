package payloads

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
)

// QRISCallback is the JSON body of a QRIS gateway callback (PROVIDERS.md §1).
type QRISCallback struct {
	OrderID       string `json:"order_id"`
	TransactionID string `json:"transaction_id"`
	Status        string `json:"status"` // SUCCESS or FAILED
	Amount        int64  `json:"amount"`
	Currency      string `json:"currency"`       // IDR
	PaymentMethod string `json:"payment_method"` // QRIS, VA, ...
	CustomerName  string `json:"customer_name"`
	CustomerEmail string `json:"customer_email"`
	CustomerPhone string `json:"customer_phone"`
	Timestamp     string `json:"timestamp"` // RFC 3339 UTC, seconds
	Description   string `json:"description"`
}

// QRIS signing modes.
const (
	QRISSigningHMAC             = "hmac-sha256"
	QRISSigningStandardWebhooks = "standard-webhooks"
)

// QRISRenderer renders QRIS callbacks: a JSON POST of the stored body. With
// a Secret, the body is signed: an X-Callback-Signature HMAC-SHA256 of the
// raw body (Signing "hmac-sha256" or empty), or the Standard Webhooks headers
// (Signing "standard-webhooks", Secret written whsec_<base64>).
type QRISRenderer struct {
	Secret  string
	Signing string
}

var _ Renderer = QRISRenderer{}

// Render implements Renderer. The payload is the JSON body, sent byte for
// byte as stored, so every attempt carries the same body. A forged variant
// carries a signature that does not verify.
func (r QRISRenderer) Render(n Notification) ([]Request, error) {
	if !json.Valid(n.Payload) {
		return nil, fmt.Errorf("qris callback %s: %w", n.ID, ErrBadPayload)
	}
	h := baseHeader()
	h.Set("Content-Type", "application/json")
	if r.Secret != "" {
		if err := r.sign(h, n); err != nil {
			return nil, err
		}
	}
	return []Request{{Method: http.MethodPost, URL: n.URL, Header: h, Body: n.Payload}}, nil
}

func (r QRISRenderer) sign(h http.Header, n Notification) error {
	if r.Signing != QRISSigningStandardWebhooks {
		sig := BodySignature(r.Secret, n.Payload)
		if n.Variant.Forged {
			sig = forge(sig)
		}
		h.Set(SignatureHeader, sig)
		return nil
	}
	ts := n.At.Unix()
	sig, err := StandardWebhookSignature(r.Secret, n.ID, ts, n.Payload)
	if err != nil {
		return fmt.Errorf("qris callback %s: %w", n.ID, err)
	}
	if n.Variant.Forged {
		sig = forge(sig)
	}
	h.Set(WebhookIDHeader, n.ID)
	h.Set(WebhookTimestampHeader, strconv.FormatInt(ts, 10))
	h.Set(WebhookSignatureHeader, sig)
	return nil
}
