package cli

import (
	"bytes"
	"net/http"
	"net/url"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/callbacksim/callbacksim/internal/app"
	"github.com/callbacksim/callbacksim/internal/redistest"
	"github.com/callbacksim/callbacksim/internal/simtest"
)

// TestShowCurlReplaysTheAttempt delivers a callback of each gateway to a
// recording endpoint, then runs the command `callbacks show ID --curl`
// prints with the real curl: the endpoint must get the same bytes again.
// The operator API's /curl answer is the same command.
func TestShowCurlReplaysTheAttempt(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Fatalf("no curl (%v): install it (apt-get install -y curl)", err)
	}
	rec := simtest.NewWireRecorder(t)
	r := redistest.Start(t)
	cfg := simtest.Config(r.URL())
	cfg.Merchants[0].QRIS.SigningSecret = qrisSecret
	cfg.Merchants[0].Centili.NotificationURL = rec.URL + "/centili"
	sim := simtest.StartConfig(t, cfg, app.Roles{API: true, Worker: true}, r)

	for _, tt := range []struct {
		gateway string
		args    []string
		sent    int // requests an attempt sends: CinetPay pings first
	}{
		{"qris", []string{"--url", rec.URL + "/qris/[callback]?src=sim"}, 1},
		{"cinetpay", []string{"--url", rec.URL + "/cinetpay"}, 2},
		{"centili", nil, 1},
	} {
		t.Run(tt.gateway, func(t *testing.T) {
			before := len(rec.Requests())
			code, out, errOut := run(t, admin(sim, append([]string{"trigger", tt.gateway, "--reference", "CURL-" + tt.gateway + "-it's"}, tt.args...)...)...)
			if code != ExitOK {
				t.Fatalf("trigger: exit %d\n%s%s", code, out, errOut)
			}
			id := callbackID.FindStringSubmatch(out)[1]
			original := rec.Wait(t, before+tt.sent, 10*time.Second)[before+tt.sent-1]

			code, line, errOut := run(t, admin(sim, "callbacks", "show", id, "--curl")...)
			if code != ExitOK || !strings.HasPrefix(line, "curl ") {
				t.Fatalf("show --curl: exit %d\n%s%s", code, line, errOut)
			}
			if out, err := exec.Command("/bin/sh", "-c", line).CombinedOutput(); err != nil {
				t.Fatalf("%s\n%v: %s", line, err, out)
			}
			replay := rec.Wait(t, before+tt.sent+1, 10*time.Second)[before+tt.sent]
			if !bytes.Equal(original, replay) {
				t.Errorf("the replay differs from attempt 1.\nsent:\n%q\nreplayed:\n%q\ncommand: %s", original, replay, line)
			}

			var ans struct{ Curl string }
			r := sim.Admin(http.MethodGet, "/v1/callbacks/"+id+"/attempts/1/curl", nil)
			r.JSON(t, &ans)
			if r.Status != http.StatusOK || ans.Curl+"\n" != line {
				t.Errorf("GET .../attempts/1/curl = %d %q, want the command show --curl printed", r.Status, ans.Curl)
			}
		})
	}

	t.Run("--url sends it elsewhere, --attempt picks one", func(t *testing.T) {
		other := simtest.NewWireRecorder(t)
		code, out, _ := run(t, admin(sim, "trigger", "centili")...)
		if code != ExitOK {
			t.Fatalf("trigger: exit %d", code)
		}
		id := callbackID.FindStringSubmatch(out)[1]
		code, line, errOut := run(t, admin(sim, "callbacks", "show", id, "--curl", "--attempt", "1", "--url", other.URL+"/debug")...)
		if code != ExitOK {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		if out, err := exec.Command("/bin/sh", "-c", line).CombinedOutput(); err != nil {
			t.Fatalf("%s\n%v: %s", line, err, out)
		}
		got := string(other.Wait(t, 1, 10*time.Second)[0])
		sent, err := url.Parse(sim.Callback(id).Attempts[0].Request.URL)
		if err != nil {
			t.Fatal(err)
		}
		q := sent.Query()
		if !strings.HasPrefix(got, "GET /debug?"+sent.RawQuery+" HTTP/1.1\r\nHost: "+strings.TrimPrefix(other.URL, "http://")+"\r\n") || q.Get("sign") == "" {
			t.Errorf("sent elsewhere as\n%q\nwant /debug with the signed query %s", got, sent.RawQuery)
		}
		for _, tt := range []struct {
			args []string
			want int
		}{
			{[]string{"--curl", "--attempt", "2"}, ExitNotFound},
			{[]string{"--curl", "--url", "not-a-url"}, ExitUsage},
			{[]string{"--attempt", "1"}, ExitUsage},
			{[]string{"--curl", "--json"}, ExitUsage},
		} {
			if code, _, errOut := run(t, admin(sim, append([]string{"callbacks", "show", id}, tt.args...)...)...); code != tt.want {
				t.Errorf("show %v: exit %d (%s), want %d", tt.args, code, errOut, tt.want)
			}
		}
		sim.Admin(http.MethodGet, "/v1/callbacks/"+id+"/attempts/2/curl", nil).WantError(t, http.StatusNotFound, "")
		sim.Admin(http.MethodGet, "/v1/callbacks/"+id+"/attempts/zero/curl", nil).WantError(t, http.StatusBadRequest, "n")
		sim.Admin(http.MethodGet, "/v1/callbacks/"+id+"/attempts/1/curl?url=ftp://x/", nil).WantError(t, http.StatusBadRequest, "url")
		sim.Admin(http.MethodGet, "/v1/callbacks/cb_nope/attempts/1/curl", nil).WantError(t, http.StatusNotFound, "")
	})
}
