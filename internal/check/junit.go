package check

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// The JUnit XML report of runs, as GitHub Actions, GitLab and Jenkins read
// it: one testsuite per gateway, one testcase per check; a failed check is
// a failure with the detail and the hint, a skipped one is skipped, a
// warning passes with its caveat in system-out, and a run that could not
// finish has an error.

type junitReport struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr,omitempty"`
	Timestamp  string          `xml:"timestamp,attr"`
	Properties []junitProperty `xml:"properties>property"`
	Cases      []junitCase     `xml:"testcase"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Failure   *junitProblem `xml:"failure"`
	Error     *junitProblem `xml:"error"`
	Skipped   *junitProblem `xml:"skipped"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",chardata"`
}

// reportName names the report's testsuites element.
const reportName = "callbacksim check"

// JUnit returns the JUnit XML report of existing (a report JUnit made
// before, or nil) with run's testsuite in it: added, or in place of an
// older testsuite of the same gateway. A file that is not such a report is
// an error.
func JUnit(existing []byte, run Run) ([]byte, error) {
	report := junitReport{Name: reportName}
	if len(bytes.TrimSpace(existing)) > 0 {
		if err := xml.Unmarshal(existing, &report); err != nil || report.Name != reportName {
			return nil, fmt.Errorf("check: not a JUnit report of %s, will not overwrite it", reportName)
		}
	}
	suite := junitSuiteOf(run)
	if i := slices.IndexFunc(report.Suites, func(s junitSuite) bool { return s.Name == suite.Name }); i >= 0 {
		report.Suites[i] = suite
	} else {
		report.Suites = append(report.Suites, suite)
	}
	report.Tests, report.Failures, report.Errors, report.Skipped = 0, 0, 0, 0
	for _, s := range report.Suites {
		report.Tests += s.Tests
		report.Failures += s.Failures
		report.Errors += s.Errors
		report.Skipped += s.Skipped
	}
	out, err := xml.MarshalIndent(report, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("check: encode JUnit report: %w", err)
	}
	return append([]byte(xml.Header), append(out, '\n')...), nil
}

func junitSuiteOf(run Run) junitSuite {
	s := junitSuite{
		Name: run.Provider, Timestamp: run.StartedAt.UTC().Format("2006-01-02T15:04:05"),
		Properties: []junitProperty{{"run", run.ID}, {"url", run.URL}, {"merchant_id", run.MerchantID}},
	}
	if run.FinishedAt != nil {
		s.Time = strconv.FormatFloat(run.FinishedAt.Sub(run.StartedAt).Seconds(), 'f', 3, 64)
	}
	for _, res := range run.Results {
		c := junitCase{Name: res.Name, Classname: "callbacksim.check." + run.Provider}
		switch res.Status {
		case Fail:
			s.Failures++
			c.Failure = &junitProblem{Message: res.Detail, Type: "fail", Text: explain(res)}
		case Skip:
			s.Skipped++
			c.Skipped = &junitProblem{Message: res.Detail}
		case Warn:
			c.SystemOut = "warn: " + explain(res)
		}
		s.Cases = append(s.Cases, c)
	}
	if run.Error != "" {
		s.Errors++
		s.Cases = append(s.Cases, junitCase{Name: run.Provider + ".run", Classname: "callbacksim.check." + run.Provider,
			Error: &junitProblem{Message: run.Error, Type: "error"}})
	}
	s.Tests = len(s.Cases)
	return s
}

// explain is a result in full, for a report: what happened, how to fix it,
// the rule and the callbacks to open.
func explain(res Result) string {
	var b strings.Builder
	b.WriteString(res.Detail)
	if res.Hint != "" {
		b.WriteString("\nfix: " + res.Hint)
	}
	fmt.Fprintf(&b, "\nrule: %s (%s)", res.Rule, res.Source)
	if len(res.CallbackIDs) > 0 {
		b.WriteString("\ncallbacks: " + strings.Join(res.CallbackIDs, ", "))
	}
	return b.String()
}
