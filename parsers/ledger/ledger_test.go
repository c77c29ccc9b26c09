package ledger

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/forgehunt/forgehunt/parsers/record"
	"github.com/forgehunt/forgehunt/parsers/record/recordtest"
)

func TestGolden(t *testing.T) {
	recordtest.Golden(t, Format, "testdata", record.Options{})
}

func TestSniff(t *testing.T) {
	tests := []struct {
		sample string
		want   bool
	}{
		{"kind,issuer,artifact_id,subject,audience,issued_at,expires_at", true},
		{"\ufeffIssued_At,RAW_SHA256", true},
		{"\n\n  artifact_id , iat", true},
		{`"jti","issued_at","sub"`, true},
		{`{"artifact_id":"a","issued_at":"2026-03-04T10:00:00Z"}`, true},
		{"{\"x\":1}\n{\"raw_sha256\":\"ab\",\"iat\":1}", true},
		// Decoded claims only: could be an access log, never sniffed.
		{`{"jti":"a","iat":1772618400,"sub":"alice","aud":"x","exp":1772618700}`, false},
		{"jti,iat,sub,aud", false},
		{"artifact_id,subject", false},
		{"time,client_ip,method,path,status", false},
		{`10.0.0.1 - - [04/Mar/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 1`, false},
		{`{"artifact_id":"a","issued_at"`, false},
		{"", false},
	}
	for _, tt := range tests {
		if got := Format.Sniff(bytes.Split([]byte(tt.sample), []byte("\n"))); got != tt.want {
			t.Errorf("Sniff(%q) = %v, want %v", tt.sample, got, tt.want)
		}
	}
}

func TestNormalizeSHA256(t *testing.T) {
	const sum = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
	tests := []struct {
		in, want string
		err      bool
	}{
		{"", "", false},
		{sum, sum, false},
		{strings.ToUpper(sum), sum, false},
		{"sha256:" + sum, sum, false},
		{"SHA256:" + sum, sum, false},
		{"sha256:", "", true},
		{sum[:63], "", true},
		{sum + "0", "", true},
		{"g" + sum[1:], "", true},
		{"sha1:" + sum, "", true},
	}
	for _, tt := range tests {
		got, err := normalizeSHA256(tt.in)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("normalizeSHA256(%q) = %q, %v; want %q, error %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

// A record over the bound is rejected at its line and reading goes on, with
// the line numbers of later records still right.
func TestCSVRecordTooLong(t *testing.T) {
	const limit = 1024
	head := "artifact_id,subject,issued_at\nok-1,alice,1772618400\n"
	// The reader hands csv.Reader limit bytes at a time and marks after each
	// record, so a long record is cut at byte 2*limit of this input.
	cutAfterNewline := "big,\"" + strings.Repeat("x", 2*limit-len(head)-len("big,\"")-1) + "\n" + numberedLines(500) + "\",1772618400\n"
	if data := head + cutAfterNewline; data[2*limit-1] != '\n' {
		t.Fatalf("test input cut at %q, want a newline", data[2*limit-1])
	}
	tests := map[string]string{
		"long line":           "big," + strings.Repeat("x", 5000) + ",1772618400\n",
		"quoted lines":        "big,\"" + numberedLines(1000) + "\",1772618400\n",
		"cut after a newline": cutAfterNewline,
		"unterminated quote":  "big,\"unterminated " + strings.Repeat("y", 100) + "\n" + strings.Repeat("z,z\n", 1000),
	}
	for name, long := range tests {
		data := head + long + "ok-2,bob,1772618401\n"
		lines := strings.Split(data, "\n")
		c, err := recordtest.Parse(Format, "big.csv", []byte(data), record.Options{MaxLineBytes: limit})
		if err != nil {
			t.Fatal(err)
		}
		if len(c.Rejects) == 0 || c.Rejects[0].Pos.Line != 3 || !strings.HasPrefix(c.Rejects[0].Reason, record.ReasonLineTooLong) {
			t.Errorf("%s: rejects = %+v, want the first at line 3 for being too long", name, c.Rejects)
		}
		// Whatever was read after the cut, each record points at its line.
		for _, iss := range c.Issuances {
			first, _, _ := strings.Cut(iss.ArtifactID, "\n")
			if l := iss.Pos.Line; l < 1 || int(l) > len(lines) || !strings.Contains(lines[l-1], first) {
				t.Errorf("%s: issuance %q at line %d, which is not there", name, first, l)
			}
		}
		if name == "cut after a newline" {
			// Nothing after the cut is lost.
			if len(c.Issuances) < 2 || c.Issuances[1].ArtifactID != "l0000" || c.Issuances[1].Pos.Line != 4 {
				t.Errorf("%s: issuances %+v, want l0000 at line 4 second", name, c.Issuances)
			}
		}
		if name == "long line" {
			if last := c.Issuances[len(c.Issuances)-1]; last.ArtifactID != "ok-2" || last.Pos.Line != 4 {
				t.Errorf("%s: last issuance %s at line %d, want ok-2 at line 4", name, last.ArtifactID, last.Pos.Line)
			}
		}
	}
}

// numberedLines is n distinct lines.
func numberedLines(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "l%04d\n", i)
	}
	return b.String()
}

func FuzzParse(f *testing.F) {
	recordtest.Seeds(f, "testdata")
	f.Fuzz(func(t *testing.T, data []byte) {
		recordtest.CheckInvariants(t, Format, data)
		c, _ := recordtest.Parse(Format, "fuzz.log", data, record.Options{MaxLineBytes: 64})
		for _, i := range c.Issuances {
			if i.ArtifactID == "" && i.RawSHA256 == "" && (i.Subject == "" || i.IssuedAt.IsZero()) {
				t.Fatalf("issuance that identifies nothing at %v", i.Pos)
			}
			if i.RawSHA256 != "" && len(i.RawSHA256) != 64 {
				t.Fatalf("raw_sha256 %q at %v", i.RawSHA256, i.Pos)
			}
		}
	})
}

type discard struct{ n int }

func (d *discard) Sighting(*record.Sighting)      {}
func (d *discard) Issuance(*record.Issuance)      { d.n++ }
func (d *discard) Reject(*record.Reject)          {}
func (d *discard) Ignore(record.Position, string) {}

func synthetic(jsonl bool, size int) []byte {
	var b strings.Builder
	if !jsonl {
		b.WriteString("kind,issuer,artifact_id,raw_sha256,subject,audience,issued_at,expires_at,key_ref,channel\n")
	}
	for i := 0; b.Len() < size; i++ {
		if jsonl {
			fmt.Fprintf(&b, `{"kind":"jwt","issuer":"https://sso.acme.test/realms/acme","artifact_id":"2b1e5a8c-0c1d-4b9a-8e7f-%012d","subject":"user-%d","audience":["payments-api","ledger"],"issued_at":%d,"expires_at":"2026-03-04T10:05:00Z","key_ref":"rsa-2025","channel":"web"}`+"\n", i, i%1000, 1772618400+i)
		} else {
			fmt.Fprintf(&b, "jwt,https://sso.acme.test/realms/acme,2b1e5a8c-0c1d-4b9a-8e7f-%012d,%064x,user-%d,\"payments-api,ledger\",2026-03-04T10:00:00Z,%d,rsa-2025,web\n", i, i, i%1000, 1772618700+i)
		}
	}
	return []byte(b.String())
}

func BenchmarkParse(b *testing.B) {
	for _, jsonl := range []bool{false, true} {
		name := map[bool]string{false: "csv", true: "jsonl"}[jsonl]
		data := synthetic(jsonl, 4<<20)
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				var d discard
				if err := Format.Parse(context.Background(), &record.Input{Name: "bench", R: bytes.NewReader(data)}, &d); err != nil {
					b.Fatal(err)
				}
				if d.n == 0 {
					b.Fatal("no issuances")
				}
			}
		})
	}
}
