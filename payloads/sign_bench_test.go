package payloads_test

import (
	"bytes"
	"testing"

	"github.com/callbacksim/callbacksim/payloads"
)

func BenchmarkXToken(b *testing.B) {
	fields := cinetPayVectorFields()
	b.ReportAllocs()
	for b.Loop() {
		fields.XToken(cinetPayVectorKey)
	}
}

func BenchmarkCentiliSign(b *testing.B) {
	for _, alg := range []payloads.SignAlgorithm{payloads.SignSHA1, payloads.SignSHA256, payloads.SignMD5} {
		b.Run(string(alg), func(b *testing.B) {
			params := centiliVectorParams()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := payloads.CentiliSign(centiliVectorKey, alg, params); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkBodySignature(b *testing.B) {
	// About the size of a QRIS callback.
	body := bytes.Repeat([]byte(`{"order_id":"ORD-1","status":"SUCCESS"}`), 8)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		payloads.BodySignature("qris-secret", body)
	}
}

func BenchmarkStandardWebhookSignature(b *testing.B) {
	body := []byte(webhookVectorBody)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := payloads.StandardWebhookSignature(webhookVectorSecret, webhookVectorID, webhookVectorTimestamp, body); err != nil {
			b.Fatal(err)
		}
	}
}
