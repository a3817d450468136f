package deploy_test

import (
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	Cmd  string // upper case: FROM, RUN, ...
	Args string
}

func parseDockerfile(t *testing.T, p string) []instruction {
	t.Helper()
	var (
		out  []instruction
		cont string
	)
	for line := range strings.SplitSeq(string(readFile(t, p)), "\n") {
		line = strings.TrimSpace(line)
		if cont == "" && (line == "" || strings.HasPrefix(line, "#")) {
			continue
		}
		if l, ok := strings.CutSuffix(line, "\\"); ok {
			cont += l + " "
			continue
		}
		line, cont = cont+line, ""
		cmd, args, _ := strings.Cut(line, " ")
		out = append(out, instruction{Cmd: strings.ToUpper(cmd), Args: strings.TrimSpace(args)})
	}
	if cont != "" {
		t.Fatalf("%s ends with a continuation line", p)
	}
	return out
}

func TestDockerfileBuildsAStaticBinaryOnASmallNonRootImage(t *testing.T) {
	ins := parseDockerfile(t, "Dockerfile")
	var stages []string // the FROM lines
	var final []instruction
	for _, in := range ins {
		if in.Cmd == "FROM" {
			stages = append(stages, in.Args)
			final = nil
		}
		final = append(final, in)
	}
	if len(stages) < 2 {
		t.Fatalf("%d stages, want a multi-stage build", len(stages))
	}
	build := regexp.MustCompile(`^golang:\S+ AS (\w+)$`).FindStringSubmatch(stages[0])
	if build == nil {
		t.Fatalf("first stage %q is not golang:... AS <name>", stages[0])
	}
	base := stages[len(stages)-1]
	if !regexp.MustCompile(`^(alpine:\d+\.\d+|gcr\.io/distroless/static\S*:\S+|scratch)$`).MatchString(base) {
		t.Errorf("final base %q is not a small, pinned base (alpine:X.Y, distroless static, scratch)", base)
	}

	var goBuild, binary string
	for _, in := range ins {
		if in.Cmd == "RUN" && strings.Contains(in.Args, "go build") {
			goBuild = in.Args
		}
	}
	if !strings.Contains(goBuild, "CGO_ENABLED=0") {
		t.Errorf("go build %q does not set CGO_ENABLED=0: the binary would not be static", goBuild)
	}
	if m := regexp.MustCompile(`-o (\S+) (\S+)$`).FindStringSubmatch(goBuild); m == nil {
		t.Errorf("go build %q: want -o <binary> <package> at the end", goBuild)
	} else {
		binary = m[1]
		if _, err := os.Stat(repoPath(m[2] + "/main.go")); err != nil {
			t.Errorf("go build builds %s: %v", m[2], err)
		}
	}
	if x := regexp.MustCompile(`-X (\S+)\.Version=`).FindStringSubmatch(goBuild); x == nil || x[1] != "github.com/callbacksim/callbacksim/internal/buildinfo" {
		t.Errorf("go build %q does not stamp buildinfo.Version", goBuild)
	}

	var user, entrypoint string
	copied := false
	for _, in := range final {
		switch in.Cmd {
		case "USER":
			user = in.Args
		case "ENTRYPOINT":
			entrypoint = in.Args
		case "COPY":
			if strings.HasPrefix(in.Args, "--from="+build[1]+" "+binary+" ") {
				copied = true
			}
		}
	}
	if user == "" || strings.HasPrefix(user, "root") || strings.HasPrefix(user, "0") {
		t.Errorf("final stage USER = %q, want a non-root user", user)
	}
	if !copied {
		t.Errorf("final stage does not COPY --from=%s %s", build[1], binary)
	}
	if entrypoint != `["callbacksim"]` {
		t.Errorf("ENTRYPOINT = %s, want [\"callbacksim\"]: docker-compose.yml's commands are its arguments", entrypoint)
	}
}

func TestComposePassesTheVersionToTheBuild(t *testing.T) {
	var args []string // the Dockerfile's ARG names
	for _, in := range parseDockerfile(t, "Dockerfile") {
		if in.Cmd == "ARG" {
			name, _, _ := strings.Cut(in.Args, "=")
			args = append(args, name)
		}
	}
	if !slices.Contains(args, "VERSION") {
		t.Fatalf("the Dockerfile has no ARG VERSION (its ARGs: %v)", args)
	}
	c := loadCompose(t)
	for _, name := range callbacksimServices {
		b := c.Services[name].Build
		if b == nil {
			continue // TestComposeMountsAndBuildsExist says so
		}
		v, ok := b.Args["VERSION"]
		if !ok || !strings.Contains(v, "${VERSION") {
			t.Errorf("%s build args %v: want VERSION from the environment, or every image says dev", name, b.Args)
		}
		for arg := range b.Args {
			if !slices.Contains(args, arg) {
				t.Errorf("%s passes build arg %s, which the Dockerfile does not declare", name, arg)
			}
		}
	}
}

// dockerignored reports whether the build context leaves out rel (a slash
// path), by .dockerignore's rules: patterns match the path or a directory
// holding it, the last matching pattern wins, and "!" re-includes.
func dockerignored(patterns []string, rel string) bool {
	ignored := false
	for _, p := range patterns {
		negate := strings.HasPrefix(p, "!")
		p = path.Clean(strings.TrimPrefix(strings.TrimPrefix(p, "!"), "/"))
		for dir := rel; dir != "."; dir = path.Dir(dir) {
			if ok, _ := path.Match(p, dir); ok {
				ignored = !negate
				break
			}
		}
	}
	return ignored
}

func TestDockerignoreKeepsWhatTheBuildNeeds(t *testing.T) {
	var patterns []string
	for line := range strings.SplitSeq(string(readFile(t, ".dockerignore")), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			patterns = append(patterns, line)
		}
	}
	needed := 0
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel == ".git" {
				return filepath.SkipDir
			}
			return nil
		}
		build := rel == "go.mod" || rel == "go.sum" ||
			strings.HasSuffix(rel, ".go") && !strings.HasSuffix(rel, "_test.go") && !strings.HasPrefix(rel, "deploy/")
		if build {
			needed++
			if dockerignored(patterns, rel) {
				t.Errorf(".dockerignore leaves out %s, which the build needs", rel)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if needed < 10 {
		t.Fatalf("found only %d files the build needs: is root wrong?", needed)
	}
	for _, p := range []string{".git/config", "docker-compose.yml", "deploy/prometheus/prometheus.yml", "callbacksim", ".env"} {
		if !dockerignored(patterns, p) {
			t.Errorf(".dockerignore sends %s to the build context", p)
		}
	}
}
