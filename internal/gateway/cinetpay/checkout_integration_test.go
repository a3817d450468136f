package cinetpay_test

import (
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callbacksim/callbacksim/internal/simtest"
	"github.com/callbacksim/callbacksim/internal/store"
)

// browser fetches pages like a browser whose redirects the test follows by
// hand.
var browser = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func fetch(t *testing.T, method, u string, form url.Values) (*http.Response, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := browser.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp, string(raw)
}

// hiddenFields reads the checkout form's hidden inputs.
func hiddenFields(page string) url.Values {
	v := url.Values{}
	for _, chunk := range strings.Split(page, `<input type="hidden" name="`)[1:] {
		name, rest, _ := strings.Cut(chunk, `" value="`)
		value, _, _ := strings.Cut(rest, `"`)
		v.Set(name, html.UnescapeString(value))
	}
	return v
}

func TestCinetPayCheckoutPage(t *testing.T) {
	sim := simtest.Start(t)
	m := newMerchant(t, secretKey, nil)
	body := initBody("TX-<b>PAGE</b>", m.URL)
	body["description"] = `<script>alert("x")</script> & co`
	_, payURL := initiate(t, sim, body)

	resp, page := fetch(t, http.MethodGet, payURL, nil)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET payment_url: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if strings.Contains(page, "<script>") || strings.Contains(page, "<b>PAGE") {
		t.Errorf("the page carries unescaped input:\n%s", page)
	}
	if !strings.Contains(page, "&lt;script&gt;") || !strings.Contains(page, "100 XOF") || !strings.Contains(page, `value="pay"`) {
		t.Errorf("the page does not show the payment and its choices:\n%s", page)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("Content-Security-Policy = %q", csp)
	}
	hidden := hiddenFields(page)
	if hidden.Get("transaction_id") != "TX-<b>PAGE</b>" || hidden.Get("token") == "" {
		t.Errorf("hidden fields = %v", hidden)
	}

	// Pay: the same outcome as /v2/simulate ACCEPTED, and back to
	// return_url, where the browser repeats the POST of transaction_id and
	// token.
	form := url.Values{"transaction_id": {hidden.Get("transaction_id")}, "token": {hidden.Get("token")}, "choice": {"pay"}}
	resp, _ = fetch(t, http.MethodPost, payURL, form)
	if resp.StatusCode != http.StatusTemporaryRedirect || resp.Header.Get("Location") != "https://shop.example/return" {
		t.Fatalf("pay: %d Location %q, want 307 to return_url", resp.StatusCode, resp.Header.Get("Location"))
	}
	posts := m.WaitPosts(t, 1)
	if !posts[0].Valid || posts[0].Form.Get("cpm_error_message") != "SUCCES" {
		t.Errorf("notification after paying: valid %t, %s", posts[0].Valid, posts[0].Body)
	}
	if a := check(t, sim, "TX-<b>PAGE</b>"); a.code() != "00" || a.data()["status"] != "ACCEPTED" {
		t.Errorf("check after paying: %s", a.Raw)
	}
	// The notification's callback, found as an operator would: by the
	// payment it is about (no gateway sends a callback id).
	var page1 struct {
		Callbacks []store.Callback `json:"callbacks"`
	}
	sim.Admin(http.MethodGet, "/v1/callbacks?provider=cinetpay", nil).JSON(t, &page1)
	cbID := ""
	for _, cb := range page1.Callbacks {
		if cb.Reference == "TX-<b>PAGE</b>" {
			cbID = cb.ID
		}
	}
	if cbID == "" {
		t.Fatalf("no callback about TX-<b>PAGE</b> in %+v", page1.Callbacks)
	}
	sim.WaitStatus(cbID, store.StatusDelivered, 10*time.Second)

	// Paid: the page says so, and a second choice is refused.
	resp, page = fetch(t, http.MethodGet, payURL, nil)
	if resp.StatusCode != 200 || !strings.Contains(page, "already ACCEPTED") || strings.Contains(page, `value="pay"`) {
		t.Errorf("the page of a paid payment: %d\n%s", resp.StatusCode, page)
	}
	resp, page = fetch(t, http.MethodPost, payURL, url.Values{"choice": {"refuse"}})
	if resp.StatusCode != http.StatusConflict || !strings.Contains(page, "already ACCEPTED") {
		t.Errorf("refusing a paid payment: %d\n%s", resp.StatusCode, page)
	}
}

func TestCinetPayCheckoutRefuseReturnsToShop(t *testing.T) {
	sim := simtest.Start(t)
	m := newMerchant(t, secretKey, nil)
	var (
		mu       sync.Mutex
		returned []url.Values
	)
	shop := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.ParseForm() == nil {
			mu.Lock()
			returned = append(returned, r.PostForm)
			mu.Unlock()
		}
		_, _ = io.WriteString(w, "thanks")
	}))
	t.Cleanup(shop.Close)
	body := initBody("TX-REFUSE", m.URL)
	body["return_url"] = shop.URL + "/return"
	token, payURL := initiate(t, sim, body)

	// A real browser: it follows the 307 and repeats the form's POST.
	_, page := fetch(t, http.MethodGet, payURL, nil)
	form := hiddenFields(page)
	form.Set("choice", "refuse")
	resp, err := http.PostForm(payURL, form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Request.URL.String() != shop.URL+"/return" {
		t.Errorf("refuse ended at %s with %d, want the shop's return_url", resp.Request.URL, resp.StatusCode)
	}
	mu.Lock()
	if len(returned) != 1 || returned[0].Get("transaction_id") != "TX-REFUSE" || returned[0].Get("token") != token {
		t.Errorf("return_url got %v, want one POST with transaction_id and token", returned)
	}
	mu.Unlock()
	posts := m.WaitPosts(t, 1)
	if posts[0].Form.Get("cpm_error_message") != "TRANSACTION_CANCEL" {
		t.Errorf("notification after refusing: %s", posts[0].Body)
	}
	if a := check(t, sim, "TX-REFUSE"); a.code() != "627" || a.data()["status"] != "REFUSED" {
		t.Errorf("check after refusing: %s", a.Raw)
	}
}

func TestCinetPayCheckoutBadInput(t *testing.T) {
	sim := simtest.Start(t)
	_, payURL := initiate(t, sim, initBody("TX-BAD", "https://shop.example/notify"))
	tests := []struct {
		name        string
		method, url string
		body        string
		contentType string
		status      int
		inPage      string
	}{
		{"unknown token", http.MethodGet, sim.URL + "/cinetpay/payment/nope", "", "", 404, "unknown"},
		{"choice of an unknown token", http.MethodPost, sim.URL + "/cinetpay/payment/nope", "choice=pay", "application/x-www-form-urlencoded", 404, "unknown"},
		{"no choice", http.MethodPost, payURL, "token=x", "application/x-www-form-urlencoded", 400, "choice"},
		{"unknown choice", http.MethodPost, payURL, "choice=maybe", "application/x-www-form-urlencoded", 400, "pay"},
		{"not a form", http.MethodPost, payURL, `{"choice":"pay"}`, "application/json", 415, "form"},
		{"malformed form", http.MethodPost, payURL, "choice=%zz", "application/x-www-form-urlencoded", 400, "form"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, tt.url, strings.NewReader(tt.body))
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			resp, err := browser.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			page, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status || !strings.Contains(string(page), tt.inPage) ||
				!strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
				t.Errorf("%s %s: %d %s\n%s", tt.method, tt.url, resp.StatusCode, resp.Header.Get("Content-Type"), page)
			}
		})
	}
	if a := check(t, sim, "TX-BAD"); a.code() != "662" {
		t.Errorf("bad choices changed the payment: %s", a.Raw)
	}
}
