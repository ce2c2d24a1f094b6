package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// buildInfo is what userd version reports.
type buildInfo struct {
	version, commit, date, goVersion, platform string
}

// readBuildInfo combines the values stamped with -ldflags with what the Go
// toolchain recorded in the binary: the module version (a tag for `go
// install …@v1.2.3`, a pseudo-version or "(devel)" otherwise) and the VCS
// revision and its dirtiness. What is known from neither is "unknown".
func readBuildInfo() buildInfo {
	b := buildInfo{version: version, commit: commit, date: buildDate,
		goVersion: runtime.Version(), platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if b.version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			b.version = bi.Main.Version
		}
		var rev string
		dirty := false
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
		if b.commit == "" && rev != "" {
			b.commit = rev
			if dirty {
				b.commit += "-dirty"
			}
		}
	}
	for _, p := range []*string{&b.version, &b.commit, &b.date} {
		if *p == "" {
			*p = "unknown"
		}
	}
	return b
}

// versionLine is the one line userd version prints.
func versionLine(b buildInfo) string {
	return fmt.Sprintf("userd %s (commit %s, built %s, %s %s)", b.version, b.commit, b.date, b.goVersion, b.platform)
}
