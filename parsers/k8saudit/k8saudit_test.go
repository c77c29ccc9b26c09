package k8saudit

import (
	"bytes"
	"fmt"
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

// The audit log written to the API server's stdout, read from the pod's
// log file: the CRI envelope is unwrapped by record.EachLine.
func TestGoldenCRI(t *testing.T) {
	var env *record.Envelope
	for _, e := range record.Envelopes {
		if e.Name == "cri" {
			env = e
		}
	}
	if env == nil {
		t.Fatal("no cri envelope")
	}
	recordtest.Golden(t, Format, "testdata/envelope/cri", record.Options{Envelope: env})
}

// Options.Observer names the cluster when the envelope does not.
func TestObserver(t *testing.T) {
	data, err := os.ReadFile("testdata/log-backend.log")
	if err != nil {
		t.Fatal(err)
	}
	c, err := recordtest.Parse(Format, "audit.log", data, record.Options{Observer: "prod-eu"})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range c.Sightings {
		if s.Observer != "prod-eu" {
			t.Errorf("%v: observer %q", s.Pos, s.Observer)
		}
	}
	for _, i := range c.Issuances {
		if !strings.Contains(i.Attrs, `"cluster":"prod-eu"`) {
			t.Errorf("%v: attrs %s", i.Pos, i.Attrs)
		}
	}
	data, err = os.ReadFile("testdata/cloudwatch.json")
	if err != nil {
		t.Fatal(err)
	}
	c, err = recordtest.Parse(Format, "cw.json", data, record.Options{Observer: "other"})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Sightings) == 0 || c.Sightings[0].Observer != "shop-eks-prod" {
		t.Errorf("the log group's cluster is the observer: %+v", c.Sightings)
	}
}

// Early stages held past MaxPending are emitted oldest first, each record
// still ends in one Sink call, and a completion that comes after its held
// stage was emitted is not a second sighting.
func TestPendingBound(t *testing.T) {
	var b bytes.Buffer
	line := func(i int, stage string) {
		fmt.Fprintf(&b, `{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"id-%d","stage":%q,"requestURI":"/api/v1/pods","verb":"list","user":{"username":"system:serviceaccount:a:b","extra":{"authentication.kubernetes.io/credential-id":["JTI=j-%d"]}},"requestReceivedTimestamp":"2026-03-04T10:00:00Z","stageTimestamp":"2026-03-04T10:00:00Z"`, i, stage, i)
		if stage == "ResponseComplete" {
			b.WriteString(`,"responseStatus":{"metadata":{},"code":200}`)
		}
		b.WriteString("}\n")
	}
	n := MaxPending + 10
	for i := range n {
		line(i, "RequestReceived")
	}
	line(0, "ResponseComplete")   // its held stage was emitted already
	line(n-1, "ResponseComplete") // still held
	c, err := recordtest.Parse(Format, "big.log", b.Bytes(), record.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Accounted() != c.Stats.Records || c.Stats.Records != int64(n+2) {
		t.Fatalf("read %d, accounted %d", c.Stats.Records, c.Accounted())
	}
	if len(c.Sightings) != n || len(c.Ignores) != 2 {
		t.Fatalf("%d sightings, %d ignores; want %d and 2", len(c.Sightings), len(c.Ignores), n)
	}
	first := c.Sightings[0]
	if first.ArtifactID != "j-0" || first.Outcome != record.OutcomeUnknown {
		t.Errorf("first emitted %+v", first)
	}
	var last *record.Sighting
	for i := range c.Sightings {
		if c.Sightings[i].ArtifactID == fmt.Sprintf("j-%d", n-1) {
			last = &c.Sightings[i]
		}
	}
	if last == nil || last.Outcome != record.OutcomeAccepted || last.Pos.Line != int64(n+2) {
		t.Errorf("completed request: %+v", last)
	}
}

// A request's stages are one sighting; a client's reuse of another
// request's Audit-ID does not hide its own.
func TestStages(t *testing.T) {
	data, err := os.ReadFile("testdata/log-backend.log")
	if err != nil {
		t.Fatal(err)
	}
	c, err := recordtest.Parse(Format, "audit.log", data, record.Options{})
	if err != nil {
		t.Fatal(err)
	}
	perAuditID := map[string]int{}
	for _, s := range c.Sightings {
		perAuditID[s.ArtifactID+" "+attr(s.Attrs, "auditID")]++
	}
	for k, n := range perAuditID {
		if n != 1 {
			t.Errorf("%s: %d sightings", k, n)
		}
	}
	found := false
	for _, s := range c.Sightings {
		if s.ArtifactID == "f0e1d2c3-b4a5-4697-8879-6a5b4c3d2e1f" && attr(s.Attrs, "auditID") == "a1f0c2d4-1111-4a2b-8c3d-000000000001" {
			found = true
		}
	}
	if !found {
		t.Error("the request with a reused Audit-ID was hidden")
	}
}

func attr(attrs, key string) string {
	i := strings.Index(attrs, `"`+key+`":"`)
	if i < 0 {
		return ""
	}
	rest := attrs[i+len(key)+4:]
	return rest[:strings.IndexByte(rest, '"')]
}

func TestSniff(t *testing.T) {
	tests := []struct {
		sample string
		want   bool
	}{
		{`{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"x","stage":"ResponseComplete"}`, true},
		{`{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[]}`, true},
		{`{"category":"kube-audit","properties":{"log":"{}"}}`, true},
		{`{"category":"kube-audit-admin","properties":{"log":"{}"}}`, true},
		{`{"messageType":"DATA_MESSAGE","logGroup":"/aws/eks/c/cluster","logStream":"kube-apiserver-audit-1","logEvents":[]}`, true},
		{"{\n    \"events\": [\n        {\n            \"logStreamName\": \"kube-apiserver-audit-0b1c\",", true},
		{`{"protoPayload":{"@type":"type.googleapis.com/google.cloud.audit.AuditLog","serviceName":"k8s.io","methodName":"io.k8s.core.v1.pods.get"}}`, true},
		// other formats' lines
		{`{"kind":"Event","apiVersion":"v1","metadata":{"name":"x"},"reason":"Pulled"}`, false},
		{`{"category":"kube-apiserver","properties":{"log":"I0304 ..."}}`, false},
		{`{"messageType":"DATA_MESSAGE","logGroup":"/aws/lambda/f","logStream":"2026/03/04/[$LATEST]ab","logEvents":[]}`, false},
		{`{"protoPayload":{"@type":"type.googleapis.com/google.cloud.audit.AuditLog","serviceName":"storage.googleapis.com"}}`, false},
		{`{"time":"2026-03-04T10:00:00Z","remote_addr":"10.0.0.1","path":"/apis/audit.k8s.io/v1","status":200,"authorization":"Bearer eyJhbGciOiJSUzI1NiJ9.e30.c2ln","request_id":"x"}`, false},
		{`10.0.0.1 - - [04/Mar/2026:10:00:00 +0000] "GET /api/v1/pods?auditID=1 HTTP/1.1" 200 2417 "-" "kubectl"`, false},
		{`{"eventVersion":"1.08","eventSource":"sts.amazonaws.com","eventName":"AssumeRoleWithWebIdentity"}`, false},
		{"", false},
	}
	for _, tt := range tests {
		if got := Format.Sniff(bytes.Split([]byte(tt.sample), []byte("\n"))); got != tt.want {
			t.Errorf("Sniff(%q) = %v, want %v", tt.sample, got, tt.want)
		}
	}
}

// Every test input of this package is claimed, the pretty-printed ones
// by SniffFile.
func TestSniffOwn(t *testing.T) {
	files, _ := filepath.Glob("testdata/*")
	for _, path := range files {
		if strings.HasSuffix(path, ".golden") || strings.Contains(path, "rejects") || strings.Contains(path, "hostile") {
			continue
		}
		if fi, err := os.Stat(path); err != nil || fi.IsDir() {
			continue
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !Format.Sniff(sampleLines(data)) && !Format.(record.FileSniffer).SniffFile(path, data) {
			t.Errorf("%s not claimed", path)
		}
	}
}

// Detection finds the audit log inside the container runtime's envelope
// (it tries envelopes before lines as they are, but file sniffers first).
func TestSniffCRI(t *testing.T) {
	data, err := os.ReadFile("testdata/envelope/cri/kube-apiserver.log")
	if err != nil {
		t.Fatal(err)
	}
	sample := sampleLines(data)
	if Format.(record.FileSniffer).SniffFile("kube-apiserver.log", data) {
		t.Error("SniffFile claims CRI lines: they would not be unwrapped")
	}
	for _, env := range record.Envelopes {
		if inner, ok := record.UnwrapSample(env, sample); ok && env.Name == "cri" && !Format.Sniff(inner) {
			t.Error("unwrapped CRI lines not claimed")
		}
	}
}

// The other formats' test inputs are never taken for audit logs.
func TestSniffOtherFormats(t *testing.T) {
	files, err := filepath.Glob("../*/testdata/*")
	if err != nil {
		t.Fatal(err)
	}
	more, _ := filepath.Glob("../*/testdata/*/*")
	n := 0
	for _, path := range append(files, more...) {
		if strings.HasPrefix(path, "../k8saudit/") || strings.HasSuffix(path, ".golden") {
			continue
		}
		if fi, err := os.Stat(path); err != nil || fi.IsDir() {
			continue
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		n++
		head := data[:min(len(data), 256<<10)]
		if Format.Sniff(sampleLines(data)) || Format.(record.FileSniffer).SniffFile(path, head) {
			t.Errorf("Sniff claims %s", path)
		}
	}
	if n == 0 {
		t.Fatal("no other formats' testdata found")
	}
}

// sampleLines is the first record.SniffLines non-empty lines, as detection
// offers them.
func sampleLines(data []byte) [][]byte {
	var out [][]byte
	for _, l := range bytes.Split(data, []byte("\n")) {
		if len(bytes.TrimSpace(l)) > 0 && len(out) < record.SniffLines {
			out = append(out, l)
		}
	}
	return out
}

func TestDocumentMode(t *testing.T) {
	tests := []struct {
		head string
		want bool
	}{
		{"{\n  \"kind\": \"EventList\",", true},
		{"[\n  {", true},
		{`{"records": [` + "\n" + `{"category":"kube-audit"},`, true},
		{`{"kind":"Event","auditID":"x"}` + "\n", false},
		{`[{"a":1}]` + "\n", false},
		{`{"kind":"Event","auditID":"tru` + "\n", false}, // a truncated line
		{"2026-03-04T10:00:00Z stdout F {}\n", false},
		{"\xef\xbb\xbf{\n", true},
		{"", false},
	}
	for _, tt := range tests {
		if got := documentMode([]byte(tt.head)); got != tt.want {
			t.Errorf("documentMode(%q) = %v, want %v", tt.head, got, tt.want)
		}
	}
}

func TestClusterNames(t *testing.T) {
	for in, want := range map[string]string{
		"/aws/eks/shop-eks-prod/cluster": "shop-eks-prod",
		"/aws/eks//cluster":              "/aws/eks//cluster",
		"/custom/group":                  "/custom/group",
	} {
		if got := eksCluster(in); got != want {
			t.Errorf("eksCluster(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{
		"/SUBSCRIPTIONS/S/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.CONTAINERSERVICE/MANAGEDCLUSTERS/AKS-1": "AKS-1",
		"/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/aks-2": "aks-2",
		"/SUBSCRIPTIONS/S/MANAGEDCLUSTERS/": "/SUBSCRIPTIONS/S/MANAGEDCLUSTERS/",
		"":                                  "",
	} {
		if got := aksCluster(in); got != want {
			t.Errorf("aksCluster(%q) = %q, want %q", in, got, want)
		}
	}
}

// A line over the bound is rejected without being buffered, and the next
// line is read.
func TestLineTooLong(t *testing.T) {
	ok := `{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"b","stage":"ResponseComplete","verb":"get","user":{"username":"u","extra":{"authentication.kubernetes.io/credential-id":["JTI=j"]}},"stageTimestamp":"2026-03-04T10:00:00Z"}`
	data := strings.Replace(ok, `"verb":"get"`, `"verb":"get","userAgent":"`+strings.Repeat("x", 5000)+`"`, 1) + "\n" + ok + "\n"
	c, err := recordtest.Parse(Format, "big.log", []byte(data), record.Options{MaxLineBytes: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Rejects) != 1 || !strings.HasPrefix(c.Rejects[0].Reason, record.ReasonLineTooLong) || len(c.Sightings) != 1 || c.Sightings[0].ArtifactID != "j" {
		t.Errorf("got %+v", c)
	}
}

func FuzzParse(f *testing.F) {
	recordtest.Seeds(f, "testdata")
	f.Fuzz(func(t *testing.T, data []byte) {
		recordtest.CheckInvariants(t, Format, data)
	})
}

// The run's summary shows 80 bytes of an ignore reason.
func TestIgnoreReasonsFit(t *testing.T) {
	for _, r := range []string{IgnoreNoCredential, IgnoreClientCert, IgnoreOtherCredential, IgnoreStage, IgnoreNoIssuedID,
		IgnoreFailedTokenRequest, IgnoreNotAudit, IgnoreControlMessage, IgnoreEmpty} {
		if len(r) > 80 {
			t.Errorf("ignore reason %q is %d bytes, over 80", r, len(r))
		}
	}
}

// A file named as every API server names its log is known by the
// directory it was collected into.
func TestFileObserver(t *testing.T) {
	for name, want := range map[string]string{
		"logs/apiserver-1/audit.log":                     "apiserver-1/audit.log",
		"logs/cp-2/audit-2026-03-04T10-00-00.000.log.gz": "cp-2/audit-2026-03-04T10-00-00.000.log.gz",
		"audit.log":                          "audit.log",
		"logs/prod/kube-apiserver-audit.log": "prod/kube-apiserver-audit.log",
		"exports/cluster-a-2026-03-04.jsonl": "cluster-a-2026-03-04.jsonl",
	} {
		if got := fileObserver(name); got != want {
			t.Errorf("fileObserver(%q) = %q, want %q", name, got, want)
		}
	}
}
