// Package buildinfo says which build of callbacksim is running: the
// version stamped at build time, and the VCS revision and Go version the
// Go toolchain recorded in the binary.
package buildinfo

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

// Version is the release the binary was built as, stamped with
//
//	-ldflags "-X github.com/callbacksim/callbacksim/internal/buildinfo.Version=v1.2.0"
//
// (make build and the Dockerfile do). "dev" means not stamped: Read then
// uses the module version `go install ...@version` records, if any.
var Version = "dev"

// Unknown stands for a revision the binary does not record.
const Unknown = "unknown"

// Info describes one build.
type Info struct {
	Version   string // Version, or the module's version; "dev" when neither says
	Revision  string // the VCS commit, with "-dirty" when the tree had changes; Unknown when not recorded
	GoVersion string // the Go toolchain that built the binary, e.g. go1.26.8
}

// Read returns the running binary's build information.
func Read() Info {
	bi, _ := debug.ReadBuildInfo()
	return fromBuildInfo(Version, bi)
}

// fromBuildInfo is Read over a given stamp and build information (nil
// when the binary has none).
func fromBuildInfo(stamped string, bi *debug.BuildInfo) Info {
	i := Info{Version: stamped, Revision: Unknown, GoVersion: runtime.Version()}
	if bi == nil {
		return i
	}
	i.GoVersion = bi.GoVersion
	modified := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			i.Revision = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	v := bi.Main.Version
	if i.Version == "dev" && v != "" && v != "(devel)" {
		i.Version = v
	}
	if i.Revision == Unknown {
		// go install ...@version builds from the module proxy, without VCS
		// data; a pseudo-version (v0.0.0-20260102150405-1a2b3c4d5e6f)
		// still names the commit.
		if parts := strings.Split(strings.TrimSuffix(v, "+incompatible"), "-"); len(parts) >= 3 && len(parts[len(parts)-1]) == 12 {
			i.Revision = parts[len(parts)-1]
		}
	}
	if modified && i.Revision != Unknown {
		i.Revision += "-dirty"
	}
	return i
}

// String is what callbacksim --version prints: the version on the first
// line, then the revision and the Go version.
func (i Info) String() string {
	return fmt.Sprintf("callbacksim %s\nrevision: %s\ngo: %s %s/%s\n", i.Version, i.Revision, i.GoVersion, runtime.GOOS, runtime.GOARCH)
}
