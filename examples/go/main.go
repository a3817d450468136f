// Command go is a small merchant app, in Go with net/http, that takes
// payments through the QRIS gateway, CinetPay and Centili and handles their
// callbacks as each gateway's documentation requires. It verifies the
// signatures with callbacksim's public payloads package. Orders live in
// memory. Run it with `examples/go/run PORT`; see README.md beside it.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/callbacksim/callbacksim/payloads"
)

// centiliPage is Centili's payment page.
const centiliPage = "https://api.centili.com/payment/widget"

// Order statuses.
const (
	pending = "pending"
	paid    = "paid"
	failed  = "failed"
)

// order is what the shop knows of one payment.
type order struct {
	ID      string `json:"order_id"`
	Gateway string `json:"gateway"`
	Status  string `json:"status"`
}

// shop is the app: its settings, its orders, and the gateway ids of the
// notifications it has already processed.
type shop struct {
	api, publicURL             string
	qrisToken, qrisSecret      string
	cinetpayKey, cinetpaySite  string
	cinetpaySecret             string
	centiliService, centiliKey string
	centiliAlg                 payloads.SignAlgorithm
	client                     *http.Client

	mu        sync.Mutex
	orders    map[string]*order
	processed map[string]bool // "gateway:gateway id"
}

func main() {
	if len(os.Args) != 2 {
		log.Fatal("usage: go run ./examples/go PORT")
	}
	port := os.Args[1]
	alg, err := payloads.ParseSignAlgorithm(env("CENTILI_SIGN_ALGORITHM", "sha1"))
	if err != nil {
		log.Fatalf("CENTILI_SIGN_ALGORITHM: %v (sha1, sha256 or md5)", err)
	}
	s := &shop{
		api:       strings.TrimRight(env("CALLBACKSIM_API", "http://127.0.0.1:8080"), "/"),
		publicURL: strings.TrimRight(env("PUBLIC_URL", "http://127.0.0.1:"+port), "/"),
		qrisToken: env("QRIS_TOKEN", "demo-qris-token"), qrisSecret: os.Getenv("QRIS_SIGNING_SECRET"),
		cinetpayKey: env("CINETPAY_APIKEY", "demo-apikey"), cinetpaySite: env("CINETPAY_SITE_ID", "445160"),
		cinetpaySecret: env("CINETPAY_SECRET_KEY", "demo-secret"),
		centiliService: env("CENTILI_SERVICE", "demo-service"), centiliKey: env("CENTILI_SIGNATURE_KEY", "demo-sign-key"),
		centiliAlg: alg,
		client:     &http.Client{Timeout: 5 * time.Second},
		orders:     map[string]*order{}, processed: map[string]bool{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /orders", s.createOrder)
	mux.HandleFunc("GET /orders/{id}", s.showOrder)
	mux.HandleFunc("POST /qris", s.qris)
	mux.HandleFunc("GET /cinetpay", ping)
	mux.HandleFunc("POST /cinetpay", s.cinetpay)
	mux.HandleFunc("GET /centili", s.centili)
	srv := &http.Server{Addr: "127.0.0.1:" + port, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	log.Printf("listening on http://%s", srv.Addr)
	log.Fatal(srv.ListenAndServe())
}

func env(name, fallback string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return fallback
}

// createOrder serves POST /orders {"gateway": "qris"|"cinetpay"|"centili"}:
// it records the order, then starts its payment at the gateway.
func (s *shop) createOrder(w http.ResponseWriter, r *http.Request) {
	var req struct{ Gateway string }
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || !slices.Contains([]string{"qris", "cinetpay", "centili"}, req.Gateway) {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": `send {"gateway": "qris", "cinetpay" or "centili"}`})
		return
	}
	o := &order{ID: "ORD-" + randomHex(6), Gateway: req.Gateway, Status: pending}
	s.mu.Lock()
	s.orders[o.ID] = o // before the gateway can call back
	s.mu.Unlock()
	answer := map[string]any{"order_id": o.ID}
	var pay struct {
		QRString string `json:"qr_string"`
		Data     struct {
			PaymentURL string `json:"payment_url"`
		} `json:"data"`
	}
	var err error
	switch req.Gateway {
	case "qris":
		err = s.call(r.Context(), "/api/qris/initiate", s.qrisToken, map[string]any{
			"amount": 50000, "order_id": o.ID, "customer_name": "John Doe", "customer_email": "john@example.com",
			"customer_phone": "+62812345678", "description": "Order " + o.ID, "callback_url": s.publicURL + "/qris",
		}, &pay)
		answer["qr_string"] = pay.QRString
	case "cinetpay":
		err = s.call(r.Context(), "/v2/payment", "", map[string]any{
			"apikey": s.cinetpayKey, "site_id": s.cinetpaySite, "transaction_id": o.ID, "amount": 100,
			"currency": "XOF", "description": "Order " + o.ID, "channels": "ALL",
			"notify_url": s.publicURL + "/cinetpay", "return_url": s.publicURL + "/orders/" + o.ID,
		}, &pay)
		answer["payment_url"] = pay.Data.PaymentURL
	case "centili":
		// No API call: the customer pays on Centili's payment page, which
		// takes the service's API key, and the order id as its reference.
		answer["payment_url"] = centiliPage + "?" + url.Values{"apikey": {s.centiliService}, "reference": {o.ID}}.Encode()
	}
	if err != nil {
		writeJSON(w, http.StatusBadGateway, map[string]string{"error": err.Error()})
		return
	}
	writeJSON(w, http.StatusCreated, answer)
}

func (s *shop) showOrder(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	o, ok := s.orders[r.PathValue("id")]
	var copied order
	if ok {
		copied = *o
	}
	s.mu.Unlock()
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no such order"})
		return
	}
	writeJSON(w, http.StatusOK, copied)
}

// qris handles the QRIS gateway's callback: a JSON POST, signed with
// X-Callback-Signature when the merchant has a signing secret. Without a
// secret, anyone could post it, so the status is taken from the gateway's
// API instead.
func (s *shop) qris(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err != nil {
		http.Error(w, "unreadable body", http.StatusBadRequest)
		return
	}
	if s.qrisSecret != "" && !payloads.VerifyBodySignature(s.qrisSecret, body, r.Header.Get(payloads.SignatureHeader)) {
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var cb payloads.QRISCallback
	if err := json.Unmarshal(body, &cb); err != nil || cb.OrderID == "" || cb.TransactionID == "" {
		http.Error(w, "not a QRIS callback", http.StatusBadRequest)
		return
	}
	if s.seen("qris", cb.TransactionID) {
		io.WriteString(w, "OK") // a repeat: already processed
		return
	}
	if s.qrisSecret == "" {
		path := "/api/qris/transactions/" + url.PathEscape(cb.OrderID)
		cb = payloads.QRISCallback{} // unsigned, the callback proves nothing: ask the gateway
		if err := s.get(r.Context(), path, s.qrisToken, &cb); err != nil {
			http.Error(w, "cannot confirm the payment now", http.StatusServiceUnavailable) // the gateway retries
			return
		}
	}
	switch cb.Status {
	case "SUCCESS":
		s.settle("qris", cb.OrderID, cb.TransactionID, paid)
	case "FAILED":
		s.settle("qris", cb.OrderID, cb.TransactionID, failed)
	}
	io.WriteString(w, "OK")
}

func ping(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "OK") }

// cinetpay handles CinetPay's notification: a form POST with an x-token
// HMAC. The notification says nothing to trust about the status: ask the
// verification API, unless the payment is already settled.
func (s *shop) cinetpay(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	if !payloads.VerifyCinetPayXToken(s.cinetpaySecret, r.PostForm, r.Header.Get("x-token")) {
		http.Error(w, "bad x-token", http.StatusUnauthorized)
		return
	}
	id := r.PostForm.Get("cpm_trans_id")
	if s.seen("cinetpay", id) {
		io.WriteString(w, "OK")
		return
	}
	var check struct {
		Data struct {
			Status string `json:"status"`
		} `json:"data"`
	}
	err := s.call(r.Context(), "/v2/payment/check", "", map[string]string{
		"apikey": s.cinetpayKey, "site_id": s.cinetpaySite, "transaction_id": id,
	}, &check)
	if err != nil {
		http.Error(w, "cannot verify the payment now", http.StatusServiceUnavailable) // CinetPay notifies again
		return
	}
	switch check.Data.Status {
	case "ACCEPTED":
		s.settle("cinetpay", id, id, paid)
	case "REFUSED":
		s.settle("cinetpay", id, id, failed)
	}
	// WAITING_FOR_CUSTOMER: not final; another notification follows.
	io.WriteString(w, "OK")
}

// centili handles Centili's notification: a GET whose sign parameter is an
// HMAC over the other parameters' values, sorted by name. 406 tells Centili
// to stop: a bad sign will not get better.
func (s *shop) centili(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if !payloads.VerifyCentiliSign(s.centiliKey, s.centiliAlg, q) {
		http.Error(w, "bad sign", http.StatusNotAcceptable)
		return
	}
	id := q.Get("transactionid")
	if s.seen("centili", id) {
		io.WriteString(w, "OK")
		return
	}
	reference := q.Get("reference")
	if reference == "" {
		reference = q.Get("clientid") // the name some services use
	}
	switch {
	case q.Get("event_type") == "opt_out":
		s.settle("centili", reference, id, "")
		log.Printf("subscription %s of order %s ended", q.Get("subscriptionid"), reference)
	case q.Get("status") == "success":
		s.settle("centili", reference, id, paid)
	default: // failed, canceled
		s.settle("centili", reference, id, failed)
	}
	io.WriteString(w, "OK")
}

func (s *shop) seen(gateway, id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.processed[gateway+":"+id]
}

// settle records the outcome of one gateway transaction, once. A paid order
// stays paid. An unknown order is kept for review, and the notification is
// still acknowledged: answering 404 would only make the gateway retry.
func (s *shop) settle(gateway, orderID, gatewayID, status string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.processed[gateway+":"+gatewayID] {
		return
	}
	s.processed[gateway+":"+gatewayID] = true
	o, ok := s.orders[orderID]
	if !ok {
		log.Printf("%s payment %s for unknown order %q: kept for review", gateway, gatewayID, orderID)
		return
	}
	if status == "" {
		return
	}
	if o.Status != paid {
		o.Status = status
	}
	if status == paid {
		go fulfil(o.ID, gatewayID) // the slow work, after answering
	}
}

// fulfil delivers what was bought: e-mails, shipping, credits.
func fulfil(orderID, gatewayID string) {
	log.Printf("fulfilled order %s (payment %s)", orderID, gatewayID)
}

// call POSTs JSON to the gateway's API path and decodes its JSON answer
// into out; a token, if given, is sent as a Bearer token.
func (s *shop) call(ctx context.Context, path, token string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.api+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	return s.do(req, token, out)
}

func (s *shop) get(ctx context.Context, path, token string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.api+path, nil)
	if err != nil {
		return err
	}
	return s.do(req, token, out)
}

func (s *shop) do(req *http.Request, token string, out any) error {
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("%s: answer %d is not JSON: %w", req.URL.Path, resp.StatusCode, err)
	}
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s: answer %d", req.URL.Path, resp.StatusCode)
	}
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
