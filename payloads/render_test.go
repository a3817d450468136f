package payloads_test

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"hash"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/callbacksim/callbacksim/payloads"
)

func mustJSON(t *testing.T, v any) json.RawMessage {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestCinetPayRendererPingThenSignedForm(t *testing.T) {
	n := payloads.Notification{
		ID:      "cb_test",
		URL:     "https://shop.example/notify?x=1",
		Payload: mustJSON(t, payloads.CinetPayNotification{Fields: cinetPayVectorFields()}),
		At:      time.Unix(1700000000, 0),
	}
	reqs, err := payloads.CinetPayRenderer{SecretKey: cinetPayVectorKey}.Render(n)
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	if len(reqs) != 2 {
		t.Fatalf("Render gave %d requests, want 2 (ping, then notification)", len(reqs))
	}
	ping, post := reqs[0], reqs[1]
	if ping.Method != http.MethodGet || ping.URL != n.URL || ping.Body != nil {
		t.Errorf("ping = %s %s with %d body bytes, want GET %s with no body", ping.Method, ping.URL, len(ping.Body), n.URL)
	}
	if diff := cmp.Diff(http.Header{"User-Agent": {payloads.UserAgent}}, ping.Header); diff != "" {
		t.Errorf("ping headers (-want +got):\n%s", diff)
	}
	if ping.Probe == nil || ping.Probe.Target != "notify_url" || post.Probe != nil {
		t.Errorf("probes: ping %+v, notification %+v; want the ping marked as CinetPay's check of notify_url", ping.Probe, post.Probe)
	}

	if post.Method != http.MethodPost || post.URL != n.URL {
		t.Errorf("notification = %s %s, want POST %s", post.Method, post.URL, n.URL)
	}
	wantBody := "cpm_site_id=445160&cpm_trans_id=TX123&cpm_trans_date=2024-01-15+10%3A30%3A00" +
		"&cpm_amount=100&cpm_currency=XOF&signature=abc&payment_method=OM&cel_phone_num=0700000000" +
		"&cpm_phone_prefixe=225&cpm_language=fr&cpm_version=V4&cpm_payment_config=SINGLE" +
		"&cpm_page_action=PAYMENT&cpm_custom=&cpm_designation=Test&cpm_error_message=SUCCES"
	if diff := cmp.Diff(wantBody, string(post.Body)); diff != "" {
		t.Errorf("form body (-want +got):\n%s", diff)
	}
	wantHeader := http.Header{ // only what CinetPay sends: no callback id
		"Content-Type": {"application/x-www-form-urlencoded"},
		"X-Token":      {cinetPayVectorXToken},
		"User-Agent":   {payloads.UserAgent},
	}
	if diff := cmp.Diff(wantHeader, post.Header); diff != "" {
		t.Errorf("notification headers (-want +got):\n%s", diff)
	}

	// The merchant's side: parse the form, concatenate in the documented
	// order, HMAC with the secret key.
	form, err := url.ParseQuery(string(post.Body))
	if err != nil {
		t.Fatal(err)
	}
	var msg strings.Builder
	for _, name := range cinetPayFormNames {
		msg.WriteString(form.Get(name))
	}
	if got := hmacHex(t, sha256.New, cinetPayVectorKey, msg.String()); got != post.Header.Get("X-Token") {
		t.Errorf("merchant computes x-token %s, header says %s", got, post.Header.Get("X-Token"))
	}
	if msg.String() != cinetPayVectorMessage {
		t.Errorf("merchant's message = %q, want %q", msg.String(), cinetPayVectorMessage)
	}

	// Rendering again (a retry, later) sends the same bytes.
	n.At = n.At.Add(time.Hour)
	again, err := payloads.CinetPayRenderer{SecretKey: cinetPayVectorKey}.Render(n)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(reqs, again); diff != "" {
		t.Errorf("a later rendering differs (-first +later):\n%s", diff)
	}
}

func TestCinetPayRendererWrongSecretFailsMerchantCheck(t *testing.T) {
	n := payloads.Notification{ID: "cb_x", URL: "http://m/notify",
		Payload: mustJSON(t, payloads.CinetPayNotification{Fields: cinetPayVectorFields()})}
	reqs, err := payloads.CinetPayRenderer{SecretKey: "not-mysecret"}.Render(n)
	if err != nil {
		t.Fatal(err)
	}
	form, _ := url.ParseQuery(string(reqs[1].Body))
	if payloads.VerifyCinetPayXToken(cinetPayVectorKey, form, reqs[1].Header.Get("X-Token")) {
		t.Error("a notification signed with another secret verifies under mysecret")
	}
}

func TestCentiliRendererQuery(t *testing.T) {
	params := map[string]string{}
	for k, v := range centiliVectorParams() {
		params[k] = v[0]
	}
	vectorQuery := "transactionid=1488787&phone=4366124567&country=rs&mnocode=RS_VIP&status=failed" +
		"&revenue=8.0564&reference=12345678&enduserprice=1.00&service=fc865026b76093fa8cae153740af25c8"
	tests := []struct {
		name    string
		url     string
		key     string // "" = the vector's key
		params  map[string]string
		order   []string
		alg     payloads.SignAlgorithm
		newHash func() hash.Hash // nil: unsigned
		wantURL string           // exact, when set
	}{
		{
			name: "PROVIDERS.md vector, SHA1, in table order", url: "http://merchant.example/centili", params: params,
			alg: payloads.SignSHA1, newHash: sha1.New,
			wantURL: "http://merchant.example/centili?" + vectorQuery + "&sign=" + centiliVectorSign,
		},
		{name: "zero algorithm is SHA1", url: "http://m/c", params: params, newHash: sha1.New,
			wantURL: "http://m/c?" + vectorQuery + "&sign=" + centiliVectorSign},
		{name: "SHA256", url: "http://m/c", params: params, alg: payloads.SignSHA256, newHash: sha256.New},
		{name: "MD5", url: "http://m/c", params: params, alg: payloads.SignMD5, newHash: md5.New},
		{name: "a service without a signature key sends no sign", url: "http://m/c", key: "-", params: params,
			wantURL: "http://m/c?" + vectorQuery},
		{
			name: "values that need escaping", url: "http://m/c", alg: payloads.SignSHA1, newHash: sha1.New,
			params: map[string]string{"reference": "a b&c=d/é", "status": "success", "errormessage": ""},
		},
		{
			name: "a shuffled order, sign first", url: "http://m/c", alg: payloads.SignSHA1, newHash: sha1.New, params: params,
			order: []string{"sign", "status", "service", "phone"},
			wantURL: "http://m/c?sign=" + centiliVectorSign + "&status=failed&service=fc865026b76093fa8cae153740af25c8&phone=4366124567" +
				"&transactionid=1488787&country=rs&mnocode=RS_VIP&revenue=8.0564&reference=12345678&enduserprice=1.00",
		},
		{
			name: "the URL's own query comes first and is signed, a stale sign dropped", url: "http://m/c?shop=7&sign=old&status=x", key: "k2",
			alg: payloads.SignSHA256, newHash: sha256.New, params: map[string]string{"status": "success", "amount": "1"},
			wantURL: "http://m/c?shop=7&amount=1&status=success&sign=" + hmacHex(t, sha256.New, "k2", "17success"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := tt.key
			switch key {
			case "":
				key = centiliVectorKey
			case "-":
				key = ""
			}
			n := payloads.Notification{ID: "cb_c", URL: tt.url,
				Payload: mustJSON(t, payloads.CentiliNotification{Params: tt.params, Order: tt.order})}
			reqs, err := payloads.CentiliRenderer{SignatureKey: key, Algorithm: tt.alg}.Render(n)
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			if len(reqs) != 1 || reqs[0].Method != http.MethodGet || reqs[0].Body != nil {
				t.Fatalf("Render = %+v, want one GET with no body", reqs)
			}
			if diff := cmp.Diff(http.Header{"User-Agent": {payloads.UserAgent}}, reqs[0].Header); diff != "" {
				t.Errorf("headers (-want +got): only what Centili sends, no callback id\n%s", diff)
			}
			got := reqs[0].URL
			if tt.wantURL != "" && got != tt.wantURL {
				t.Errorf("URL mismatch:\n got %s\nwant %s", got, tt.wantURL)
			}
			u, err := url.Parse(got)
			if err != nil {
				t.Fatal(err)
			}
			q := u.Query()
			if tt.newHash == nil {
				if q.Has("sign") {
					t.Errorf("unsigned service sent sign=%s", q.Get("sign"))
				}
				return
			}
			// The merchant's side: HMAC of the other values sorted by name.
			names := make([]string, 0, len(q))
			for name := range q {
				if name != "sign" {
					names = append(names, name)
				}
			}
			sort.Strings(names)
			var msg strings.Builder
			for _, name := range names {
				msg.WriteString(q.Get(name))
			}
			if want := hmacHex(t, tt.newHash, key, msg.String()); q.Get("sign") != want {
				t.Errorf("sign = %s, merchant computes %s over %q", q.Get("sign"), want, msg.String())
			}
			for name, v := range tt.params {
				if q.Get(name) != v || !q.Has(name) {
					t.Errorf("parameter %s = %q, want %q", name, q.Get(name), v)
				}
			}
		})
	}
}

func TestTraceCallbackID(t *testing.T) {
	n := payloads.Notification{ID: "cb_t", URL: "http://m/notify",
		Payload: mustJSON(t, payloads.CinetPayNotification{Fields: cinetPayVectorFields()})}
	plain, err := payloads.CinetPayRenderer{SecretKey: "k"}.Render(n)
	if err != nil {
		t.Fatal(err)
	}
	traced, err := payloads.TraceCallbackID(payloads.CinetPayRenderer{SecretKey: "k"}).Render(n)
	if err != nil {
		t.Fatal(err)
	}
	if len(traced) != len(plain) {
		t.Fatalf("traced rendering has %d requests, plain %d", len(traced), len(plain))
	}
	for i := range plain {
		if plain[i].Header.Get(payloads.CallbackIDHeader) != "" {
			t.Errorf("request %d carries %s without tracing", i, payloads.CallbackIDHeader)
		}
		if got := traced[i].Header.Get(payloads.CallbackIDHeader); got != "cb_t" {
			t.Errorf("traced request %d: %s = %q, want cb_t", i, payloads.CallbackIDHeader, got)
		}
		traced[i].Header.Del(payloads.CallbackIDHeader)
	}
	if diff := cmp.Diff(plain, traced); diff != "" {
		t.Errorf("tracing changed more than the header (-plain +traced):\n%s", diff)
	}
}

func TestRenderersRefuseBadPayloads(t *testing.T) {
	renderers := map[string]payloads.Renderer{
		"cinetpay": payloads.CinetPayRenderer{SecretKey: "k"},
		"centili":  payloads.CentiliRenderer{SignatureKey: "k"},
	}
	payloadsByName := map[string]string{
		"not JSON":       `cpm_site_id=1`,
		"empty":          ``,
		"array":          `[1]`,
		"another shape":  `{"order_id":"A","status":"SUCCESS"}`,
		"wrong type":     `{"fields":"x","params":"y"}`,
		"trailing field": `{"fields":{},"params":{},"extra":1}`,
	}
	for rname, r := range renderers {
		for pname, p := range payloadsByName {
			t.Run(rname+"/"+pname, func(t *testing.T) {
				_, err := r.Render(payloads.Notification{ID: "cb", URL: "http://m/", Payload: json.RawMessage(p)})
				if !errors.Is(err, payloads.ErrBadPayload) {
					t.Errorf("Render(%s) error = %v, want ErrBadPayload", p, err)
				}
			})
		}
	}
	_, err := payloads.CentiliRenderer{SignatureKey: "k"}.Render(payloads.Notification{ID: "cb", URL: "http://m/", Payload: json.RawMessage(`{"params":{}}`)})
	if !errors.Is(err, payloads.ErrBadPayload) {
		t.Errorf("Centili with no parameters: error = %v, want ErrBadPayload", err)
	}
	_, err = payloads.CentiliRenderer{SignatureKey: "k", Algorithm: "sha512"}.Render(payloads.Notification{
		ID: "cb", URL: "http://m/", Payload: json.RawMessage(`{"params":{"status":"success"}}`)})
	if !errors.Is(err, payloads.ErrUnknownAlgorithm) {
		t.Errorf("Centili with sha512: error = %v, want ErrUnknownAlgorithm", err)
	}
}
