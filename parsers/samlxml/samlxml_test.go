package samlxml

import (
	"bytes"
	"strings"
	"testing"

	"github.com/forgehunt/forgehunt/parsers/record"
	"github.com/forgehunt/forgehunt/parsers/record/recordtest"
)

func TestGolden(t *testing.T) {
	recordtest.Golden(t, Format, "testdata/golden", record.Options{})
}

// A nested message keeps its bytes, with the namespaces its ancestors
// declared copied onto it, so that it parses on its own.
func TestNestedKeepsNamespaces(t *testing.T) {
	c, err := recordtest.Parse(Format, "soap.xml", []byte(`<soap:Envelope xmlns:soap="s" xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"><soap:Body><samlp:Response ID="_r"/></soap:Body></soap:Envelope>`), record.Options{})
	if err != nil || len(c.Sightings) != 1 {
		t.Fatalf("%v %+v", err, c)
	}
	if raw := c.Sightings[0].Raw; !strings.HasPrefix(raw, `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:soap="s" ID="_r"/>`) {
		t.Errorf("raw %q", raw)
	}
}

func TestSniff(t *testing.T) {
	split := func(s string) [][]byte { return bytes.Split([]byte(s), []byte("\n")) }
	if !Format.Sniff(split(`<?xml version="1.0"?>` + "\n" + `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol">`)) {
		t.Error("SAML XML not claimed")
	}
	for _, s := range []string{
		`<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System>`,
		`127.0.0.1 - - [04/Mar/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 1`,
		`{"msg":"x"}`,
		`aGVsbG8=`,
	} {
		if Format.Sniff(split(s)) {
			t.Errorf("claimed %q", s)
		}
	}
	if !Format.SniffFile("resp.xml", []byte(`<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol">`)) || Format.SniffFile("x.log", []byte(`<a/>`)) {
		t.Error("SniffFile")
	}
}

func FuzzParse(f *testing.F) {
	recordtest.Seeds(f, "testdata/golden")
	f.Fuzz(func(t *testing.T, data []byte) { recordtest.CheckInvariants(t, Format, data) })
}
