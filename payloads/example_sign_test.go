package payloads_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/callbacksim/callbacksim/payloads"
)

// serve runs handler on req in memory and prints the answer's status code.
func serve(handler http.HandlerFunc, req *http.Request) {
	rec := httptest.NewRecorder()
	handler(rec, req)
	fmt.Println(rec.Code)
}

// A merchant's CinetPay notify_url handler checks the x-token header against
// the posted form before it calls the verification API for the status.
func ExampleVerifyCinetPayXToken() {
	const secretKey = "mysecret" // the site's secret key, not the apikey

	notify := func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			return // CinetPay's reachability ping: answer 200
		}
		if err := r.ParseForm(); err != nil {
			http.Error(w, "bad form", http.StatusBadRequest)
			return
		}
		if !payloads.VerifyCinetPayXToken(secretKey, r.PostForm, r.Header.Get("x-token")) {
			http.Error(w, "bad x-token", http.StatusUnauthorized)
			return
		}
		// Authentic: now POST /v2/payment/check for the true status.
	}

	// What the simulator sends.
	fields := payloads.CinetPayFields{
		SiteID: "445160", TransID: "TX123", TransDate: "2024-01-15 10:30:00",
		Amount: "100", Currency: "XOF", Signature: "abc", PaymentMethod: "OM",
		CelPhoneNum: "0700000000", PhonePrefixe: "225", Language: "fr",
		Version: "V4", PaymentConfig: "SINGLE", PageAction: "PAYMENT",
		Designation: "Test", ErrorMessage: "SUCCES",
	}
	post := func(body, xToken string) *http.Request {
		req := httptest.NewRequest(http.MethodPost, "/cinetpay/notify", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("x-token", xToken)
		return req
	}
	fmt.Println(fields.XToken(secretKey))
	serve(notify, post(fields.Encode(), fields.XToken(secretKey)))
	serve(notify, post(strings.Replace(fields.Encode(), "cpm_amount=100", "cpm_amount=5", 1), fields.XToken(secretKey)))
	// Output:
	// 3323e9935883eb1689388f2a6f09992162ae0a9c4788eae6d0d46c26e581e723
	// 200
	// 401
}

// A merchant's Centili notification handler checks sign over the query
// string. Answering 406 tells Centili never to retry.
func ExampleVerifyCentiliSign() {
	const signKey = "Centili" // the service's signature key, not the API key

	alg, err := payloads.ParseSignAlgorithm("SHA1") // as set for the service
	if err != nil {
		fmt.Println(err)
		return
	}
	notify := func(w http.ResponseWriter, r *http.Request) {
		if !payloads.VerifyCentiliSign(signKey, alg, r.URL.Query()) {
			http.Error(w, "bad sign", http.StatusNotAcceptable)
			return
		}
		// Authentic: credit the user with r.URL.Query().Get("amount") goods.
	}

	// What the simulator sends: the parameters in the order of Centili's
	// table, not sorted; VerifyCentiliSign sorts them.
	params := url.Values{
		"country": {"rs"}, "enduserprice": {"1.00"}, "mnocode": {"RS_VIP"},
		"phone": {"4366124567"}, "reference": {"12345678"}, "revenue": {"8.0564"},
		"service": {"fc865026b76093fa8cae153740af25c8"}, "status": {"failed"},
		"transactionid": {"1488787"},
	}
	sign, err := payloads.CentiliSign(signKey, alg, params)
	if err != nil {
		fmt.Println(err)
		return
	}
	query := payloads.CentiliQuery(params, sign)
	fmt.Println(query)
	serve(notify, httptest.NewRequest(http.MethodGet, "/centili?"+query, nil))
	serve(notify, httptest.NewRequest(http.MethodGet, "/centili?"+strings.Replace(query, "status=failed", "status=success", 1), nil))
	// Output:
	// transactionid=1488787&phone=4366124567&country=rs&mnocode=RS_VIP&status=failed&revenue=8.0564&reference=12345678&enduserprice=1.00&service=fc865026b76093fa8cae153740af25c8&sign=d68f3fe4ee821250c65a50e208a9f7be927701d4
	// 200
	// 406
}

// A merchant's QRIS callback handler checks X-Callback-Signature over the
// raw body bytes, before decoding the JSON.
func ExampleVerifyBodySignature() {
	const secret = "qris-callback-secret"

	callback := func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, "unreadable body", http.StatusBadRequest)
			return
		}
		if !payloads.VerifyBodySignature(secret, body, r.Header.Get(payloads.SignatureHeader)) {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		// Authentic: json.Unmarshal(body, &callback) and record the status.
	}

	// What the simulator sends.
	body := []byte(`{"order_id":"ORD-1","status":"SUCCESS","amount":50000,"currency":"IDR"}`)
	post := func(body []byte, sig string) *http.Request {
		req := httptest.NewRequest(http.MethodPost, "/qris/callback", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(payloads.SignatureHeader, sig)
		return req
	}
	sig := payloads.BodySignature(secret, body)
	serve(callback, post(body, sig))
	serve(callback, post(bytes.Replace(body, []byte("50000"), []byte("50"), 1), sig))
	// Output:
	// 200
	// 401
}

// A merchant's handler for Standard Webhooks checks the signature and the
// freshness of the timestamp, then uses webhook-id to drop duplicates.
func ExampleVerifyStandardWebhook() {
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	// The merchant would use time.Now(); the example pins the clock.
	now := time.Unix(1614265330, 0).Add(10 * time.Second)

	hook := func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, "unreadable body", http.StatusBadRequest)
			return
		}
		if err := payloads.VerifyStandardWebhook(secret, r.Header, body, now, 5*time.Minute); err != nil {
			fmt.Println(err)
			http.Error(w, "unauthenticated", http.StatusUnauthorized)
			return
		}
		// Authentic: process once per r.Header.Get(payloads.WebhookIDHeader).
	}

	// What the simulator sends.
	body := []byte(`{"test": 2432232314}`)
	post := func(timestamp int64) *http.Request {
		const id = "msg_p5jXN8AQM9LWM0D4loKWxJek"
		sig, err := payloads.StandardWebhookSignature(secret, id, timestamp, body)
		if err != nil {
			panic(err)
		}
		fmt.Println(sig)
		req := httptest.NewRequest(http.MethodPost, "/webhooks", bytes.NewReader(body))
		req.Header.Set(payloads.WebhookIDHeader, id)
		req.Header.Set(payloads.WebhookTimestampHeader, strconv.FormatInt(timestamp, 10))
		req.Header.Set(payloads.WebhookSignatureHeader, sig)
		return req
	}
	serve(hook, post(1614265330))
	serve(hook, post(1614265330-3600)) // a replay an hour old
	// Output:
	// v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=
	// 200
	// v1,6wPRxJs64+mP8vD8jObHZGnlXCQI3QBTMKEWvIrDFDg=
	// payloads: webhook timestamp missing or outside tolerance: webhook-timestamp is 1h0m10s from now, tolerance 5m0s
	// 401
}
