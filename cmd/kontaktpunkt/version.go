package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// version is stamped at build time:
//
//	go build -ldflags "-X main.version=1.2.0" ./cmd/kontaktpunkt
//
// When it is empty, buildVersion falls back to what the Go toolchain
// recorded in the binary.
var version string

// buildVersion returns the stamped version, else the module version (set
// by `go install kontaktpunkt/cmd/kontaktpunkt@v1.2.0`), else the VCS
// revision the binary was built from, else "devel".
func buildVersion() string {
	if version != "" {
		return version
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	return versionFrom(bi)
}

// versionFrom derives a version from the build information.
func versionFrom(bi *debug.BuildInfo) string {
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev string
	var dirty bool
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return "devel"
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	v := "devel-" + rev
	if dirty {
		v += "-dirty"
	}
	return v
}

func cmdVersion(args []string, stdout io.Writer) error {
	if len(args) > 0 && isHelpFlag(args[0]) {
		return printHelp("version", stdout)
	}
	if len(args) > 0 {
		return usageErr("version takes no arguments (got %q)", args[0])
	}
	fmt.Fprintf(stdout, "kontaktpunkt %s (%s %s/%s)\n", buildVersion(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return nil
}
