package payloads_test

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/callbacksim/callbacksim/payloads"
)

// FuzzCinetPayXToken checks, for any form and secret, that the fields
// survive Form and Encode, and that the x-token verifies against the
// original form, the rendered form and the encoded body, and not under
// another secret.
func FuzzCinetPayXToken(f *testing.F) {
	f.Add(cinetPayVectorKey, cinetPayVectorFields().Encode())
	f.Add("", "")
	f.Add("k", "cpm_custom=%7B%22a%22%3A1%7D&cpm_amount=1&cpm_amount=2&extra=x")
	f.Add("k\x00", "cpm_designation=Caf%C3%A9+%FF&signature=")
	f.Fuzz(func(t *testing.T, secret, rawForm string) {
		form, err := url.ParseQuery(rawForm)
		if err != nil {
			return // not a form: nothing to check
		}
		fields := payloads.CinetPayFieldsFromForm(form)
		if got := payloads.CinetPayFieldsFromForm(fields.Form()); got != fields {
			t.Fatalf("CinetPayFieldsFromForm(Form()) mismatch (-want +got):\n-%+v\n+%+v", fields, got)
		}
		encoded, err := url.ParseQuery(fields.Encode())
		if err != nil {
			t.Fatalf("ParseQuery(Encode()): %v", err)
		}
		if got := payloads.CinetPayFieldsFromForm(encoded); got != fields {
			t.Fatalf("CinetPayFieldsFromForm(ParseQuery(Encode())) mismatch (-want +got):\n-%+v\n+%+v", fields, got)
		}
		token := fields.XToken(secret)
		for name, v := range map[string]url.Values{"original": form, "Form": fields.Form(), "Encode": encoded} {
			if !payloads.VerifyCinetPayXToken(secret, v, token) {
				t.Errorf("VerifyCinetPayXToken(%s form) = false, want true", name)
			}
		}
		if payloads.VerifyCinetPayXToken(secret+"x", form, token) {
			t.Error("VerifyCinetPayXToken(other secret) = true, want false")
		}
	})
}

// FuzzCentiliSign checks, for any parameters, key and algorithm, that the
// sign verifies once sent through CentiliQuery and parsed back, that an
// incoming sign does not change it, and that another key does not verify.
func FuzzCentiliSign(f *testing.F) {
	algs := []payloads.SignAlgorithm{payloads.SignSHA1, payloads.SignSHA256, payloads.SignMD5, ""}
	f.Add(centiliVectorKey, uint8(0), payloads.CentiliQuery(centiliVectorParams(), centiliVectorSign))
	f.Add("", uint8(1), "")
	f.Add("k", uint8(2), "b=2&b=1&a=&sign=x&sign=y")
	f.Add("k", uint8(3), "=v&%FF=%00&errormessage=NOT+ENOUGH%26CREDIT")
	f.Fuzz(func(t *testing.T, key string, algIndex uint8, rawQuery string) {
		params, err := url.ParseQuery(rawQuery)
		if err != nil {
			return // not a form: nothing to check
		}
		alg := algs[int(algIndex)%len(algs)]
		sign, err := payloads.CentiliSign(key, alg, params)
		if err != nil {
			t.Fatalf("CentiliSign(%q): %v", alg, err)
		}
		params.Set("sign", "forged")
		if again, err := payloads.CentiliSign(key, alg, params); err != nil || again != sign {
			t.Fatalf("CentiliSign with a sign parameter = %q, %v; want %q (sign excluded)", again, err, sign)
		}
		query, err := url.ParseQuery(payloads.CentiliQuery(params, sign))
		if err != nil {
			t.Fatalf("ParseQuery(CentiliQuery()): %v", err)
		}
		if !payloads.VerifyCentiliSign(key, alg, query) {
			t.Errorf("VerifyCentiliSign(CentiliQuery()) = false, want true")
		}
		if payloads.VerifyCentiliSign(key+"x", alg, query) {
			t.Errorf("VerifyCentiliSign(other key) = true, want false")
		}
	})
}

// FuzzVerifyStandardWebhook feeds arbitrary secrets and headers to the
// decoder and the verifier, which must never panic and must fail only with
// the package's errors; when the secret decodes, a fresh signature of the
// same message must verify.
func FuzzVerifyStandardWebhook(f *testing.F) {
	f.Add(webhookVectorSecret, webhookVectorID, "1614265330", webhookVectorSignature, []byte(webhookVectorBody), int64(webhookVectorTimestamp))
	f.Add("whsec_", "", "", "", []byte{}, int64(0))
	f.Add("whsec_AA==", "id", "-9223372036854775808", "v1, v1,=== v2,x", []byte("\x00"), int64(-1))
	f.Add("whsec_!", "id", "+1", "v1,"+string(make([]byte, 300)), []byte("{}"), int64(1<<62))
	f.Fuzz(func(t *testing.T, secret, id, timestamp, signature string, body []byte, now int64) {
		h := http.Header{}
		h.Set(payloads.WebhookIDHeader, id)
		h.Set(payloads.WebhookTimestampHeader, timestamp)
		h.Set(payloads.WebhookSignatureHeader, signature)
		err := payloads.VerifyStandardWebhook(secret, h, body, time.Unix(now, 0), 5*time.Minute)
		if err != nil && !errors.Is(err, payloads.ErrBadWebhookSecret) &&
			!errors.Is(err, payloads.ErrWebhookTimestamp) && !errors.Is(err, payloads.ErrWebhookSignature) {
			t.Fatalf("VerifyStandardWebhook error %v wraps none of the package's errors", err)
		}

		key, decodeErr := payloads.DecodeWebhookSecret(secret)
		if decodeErr != nil {
			if !errors.Is(decodeErr, payloads.ErrBadWebhookSecret) {
				t.Fatalf("DecodeWebhookSecret error %v does not wrap ErrBadWebhookSecret", decodeErr)
			}
			if !errors.Is(err, payloads.ErrBadWebhookSecret) {
				t.Fatalf("VerifyStandardWebhook with a bad secret = %v, want ErrBadWebhookSecret", err)
			}
			return
		}
		if len(key) == 0 {
			t.Fatal("DecodeWebhookSecret returned an empty key without error")
		}
		if id == "" {
			return // the id header is required
		}
		sig, err := payloads.StandardWebhookSignature(secret, id, now, body)
		if err != nil {
			t.Fatalf("StandardWebhookSignature: %v", err)
		}
		h.Set(payloads.WebhookTimestampHeader, strconv.FormatInt(now, 10))
		h.Set(payloads.WebhookSignatureHeader, signature+" "+sig)
		if err := payloads.VerifyStandardWebhook(secret, h, body, time.Unix(now, 0), 0); err != nil {
			t.Fatalf("VerifyStandardWebhook(fresh signature) = %v, want nil", err)
		}
	})
}
