package samlsp

import (
	"testing"

	"github.com/forgehunt/forgehunt/internal/samlgen"
	"github.com/forgehunt/forgehunt/parsers/record"
	"github.com/forgehunt/forgehunt/parsers/record/recordtest"
)

func TestGolden(t *testing.T) {
	recordtest.Golden(t, Format, "testdata/golden", record.Options{})
}

// A field map names an SP's own keys.
func TestFieldMap(t *testing.T) {
	data := []byte(`{"time":"2026-03-04T09:00:00Z","msg":"login","req":{"saml_req":"_r9","idp_corr":"ABCDEF00-0000-4000-8000-000000000001"}}
{"time":"2026-03-04T09:00:01Z","msg":"acs","aid":"_x9","irt":"_r9","who":"erin@contoso.com"}
`)
	c, err := recordtest.Parse(Format, "sp.log", data, record.Options{FieldMap: map[string]string{
		"authn_request_id": "req.saml_req", "client_request_id": "req.idp_corr",
		"assertion_id": "aid", "in_response_to": "irt", "name_id": "who"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Links) != 1 || c.Links[0].FromID != "_r9" || c.Links[0].ToID != "abcdef00-0000-4000-8000-000000000001" {
		t.Fatalf("links %+v", c.Links)
	}
	if len(c.Sightings) != 1 || c.Sightings[0].ArtifactID != "_x9" || c.Sightings[0].Principal != "erin@contoso.com" {
		t.Fatalf("sightings %+v", c.Sightings)
	}
}

// A line with the SAML response itself is a sighting of the message.
func TestResponseInLine(t *testing.T) {
	xml := `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_r"/>`
	data := []byte(`{"time":"2026-03-04T09:00:00Z","msg":"acs","saml_response":"` + samlgen.POST([]byte(xml)) + `","in_response_to":"_q"}` + "\n" +
		`{"time":"2026-03-04T09:00:00Z","msg":"acs","saml_response":"!!!","in_response_to":"_q"}` + "\n")
	c, _ := recordtest.Parse(Format, "sp.log", data, record.Options{})
	if len(c.Sightings) != 1 || c.Sightings[0].Raw != xml || len(c.Rejects) != 1 {
		t.Fatalf("%+v", c)
	}
}

func TestSniff(t *testing.T) {
	yes := [][]byte{[]byte(`{"msg":"x","authn_request_id":"_1"}`), []byte(`{"msg":"y"}`)}
	no := [][]byte{[]byte(`{"msg":"x","authorization":"Bearer a.b.c"}`)}
	if !Format.Sniff(yes) || Format.Sniff(no) || Format.Sniff([][]byte{[]byte(`127.0.0.1 - - "in_response_to"`)}) {
		t.Error("sniff")
	}
}

func FuzzParse(f *testing.F) {
	recordtest.Seeds(f, "testdata/golden")
	f.Fuzz(func(t *testing.T, data []byte) { recordtest.CheckInvariants(t, Format, data) })
}
