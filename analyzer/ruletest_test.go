package analyzer

import (
	"context"
	"strings"
	"testing"

	"github.com/forgehunt/forgehunt/rules"
)

// Every built-in rule's own tests pass, and every rule has at least one
// must-hit and one must-not-hit case.
func TestBuiltinRuleTests(t *testing.T) {
	rs, errs := rules.Builtin()
	for _, e := range errs {
		t.Fatalf("%s: %v", e.Source, e.Err)
	}
	ctx := context.Background()
	for _, r := range rs {
		t.Run(r.ID, func(t *testing.T) {
			var hit, miss bool
			for _, tr := range TestRule(ctx, r, Settings{}) {
				if tr.Err != nil {
					t.Errorf("%s: %v", tr.Test.Name, tr.Err)
				}
				hit = hit || tr.Test.Expect == "hit"
				miss = miss || tr.Test.Expect == "miss"
			}
			if !hit || !miss {
				t.Errorf("rule %s lacks a must-hit or a must-not-hit test", r.ID)
			}
		})
	}
}

// rules lint checks a rule's kind against the registry of artifact kinds;
// every built-in rule lints.
func TestLintRuleKind(t *testing.T) {
	ctx := context.Background()
	rs, _ := rules.Builtin()
	for _, r := range rs {
		if err := LintRule(ctx, r); err != nil {
			t.Errorf("%s: %v", r.ID, err)
		}
	}
	r := *rs[0]
	r.Kind = "certificate"
	if err := LintRule(ctx, &r); err == nil || !strings.Contains(err.Error(), `kind "certificate"`) {
		t.Errorf("a rule of an unknown kind: %v", err)
	}
}
