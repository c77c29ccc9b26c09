package cloudtrail

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

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
	})
}

func sampleLines(data []byte) [][]byte {
	var out [][]byte
	for _, l := range bytes.Split(data, []byte("\n")) {
		if len(bytes.TrimSpace(l)) > 0 && len(out) < record.SniffLines {
			out = append(out, l)
		}
	}
	return out
}

// Every test file that holds events is claimed, by its lines or (pretty
// printed) by its head.
func TestSniffTestdata(t *testing.T) {
	for _, name := range []string{
		"111122223333_CloudTrail_us-west-2_20260304T1005Z_records.json", "lake.jsonl", "eventbridge.jsonl",
		"cloudwatch-firehose.json", "truncated.json", "hostile-records.json", "syntax.json", "hostile.jsonl",
	} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		if !Format.Sniff(sampleLines(data)) {
			t.Errorf("%s: not claimed by its lines", name)
		}
	}
	for _, name := range []string{"sts-pretty.json", "lookup-events.json", "filter-log-events.json", "array.json"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		if !Format.(record.FileSniffer).SniffFile(name, data) {
			t.Errorf("%s: not claimed by its head", name)
		}
	}
}

func TestSniff(t *testing.T) {
	event := `{"eventVersion":"1.08","userIdentity":{"type":"AssumedRole"},"eventTime":"2026-03-04T10:00:00Z","eventSource":"s3.amazonaws.com","eventName":"GetObject"}`
	tests := []struct {
		name string
		text string
		want bool
	}{
		{"event line", event, true},
		{"records", `{"Records":[` + event + `]}`, true},
		{"eventbridge", `{"version":"0","detail-type":"AWS API Call via CloudTrail","source":"aws.s3","detail":` + event + `}`, true},
		{"lookup-events", `{"Events":[{"EventId":"1","EventName":"GetObject","EventSource":"s3.amazonaws.com","CloudTrailEvent":"{}"}]}`, true},
		{"cloudwatch", `{"messageType":"DATA_MESSAGE","logEvents":[{"id":"1","message":"{\"eventVersion\":\"1.08\",\"eventSource\":\"s3.amazonaws.com\",\"eventName\":\"GetObject\"}"}]}`, true},
		{"cut line", `{"eventVersion":"1.08","eventSource":"s3.amazonaws.com","eventName":"GetObject","requestParameters":{"bucketName":"b`, true},
		// never another vendor's JSON
		{"alibaba actiontrail", `{"eventId":"1","eventVersion":1,"eventSource":"sts.aliyuncs.com","eventName":"AssumeRole","eventTime":"2021-08-02T03:42:19Z"}`, false},
		{"other eventbridge", `{"version":"0","detail-type":"GuardDuty Finding","source":"aws.guardduty","detail":{"eventName":"x"}}`, false},
		{"okta", `{"eventType":"user.session.start","published":"2026-03-04T10:00:00Z","actor":{"id":"1"}}`, false},
		{"jsonbearer", `{"time":"2026-03-04T10:00:00Z","authorization":"Bearer x","eventName":"GetObject"}`, false},
		{"k8s audit", `{"kind":"Event","apiVersion":"audit.k8s.io/v1","stage":"ResponseComplete","verb":"get"}`, false},
		{"other cloudwatch", `{"messageType":"DATA_MESSAGE","logEvents":[{"id":"1","message":"10.0.0.1 - - [04/Mar/2026] GET /"}]}`, false},
		{"records of something else", `{"Records":[{"eventVersion":"2.1","eventSource":"aws:s3","eventName":"ObjectCreated:Put"}]}`, false},
		{"digest", `{"awsAccountId":"111122223333","digestStartTime":"2026-03-04T09:00:00Z","digestEndTime":"2026-03-04T10:00:00Z"}`, false},
		{"text", `2026-03-04 10:00:00 INFO eventVersion eventSource eventName`, false},
	}
	for _, tt := range tests {
		if got := Format.Sniff([][]byte{[]byte(tt.text)}); got != tt.want {
			t.Errorf("%s: Sniff = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestSniffFile(t *testing.T) {
	empty := []byte(`{"Records":[]}`)
	fs := Format.(record.FileSniffer)
	if !fs.SniffFile("bucket/AWSLogs/111122223333/CloudTrail/us-west-2/2026/03/04/111122223333_CloudTrail_us-west-2_20260304T1005Z_a1B2c3D4e5F6g7H8.json.gz", empty) {
		t.Error("a trail's delivered file is not claimed by its path")
	}
	if fs.SniffFile("exports/records.json", empty) {
		t.Error("an empty Records object elsewhere is claimed")
	}
	if fs.SniffFile("AWSLogs/111122223333/CloudTrail-Digest/us-west-2/2026/03/04/111122223333_CloudTrail-Digest_us-west-2_x.json.gz",
		[]byte(`{"awsAccountId":"111122223333","digestStartTime":"2026-03-04T09:00:00Z"}`)) {
		t.Error("a digest file is claimed")
	}
	if fs.SniffFile("x.log", []byte("{\n  \"eventId\": \"1\",\n  \"eventVersion\": 1,\n  \"eventSource\": \"sts.aliyuncs.com\",\n  \"eventName\": \"AssumeRole\"\n}\n")) {
		t.Error("a pretty-printed ActionTrail event is claimed")
	}
}

func TestParseExpiration(t *testing.T) {
	want := time.Date(2026, 3, 4, 11, 0, 0, 0, time.UTC)
	for _, s := range []string{
		"Mar 4, 2026, 11:00:00 AM", "Mar 4, 2026 11:00:00 AM", "Mar 4, 2026, 11:00:00\u202fAM", "Mar 4, 2026, 11:00:00\u00a0AM",
		"2026-03-04T11:00:00Z", "2026-03-04T11:00:00.000Z", "2026-03-04T12:00:00+01:00", "1772622000",
	} {
		got, err := ParseExpiration(s)
		if err != nil || !got.Equal(want) {
			t.Errorf("ParseExpiration(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	if got, err := ParseExpiration("Mar 4, 2026, 1:05:09 PM"); err != nil || !got.Equal(time.Date(2026, 3, 4, 13, 5, 9, 0, time.UTC)) {
		t.Errorf("PM: %v, %v", got, err)
	}
	if _, err := ParseExpiration("tomorrow"); err == nil {
		t.Error("tomorrow parsed")
	}
}

func TestTokenIssuer(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/5C1E0F3B", "https://oidc.eks.us-west-2.amazonaws.com/id/5C1E0F3B"},
		{"arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com", "https://token.actions.githubusercontent.com"},
		{"arn:aws-cn:iam::111122223333:oidc-provider/a1b2.tokens.sts.global.api.aws", "https://a1b2.tokens.sts.global.api.aws"},
		{"accounts.google.com", "https://accounts.google.com"},
		{"oidc.eks.eu-west-1.amazonaws.com/id/ABC", "https://oidc.eks.eu-west-1.amazonaws.com/id/ABC"},
		{"https://gitlab.example.com", "https://gitlab.example.com"},
		{"arn:aws:iam::111122223333:saml-provider/corp", ""},
		{"localhost", ""},
		{"not a host.example", ""},
		{"", ""},
	} {
		if got := TokenIssuer(tt.in); got != tt.want {
			t.Errorf("TokenIssuer(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestOutcome(t *testing.T) {
	for code, want := range map[string]string{
		"": record.OutcomeAccepted, "AccessDenied": record.OutcomeAccepted, "Client.UnauthorizedOperation": record.OutcomeAccepted,
		"AccessDeniedException": record.OutcomeAccepted, "ThrottlingException": record.OutcomeAccepted, "NoSuchKey": record.OutcomeAccepted,
		"ExpiredToken": record.OutcomeRejected, "ExpiredTokenException": record.OutcomeRejected, "InvalidClientTokenId": record.OutcomeRejected,
		"SignatureDoesNotMatch": record.OutcomeRejected, "InvalidAccessKeyId": record.OutcomeRejected, "IncompleteSignature": record.OutcomeRejected,
		"Client.AuthFailure": record.OutcomeRejected, "AuthFailure": record.OutcomeRejected, "UnrecognizedClientException": record.OutcomeRejected,
	} {
		if got := Outcome(code); got != want {
			t.Errorf("Outcome(%q) = %s, want %s", code, got, want)
		}
	}
}

// A Records file of many events is streamed: each event at its ordinal,
// one sink call each, with the time of the file's reading bounded.
func TestLargeRecordsFile(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "111122223333_CloudTrail_us-west-2_20260304T1005Z_records.json"))
	if err != nil {
		t.Fatal(err)
	}
	inner := bytes.TrimSuffix(bytes.TrimPrefix(data, []byte(`{"Records":[`)), []byte(`]}`))
	var b bytes.Buffer
	b.WriteString(`{"Records":[`)
	const copies = 200
	for i := range copies {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(inner)
	}
	b.WriteString(`]}`)
	c, err := recordtest.Parse(Format, "big.json", b.Bytes(), record.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Stats.Records != copies*13 || c.Accounted() != c.Stats.Records || len(c.Rejects) != 0 {
		t.Fatalf("read %d records, accounted %d, %d rejects", c.Stats.Records, c.Accounted(), len(c.Rejects))
	}
	if last := c.Sightings[len(c.Sightings)-1].Pos.Line; last != copies*13 {
		t.Errorf("last sighting at %d, want %d", last, copies*13)
	}
}

// An element over the bound is rejected and skipped; the next is read.
func TestElementTooLong(t *testing.T) {
	big := `{"eventTime":"2026-03-04T10:00:00Z","eventName":"x","pad":"` + strings.Repeat("a", 5000) + `"}`
	ok := `{"eventVersion":"1.08","eventTime":"2026-03-04T10:00:00Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","userIdentity":{"accessKeyId":"ASIAQXYZ7EKSPAYAPI01"}}`
	c, err := recordtest.Parse(Format, "f.json", []byte(`{"Records":[`+big+`,`+ok+`]}`), record.Options{MaxLineBytes: 1024})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Rejects) != 1 || !strings.HasPrefix(c.Rejects[0].Reason, record.ReasonLineTooLong) || len(c.Sightings) != 1 || c.Sightings[0].Pos.Line != 2 {
		t.Fatalf("rejects %+v, sightings %d", c.Rejects, len(c.Sightings))
	}
}

// A CloudWatch Logs export task writes each event after its ingestion
// time: the timestamp envelope, unwrapped by record.EachLine.
func TestGoldenEnvelope(t *testing.T) {
	var env *record.Envelope
	for _, e := range record.Envelopes {
		if e.Name == "timestamp" {
			env = e
		}
	}
	if env == nil {
		t.Fatal("no timestamp envelope")
	}
	data, err := os.ReadFile("testdata/envelope/timestamp/cloudwatch-export.log")
	if err != nil {
		t.Fatal(err)
	}
	if inner, ok := record.UnwrapSample(env, sampleLines(data)); !ok || !Format.Sniff(inner) {
		t.Error("the export's lines are not claimed once unwrapped")
	}
	recordtest.Golden(t, Format, "testdata/envelope/timestamp", record.Options{Envelope: env})
}

// The same events read the same in every form that carries them.
func TestFormsAgree(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "111122223333_CloudTrail_us-west-2_20260304T1005Z_records.json"))
	if err != nil {
		t.Fatal(err)
	}
	var file struct{ Records []json.RawMessage }
	if err := json.Unmarshal(data, &file); err != nil {
		t.Fatal(err)
	}
	forms := map[string]func(b *bytes.Buffer){
		"pretty": func(b *bytes.Buffer) {
			out, _ := json.MarshalIndent(file, "", "  ")
			b.Write(out)
		},
		"concatenated": func(b *bytes.Buffer) {
			for _, e := range file.Records {
				b.WriteString(`{"Records":[`)
				b.Write(e)
				b.WriteString("]}")
			}
		},
		"lines": func(b *bytes.Buffer) {
			for _, e := range file.Records {
				b.Write(e)
				b.WriteString("\n")
			}
		},
		"eventbridge": func(b *bytes.Buffer) {
			for _, e := range file.Records {
				out, _ := json.Marshal(map[string]any{"version": "0", "detail-type": "AWS API Call via CloudTrail", "source": "aws.sts", "detail": e})
				b.Write(append(out, '\n'))
			}
		},
		"lookup-events": func(b *bytes.Buffer) {
			var events []map[string]string
			for _, e := range file.Records {
				events = append(events, map[string]string{"EventId": "x", "CloudTrailEvent": string(e)})
			}
			out, _ := json.MarshalIndent(map[string]any{"Events": events}, "", "    ")
			b.Write(out)
		},
		"cloudwatch": func(b *bytes.Buffer) {
			var events []map[string]any
			for i, e := range file.Records {
				events = append(events, map[string]any{"id": i, "timestamp": 1772618400000, "message": string(e)})
			}
			out, _ := json.Marshal(map[string]any{"messageType": "DATA_MESSAGE", "owner": "111122223333", "logEvents": events})
			b.Write(out)
		},
		"array": func(b *bytes.Buffer) {
			out, _ := json.Marshal(file.Records)
			b.Write(out)
		},
	}
	rows := func(c *recordtest.Collector) string {
		for i := range c.Sightings {
			c.Sightings[i].Pos = record.Position{}
		}
		for i := range c.Issuances {
			c.Issuances[i].Pos = record.Position{}
		}
		out, _ := json.Marshal([]any{c.Sightings, c.Issuances, len(c.Ignores), len(c.Rejects)})
		return string(out)
	}
	want, err := recordtest.Parse(Format, "f", data, record.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for name, write := range forms {
		var b bytes.Buffer
		write(&b)
		got, err := recordtest.Parse(Format, "f", b.Bytes(), record.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if got.Stats.Records != want.Stats.Records || rows(got) != rows(want) {
			t.Errorf("%s: read %d records, rows differ:\n%s\nwant\n%s", name, got.Stats.Records, rows(got), rows(want))
		}
	}
}
