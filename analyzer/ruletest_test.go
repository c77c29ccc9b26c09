package analyzer

import (
	"context"
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
