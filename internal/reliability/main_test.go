package reliability_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// binary is the callbacksim executable built for this run.
var binary string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "callbacksim-reliability-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "reliability:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	binary = filepath.Join(dir, "callbacksim")
	build := exec.Command("go", "build", "-o", binary, "github.com/callbacksim/callbacksim/cmd/callbacksim")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "reliability: build callbacksim:", err)
		return 1
	}
	return m.Run()
}
