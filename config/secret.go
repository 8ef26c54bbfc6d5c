package config

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"gopkg.in/yaml.v3"
)

// Secret says where a secret comes from: a file (its content, without the
// trailing newline) or an environment variable. The value itself is never
// held in the config, never written in it, and never printed: String,
// GoString and LogValue show only the source.
type Secret struct {
	// File is a path whose content is the secret.
	File string `yaml:"file"`
	// Env is the name of an environment variable holding the secret.
	Env string `yaml:"env"`
}

// ErrSecret is wrapped by every error of Secret.Value.
var ErrSecret = errors.New("config: secret unavailable")

// IsSet reports whether a source is configured.
func (s Secret) IsSet() bool { return s.File != "" || s.Env != "" }

// Value reads the secret now: the file's content with trailing CR/LF
// removed, or the environment variable. An unset, missing or empty secret
// is an error wrapping ErrSecret; the error names the source, never the
// value.
func (s Secret) Value() (string, error) {
	switch {
	case s.File != "" && s.Env != "":
		return "", fmt.Errorf("%w: both file and env are set", ErrSecret)
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
	return "", fmt.Errorf("%w: no file or env configured", ErrSecret)
}

// String shows where the secret comes from ("file:/etc/…", "env:NAME",
// "unset"), never its value.
func (s Secret) String() string {
	switch {
	case s.File != "" && s.Env != "":
		return "file:" + s.File + ",env:" + s.Env
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
			"line %d: a secret must be {file: PATH} or {env: VARIABLE}, never written inline", n.Line)}}
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
		default:
			errs = append(errs, fmt.Sprintf("line %d: unknown key %q (a secret has file or env)", k.Line, k.Value))
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
