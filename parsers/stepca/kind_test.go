package stepca_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os"
	"slices"
	"testing"

	"github.com/forgehunt/forgehunt/analyzer/kinds"
	"github.com/forgehunt/forgehunt/analyzer/kinds/x509kind"
	"github.com/forgehunt/forgehunt/parsers/record"
	"github.com/forgehunt/forgehunt/parsers/record/recordtest"
	"github.com/forgehunt/forgehunt/parsers/stepca"
)

// An issuance read from a logged certificate holds what the x509 kind
// reads from that certificate, in the same forms: the matcher compares
// them as they are.
func TestIssuanceMatchesKind(t *testing.T) {
	data, err := os.ReadFile("testdata/json.log")
	if err != nil {
		t.Fatal(err)
	}
	c, err := recordtest.Parse(stepca.Format, "json.log", data, record.Options{})
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.Split(data, []byte("\n"))
	if len(c.Issuances) == 0 {
		t.Fatal("no issuances")
	}
	for _, iss := range c.Issuances {
		var fields struct{ Certificate string }
		if err := json.Unmarshal(lines[iss.Pos.Line-1], &fields); err != nil {
			t.Fatal(err)
		}
		der, err := base64.StdEncoding.DecodeString(fields.Certificate)
		if err != nil {
			t.Fatal(err)
		}
		v := x509kind.Kind{}.Verify(record.CertRaw(der), nil, kinds.Options{})
		names := slices.Clone(iss.Names)
		for i := range names {
			names[i] = record.Escape(names[i])
		}
		if v.ID != iss.ArtifactID || v.Issuer != record.Escape(iss.Issuer) || v.Subject != record.Escape(iss.Subject) ||
			!v.NotBefore.Equal(iss.IssuedAt) || !v.ExpiresAt.Equal(iss.ExpiresAt) || v.RawSHA256 != iss.RawSHA256 || !slices.Equal(v.Names, names) {
			t.Errorf("line %d: issuance %+v\nkind reads %+v", iss.Pos.Line, iss, v)
		}
	}
}
