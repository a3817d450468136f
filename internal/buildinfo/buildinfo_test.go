package buildinfo

import (
	"runtime"
	"runtime/debug"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestFromBuildInfo(t *testing.T) {
	vcs := func(rev, modified string) []debug.BuildSetting {
		return []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: rev}, {Key: "vcs.modified", Value: modified}}
	}
	tests := []struct {
		name    string
		stamped string
		bi      *debug.BuildInfo
		want    Info
	}{
		{"no build information", "dev", nil, Info{Version: "dev", Revision: Unknown, GoVersion: runtime.Version()}},
		{"make build in a clean checkout", "v1.2.0", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}, Settings: vcs("1a2b3c4d5e6f7a8b", "false")},
			Info{Version: "v1.2.0", Revision: "1a2b3c4d5e6f7a8b", GoVersion: "go1.26.8"}},
		{"go build with local changes", "dev", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}, Settings: vcs("1a2b3c4d5e6f7a8b", "true")},
			Info{Version: "dev", Revision: "1a2b3c4d5e6f7a8b-dirty", GoVersion: "go1.26.8"}},
		{"go install @v1.3.0", "dev", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.3.0"}},
			Info{Version: "v1.3.0", Revision: Unknown, GoVersion: "go1.26.8"}},
		{"go install @latest of an untagged commit", "dev", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.0.0-20261202150405-abcdef123456"}},
			Info{Version: "v0.0.0-20261202150405-abcdef123456", Revision: "abcdef123456", GoVersion: "go1.26.8"}},
		{"the stamp wins over the module version", "v2.0.0", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.3.0"}},
			Info{Version: "v2.0.0", Revision: Unknown, GoVersion: "go1.26.8"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, fromBuildInfo(tt.stamped, tt.bi)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
