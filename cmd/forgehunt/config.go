package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/forgehunt/forgehunt/analyzer"
	"github.com/forgehunt/forgehunt/parsers"
	"github.com/forgehunt/forgehunt/parsers/envoytext"
	"github.com/forgehunt/forgehunt/parsers/nginx"
)

// ConfigFile is the name hunt and ingest look for in the working directory
// when --config is not given.
const ConfigFile = "forgehunt.yaml"

// fileConfig is forgehunt.yaml: what a hunt's flags say, for cases too big
// for flags (docs/forgehunt.example.yaml is a complete example). Paths are
// relative to the file's directory.
type fileConfig struct {
	Keys struct {
		Exposed []keyEntry `yaml:"exposed"`
		Trusted []string   `yaml:"trusted"`
		HMAC    []keyEntry `yaml:"hmac"`
	} `yaml:"keys"`
	// ExposedFrom and RevokedAt are the window of exposed keys that give
	// none of their own.
	ExposedFrom string       `yaml:"exposed_from"`
	RevokedAt   string       `yaml:"revoked_at"`
	Inputs      []inputEntry `yaml:"inputs"`
	Ledgers     []string     `yaml:"ledgers"`
	Case        string       `yaml:"case"`
	MemoryLimit string       `yaml:"memory_limit"`
	Verify      string       `yaml:"verify"`
	TZ          string       `yaml:"tz"`
	Rules       struct {
		Dirs    []string `yaml:"dirs"`
		Only    []string `yaml:"only"`
		Exclude []string `yaml:"exclude"`
	} `yaml:"rules"`
	// Policy is a policy file's path, or the policy itself (its YAML form).
	Policy yaml.Node `yaml:"policy"`
	Output struct {
		Format   string `yaml:"format"`
		Out      string `yaml:"out"`
		MinLevel string `yaml:"min_level"`
		FailOn   string `yaml:"fail_on"`
	} `yaml:"output"`
}

// keyEntry is a key file, with its own exposure window when it has one.
type keyEntry struct {
	File        string `yaml:"file"`
	ExposedFrom string `yaml:"exposed_from"`
	RevokedAt   string `yaml:"revoked_at"`
}

// UnmarshalYAML takes a bare path as a key without a window.
func (k *keyEntry) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		k.File = n.Value
		return nil
	}
	type plain keyEntry
	return n.Decode((*plain)(k))
}

// inputEntry is logs to read, with the options of their format.
type inputEntry struct {
	Path        string            `yaml:"path"`
	Paths       []string          `yaml:"paths"`
	Format      string            `yaml:"format"`
	Observer    string            `yaml:"observer"`
	FieldMap    map[string]string `yaml:"field_map"`
	NginxFormat string            `yaml:"nginx_format"`
	EnvoyFormat string            `yaml:"envoy_format"`
	TZ          string            `yaml:"tz"`
}

// inputSpec is a set of paths read with their own options.
type inputSpec struct {
	paths                    []string
	format                   string
	observer, tz             string
	nginxFormat, envoyFormat string
	fieldMap                 map[string]string
}

// loadConfig reads the config file at path (given with --config), or
// ./forgehunt.yaml when path is "" and it exists; nil when there is none.
func loadConfig(path string) (*fileConfig, string, error) {
	explicit := path != ""
	if !explicit {
		path = ConfigFile
	}
	data, err := os.ReadFile(path)
	if err != nil {
		if !explicit && errors.Is(err, os.ErrNotExist) {
			return nil, "", nil
		}
		return nil, "", usagef("--config: %v", err)
	}
	var fc fileConfig
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&fc); err != nil {
		var te *yaml.TypeError
		if errors.As(err, &te) {
			msgs := make([]string, len(te.Errors))
			for i, e := range te.Errors {
				msgs[i] = strings.NewReplacer(" in type main.fileConfig", "", " in type main.keyEntry", "",
					" in type main.inputEntry", "", "not found", "is not a setting").Replace(e)
			}
			return nil, "", usagef("config %s: %s", path, strings.Join(msgs, "; "))
		}
		return nil, "", usagef("config %s: %v", path, err)
	}
	return &fc, path, nil
}

// applyConfig merges the config file into c: flags given on the command
// line win over its scalars; its keys, inputs, ledgers and rule lists come
// before the command line's.
func (c *huntConfig) applyConfig(fc *fileConfig, path string, set map[string]bool) error {
	base := filepath.Dir(path)
	rel := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(base, p)
	}
	rels := func(ps []string) []string {
		out := make([]string, len(ps))
		for i, p := range ps {
			out[i] = rel(p)
		}
		return out
	}
	bad := func(format string, args ...any) error {
		return usagef("config %s: %s", path, fmt.Sprintf(format, args...))
	}
	parseTime := func(what, v string) (time.Time, error) {
		if v == "" {
			return time.Time{}, nil
		}
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return time.Time{}, bad("%s %q is not an RFC 3339 time such as 2026-03-06T12:00:00Z", what, v)
		}
		return t.UTC(), nil
	}
	var exposed []string
	for i, k := range fc.Keys.Exposed {
		if k.File == "" {
			return bad("keys.exposed entry %d has no file", i+1)
		}
		from, err := parseTime("keys.exposed "+k.File+" exposed_from", k.ExposedFrom)
		if err != nil {
			return err
		}
		revoked, err := parseTime("keys.exposed "+k.File+" revoked_at", k.RevokedAt)
		if err != nil {
			return err
		}
		exposed = append(exposed, rel(k.File))
		if !from.IsZero() || !revoked.IsZero() {
			if c.keyWindows == nil {
				c.keyWindows = map[string]analyzer.KeyWindow{}
			}
			c.keyWindows[rel(k.File)] = analyzer.KeyWindow{ExposedFrom: from, RevokedAt: revoked}
		}
	}
	c.exposed = append(exposed, c.exposed...)
	var hmac []string
	for _, k := range fc.Keys.HMAC {
		hmac = append(hmac, rel(k.File))
	}
	c.hmac = append(hmac, c.hmac...)
	c.trusted = append(rels(fc.Keys.Trusted), c.trusted...)
	c.ledgers = append(rels(fc.Ledgers), c.ledgers...)
	c.ruleDirs = append(rels(fc.Rules.Dirs), c.ruleDirs...)
	c.only = append(append(stringList{}, fc.Rules.Only...), c.only...)
	c.exclude = append(append(stringList{}, fc.Rules.Exclude...), c.exclude...)
	for i, in := range fc.Inputs {
		paths := in.Paths
		if in.Path != "" {
			paths = append([]string{in.Path}, paths...)
		}
		if len(paths) == 0 {
			return bad("inputs entry %d has no path", i+1)
		}
		if in.Format != "" {
			if _, err := parsers.Lookup(in.Format); err != nil {
				return bad("inputs entry %d: %v", i+1, err)
			}
		}
		if in.NginxFormat != "" {
			if _, err := nginx.CompileFormat(in.NginxFormat); err != nil {
				return bad("inputs entry %d: nginx_format: %v", i+1, err)
			}
		}
		if in.EnvoyFormat != "" {
			if err := envoytext.CheckFormat(in.EnvoyFormat); err != nil {
				return bad("inputs entry %d: envoy_format: %v", i+1, err)
			}
		}
		c.inputs = append(c.inputs, inputSpec{paths: rels(paths), format: in.Format, observer: in.Observer, tz: in.TZ,
			nginxFormat: in.NginxFormat, envoyFormat: in.EnvoyFormat, fieldMap: in.FieldMap})
	}
	scalar := func(flag string, dst *string, v string) {
		if v != "" && !set[flag] {
			*dst = v
		}
	}
	scalar("case", &c.casePath, rel(fc.Case))
	scalar("memory-limit", &c.memoryLimit, fc.MemoryLimit)
	scalar("verify", &c.verify, fc.Verify)
	scalar("tz", &c.tz, fc.TZ)
	scalar("format", &c.format, fc.Output.Format)
	scalar("out", &c.out, rel(fc.Output.Out))
	scalar("min-level", &c.minLevel, fc.Output.MinLevel)
	scalar("fail-on", &c.failOn, fc.Output.FailOn)
	if !set["exposed-from"] {
		t, err := parseTime("exposed_from", fc.ExposedFrom)
		if err != nil {
			return err
		}
		if !t.IsZero() {
			c.exposedFrom = t
		}
	}
	if !set["revoked-at"] {
		t, err := parseTime("revoked_at", fc.RevokedAt)
		if err != nil {
			return err
		}
		if !t.IsZero() {
			c.revokedAt = t
		}
	}
	if !set["policy"] {
		switch fc.Policy.Kind {
		case 0:
		case yaml.ScalarNode:
			c.policyPath = rel(fc.Policy.Value)
		case yaml.MappingNode:
			data, err := yaml.Marshal(&fc.Policy)
			if err != nil {
				return bad("policy: %v", err)
			}
			pol, err := analyzer.ParsePolicy(data, path+" (policy)")
			if err != nil {
				return usageError{err.Error()}
			}
			c.policy = pol
		default:
			return bad("policy is neither a file nor a mapping")
		}
	}
	return nil
}
