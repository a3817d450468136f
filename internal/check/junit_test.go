package check_test

import (
	"encoding/xml"
	"strings"
	"testing"
	"time"

	"github.com/callbacksim/callbacksim/internal/check"
)

// parsedReport is the JUnit XML schema as CI tools read it, declared apart
// from the package's own encoding.
type parsedReport struct {
	XMLName  xml.Name `xml:"testsuites"`
	Tests    int      `xml:"tests,attr"`
	Failures int      `xml:"failures,attr"`
	Errors   int      `xml:"errors,attr"`
	Skipped  int      `xml:"skipped,attr"`
	Suites   []struct {
		Name     string `xml:"name,attr"`
		Tests    int    `xml:"tests,attr"`
		Failures int    `xml:"failures,attr"`
		Skipped  int    `xml:"skipped,attr"`
		Cases    []struct {
			Name    string `xml:"name,attr"`
			Failure *struct {
				Message string `xml:"message,attr"`
				Text    string `xml:",chardata"`
			} `xml:"failure"`
			Error *struct {
				Message string `xml:"message,attr"`
			} `xml:"error"`
			Skipped   *struct{} `xml:"skipped"`
			SystemOut string    `xml:"system-out"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

func parseReport(t *testing.T, raw []byte) parsedReport {
	t.Helper()
	var r parsedReport
	if err := xml.Unmarshal(raw, &r); err != nil {
		t.Fatalf("the report is not XML: %v\n%s", err, raw)
	}
	return r
}

func TestJUnit(t *testing.T) {
	start := time.Date(2024, 1, 20, 10, 30, 0, 0, time.UTC)
	end := start.Add(1500 * time.Millisecond)
	qris := check.Run{ID: "chk_1", Provider: "qris", URL: "http://shop/cb", StartedAt: start, FinishedAt: &end, Results: []check.Result{
		{Name: "qris.success_acknowledged", Status: check.Pass, Detail: "answered 200"},
		{Name: "qris.forged_signature_rejected", Status: check.Fail, Detail: "answered 200 to <forged> & co",
			Hint: "verify the signature", Rule: "refuse bad signatures", Source: "the gateway's docs", CallbackIDs: []string{"cb_1"}},
		{Name: "qris.failed_acknowledged", Status: check.Skip, Detail: "needs a 2nd --order"},
		{Name: "qris.answers_in_time", Status: check.Warn, Detail: "answered in 3 s", Hint: "answer first"},
	}}
	raw, err := check.JUnit(nil, qris)
	if err != nil {
		t.Fatal(err)
	}
	r := parseReport(t, raw)
	if r.Tests != 4 || r.Failures != 1 || r.Skipped != 1 || len(r.Suites) != 1 || r.Suites[0].Name != "qris" {
		t.Fatalf("report %+v: want one qris testsuite of 4 tests, 1 failure, 1 skipped", r)
	}
	cases := r.Suites[0].Cases
	if f := cases[1].Failure; f == nil || f.Message != "answered 200 to <forged> & co" ||
		!strings.Contains(f.Text, "fix: verify the signature") || !strings.Contains(f.Text, "cb_1") {
		t.Errorf("failure %+v: want the detail as message, the hint and the callbacks in its text", f)
	}
	if cases[2].Skipped == nil || cases[0].Failure != nil || !strings.Contains(cases[3].SystemOut, "warn: answered in 3 s") {
		t.Errorf("cases %+v", cases)
	}

	// Another gateway is added; the same gateway again replaces its suite.
	centili := check.Run{ID: "chk_2", Provider: "centili", StartedAt: start, Error: "the simulator shut down",
		Results: []check.Result{{Name: "centili.notification_acknowledged", Status: check.Pass}}}
	if raw, err = check.JUnit(raw, centili); err != nil {
		t.Fatal(err)
	}
	qris.Results = qris.Results[:1]
	if raw, err = check.JUnit(raw, qris); err != nil {
		t.Fatal(err)
	}
	r = parseReport(t, raw)
	if len(r.Suites) != 2 || r.Suites[0].Name != "qris" || r.Suites[0].Tests != 1 || r.Suites[1].Name != "centili" ||
		r.Tests != 3 || r.Errors != 1 || r.Failures != 0 {
		t.Errorf("merged report %+v: want qris (1 test, replaced) and centili (2, one error)", r)
	}
	if _, err := check.JUnit([]byte(`<testsuites name="pytest"/>`), qris); err == nil {
		t.Error("JUnit overwrote another tool's report")
	}
}
