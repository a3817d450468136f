package payloads_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/callbacksim/callbacksim/payloads"
)

// FuzzBodySignature checks that a body signature verifies (in either
// letter case) under its secret only, and not for another body.
func FuzzBodySignature(f *testing.F) {
	f.Add("secret", []byte(`{"order_id":"ORDER-1"}`))
	f.Add("", []byte{})
	f.Add("k\x00\xff", []byte("\x00"))
	f.Fuzz(func(t *testing.T, secret string, body []byte) {
		sig := payloads.BodySignature(secret, body)
		if len(sig) != 64 || strings.ToLower(sig) != sig {
			t.Fatalf("BodySignature = %q, want 64 lowercase hex digits", sig)
		}
		if !payloads.VerifyBodySignature(secret, body, sig) || !payloads.VerifyBodySignature(secret, body, strings.ToUpper(sig)) {
			t.Fatal("a fresh signature does not verify")
		}
		if payloads.VerifyBodySignature(secret+"x", body, sig) {
			t.Fatal("the signature verifies under another secret")
		}
		if payloads.VerifyBodySignature(secret, append(body, 'x'), sig) {
			t.Fatal("the signature verifies for another body")
		}
		if payloads.VerifyBodySignature(secret, body, sig[:63]) || payloads.VerifyBodySignature(secret, body, "") {
			t.Fatal("a cut signature verifies")
		}
	})
}

// FuzzQRISRender renders any stored payload with any secret: invalid JSON
// is refused with ErrBadPayload; anything else is sent byte for byte with
// the callback id and a signature that verifies.
func FuzzQRISRender(f *testing.F) {
	f.Add("shop-secret", false, "cb_1", []byte(`{"order_id":"ORDER-1","status":"SUCCESS"}`), int64(1705747200))
	f.Add("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", true, "cb_2", []byte(`{}`), int64(0))
	f.Add("", false, "", []byte(`not json`), int64(-1))
	f.Add("whsec_!!", true, "cb\n3", []byte(`[1]`), int64(1<<40))
	f.Fuzz(func(t *testing.T, secret string, standard bool, id string, payload []byte, at int64) {
		r := payloads.QRISRenderer{Secret: secret, Signing: payloads.QRISSigningHMAC}
		if standard {
			r.Signing = payloads.QRISSigningStandardWebhooks
		}
		reqs, err := r.Render(payloads.Notification{ID: id, URL: "http://shop.example/cb", Payload: payload, At: time.Unix(at, 0)})
		if !json.Valid(payload) {
			if !errors.Is(err, payloads.ErrBadPayload) {
				t.Fatalf("Render(invalid JSON) = %v, want ErrBadPayload", err)
			}
			return
		}
		if standard && secret != "" {
			if _, decErr := payloads.DecodeWebhookSecret(secret); decErr != nil {
				if err == nil {
					t.Fatalf("Render with an undecodable secret %q succeeded", secret)
				}
				return
			}
		}
		if err != nil || len(reqs) != 1 {
			t.Fatalf("Render = %d requests, %v", len(reqs), err)
		}
		req := reqs[0]
		if string(req.Body) != string(payload) || req.Header.Get(payloads.CallbackIDHeader) != "" {
			t.Fatalf("rendered body %q, X-Callback-Id %q; want the payload as stored and no callback id (no gateway sends one)", req.Body, req.Header.Get(payloads.CallbackIDHeader))
		}
		switch {
		case secret == "":
			if req.Header.Get(payloads.SignatureHeader) != "" || req.Header.Get(payloads.WebhookSignatureHeader) != "" {
				t.Fatal("an unsigned merchant's callback carries a signature")
			}
		case !standard:
			if !payloads.VerifyBodySignature(secret, req.Body, req.Header.Get(payloads.SignatureHeader)) {
				t.Fatal("X-Callback-Signature does not verify")
			}
		default:
			if id == "" {
				return
			}
			if err := payloads.VerifyStandardWebhook(secret, req.Header, req.Body, time.Unix(at, 0), time.Minute); err != nil {
				t.Fatalf("Standard Webhooks signature does not verify: %v", err)
			}
		}
	})
}
