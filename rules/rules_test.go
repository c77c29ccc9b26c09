package rules

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Every embedded rule must parse and validate: a broken rule never ships.
func TestBuiltinRulesLoad(t *testing.T) {
	rs, errs := Builtin()
	for _, e := range errs {
		t.Errorf("%s: %v", e.Source, e.Err)
	}
	if len(rs) < 4 {
		t.Fatalf("only %d built-in rules", len(rs))
	}
	seen := map[string]bool{}
	for _, r := range rs {
		if seen[r.ID] {
			t.Errorf("duplicate rule id %s", r.ID)
		}
		seen[r.ID] = true
		if !strings.HasPrefix(r.Source, "builtin:"+r.ID+".") {
			t.Errorf("rule %s lives in %s; name the file after the id", r.ID, r.Source)
		}
		if len(r.Mitre) == 0 || strings.TrimSpace(r.Description) == "" {
			t.Errorf("rule %s needs a description and MITRE techniques", r.ID)
		}
	}
}

func TestParseRejectsBadRules(t *testing.T) {
	cases := map[string]string{
		"unknown field": "id: x1\ntitle: t\nlevel: high\nquery: SELECT 1\nbogus: 1\n",
		"bad level":     "id: x1\ntitle: t\nlevel: severe\nquery: SELECT 1\n",
		"no query":      "id: x1\ntitle: t\nlevel: high\n",
		"bad id":        "id: X Y\ntitle: t\nlevel: high\nquery: SELECT 1\n",
		"bad mitre":     "id: x1\ntitle: t\nlevel: high\nquery: SELECT 1\nmitre: [1606]\n",
		"not yaml":      "id: [\n",
	}
	for name, src := range cases {
		if _, err := Parse([]byte(src), name+".yml"); err == nil {
			t.Errorf("%s: parsed without error", name)
		} else if !strings.Contains(err.Error(), name+".yml") {
			t.Errorf("%s: error %q does not name the file", name, err)
		}
	}
}

func TestLoadDirKeepsGoodRules(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "good.yml"), []byte("id: good-one\ntitle: t\nlevel: low\nquery: SELECT 1\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "bad.yml"), []byte("id: bad\ntitle: t\nlevel: nope\nquery: SELECT 1\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("ignored"), 0o644)
	rs, errs := LoadDir(dir)
	if len(rs) != 1 || rs[0].ID != "good-one" {
		t.Fatalf("rules = %v", rs)
	}
	if len(errs) != 1 || !strings.HasSuffix(errs[0].Source, "bad.yml") {
		t.Fatalf("errors = %v", errs)
	}
}

func TestSelectAndMerge(t *testing.T) {
	a := &Rule{ID: "a", Title: "A"}
	b := &Rule{ID: "b", Title: "B"}
	a2 := &Rule{ID: "a", Title: "A from user"}
	all := Merge([]*Rule{a, b}, []*Rule{a2})
	if len(all) != 2 || all[0].Title != "A from user" {
		t.Fatalf("merge = %v", all)
	}
	got, err := Select(all, nil, []string{"b"})
	if err != nil || len(got) != 1 || got[0].ID != "a" {
		t.Fatalf("select = %v, %v", got, err)
	}
	if _, err := Select(all, []string{"zzz"}, nil); err == nil {
		t.Fatal("unknown id selected without error")
	}
}
