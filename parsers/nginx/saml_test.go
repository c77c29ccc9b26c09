package nginx

import (
	"net/url"
	"strings"
	"testing"

	"github.com/forgehunt/forgehunt/internal/samlgen"
	"github.com/forgehunt/forgehunt/parsers/record"
	"github.com/forgehunt/forgehunt/parsers/record/recordtest"
)

const samlFormat = `$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" "$request_body"`

// SAML responses posted to an ACS are read from the logged request body,
// or from the query (HTTP-Redirect); a POST whose body nginx did not
// buffer is counted apart; a SAMLResponse that does not decode is
// rejected.
func TestSAMLRequestBody(t *testing.T) {
	xml := []byte(`<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_r1"/>`)
	form := "SAMLResponse=" + url.QueryEscape(samlgen.POST(xml)) + "&RelayState=%2Fhome"
	lines := []string{
		`203.0.113.7 - - [04/Mar/2026:10:00:00 +0000] "POST /saml/acs HTTP/1.1" 302 0 "https://sts.contoso.com/" "Mozilla/5.0" "` + form + `"`,
		`203.0.113.8 - - [04/Mar/2026:10:00:01 +0000] "POST /saml/acs HTTP/1.1" 302 0 "-" "Mozilla/5.0" "-"`,
		`203.0.113.9 - - [04/Mar/2026:10:00:02 +0000] "GET /saml/acs?SAMLResponse=` + url.QueryEscape(samlgen.Redirect(xml)) + `&SigAlg=x HTTP/1.1" 302 0 "-" "Mozilla/5.0" "-"`,
		`203.0.113.10 - - [04/Mar/2026:10:00:03 +0000] "POST /saml/acs HTTP/1.1" 403 0 "-" "Mozilla/5.0" "SAMLResponse=%%%"`,
		`203.0.113.11 - - [04/Mar/2026:10:00:04 +0000] "GET /index.html HTTP/1.1" 200 10 "-" "Mozilla/5.0" "-"`,
	}
	c, err := recordtest.Parse(Format, "sp-access.log", []byte(strings.Join(lines, "\n")+"\n"), record.Options{NginxFormat: samlFormat})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Sightings) != 2 || len(c.Rejects) != 1 || len(c.Ignores) != 2 {
		t.Fatalf("%s", recordtest.Render(c, nil))
	}
	post, redirect := c.Sightings[0], c.Sightings[1]
	if post.Kind != record.KindSAML || post.Raw != string(xml) || post.ClientIP != "203.0.113.7" || post.Outcome != record.OutcomeAccepted ||
		post.Action != "POST /saml/acs" || !strings.Contains(post.Attrs, `"saml_binding":"post"`) || !strings.Contains(post.Attrs, `"saml_captured":"request body"`) {
		t.Errorf("post %+v", post)
	}
	if redirect.Raw != string(xml) || !strings.Contains(redirect.Attrs, `"saml_binding":"redirect"`) || redirect.Action != "GET /saml/acs" {
		t.Errorf("redirect %+v", redirect)
	}
	if c.Ignores[0].Reason != IgnoreBodyNotLogged || c.Ignores[1].Reason != record.IgnoreNoToken {
		t.Errorf("ignores %+v", c.Ignores)
	}
	if !strings.Contains(c.Rejects[0].Reason, "SAMLResponse in the request body") {
		t.Errorf("reject %+v", c.Rejects[0])
	}
}

// Without a log_format, a quoted form body after the combined fields is
// read as the logged request body.
func TestSAMLBodyBuiltIn(t *testing.T) {
	xml := []byte(`<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_r1"/>`)
	line := `203.0.113.7 - - [04/Mar/2026:10:00:00 +0000] "POST /saml/acs HTTP/1.1" 302 0 "https://sts.contoso.com/" "Mozilla/5.0" "SAMLResponse=` +
		url.QueryEscape(samlgen.POST(xml)) + `&RelayState=x"`
	c, err := recordtest.Parse(Format, "sp-access.log", []byte(line+"\n"), record.Options{})
	if err != nil || len(c.Sightings) != 1 || c.Sightings[0].Raw != string(xml) || c.Sightings[0].UserAgent != "Mozilla/5.0" {
		t.Fatalf("%s %v", recordtest.Render(c, nil), err)
	}
}

// A SAMLRequest (an SP redirecting to the IdP) carries no assertion; a
// WS-Federation wresult carries the token response as XML.
func TestSAMLRequestAndWSFed(t *testing.T) {
	rstr := `<t:RequestSecurityTokenResponse xmlns:t="http://schemas.xmlsoap.org/ws/2005/02/trust"/>`
	lines := []string{
		`10.0.0.1 - - [04/Mar/2026:10:00:00 +0000] "GET /adfs/ls/?SAMLRequest=fZJdT8Iw&RelayState=x HTTP/1.1" 200 10 "-" "Mozilla/5.0" "-"`,
		`10.0.0.2 - - [04/Mar/2026:10:00:01 +0000] "POST /_trust/ HTTP/1.1" 302 0 "-" "Mozilla/5.0" "wa=wsignin1.0&wresult=` + url.QueryEscape(rstr) + `&wctx=x"`,
	}
	c, err := recordtest.Parse(Format, "sp-access.log", []byte(strings.Join(lines, "\n")+"\n"), record.Options{NginxFormat: samlFormat})
	if err != nil || len(c.Ignores) != 1 || c.Ignores[0].Reason != record.IgnoreSAMLRequest || len(c.Sightings) != 1 || c.Sightings[0].Raw != rstr ||
		!strings.Contains(c.Sightings[0].Attrs, `"saml_binding":"wsfed"`) {
		t.Fatalf("%s %v", recordtest.Render(c, nil), err)
	}
}
