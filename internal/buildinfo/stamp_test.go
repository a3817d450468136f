package buildinfo_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/callbacksim/callbacksim/internal/buildinfo"
)

// stampFlag finds the -X flag a build file stamps the version with.
var stampFlag = regexp.MustCompile(`-X ([^=\s"]+)=(\$\{VERSION\}|\$\(VERSION\))`)

// TestBuildsStampTheVersion: make build and the Dockerfile stamp
// buildinfo.Version (a renamed variable would leave every binary "dev"),
// and a binary built with that flag says the version it was given.
func TestBuildsStampTheVersion(t *testing.T) {
	want := reflect.TypeFor[buildinfo.Info]().PkgPath() + ".Version"
	for _, file := range []string{"Makefile", "Dockerfile"} {
		raw, err := os.ReadFile(filepath.Join("..", "..", file))
		if err != nil {
			t.Fatal(err)
		}
		m := stampFlag.FindSubmatch(raw)
		if m == nil || string(m[1]) != want {
			t.Errorf("%s does not stamp -X %s=$VERSION (found %q)", file, want, m)
		}
	}
	bin := filepath.Join(t.TempDir(), "callbacksim")
	build := exec.Command("go", "build", "-ldflags", "-X "+want+"=v9.8.7-test", "-o", bin, "../../cmd/callbacksim")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	for _, args := range [][]string{{"--version"}, {"version"}} {
		out, err := exec.Command(bin, args...).Output()
		if err != nil {
			t.Fatalf("callbacksim %s: %v", args[0], err)
		}
		lines := strings.Split(string(out), "\n")
		if len(lines) < 3 || lines[0] != "callbacksim v9.8.7-test" || !strings.HasPrefix(lines[1], "revision: ") || !strings.HasPrefix(lines[2], "go: go1.") {
			t.Errorf("callbacksim %s printed:\n%s\nwant the stamped version, the revision and the Go version", args[0], out)
		}
	}
}
