//go:build unix

package examples_test

import (
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// workflowFile is the GitHub Actions example of docs/ci, which starts this
// folder's Go app as "your app".
const workflowFile = "../docs/ci/github-actions.yml"

// workflow is what this test reads of a GitHub Actions workflow.
type workflow struct {
	Jobs map[string]struct {
		RunsOn string            `yaml:"runs-on"`
		Env    map[string]string `yaml:"env"`
		Steps  []workflowStep    `yaml:"steps"`
	} `yaml:"jobs"`
}

type workflowStep struct {
	Name string            `yaml:"name"`
	Uses string            `yaml:"uses"`
	Run  string            `yaml:"run"`
	If   string            `yaml:"if"`
	Env  map[string]string `yaml:"env"`
}

// TestGitHubActionsExample runs the shell steps of docs/ci's workflow as a
// runner would (bash -eo pipefail, the job's and the step's environment, one
// after the other, background processes kept), on free ports, with the
// callbacksim built from this tree in place of the one `go install` would
// fetch, and requires the job to pass with a JUnit report of the three
// gateways' checks, none failed or skipped.
func TestGitHubActionsExample(t *testing.T) {
	raw, err := os.ReadFile(workflowFile)
	if err != nil {
		t.Fatal(err)
	}
	var wf workflow
	if err := yaml.Unmarshal(raw, &wf); err != nil {
		t.Fatalf("%s is not YAML: %v", workflowFile, err)
	}
	job, ok := wf.Jobs["handler-checks"]
	if !ok || job.RunsOn == "" || len(job.Steps) == 0 {
		t.Fatalf("%s: no handler-checks job with steps: %+v", workflowFile, wf)
	}

	bin := t.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(bin, "callbacksim"), "../cmd/callbacksim")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	work := checkout(t)

	simPort, appPort := freePort(t), freePort(t)
	env := map[string]string{}
	for k, v := range job.Env {
		env[k] = v
	}
	env["CALLBACKSIM_HTTP_ADDR"] = "127.0.0.1:" + simPort
	env["CALLBACKSIM_API"] = "http://127.0.0.1:" + simPort
	env["APP_PORT"] = appPort
	env["APP_URL"] = "http://127.0.0.1:" + appPort
	base := slices.DeleteFunc(os.Environ(), func(kv string) bool {
		name, _, _ := strings.Cut(kv, "=")
		return strings.HasPrefix(name, "CALLBACKSIM_") || slices.Contains(appSettings, name)
	})
	base = append(base, "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))

	var ran []string
	for _, step := range job.Steps {
		if step.Run == "" || step.Name == "Install callbacksim" {
			continue // actions, and the install this test does itself
		}
		ran = append(ran, step.Name)
		cmd := exec.Command("bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step.Run)
		cmd.Dir = work
		cmd.Env = slices.Clone(base)
		for _, vars := range []map[string]string{env, step.Env} {
			for k, v := range vars {
				cmd.Env = append(cmd.Env, k+"="+v)
			}
		}
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // so that cleanup ends what it left running
		out := &strings.Builder{}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		pgid := cmd.Process.Pid
		t.Cleanup(func() { stopGroup(pgid) })
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err = <-done:
		case <-time.After(3 * time.Minute):
			stopGroup(pgid)
			err = <-done
		}
		if err != nil {
			logs := ""
			for _, name := range []string{"callbacksim.log", "app.log"} {
				b, _ := os.ReadFile(filepath.Join(work, name))
				logs += "\n--- " + name + ":\n" + string(b)
			}
			t.Fatalf("step %q: %v\n%s%s", step.Name, err, out, logs)
		}
	}
	if !slices.Contains(ran, "Run the handler checks") {
		t.Fatalf("ran %v: no step ran the checks", ran)
	}

	raw, err = os.ReadFile(filepath.Join(work, "reports", "callbacksim-checks.xml"))
	if err != nil {
		t.Fatalf("no JUnit report: %v", err)
	}
	var report struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
		Errors   int `xml:"errors,attr"`
		Skipped  int `xml:"skipped,attr"`
		Suites   []struct {
			Name string `xml:"name,attr"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(raw, &report); err != nil {
		t.Fatalf("the report is not XML: %v\n%s", err, raw)
	}
	if len(report.Suites) != 3 || report.Tests != 19 || report.Failures+report.Errors+report.Skipped != 0 {
		t.Errorf("report: %d testsuites, %d tests, %d failed, %d errors, %d skipped; want 3, 19 and none\n%s",
			len(report.Suites), report.Tests, report.Failures, report.Errors, report.Skipped, raw)
	}
}

// checkout returns a folder that holds the repository as a checkout does,
// as links to its top-level entries, so that what the steps write stays out
// of this tree.
func checkout(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	for _, e := range entries {
		if err := os.Symlink(filepath.Join(root, e.Name()), filepath.Join(work, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
	return work
}

// stopGroup ends process group pgid: SIGTERM, then SIGKILL if it lingers.
func stopGroup(pgid int) {
	if syscall.Kill(-pgid, syscall.SIGTERM) != nil {
		return // gone already
	}
	for range 50 {
		if syscall.Kill(-pgid, 0) != nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
}
