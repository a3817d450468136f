package payloads_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/callbacksim/callbacksim/payloads"
)

// BenchmarkQRISRender renders one attempt of a QRIS callback the size the
// gateway sends, unsigned and with each signing mode.
func BenchmarkQRISRender(b *testing.B) {
	body, err := json.Marshal(payloads.QRISCallback{
		OrderID: "ORDER-12345", TransactionID: "TXN-20240120-1A2B3C4D", Status: "SUCCESS", Amount: 150000,
		Currency: "IDR", PaymentMethod: "QRIS", CustomerName: "John Doe", CustomerEmail: "john.doe@example.com",
		CustomerPhone: "+6281234567890", Timestamp: "2024-01-20T10:30:00Z", Description: "Order ORDER-12345",
	})
	if err != nil {
		b.Fatal(err)
	}
	n := payloads.Notification{ID: "cb_4mriuzgaqiiy3zptjbajjgpu5m", URL: "http://127.0.0.1:9090/qris", Payload: body, At: time.Unix(1705746600, 0)}
	renderers := []struct {
		name string
		r    payloads.QRISRenderer
	}{
		{"unsigned", payloads.QRISRenderer{}},
		{"hmac-sha256", payloads.QRISRenderer{Secret: "qris-secret", Signing: payloads.QRISSigningHMAC}},
		{"standard-webhooks", payloads.QRISRenderer{Secret: webhookVectorSecret, Signing: payloads.QRISSigningStandardWebhooks}},
	}
	for _, tc := range renderers {
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := tc.r.Render(n); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
