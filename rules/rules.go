// Package rules holds forgehunt's detection rules: the built-in pack, embedded
// from builtin/*.yml, and the loader for users' rule directories.
//
// A rule is one YAML file with Sigma-like metadata and a DuckDB query over the
// case tables (see the README's "Writing a rule"). The query returns one row
// per hit with at least the columns artifact_key and reason, and optionally
// level (overriding the rule's level for that row) and coverage.
package rules

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

//go:embed builtin/*.yml
var builtinFS embed.FS

// Levels, lowest first (Sigma's).
var Levels = []string{"informational", "low", "medium", "high", "critical"}

// LevelRank returns the position of level in Levels, or -1.
func LevelRank(level string) int {
	for i, l := range Levels {
		if l == level {
			return i
		}
	}
	return -1
}

// Rule is one detection.
type Rule struct {
	ID             string   `yaml:"id"`
	Title          string   `yaml:"title"`
	Status         string   `yaml:"status"` // stable, test, experimental
	Level          string   `yaml:"level"`
	Kind           string   `yaml:"kind"` // artifact kind it looks at: a registered kind (analyzer.Kinds) or any
	Description    string   `yaml:"description"`
	Author         string   `yaml:"author"`
	References     []string `yaml:"references"`
	Mitre          []string `yaml:"mitre"`
	FalsePositives []string `yaml:"falsepositives"`
	// Frameworks are the control frameworks a finding maps to (OWASP
	// Non-Human Identity Top 10, NIST CSF 2.0, NIST SP 800-207); empty
	// takes DefaultFrameworks.
	Frameworks []string `yaml:"frameworks"`
	// Fields are the finding fields (JSON names, e.g. subject, client_ips,
	// reason) a table of this rule's findings shows; empty for the default.
	Fields []string `yaml:"fields"`
	Query  string   `yaml:"query"`
	Tests  []Test   `yaml:"tests"`

	// Source is where the rule came from: "builtin:NAME.yml" or a file path.
	Source string `yaml:"-"`
}

// DefaultFrameworks are the references of a detection rule that names
// none: finding an artifact an exposed key made, where it was accepted.
var DefaultFrameworks = []string{
	"NIST CSF 2.0 DE.AE-02 (potentially adverse events are analyzed)",
	"NIST CSF 2.0 DE.CM-09 (computing hardware, software and their data are monitored)",
	"NIST SP 800-207 tenet 6 (authentication and authorization are dynamic and strictly enforced before access)",
}

// InvalidationFrameworks are the references of what must be invalidated:
// derived credentials, the worklist.
var InvalidationFrameworks = []string{
	"OWASP Non-Human Identity Top 10 NHI-03 (rotation and invalidation of compromised signing material)",
	"NIST CSF 2.0 RS.MI-01 (incidents are contained) and RS.MI-02 (incidents are eradicated)",
	"NIST SP 800-207 tenet 3 (access is granted per session)",
}

// FrameworkRefs are r's frameworks, or the defaults.
func (r *Rule) FrameworkRefs() []string {
	if len(r.Frameworks) > 0 {
		return r.Frameworks
	}
	return DefaultFrameworks
}

// Test is a small case a rule must (or must not) hit: rows for the case
// tables, inserted into an empty case before the rule runs.
type Test struct {
	Name   string                      `yaml:"name"`
	Expect string                      `yaml:"expect"` // "hit" or "miss"
	Tables map[string][]map[string]any `yaml:"tables"`
	// Artifact is the artifact_key that must (or must not) be hit; "" means any.
	Artifact string `yaml:"artifact"`
	// Level, with expect: hit, is the level the hit must have.
	Level string `yaml:"level"`
}

var idPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,62}$`)
var mitrePattern = regexp.MustCompile(`^T[0-9]{4}(\.[0-9]{3})?$`)

// Validate checks a rule's metadata; it does not run the query.
func (r *Rule) Validate() error {
	var errs []error
	if !idPattern.MatchString(r.ID) {
		errs = append(errs, fmt.Errorf("id %q must be lower-case letters, digits, '-' or '.'", r.ID))
	}
	if strings.TrimSpace(r.Title) == "" {
		errs = append(errs, errors.New("title is missing"))
	}
	if LevelRank(r.Level) < 0 {
		errs = append(errs, fmt.Errorf("level %q is not one of %s", r.Level, strings.Join(Levels, ", ")))
	}
	if strings.TrimSpace(r.Query) == "" {
		errs = append(errs, errors.New("query is missing"))
	}
	for _, m := range r.Mitre {
		if !mitrePattern.MatchString(m) {
			errs = append(errs, fmt.Errorf("mitre %q is not a technique id like T1606 or T1606.002", m))
		}
	}
	for _, f := range r.Fields {
		if !FindingFields[f] {
			errs = append(errs, fmt.Errorf("fields: %q is not a finding field (%s)", f, strings.Join(findingFieldNames(), ", ")))
		}
	}
	for i, t := range r.Tests {
		if t.Expect != "hit" && t.Expect != "miss" {
			errs = append(errs, fmt.Errorf("test %d (%s): expect must be hit or miss", i+1, t.Name))
		}
		if t.Level != "" && (LevelRank(t.Level) < 0 || t.Expect != "hit") {
			errs = append(errs, fmt.Errorf("test %d (%s): level %q needs expect: hit and one of %s", i+1, t.Name, t.Level, strings.Join(Levels, ", ")))
		}
	}
	return errors.Join(errs...)
}

// Parse reads one rule file.
func Parse(data []byte, source string) (*Rule, error) {
	var r Rule
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("%s: %w", source, err)
	}
	r.Source = source
	if r.Status == "" {
		r.Status = "experimental"
	}
	if r.Kind == "" {
		r.Kind = "any"
	}
	if err := r.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", source, err)
	}
	return &r, nil
}

// LoadError is a rule file that could not be loaded.
type LoadError struct {
	Source string
	Err    error
}

func (e *LoadError) Error() string { return e.Err.Error() }
func (e *LoadError) Unwrap() error { return e.Err }

// Builtin returns the embedded rule pack, sorted by id. A broken built-in rule
// is a bug caught by this package's tests; it is returned as a LoadError all
// the same.
func Builtin() ([]*Rule, []*LoadError) {
	return load(builtinFS, "builtin", "builtin:")
}

// LoadDir loads every *.yml and *.yaml file in dir (not recursing). Files that
// fail to load are returned as LoadErrors; the others load.
func LoadDir(dir string) ([]*Rule, []*LoadError) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, []*LoadError{{Source: dir, Err: fmt.Errorf("rules directory: %w", err)}}
	}
	if !st.IsDir() {
		data, err := os.ReadFile(dir)
		if err != nil {
			return nil, []*LoadError{{Source: dir, Err: err}}
		}
		r, err := Parse(data, dir)
		if err != nil {
			return nil, []*LoadError{{Source: dir, Err: err}}
		}
		return []*Rule{r}, nil
	}
	return load(os.DirFS(dir), ".", dir+string(filepath.Separator))
}

func load(fsys fs.FS, dir, prefix string) ([]*Rule, []*LoadError) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, []*LoadError{{Source: prefix, Err: err}}
	}
	var out []*Rule
	var errs []*LoadError
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !(strings.HasSuffix(name, ".yml") || strings.HasSuffix(name, ".yaml")) {
			continue
		}
		data, err := fs.ReadFile(fsys, pathJoin(dir, name))
		if err != nil {
			errs = append(errs, &LoadError{Source: prefix + name, Err: err})
			continue
		}
		r, err := Parse(data, prefix+name)
		if err != nil {
			errs = append(errs, &LoadError{Source: prefix + name, Err: err})
			continue
		}
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, errs
}

func pathJoin(dir, name string) string {
	if dir == "." {
		return name
	}
	return dir + "/" + name
}

// Select filters rules: only the ids in include (all when empty), none of the
// ids in exclude. An id in either list that names no rule is an error.
func Select(all []*Rule, include, exclude []string) ([]*Rule, error) {
	byID := map[string]bool{}
	for _, r := range all {
		byID[r.ID] = true
	}
	for _, id := range append(append([]string{}, include...), exclude...) {
		if !byID[id] {
			return nil, fmt.Errorf("no rule with id %q (see `forgehunt rules list`)", id)
		}
	}
	in := map[string]bool{}
	for _, id := range include {
		in[id] = true
	}
	ex := map[string]bool{}
	for _, id := range exclude {
		ex[id] = true
	}
	var out []*Rule
	for _, r := range all {
		if (len(in) == 0 || in[r.ID]) && !ex[r.ID] {
			out = append(out, r)
		}
	}
	return out, nil
}

// Merge returns builtin plus user rules; a user rule with a built-in rule's
// id replaces it (so an estate can tune a built-in rule).
func Merge(builtin, user []*Rule) []*Rule {
	byID := map[string]int{}
	out := append([]*Rule{}, builtin...)
	for i, r := range out {
		byID[r.ID] = i
	}
	for _, r := range user {
		if i, ok := byID[r.ID]; ok {
			out[i] = r
			continue
		}
		byID[r.ID] = len(out)
		out = append(out, r)
	}
	return out
}

// FindingFields are the finding fields a rule's `fields` may name.
var FindingFields = map[string]bool{
	"rule_id": true, "title": true, "kind": true, "artifact_key": true, "artifact_id": true, "issuer": true,
	"subject": true, "subject_name": true, "signer_fp": true, "first_seen": true, "last_seen": true, "sightings": true,
	"accepted": true, "observers": true, "principals": true, "client_ips": true, "reason": true,
	"coverage": true, "status": true,
}

func findingFieldNames() []string {
	names := make([]string, 0, len(FindingFields))
	for n := range FindingFields {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
