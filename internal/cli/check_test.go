package cli

import (
	"encoding/json"
	"encoding/xml"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/callbacksim/callbacksim/internal/check"
	"github.com/callbacksim/callbacksim/merchant"
)

// junitFile is what CI tools read of a JUnit report.
type junitFile struct {
	Tests    int `xml:"tests,attr"`
	Failures int `xml:"failures,attr"`
	Suites   []struct {
		Name  string `xml:"name,attr"`
		Tests int    `xml:"tests,attr"`
		Cases []struct {
			Name    string `xml:"name,attr"`
			Failure *struct {
				Message string `xml:"message,attr"`
				Text    string `xml:",chardata"`
			} `xml:"failure"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

func readJUnit(t *testing.T, path string) junitFile {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var j junitFile
	if err := xml.Unmarshal(raw, &j); err != nil {
		t.Fatalf("%s is not XML: %v\n%s", path, err, raw)
	}
	return j
}

// referenceMerchant is the sample merchant with the simulator's secrets:
// the handler the checks must find ready.
func referenceMerchant(t *testing.T, api string, acceptInvalid bool, delay time.Duration) string {
	t.Helper()
	m, err := merchant.New(merchant.Options{
		QRISSecret: qrisSecret, CinetPaySecret: "demo-secret", CinetPayAPIKey: "demo-apikey", CinetPaySiteID: "445160",
		CentiliKey: "demo-sign-key", API: api, AcceptInvalid: acceptInvalid, Delay: delay,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(m)
	t.Cleanup(srv.Close)
	return srv.URL
}

// The reference merchant passes every gateway's checks, and one JUnit
// report gets a testsuite per gateway.
func TestCheckTheReferenceMerchant(t *testing.T) {
	sim := startSim(t)
	m := referenceMerchant(t, sim.URL, false, 0)
	report := filepath.Join(t.TempDir(), "reports", "checks.xml") // a folder --junit makes
	for _, gw := range []string{"qris", "cinetpay", "centili"} {
		code, out, errOut := run(t, admin(sim, "check", gw, "--url", m+"/"+gw, "--junit", report)...)
		if code != ExitOK {
			t.Fatalf("check %s: exit %d, want 0\n%s\n%s", gw, code, out, errOut)
		}
		for _, name := range check.Names(gw) {
			if !strings.Contains(out, "PASS  "+name+": ") {
				t.Errorf("check %s does not say PASS %s:\n%s", gw, name, out)
			}
		}
		if !strings.Contains(out, "0 failed, 0 warned, 0 skipped") {
			t.Errorf("no summary:\n%s", out)
		}
	}
	j := readJUnit(t, report)
	if len(j.Suites) != 3 || j.Failures != 0 || j.Tests != 19 {
		t.Errorf("report: %d testsuites, %d tests, %d failures; want 3, 19, 0", len(j.Suites), j.Tests, j.Failures)
	}
}

func TestCheckReportsAFailure(t *testing.T) {
	sim := startSim(t)
	// It accepts invalid signatures, and takes long enough to answer for
	// the progress to show.
	m := referenceMerchant(t, sim.URL, true, 100*time.Millisecond)
	report := filepath.Join(t.TempDir(), "checks.xml")
	code, out, errOut := run(t, admin(sim, "check", "qris", "--url", m+"/qris", "--junit", report, "--poll", "10ms")...)
	if code != ExitCheckFailed {
		t.Fatalf("exit %d, want %d\n%s\n%s", code, ExitCheckFailed, out, errOut)
	}
	for _, want := range []string{"FAIL  qris.forged_signature_rejected: ", "      rule: ", "      fix:  verify the signature",
		"PASS  qris.success_acknowledged", "1 failed", "[cb_"} {
		if !strings.Contains(out, want) {
			t.Errorf("output does not say %q:\n%s", want, out)
		}
	}
	if !strings.Contains(errOut, "1 of the qris handler's checks failed") || !strings.Contains(errOut, "... qris.") {
		t.Errorf("stderr: %s", errOut)
	}
	j := readJUnit(t, report)
	var failed []string
	for _, c := range j.Suites[0].Cases {
		if c.Failure != nil {
			failed = append(failed, c.Name)
			if !strings.Contains(c.Failure.Text, "fix: ") || c.Failure.Message == "" {
				t.Errorf("failure %+v lacks the detail or the hint", c.Failure)
			}
		}
	}
	if len(failed) != 1 || failed[0] != "qris.forged_signature_rejected" {
		t.Errorf("JUnit failures %v", failed)
	}

	code, out, _ = run(t, admin(sim, "check", "qris", "--url", m+"/qris", "--only", "qris.no_redirect", "--json")...)
	var ran check.Run
	if err := json.Unmarshal([]byte(out), &ran); err != nil || code != ExitOK {
		t.Fatalf("--json: exit %d, %v:\n%s", code, err, out)
	}
	if ran.Status != check.Passed || len(ran.Results) != 1 || ran.Results[0].Name != "qris.no_redirect" {
		t.Errorf("--only qris.no_redirect --json: %+v", ran)
	}
}

func TestCheckExitCodes(t *testing.T) {
	sim := startSim(t)
	tests := []struct {
		name string
		args []string
		want int
	}{
		{"no gateway", admin(sim, "check", "--url", "http://127.0.0.1:1/"), ExitUsage},
		{"unknown gateway", admin(sim, "check", "paypal", "--url", "http://127.0.0.1:1/"), ExitUsage},
		{"no url", admin(sim, "check", "qris"), ExitUsage},
		{"a check the API does not know", admin(sim, "check", "qris", "--url", "http://127.0.0.1:1/", "--only", "qris.nope"), ExitUsage},
		{"an order the app never made", admin(sim, "check", "qris", "--url", "http://127.0.0.1:1/", "--order", "NOPE"), ExitUsage},
		{"no token", []string{"check", "qris", "--url", "http://127.0.0.1:1/", "--api", sim.URL}, ExitConfig},
		{"a wrong token", []string{"check", "qris", "--url", "http://127.0.0.1:1/", "--api", sim.URL, "--token", "nope"}, ExitConfig},
		{"no simulator", []string{"check", "qris", "--url", "http://127.0.0.1:1/", "--api", "http://127.0.0.1:1", "--token", "x"}, ExitUnreachable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if code, out, errOut := run(t, tt.args...); code != tt.want {
				t.Errorf("exit %d, want %d\n%s\n%s", code, tt.want, out, errOut)
			}
		})
	}
}
