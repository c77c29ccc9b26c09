package slsa

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/forgehunt/forgehunt/parsers/record"
	"github.com/forgehunt/forgehunt/parsers/record/recordtest"
)

func TestGolden(t *testing.T) {
	recordtest.Golden(t, Format, "testdata", record.Options{})
}

func FuzzParse(f *testing.F) {
	recordtest.Seeds(f, "testdata")
	f.Fuzz(func(t *testing.T, data []byte) {
		recordtest.CheckInvariants(t, Format, data)
		Format.(record.FileSniffer).SniffFile("fuzz.json", data)
	})
}

// Every testdata file keeps the accounting, and the issuances are what the
// files say.
func TestMapping(t *testing.T) {
	parse := func(name string) *recordtest.Collector {
		t.Helper()
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		c, err := recordtest.Parse(Format, name, data, record.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if c.Accounted() != c.Stats.Records {
			t.Fatalf("%s: read %d, accounted %d", name, c.Stats.Records, c.Accounted())
		}
		return c
	}
	c := parse("v02-bare.json")
	if len(c.Issuances) != 1 {
		t.Fatalf("v0.2: %+v", c)
	}
	is := c.Issuances[0]
	if is.Kind != record.KindSignature || is.ArtifactID != "sha256:5f2b0e7c9a1d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f" || is.Issuer != "" || is.Subject != "" || !is.IssuedAt.IsZero() {
		t.Errorf("v0.2 issuance %+v", is)
	}
	for _, want := range []string{`"invocation_id":"8812345678-1"`, `"repository":"https://github.com/example/widget"`, `"ref":"refs/tags/v1.4.2"`, `"workflow":".github/workflows/release.yml"`, `"builder_id":"https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_generic_slsa3.yml@refs/tags/v1.10.0"`} {
		if !strings.Contains(is.Attrs, want) {
			t.Errorf("v0.2 attrs %s lack %s", is.Attrs, want)
		}
	}
	c = parse("v1-bare.json")
	if len(c.Issuances) != 1 || !c.Issuances[0].IssuedAt.Equal(recordtest.MustTime("2026-03-02T09:14:05Z")) {
		t.Fatalf("v1 (start time only): %+v", c.Issuances)
	}
	c = parse("v1-dsse.json")
	if len(c.Issuances) != 2 || c.Issuances[1].ArtifactID != "sha256:"+strings.Repeat("c3", 32) ||
		!c.Issuances[0].IssuedAt.Equal(recordtest.MustTime("2026-03-02T09:21:40Z")) || c.Issuances[0].Pos.Line != 1 || c.Issuances[1].Pos.Line != 2 {
		t.Fatalf("DSSE v1: %+v", c.Issuances)
	}
	c = parse("release.intoto.jsonl")
	if len(c.Issuances) != 2 || len(c.Rejects) != 1 || c.Rejects[0].Pos.Line != 2 {
		t.Fatalf("intoto.jsonl: %+v", c)
	}
	c = parse("not-slsa.json")
	if len(c.Issuances) != 0 || len(c.Ignores) != 1 || c.Ignores[0].Reason != IgnoreNotProvenance {
		t.Fatalf("not SLSA: %+v", c)
	}
	c = parse("multi-subject.json")
	if len(c.Issuances) != 2 || len(c.Rejects) != 2 || c.Issuances[0].ArtifactID != "sha256:"+strings.Repeat("0a", 32) ||
		c.Issuances[1].ArtifactID != "sha512:"+strings.Repeat("1b", 64) || !c.Issuances[0].IssuedAt.Equal(recordtest.MustTime("2026-03-01T12:06:30Z")) {
		t.Fatalf("multi-subject: %+v", c)
	}
}

func TestSniff(t *testing.T) {
	for _, name := range []string{"v02-bare.json", "v1-bare.json", "v1-dsse.json", "release.intoto.jsonl"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		if !Format.(record.FileSniffer).SniffFile(name, data) {
			t.Errorf("SniffFile does not claim %s", name)
		}
		// a pretty-printed v1 statement names its predicate type after its
		// subjects, past the line sample: SniffFile claims it
		if name != "v1-bare.json" && !Format.Sniff(sample(data)) {
			t.Errorf("Sniff does not claim %s", name)
		}
	}
	for _, doc := range []string{
		`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{},"dsseEnvelope":{"payloadType":"application/vnd.in-toto+json","payload":"e30=","signatures":[]}}`,
		"{\n  \"mediaType\": \"application/vnd.dev.sigstore.bundle+json;version=0.2\",\n  \"dsseEnvelope\": {\n    \"payloadType\": \"application/vnd.in-toto+json\"\n  }\n}\n",
		`{"24296fb24b8ad77a2f0cb3f1f4e6b3c0b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8":{"body":"e30=","integratedTime":1,"logID":"c0d2","logIndex":1}}`,
		`{"attestations":[{"predicateType":"https://slsa.dev/provenance/v1","bundle":{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}}]}`,
		`{"attestations":[{"bundle":{"dsseEnvelope":{"payloadType":"application/vnd.in-toto+json"}},"repository_id":1}]}`,
		`{"level":"info","msg":"signed","_type":"x"}`,
		`{"_type":"https://in-toto.io/Statement/v1","predicateType":"https://spdx.dev/Document/v2.3","subject":[]}`,
	} {
		if Format.(record.FileSniffer).SniffFile("x.json", []byte(doc)) || Format.Sniff(sample([]byte(doc))) {
			t.Errorf("claims %.80s", doc)
		}
	}
}

func sample(data []byte) [][]byte {
	var out [][]byte
	for _, l := range strings.Split(string(data), "\n") {
		if strings.TrimSpace(l) != "" && len(out) < record.SniffLines {
			out = append(out, []byte(l))
		}
	}
	return out
}
