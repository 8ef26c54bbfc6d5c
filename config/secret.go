package config

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"
)

// Secret says where a secret comes from: a file (its content, without the
// trailing newline), an environment variable, or a systemd credential
// (a file named NAME in $CREDENTIALS_DIRECTORY, which systemd fills from
// LoadCredential= and removes when the service stops). The value itself is never
// held in the config, never written in it, and never printed: String,
// GoString and LogValue show only the source.
type Secret struct {
	// File is a path whose content is the secret.
	File string `yaml:"file"`
	// Env is the name of an environment variable holding the secret.
	Env string `yaml:"env"`
	// Credential is the name of a systemd credential holding the secret.
	Credential string `yaml:"credential"`
}

// sources counts the sources configured; more than one is a mistake.
func (s Secret) sources() int {
	n := 0
	for _, v := range []string{s.File, s.Env, s.Credential} {
		if v != "" {
			n++
		}
	}
	return n
}

// ErrSecret is wrapped by every error of Secret.Value.
var ErrSecret = errors.New("config: secret unavailable")

// IsSet reports whether a source is configured.
func (s Secret) IsSet() bool { return s.sources() > 0 }

// Value reads the secret now: the file's content with trailing CR/LF
// removed, or the environment variable. An unset, missing or empty secret
// is an error wrapping ErrSecret; the error names the source, never the
// value.
func (s Secret) Value() (string, error) {
	switch {
	case s.sources() > 1:
		return "", fmt.Errorf("%w: more than one of file, env and credential is set", ErrSecret)
	case s.Credential != "":
		return s.credential()
	case s.File != "":
		b, err := os.ReadFile(s.File)
		if err != nil {
			return "", fmt.Errorf("%w: reading secret file: %w", ErrSecret, err)
		}
		v := strings.TrimRight(string(b), "\r\n")
		if v == "" {
			return "", fmt.Errorf("%w: secret file %s is empty", ErrSecret, s.File)
		}
		return v, nil
	case s.Env != "":
		v, ok := os.LookupEnv(s.Env)
		if !ok {
			return "", fmt.Errorf("%w: environment variable %s is not set", ErrSecret, s.Env)
		}
		if v == "" {
			return "", fmt.Errorf("%w: environment variable %s is empty", ErrSecret, s.Env)
		}
		return v, nil
	}
	return "", fmt.Errorf("%w: no file, env or credential configured", ErrSecret)
}

// credential reads $CREDENTIALS_DIRECTORY/NAME.
func (s Secret) credential() (string, error) {
	if !validCredentialName(s.Credential) {
		return "", fmt.Errorf("%w: %q is not a credential name", ErrSecret, s.Credential)
	}
	dir := os.Getenv("CREDENTIALS_DIRECTORY")
	if dir == "" {
		return "", fmt.Errorf("%w: credential %s: CREDENTIALS_DIRECTORY is not set; run under systemd with LoadCredential=%s:PATH, or use {file: PATH}",
			ErrSecret, s.Credential, s.Credential)
	}
	b, err := os.ReadFile(filepath.Join(dir, s.Credential))
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("%w: credential %s is not in %s; add LoadCredential=%s:PATH to the unit", ErrSecret, s.Credential, dir, s.Credential)
	}
	if err != nil {
		return "", fmt.Errorf("%w: reading credential %s: %w", ErrSecret, s.Credential, err)
	}
	v := strings.TrimRight(string(b), "\r\n")
	if v == "" {
		return "", fmt.Errorf("%w: credential %s is empty", ErrSecret, s.Credential)
	}
	return v, nil
}

// validCredentialName reports whether name can name a systemd credential:
// a file name, not a path.
func validCredentialName(name string) bool {
	return name != "" && name != "." && name != ".." && !strings.ContainsAny(name, "/\x00") && len(name) <= 255
}

// String shows where the secret comes from ("file:/etc/…", "env:NAME",
// "unset"), never its value.
func (s Secret) String() string {
	switch {
	case s.sources() > 1:
		var parts []string
		for _, p := range [][2]string{{"file:", s.File}, {"env:", s.Env}, {"credential:", s.Credential}} {
			if p[1] != "" {
				parts = append(parts, p[0]+p[1])
			}
		}
		return strings.Join(parts, ",")
	case s.Credential != "":
		return "credential:" + s.Credential
	case s.File != "":
		return "file:" + s.File
	case s.Env != "":
		return "env:" + s.Env
	}
	return "unset"
}

// GoString is String, so %#v reveals no more than %v.
func (s Secret) GoString() string { return s.String() }

// LogValue implements slog.LogValuer.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// UnmarshalYAML accepts only a mapping {file: …} or {env: …}. An inline
// value is rejected without repeating it, as a yaml.TypeError so that
// decoding goes on and every problem is reported.
func (s *Secret) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		// "password:" or "password: ''" leaves the secret unset.
		if n.Kind == yaml.ScalarNode && (n.Tag == "!!null" || n.Value == "") {
			return nil
		}
		return &yaml.TypeError{Errors: []string{fmt.Sprintf(
			"line %d: a secret must be {file: PATH} or {env: VARIABLE} (or {credential: NAME} under systemd), never written inline", n.Line)}}
	}
	var errs []string
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		var dst *string
		switch k.Value {
		case "file":
			dst = &s.File
		case "env":
			dst = &s.Env
		case "credential":
			dst = &s.Credential
		default:
			errs = append(errs, fmt.Sprintf("line %d: unknown key %q (a secret has file, env or credential)", k.Line, k.Value))
			continue
		}
		if v.Kind != yaml.ScalarNode {
			errs = append(errs, fmt.Sprintf("line %d: %s must be a string", v.Line, k.Value))
			continue
		}
		*dst = v.Value
	}
	if errs != nil {
		return &yaml.TypeError{Errors: errs}
	}
	return nil
}
