package curlcmd_test

import (
	"bytes"
	"errors"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/callbacksim/callbacksim/internal/curlcmd"
	"github.com/callbacksim/callbacksim/internal/simtest"
	"github.com/callbacksim/callbacksim/internal/store"
)

// curlPath is the curl the tests run: scripts/test.sh installs it.
func curlPath(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("curl")
	if err != nil {
		t.Fatalf("no curl (%v): install it (apt-get install -y curl)", err)
	}
	return path
}

// sendGo sends r as the dispatcher does: net/http, no compression, no
// body reader for an empty body.
func sendGo(t *testing.T, r store.Request) {
	t.Helper()
	req, err := http.NewRequest(r.Method, r.URL, nil)
	if r.Body != "" {
		req, err = http.NewRequest(r.Method, r.URL, strings.NewReader(r.Body))
	}
	if err != nil {
		t.Fatal(err)
	}
	req.Header = r.Headers.Clone()
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}, Timeout: 10 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
}

// runCurl runs a command line in a shell, as a user pasting it would.
func runCurl(t *testing.T, line string) {
	t.Helper()
	out, err := exec.Command("/bin/sh", "-c", line).CombinedOutput()
	if err != nil {
		t.Fatalf("%s\n%v: %s", line, err, out)
	}
}

// Each request is sent once by net/http, as the dispatcher sends it, and
// once by the curl command written for its record: the recording endpoint
// must see the same bytes.
func TestCommandReplaysByteForByte(t *testing.T) {
	curlPath(t)
	hostileBody := "@/etc/passwd it's $(touch /tmp/pwned) `id` \"q\" \\ \n second line ünï ${HOME} ;|&"
	for _, tt := range []struct {
		name string
		r    store.Request
	}{
		{"QRIS JSON POST, signed", store.Request{Method: "POST", Headers: http.Header{
			"User-Agent": {"Go-http-client/1.1"}, "Content-Type": {"application/json"}, "X-Callback-Signature": {"3f1a9c"},
		}, Body: `{"order_id":"ORDER-1","customer_name":"O'Brien"}`}},
		{"CinetPay form POST with x-token", store.Request{Method: "POST", Headers: http.Header{
			"User-Agent": {"Go-http-client/1.1"}, "Content-Type": {"application/x-www-form-urlencoded"}, "X-Token": {"ab12"},
		}, Body: "cpm_site_id=445160&cpm_trans_id=TX-1&cpm_custom=&signature=a%2Bb"}},
		{"Centili GET, all in the query", store.Request{Method: "GET", Headers: http.Header{"User-Agent": {"Go-http-client/1.1"}},
			URL: "/centili?transactionid=abc&reference=R%5B1%5D&sign=x%2By&empty=&status=success"}},
		{"Standard Webhooks headers, lower case, several values", store.Request{Method: "POST", Headers: http.Header{
			"User-Agent": {"Go-http-client/1.1"}, "Content-Type": {"application/json"}, "webhook-id": {"cb_1"},
			"Webhook-Signature": {"v1,abc= v1,def="}, "X-Multi": {"one", "two"},
		}, Body: `{}`}},
		{"a body that would be a file, expanded, or split by a shell", store.Request{Method: "POST", Headers: http.Header{
			"User-Agent": {"Go-http-client/1.1"}, "Content-Type": {"text/plain"}}, Body: hostileBody}},
		{"a body over 1 KiB (no Expect)", store.Request{Method: "POST", Headers: http.Header{
			"User-Agent": {"Go-http-client/1.1"}, "Content-Type": {"application/json"}}, Body: `{"pad":"` + strings.Repeat("x", 4000) + `"}`}},
		{"no Content-Type, no User-Agent recorded", store.Request{Method: "POST", Headers: http.Header{}, Body: "raw"}},
		{"PUT without a body", store.Request{Method: "PUT", Headers: http.Header{"User-Agent": {"Go-http-client/1.1"}}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rec := simtest.NewWireRecorder(t)
			r := tt.r
			path := r.URL
			if path == "" {
				path = "/cb/[x]?a=1&b=%20"
			}
			r.URL = rec.URL + path
			sendGo(t, r)
			line, err := curlcmd.Command(r, "")
			if err != nil {
				t.Fatal(err)
			}
			runCurl(t, line)
			got := rec.Wait(t, 2, 10*time.Second)
			if !bytes.Equal(got[0], got[1]) {
				t.Errorf("curl sent other bytes than net/http.\nnet/http:\n%q\ncurl:\n%q\ncommand: %s", got[0], got[1], line)
			}
		})
	}
}

// With a target, the request goes there with its own Host; the query the
// gateway sent stays unless the target has one.
func TestCommandTarget(t *testing.T) {
	curlPath(t)
	orig := simtest.NewWireRecorder(t)
	r := store.Request{Method: "GET", URL: orig.URL + "/centili?transactionid=t1&sign=s", Headers: http.Header{"User-Agent": {"Go-http-client/1.1"}}}
	sendGo(t, r)
	for _, tt := range []struct{ target, wantLine string }{
		{"/debug/centili", "GET /debug/centili?transactionid=t1&sign=s HTTP/1.1"},
		{"/debug?mine=1", "GET /debug?mine=1 HTTP/1.1"},
	} {
		other := simtest.NewWireRecorder(t)
		line, err := curlcmd.Command(r, other.URL+tt.target)
		if err != nil {
			t.Fatal(err)
		}
		runCurl(t, line)
		got := string(other.Wait(t, 1, 10*time.Second)[0])
		want := tt.wantLine + "\r\nHost: " + strings.TrimPrefix(other.URL, "http://") + "\r\nUser-Agent: Go-http-client/1.1\r\n\r\n"
		if got != want {
			t.Errorf("target %s: sent\n%q\nwant\n%q", tt.target, got, want)
		}
	}
	sent := string(orig.Wait(t, 1, 10*time.Second)[0])
	if !strings.HasPrefix(sent, "GET /centili?transactionid=t1&sign=s HTTP/1.1\r\nHost: "+strings.TrimPrefix(orig.URL, "http://")) {
		t.Errorf("the original went out as %q", sent)
	}
}

func TestCommandRefuses(t *testing.T) {
	for _, tt := range []struct {
		name   string
		r      store.Request
		target string
	}{
		{"a NUL byte in the body", store.Request{Method: "POST", URL: "http://m.example/", Body: "a\x00b"}, ""},
		{"a relative URL", store.Request{Method: "GET", URL: "/qris"}, ""},
		{"a target that is not http", store.Request{Method: "GET", URL: "http://m.example/"}, "ftp://m.example/"},
		{"a relative target", store.Request{Method: "GET", URL: "http://m.example/"}, "/qris"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			want := curlcmd.ErrUnsendable
			if tt.target != "" {
				want = curlcmd.ErrBadTarget
			}
			if _, err := curlcmd.Command(tt.r, tt.target); !errors.Is(err, want) {
				t.Errorf("err = %v, want %v", err, want)
			}
		})
	}
}

func TestQuote(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"--http1.1", "--http1.1"},
		{"http://127.0.0.1:9090/qris", "http://127.0.0.1:9090/qris"},
		{"", "''"},
		{"Host: x", "'Host: x'"},
		{"it's", `'it'\''s'`},
		{"a&b", "'a&b'"},
		{"~root", "'~root'"},
		{"$HOME", "'$HOME'"},
		{"failed", "failed"},
		{"two words", "'two words'"},
		{"$(rm -rf ~)", "'$(rm -rf ~)'"},
		{"a;b", "'a;b'"},
		{"é", "'é'"},
	} {
		if got := curlcmd.Quote(tt.in); got != tt.want {
			t.Errorf("Quote(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}
