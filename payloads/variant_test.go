package payloads_test

import (
	"errors"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/callbacksim/callbacksim/payloads"
)

func TestVariantText(t *testing.T) {
	tests := []struct {
		text string
		want payloads.Variant
	}{
		{"", payloads.Variant{}},
		{"forged", payloads.Variant{Forged: true}},
		{"sorted", payloads.Variant{Order: payloads.OrderSorted}},
		{"forged+sorted", payloads.Variant{Forged: true, Order: payloads.OrderSorted}},
	}
	for _, tt := range tests {
		got, err := payloads.ParseVariant(tt.text)
		if err != nil || got != tt.want {
			t.Errorf("ParseVariant(%q) = %+v, %v; want %+v", tt.text, got, err, tt.want)
		}
		if s := tt.want.String(); s != tt.text {
			t.Errorf("%+v.String() = %q, want %q", tt.want, s, tt.text)
		}
		if tt.want.IsZero() != (tt.text == "") {
			t.Errorf("%+v.IsZero() = %v", tt.want, tt.want.IsZero())
		}
	}
	for _, bad := range []string{"forge", "forged+forged", "sorted+sorted", "reversed", "+", "forged+", "FORGED"} {
		if _, err := payloads.ParseVariant(bad); !errors.Is(err, payloads.ErrBadVariant) {
			t.Errorf("ParseVariant(%q) error = %v, want ErrBadVariant", bad, err)
		}
	}
}

// A forged variant carries a signature of the right form that the
// merchant's verification refuses, on every signed gateway; the plain one
// verifies.
func TestForgedVariantDoesNotVerify(t *testing.T) {
	at := time.Date(2024, 1, 20, 10, 30, 45, 0, time.UTC)
	qrisBody := []byte(`{"order_id":"ORDER-1","status":"SUCCESS"}`)
	const whsec = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	cinetpay := payloads.CinetPayFields{SiteID: "445160", TransID: "TX1", Amount: "100", ErrorMessage: "SUCCES"}
	centili := map[string]string{"status": "success", "transactionid": "t1", "reference": "r1"}
	tests := []struct {
		name     string
		renderer payloads.Renderer
		payload  []byte
		verify   func(t *testing.T, r payloads.Request) bool
	}{
		{"qris hmac", payloads.QRISRenderer{Secret: "s3cret"}, qrisBody, func(t *testing.T, r payloads.Request) bool {
			sig := r.Header.Get(payloads.SignatureHeader)
			if len(sig) != 64 {
				t.Errorf("forged signature %q is not 64 hex digits", sig)
			}
			return payloads.VerifyBodySignature("s3cret", r.Body, sig)
		}},
		{"qris standard webhooks", payloads.QRISRenderer{Secret: whsec, Signing: payloads.QRISSigningStandardWebhooks}, qrisBody,
			func(t *testing.T, r payloads.Request) bool {
				if !strings.HasPrefix(r.Header.Get(payloads.WebhookSignatureHeader), "v1,") {
					t.Errorf("webhook-signature %q lost its v1, prefix", r.Header.Get(payloads.WebhookSignatureHeader))
				}
				return payloads.VerifyStandardWebhook(whsec, r.Header, r.Body, at, time.Minute) == nil
			}},
		{"cinetpay", payloads.CinetPayRenderer{SecretKey: "mysecret"}, mustJSON(t, payloads.CinetPayNotification{Fields: cinetpay}),
			func(t *testing.T, r payloads.Request) bool {
				form, err := url.ParseQuery(string(r.Body))
				if err != nil {
					t.Fatal(err)
				}
				return payloads.VerifyCinetPayXToken("mysecret", form, r.Header.Get(payloads.CinetPayTokenHeader))
			}},
		{"centili", payloads.CentiliRenderer{SignatureKey: "k"}, mustJSON(t, payloads.CentiliNotification{Params: centili}),
			func(t *testing.T, r payloads.Request) bool {
				u, err := url.Parse(r.URL)
				if err != nil {
					t.Fatal(err)
				}
				return payloads.VerifyCentiliSign("k", payloads.SignSHA1, u.Query())
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, forged := range []bool{false, true} {
				n := payloads.Notification{ID: "cb_1", URL: "http://m.example/cb", Payload: tt.payload, At: at,
					Variant: payloads.Variant{Forged: forged}}
				reqs, err := tt.renderer.Render(n)
				if err != nil {
					t.Fatalf("Render: %v", err)
				}
				if got := tt.verify(t, reqs[len(reqs)-1]); got == forged {
					t.Errorf("forged=%v: the merchant's verification says %v", forged, got)
				}
			}
		})
	}
}

// The sorted order puts Centili's parameters in name order, sign last and
// still valid; the zero order is Centili's own, sign in its place.
func TestCentiliParameterOrder(t *testing.T) {
	params := map[string]string{"amount": "1", "country": "fr", "reference": "r1", "status": "success", "transactionid": "t1"}
	for _, tt := range []struct {
		order payloads.ParamOrder
		want  []string
	}{
		{payloads.OrderSorted, []string{"amount", "country", "reference", "status", "transactionid", "sign"}},
		{"", []string{"transactionid", "country", "amount", "status", "reference", "sign"}},
	} {
		n := payloads.Notification{ID: "cb_1", URL: "http://m.example/centili",
			Payload: mustJSON(t, payloads.CentiliNotification{Params: params}), Variant: payloads.Variant{Order: tt.order}}
		reqs, err := payloads.CentiliRenderer{SignatureKey: "k"}.Render(n)
		if err != nil {
			t.Fatalf("Render: %v", err)
		}
		u, err := url.Parse(reqs[0].URL)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for pair := range strings.SplitSeq(u.RawQuery, "&") {
			name, _, _ := strings.Cut(pair, "=")
			names = append(names, name)
		}
		if !slices.Equal(names, tt.want) {
			t.Errorf("order %s: parameters %v, want %v", tt.order, names, tt.want)
		}
		if !payloads.VerifyCentiliSign("k", payloads.SignSHA1, u.Query()) {
			t.Errorf("order %s: sign does not verify", tt.order)
		}
	}
}
