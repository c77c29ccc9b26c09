package samlxml

import (
	"bytes"
	"compress/flate"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/forgehunt/forgehunt/parsers/record"
	"github.com/forgehunt/forgehunt/parsers/record/recordtest"
)

const (
	prettyResponse = `<?xml version="1.0" encoding="UTF-8"?>
<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_r1" Version="2.0" IssueInstant="2026-03-04T10:00:00Z">
  <saml:Issuer xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">http://sts.contoso.com/adfs/services/trust</saml:Issuer>
  <saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_a1" Version="2.0" IssueInstant="2026-03-04T10:00:00Z">
    <saml:Issuer>http://sts.contoso.com/adfs/services/trust</saml:Issuer>
  </saml:Assertion>
</samlp:Response>`
	bareAssertion   = `<saml2:Assertion xmlns:saml2="urn:oasis:names:tc:SAML:2.0:assertion" ID="_a2" Version="2.0"><saml2:Issuer>https://idp.example.org</saml2:Issuer></saml2:Assertion>`
	defaultResponse = `<Response xmlns="urn:oasis:names:tc:SAML:2.0:protocol" ID="_r3" Version="2.0"><Assertion xmlns="urn:oasis:names:tc:SAML:2.0:assertion" ID="_a3"/></Response>`
	authnRequest    = `<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_req1" Version="2.0" AssertionConsumerServiceURL="https://sp.example.com/acs"/>`
	dtdResponse     = `<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_d">&b;</samlp:Response>`
)

func deflate(t testing.TB, s string) []byte {
	var b bytes.Buffer
	w, err := flate.NewWriter(&b, flate.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(w, s); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// valueLines are the lines of testdata/golden/values.txt and the message
// each one must decode to ("" for a line that must not decode).
func valueLines(t testing.TB) (lines, want []string) {
	std := base64.StdEncoding.EncodeToString
	add := func(line, msg string) { lines, want = append(lines, line), append(want, msg) }
	add(std([]byte(prettyResponse)), prettyResponse)                                                      // HTTP-POST, as a form decoder gives it
	add("SAMLResponse="+url.QueryEscape(std([]byte(bareAssertion)))+"&RelayState=%2Fhome", bareAssertion) // a logged body, still URL-encoded
	add("SAMLResponse="+url.QueryEscape(std(deflate(t, defaultResponse)))+"&SigAlg=x", defaultResponse)   // HTTP-Redirect
	add("not-base64-at-all!!!", "")
	add("SAMLRequest="+url.QueryEscape(std(deflate(t, authnRequest))), authnRequest)    // not hunted: ignored
	add(std([]byte(dtdResponse)), dtdResponse)                                          // refused
	add(base64.RawURLEncoding.EncodeToString([]byte(defaultResponse)), defaultResponse) // URL-safe, unpadded
	return lines, want
}

// TestValuesFile checks that values.txt holds the values valueLines
// makes (with -update, writes it): the base64 test input is generated, not
// pasted.
func TestValuesFile(t *testing.T) {
	path := filepath.Join("testdata", "golden", "values.txt")
	lines, want := valueLines(t)
	if *recordtest.Update {
		if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(got) != len(want) {
		t.Fatalf("%s has %d lines, want %d (run with -update)", path, len(got), len(want))
	}
	for i, l := range got {
		msg, _, err := record.DecodeSAMLMessage(lineValue(l))
		if want[i] == "" {
			if err == nil {
				t.Errorf("line %d decodes", i+1)
			}
			continue
		}
		if err != nil || string(msg) != want[i] {
			t.Errorf("line %d decodes to %q, %v; want %q (run with -update)", i+1, msg, err, want[i])
		}
	}
}

func TestGolden(t *testing.T) {
	recordtest.Golden(t, Format, "testdata/golden", record.Options{})
}

// A message is its bytes as in the file, exactly, at the top level; nested,
// the same bytes with the declarations of its ancestors inserted after its
// name, so that it resolves alone as it did in place.
func TestRawBytes(t *testing.T) {
	data, err := os.ReadFile("testdata/golden/concatenated.xml")
	if err != nil {
		t.Fatal(err)
	}
	c, err := recordtest.Parse(Format, "concatenated.xml", data, record.Options{})
	if err != nil || len(c.Sightings) != 3 {
		t.Fatalf("%v, %d sightings", err, len(c.Sightings))
	}
	for _, s := range c.Sightings {
		if !bytes.Contains(data, []byte(s.Raw)) || !strings.HasPrefix(s.Raw, "<") || !strings.HasSuffix(s.Raw, ">") {
			t.Errorf("line %d: raw is not a slice of the file: %q", s.Pos.Line, s.Raw)
		}
	}

	const in = `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" xmlns:q="urn:q&amp;&quot;"><soap:Body>` +
		`<samlp:Response ID="_r" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"><saml:Assertion ID="_a"/></samlp:Response></soap:Body></soap:Envelope>`
	c, err = recordtest.Parse(Format, "soap.xml", []byte(in), record.Options{})
	if err != nil || len(c.Sightings) != 1 {
		t.Fatalf("%v %+v", err, c)
	}
	s := c.Sightings[0]
	const want = `<samlp:Response xmlns:q="urn:q&amp;&#34;" xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" ID="_r" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"><saml:Assertion ID="_a"/></samlp:Response>`
	if s.Raw != want {
		t.Errorf("raw\n%s\nwant\n%s", s.Raw, want)
	}
	if !strings.Contains(s.Attrs, `"ns_inherited":"true"`) || !strings.Contains(s.Attrs, `"wrapper":"Envelope"`) {
		t.Errorf("attrs %s", s.Attrs)
	}
	// alone, it resolves as it did in place
	d := xml.NewDecoder(strings.NewReader(s.Raw))
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			if want := map[string]string{"Response": nsProtocol, "Assertion": nsAssertion}[se.Name.Local]; se.Name.Space != want {
				t.Errorf("<%s> in %q, want %q", se.Name.Local, se.Name.Space, want)
			}
		}
	}
}

func TestLimits(t *testing.T) {
	many := `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_m">` + strings.Repeat("<e/>", MaxElements) + `</samlp:Response>`
	large := `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_l">` + strings.Repeat("x", record.MaxSAMLBytes) + `</samlp:Response>`
	largeWrapper := `<w>` + strings.Repeat(" ", record.MaxSAMLBytes) + `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_l"/></w>`
	var decls strings.Builder
	for i := range MaxScopeDecls + 1 {
		fmt.Fprintf(&decls, ` xmlns:n%d="urn:n"`, i)
	}
	scope := `<w` + decls.String() + `><samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_s"/></w>`
	for _, tc := range []struct{ name, in, reason string }{
		{"elements", many, "more than 10000 elements"},
		{"declarations in scope", scope, "more than 256 namespace declarations in scope to copy onto it"},
		{"size", large, "document larger than 1048576 bytes"},
		{"wrapper size", largeWrapper, "document larger than 1048576 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in + "\n" + bareAssertion + "\n"
			c, err := recordtest.Parse(Format, "x.xml", []byte(in), record.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if len(c.Rejects) != 1 || c.Rejects[0].Reason != tc.reason || c.Rejects[0].Pos.Line != 1 {
				t.Fatalf("rejects %+v, want one at line 1: %s", c.Rejects, tc.reason)
			}
			if len(c.Sightings) != 1 || c.Sightings[0].Pos.Line != 2 || c.Sightings[0].Raw != bareAssertion {
				t.Errorf("the message after it was not read: %+v", c.Sightings)
			}
			if c.Stats.Records != 2 {
				t.Errorf("read %d records, want 2", c.Stats.Records)
			}
		})
	}

	// declarations are not copied into many messages past a bound
	long := `<w xmlns:long="urn:` + strings.Repeat("l", 400<<10) + `">` + strings.Repeat(`<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"/>`, 5) + `</w>`
	c, err := recordtest.Parse(Format, "x.xml", []byte(long), record.Options{})
	if err != nil || len(c.Sightings) != 2 || len(c.Rejects) != 3 || !strings.Contains(c.Rejects[0].Reason, "past the document's bound") {
		t.Errorf("%v: %d sightings, rejects %v", err, len(c.Sightings), c.Rejects)
	}

	// a file over the bound is a read error, before any record
	c = &recordtest.Collector{}
	big := io.MultiReader(strings.NewReader("<a>"), io.LimitReader(zeros{}, MaxFileBytes))
	err = Format.Parse(t.Context(), &record.Input{Name: "big.xml", R: big, Stats: &c.Stats}, c)
	if err == nil || !strings.Contains(err.Error(), "larger than") || c.Stats.Records != 0 {
		t.Errorf("err %v, %d records", err, c.Stats.Records)
	}
	// as is a read that fails
	err = Format.Parse(t.Context(), &record.Input{Name: "bad.xml", R: io.MultiReader(strings.NewReader("<a"), errReader{})}, c)
	if !errors.Is(err, errBroken) {
		t.Errorf("err %v", err)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = ' '
	}
	return len(p), nil
}

var errBroken = errors.New("broken pipe")

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errBroken }

func TestSniff(t *testing.T) {
	split := func(s string) [][]byte { return bytes.Split([]byte(s), []byte("\n")) }
	values, _ := valueLines(t)
	good := strings.Join([]string{values[0], values[1], values[2], values[6]}, "\n")
	cut := values[0] + "\n" + values[2][:len(values[2])/2] // a sample cut in its last line
	for _, s := range []string{
		prettyResponse,
		"\xef\xbb\xbf\n\n" + bareAssertion,
		defaultResponse,
		`<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"` + "\n" + `xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol">`,
		`<samlp:Response ID="_no_namespace_in_the_sample"`, // its start tag goes on past the sample
		`<?xml version="1.0"?>` + "\n<!-- captured -->\n" + `<saml2:Assertion>`,
		good,
		cut,
	} {
		if !Format.Sniff(split(s)) {
			t.Errorf("not claimed: %.80q", s)
		}
	}
	adfs, err := os.ReadFile("../adfs/testdata/xml/wevtutil.xml")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{
		string(adfs),
		// Windows event XML with a message escaped in its data, and a token type in text
		`<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='AD FS Auditing'/></System><EventData>` +
			`<Data>&lt;saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"&gt;</Data><Data>urn:oasis:names:tc:SAML:2.0:assertion</Data></EventData></Event>`,
		`<Events><Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><EventID>1200</EventID></System></Event></Events>`,
		`127.0.0.1 - - [04/Mar/2026:10:00:00 +0000] "POST /acs HTTP/1.1" 302 0 "-" "Mozilla/5.0" "SAMLResponse=` + values[0][:40] + `"`,
		`{"msg":"saml response","xml":"<samlp:Response xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\"/>"}`,
		`[{"SAMLResponse":"` + values[0] + `"}]`,
		`<config xmlns:x="urn:oasis:names:tc:SAML:2.0:assertion-profile"/>`,
		`<ResponseList/>`,
		base64.StdEncoding.EncodeToString([]byte("hello")),
		base64.StdEncoding.EncodeToString([]byte(`<html xmlns="http://www.w3.org/1999/xhtml"/>`)),
		values[0] + "\n" + values[3], // a line that is not a value
		"",
		"\n\n",
		"<",
	} {
		if Format.Sniff(split(s)) {
			t.Errorf("claimed: %.80q", s)
		}
	}

	fs := Format.(record.FileSniffer)
	if !fs.SniffFile("responses.xml", []byte(prettyResponse)) || !fs.SniffFile("dump.SAML", []byte(bareAssertion)) {
		t.Error("SniffFile: a SAML file not claimed")
	}
	if fs.SniffFile("responses.log", []byte(prettyResponse)) || fs.SniffFile("wevtutil.xml", adfs) || fs.SniffFile("x.xml", nil) {
		t.Error("SniffFile: claimed another file")
	}
	// every XML test input is claimed by its head, but the one that
	// starts with a log line
	entries, _ := filepath.Glob("testdata/golden/*.xml")
	for _, e := range entries {
		data, _ := os.ReadFile(e)
		if !fs.SniffFile(e, data) && filepath.Base(e) != "text.xml" {
			t.Errorf("%s not claimed", e)
		}
	}
}

func FuzzParse(f *testing.F) {
	recordtest.Seeds(f, "testdata/golden")
	f.Add([]byte(defaultResponse + defaultResponse + "\n<w xmlns:p='urn:oasis:names:tc:SAML:2.0:protocol'><p:Response/><p:Response/></w>x<"))
	f.Fuzz(func(t *testing.T, data []byte) { recordtest.CheckInvariants(t, Format, data) })
}
