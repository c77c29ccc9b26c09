// Package kindtest is the conformance harness of artifact kinds (see
// kinds.Kind): every kind's tests call Check with samples of its artifacts
// and keys, and its fuzz target calls Verify through CheckVerdict.
package kindtest

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/forgehunt/forgehunt/analyzer/keys"
	"github.com/forgehunt/forgehunt/analyzer/kinds"
)

var nameRE = regexp.MustCompile(`^[a-z][a-z0-9-]*$`)

// Check holds k to the kinds contract on samples (raw artifacts of the
// kind; at least one should verify with set) and on hostile variants of
// them: names, keys stable, verification that never fails, statuses from
// the list, a note for every malformed artifact, a signer for every valid
// one, and nothing valid without keys.
func Check(t *testing.T, k kinds.Kind, samples []string, set []*keys.Key) {
	t.Helper()
	if !nameRE.MatchString(k.Name()) {
		t.Errorf("kind name %q is not lower-case letters, digits and dashes", k.Name())
	}
	if k.IDLabel() == "" {
		t.Errorf("kind %s has no id label", k.Name())
	}
	valid := 0
	for _, raw := range samples {
		if k.Key(raw) == "" || k.Key(raw) != k.Key(raw) {
			t.Errorf("%s: key of %.40q is empty or not stable", k.Name(), raw)
		}
		v := CheckVerdict(t, k, raw, set)
		if v.Status == kinds.StatusValid {
			valid++
		}
		if none := CheckVerdict(t, k, raw, nil); none.Status == kinds.StatusValid {
			t.Errorf("%s: %.40q is valid without keys", k.Name(), raw)
		}
		for _, bad := range hostile(raw) {
			CheckVerdict(t, k, bad, set)
		}
	}
	if len(samples) > 0 && valid == 0 {
		t.Errorf("%s: no sample verifies with the keys given: the harness proves little", k.Name())
	}
	for _, bad := range []string{"", " ", "\x00", strings.Repeat("A", 1<<20), "\x1b[31m", "{}"} {
		CheckVerdict(t, k, bad, set)
	}
}

// CheckVerdict verifies raw with k and checks the verdict's invariants; it
// fails the test on a panic.
func CheckVerdict(t testing.TB, k kinds.Kind, raw string, set []*keys.Key) (v kinds.Verdict) {
	t.Helper()
	defer func() {
		if p := recover(); p != nil {
			t.Fatalf("%s: Verify(%.40q) panicked: %v", k.Name(), raw, p)
		}
	}()
	v = k.Verify(raw, set, kinds.Options{})
	if !slices.Contains(kinds.Statuses, v.Status) {
		t.Errorf("%s: %.40q has status %q, not one of %v", k.Name(), raw, v.Status, kinds.Statuses)
	}
	if v.Status == kinds.StatusMalformed && v.Note == "" {
		t.Errorf("%s: %.40q is malformed without a note", k.Name(), raw)
	}
	if (v.Status == kinds.StatusValid) != (v.SignerFP != "") {
		t.Errorf("%s: %.40q is %s with signer %q", k.Name(), raw, v.Status, v.SignerFP)
	}
	deferred := k.Verify(raw, set, kinds.Options{DeferTrusted: true})
	if deferred.Status != v.Status && deferred.Status != kinds.StatusNotChecked {
		t.Errorf("%s: %.40q is %s, and %s when trusted keys are deferred", k.Name(), raw, v.Status, deferred.Status)
	}
	for _, f := range k.Fields(v) {
		if f.Label == "" {
			t.Errorf("%s: a field without a label", k.Name())
		}
	}
	return v
}

// hostile returns variants of raw that a verifier must survive: cut, with
// a byte changed, doubled, with control bytes.
func hostile(raw string) []string {
	out := []string{raw + raw, "\x00" + raw, raw + "\x1b]0;x\x07"}
	for _, n := range []int{1, len(raw) / 2, len(raw) - 1} {
		if n > 0 && n < len(raw) {
			out = append(out, raw[:n])
			b := []byte(raw)
			b[n] ^= 0x01
			out = append(out, string(b))
		}
	}
	return out
}
