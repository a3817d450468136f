package deploy_test

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// root is the repository root, relative to this package.
const root = ".."

// repoPath turns a path relative to the repository root into one the test
// can open.
func repoPath(p string) string { return filepath.Join(root, filepath.FromSlash(p)) }

func readFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(repoPath(p))
	if err != nil {
		t.Fatalf("read %s: %v", p, err)
	}
	return b
}

// decodeStrict decodes YAML into v, refusing keys v has no field for: a
// misspelt key (depends_on as depend_on) would be ignored by its reader.
func decodeStrict(t *testing.T, p string, v any) {
	t.Helper()
	dec := yaml.NewDecoder(bytes.NewReader(readFile(t, p)))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v", p, err)
	}
}

// composeFile is the part of the Compose specification docker-compose.yml
// uses.
type composeFile struct {
	Name       string             `yaml:"name"`
	Services   map[string]service `yaml:"services"`
	Volumes    map[string]any     `yaml:"volumes"`
	Extensions map[string]any     `yaml:",inline"` // x-* keys
}

type service struct {
	Image         string               `yaml:"image"`
	Build         *build               `yaml:"build"`
	ContainerName string               `yaml:"container_name"`
	Command       []string             `yaml:"command"`
	Restart       string               `yaml:"restart"`
	StopGrace     string               `yaml:"stop_grace_period"`
	Ports         []string             `yaml:"ports"`
	Volumes       []string             `yaml:"volumes"`
	Environment   map[string]string    `yaml:"environment"`
	Healthcheck   *healthcheck         `yaml:"healthcheck"`
	DependsOn     map[string]dependsOn `yaml:"depends_on"`
}

type build struct {
	Context    string            `yaml:"context"`
	Dockerfile string            `yaml:"dockerfile"`
	Args       map[string]string `yaml:"args"`
}

type healthcheck struct {
	Test        []string `yaml:"test"`
	Interval    string   `yaml:"interval"`
	Timeout     string   `yaml:"timeout"`
	Retries     int      `yaml:"retries"`
	StartPeriod string   `yaml:"start_period"`
}

type dependsOn struct {
	Condition string `yaml:"condition"`
}

// mount is one entry of a service's volumes: SOURCE:TARGET[:MODE].
type mount struct {
	Source, Target, Mode string
}

func (m mount) bind() bool {
	return strings.HasPrefix(m.Source, ".") || strings.HasPrefix(m.Source, "/")
}

func (s service) mounts(t *testing.T) []mount {
	t.Helper()
	var out []mount
	for _, v := range s.Volumes {
		parts := strings.Split(v, ":")
		if len(parts) < 2 || len(parts) > 3 {
			t.Fatalf("volume %q is not SOURCE:TARGET[:MODE]", v)
		}
		m := mount{Source: parts[0], Target: parts[1]}
		if len(parts) == 3 {
			m.Mode = parts[2]
		}
		out = append(out, m)
	}
	return out
}

// hostPath maps a path inside the container to the repository file mounted
// there, through a bind mount of that file or of a directory holding it.
func (s service) hostPath(t *testing.T, inContainer string) (string, bool) {
	t.Helper()
	for _, m := range s.mounts(t) {
		if !m.bind() {
			continue
		}
		if inContainer == m.Target {
			return filepath.ToSlash(filepath.Clean(m.Source)), true
		}
		if rel, ok := strings.CutPrefix(inContainer, m.Target+"/"); ok {
			return filepath.ToSlash(filepath.Join(m.Source, rel)), true
		}
	}
	return "", false
}

// flag returns the value of --name in args ("--name value" or
// "--name=value").
func flag(args []string, name string) (string, bool) {
	for i, a := range args {
		if a == name && i+1 < len(args) {
			return args[i+1], true
		}
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v, true
		}
	}
	return "", false
}

var interpolation = regexp.MustCompile(`\$\{([A-Z0-9_]+)(?:(:?[-?])([^}]*))?\}`)

// composeEnv is the environment the tests run docker compose in: the
// variables docker-compose.yml requires (${VAR:?message}), and no other.
var composeEnv = map[string]string{
	"CALLBACKSIM_ADMIN_TOKEN": "compose-test-admin-token",
	"GRAFANA_ADMIN_PASSWORD":  "compose-test-grafana-password",
}

// interpolate resolves ${VAR:-default} and ${VAR:?message} the way Compose
// does in composeEnv. A bare ${VAR} is an error: Compose would put an
// empty string there.
func interpolate(t *testing.T, s string) string {
	t.Helper()
	return interpolation.ReplaceAllStringFunc(s, func(m string) string {
		sub := interpolation.FindStringSubmatch(m)
		v, set := composeEnv[sub[1]]
		switch {
		case sub[2] == "":
			t.Errorf("%s has no default and is not required: docker compose up would leave it empty", m)
		case strings.HasSuffix(sub[2], "?") && !set:
			t.Errorf("%s is required, but the tests' composeEnv does not set it", m)
		case !set:
			return sub[3]
		}
		return v
	})
}

func loadCompose(t *testing.T) composeFile {
	t.Helper()
	var c composeFile
	decodeStrict(t, "docker-compose.yml", &c)
	return c
}
