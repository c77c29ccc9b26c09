package vaultpki_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/forgehunt/forgehunt/analyzer/kinds"
	"github.com/forgehunt/forgehunt/analyzer/kinds/x509kind"
	"github.com/forgehunt/forgehunt/parsers/record"
	"github.com/forgehunt/forgehunt/parsers/record/recordtest"
	"github.com/forgehunt/forgehunt/parsers/vaultpki"
)

// An issuance read from a certificate in clear holds what the x509 kind
// reads from that certificate, in the same forms: the matcher compares
// them as they are.
func TestIssuanceMatchesKind(t *testing.T) {
	data, err := os.ReadFile("testdata/clear-cert.log")
	if err != nil {
		t.Fatal(err)
	}
	c, err := recordtest.Parse(vaultpki.Format, "clear-cert.log", data, record.Options{})
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.Split(data, []byte("\n"))
	if len(c.Issuances) == 0 {
		t.Fatal("no issuances")
	}
	for _, iss := range c.Issuances {
		line := lines[iss.Pos.Line-1]
		var entry struct {
			Response struct{ Data struct{ Certificate string } }
		}
		if err := json.Unmarshal(line[bytes.IndexByte(line, '{'):], &entry); err != nil {
			t.Fatal(err)
		}
		der := certDER(t, entry.Response.Data.Certificate)
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

func certDER(t *testing.T, s string) []byte {
	t.Helper()
	if !strings.HasPrefix(s, "-----") {
		der, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	rest := []byte(s)
	for {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			t.Fatal("no certificate in the PEM")
		}
		if b.Type == "CERTIFICATE" {
			return b.Bytes
		}
	}
}
