package main

import (
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

const unitFile = "../../dist/kontaktpunkt.service"

// The shipped systemd unit scores 2.0 or lower in `systemd-analyze
// security` (lower is better; the unit had 5.8 before hardening).
func TestSystemdUnitExposure(t *testing.T) {
	tool, err := exec.LookPath("systemd-analyze")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("systemd-analyze is missing; .ci/run installs the systemd package")
		}
		t.Skip("systemd-analyze not installed")
	}
	out, err := exec.Command(tool, "security", "--offline=true", unitFile).CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze security: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`Overall exposure level for \S+: (\d+\.\d+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("no overall exposure level in:\n%s", out)
	}
	score, _ := strconv.ParseFloat(string(m[1]), 64)
	t.Logf("exposure %.1f", score)
	if score > 2.0 {
		t.Errorf("exposure %.1f, want at most 2.0:\n%s", score, out)
	}
}

// The unit runs the commands this binary has, with the one configuration
// path the README names, and hands secrets in as credentials.
func TestSystemdUnitCommands(t *testing.T) {
	b, err := os.ReadFile(unitFile)
	if err != nil {
		t.Fatal(err)
	}
	unit := string(b)
	for _, want := range []string{
		"ExecStartPre=/usr/local/bin/kontaktpunkt check-config -config /etc/kontaktpunkt/kontaktpunkt.yaml\n",
		"ExecStart=/usr/local/bin/kontaktpunkt serve -config /etc/kontaktpunkt/kontaktpunkt.yaml\n",
		"LoadCredential=",
		"Documentation=file:/usr/share/doc/kontaktpunkt/README.md\n",
	} {
		if !strings.Contains(unit, want) {
			t.Errorf("unit lacks %q", want)
		}
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), "/usr/share/doc/kontaktpunkt/README.md") {
		t.Error("README does not say to install itself where the unit's Documentation= points")
	}
}
