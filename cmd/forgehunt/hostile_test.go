package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/forgehunt/forgehunt/internal/incident"
)

// Bad input is normal input: a truncated gzip, a non-JWT bearer value, a
// 10 MB line, invalid UTF-8 and terminal escapes give rejects with file and
// line, never a panic, and the hunt still finds every forged token.
func TestHuntSurvivesHostileInput(t *testing.T) {
	dir := t.TempDir()
	truth, err := incident.Generate(dir, incident.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	hostile := filepath.Join(dir, "logs", "hostile")
	if err := os.MkdirAll(hostile, 0o755); err != nil {
		t.Fatal(err)
	}
	// A truncated gzip: the first half of a compressed nginx log.
	nginxLog, err := os.ReadFile(filepath.Join(dir, "logs", "nginx", "billing-access.log"))
	if err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(nginxLog)
	zw.Close()
	write := func(name string, data []byte) {
		if err := os.WriteFile(filepath.Join(hostile, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("truncated-access.log.gz", gz.Bytes()[:gz.Len()/2])

	line := func(ua, auth string) string {
		return `10.9.9.9 - - [04/Mar/2026:10:00:00 +0000] "GET /x HTTP/1.1" 200 1 "-" "` + ua + `" "` + auth + `"` + "\n"
	}
	var hostileNginx strings.Builder
	hostileNginx.WriteString(line("curl/8", "Bearer not-a-jwt-at-all"))                    // line 1: non-JWT bearer
	hostileNginx.WriteString(line("curl/8", "Bearer "+strings.Repeat("A", 10<<20)))        // line 2: a 10 MB line
	hostileNginx.WriteString(line("bad\xff\xfeutf8", "Bearer a.b.c"))                      // line 3: invalid UTF-8
	hostileNginx.WriteString(line("evil\x1b]0;pwned\x07\x1b[2J", "Bearer eyJhbGciOi.x.y")) // line 4: escapes, broken JWT
	hostileNginx.WriteString("\x00\x00\x00 garbage\n")                                     // line 5: NUL bytes
	write("hostile-access.log", []byte(hostileNginx.String()))

	casePath := filepath.Join(dir, "case.duckdb")
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"hunt",
		"--key", filepath.Join(dir, "keys", "exposed.pem"),
		"--trusted-key", filepath.Join(dir, "keys", "trusted-jwks.json"),
		"--exposed-from", truth.ExposedFrom.Format("2006-01-02T15:04:05Z"),
		"--revoked-at", truth.RevokedAt.Format("2006-01-02T15:04:05Z"),
		"--case", casePath, "--format", "jsonl",
		filepath.Join(dir, "logs"),
	}, nil, &stdout, &stderr)
	if code != exitFindings {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr.String())
	}
	if strings.ContainsRune(stderr.String(), 0x1b) && !strings.Contains(stderr.String(), "\x1b[K") {
		t.Errorf("terminal escape from a log reached stderr:\n%q", stderr.String())
	}
	if strings.Contains(stdout.String(), "\x1b") {
		t.Errorf("terminal escape from a log reached stdout")
	}
	found := map[string]bool{}
	for _, l := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
		var f struct {
			ArtifactKey string `json:"artifact_key"`
			Level       string `json:"level"`
		}
		if err := json.Unmarshal([]byte(l), &f); err != nil {
			t.Fatal(err)
		}
		if f.Level == "high" || f.Level == "critical" {
			found[f.ArtifactKey] = true
		}
	}
	for _, k := range truth.Forged() {
		if !found[k] {
			t.Errorf("forged token %s missed next to hostile input", k)
		}
	}

	// The case holds tokens: only its owner may read it.
	if st, err := os.Stat(casePath); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("case file mode = %v, %v; want 0600", st.Mode().Perm(), err)
	}
	// No output carries a token's signature (a credential).
	for _, tok := range rawTokens(t, casePath) {
		sig := tok[strings.LastIndexByte(tok, '.')+1:]
		if len(sig) >= 16 && (strings.Contains(stdout.String(), sig) || strings.Contains(stderr.String(), sig)) {
			t.Fatalf("a token signature was printed")
		}
	}

	// The rejects, with file and line.
	stdout.Reset()
	code = run(context.Background(), []string{"query", "--case", casePath, "--format", "jsonl",
		"SELECT src_file, src_line, reason, excerpt FROM rejects WHERE src_file LIKE '%hostile%' ORDER BY src_file, src_line"},
		nil, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("query exit %d: %s", code, stderr.String())
	}
	got := stdout.String()
	for _, want := range []string{
		`"src_file":"` + filepath.Join(hostile, "hostile-access.log") + `","src_line":1,"reason":"bearer value is not a JWT"`,
		`"src_line":2,"reason":"line too long`,
		`"src_line":3,"reason":"invalid UTF-8"`,
		`"src_line":5`,
		`truncated-access.log.gz","src_line":`,
		`read stopped: unexpected EOF`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("rejects lack %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "\x1b") || strings.Contains(got, "\\u001b") && !strings.Contains(got, `\\x1b`) {
		t.Errorf("reject excerpts keep raw escapes:\n%s", got)
	}
	// The 10 MB line is not stored whole.
	if len(got) > 64<<10 {
		t.Errorf("rejects output is %d bytes: excerpts are not bounded", len(got))
	}
}

// rawTokens reads the stored raw tokens of a case.
func rawTokens(t *testing.T, casePath string) []string {
	t.Helper()
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"query", "--case", casePath, "--format", "jsonl", "SELECT raw FROM artifact_raw"}, nil, &out, &errOut); code != 0 {
		t.Fatalf("query: %s", errOut.String())
	}
	var toks []string
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var r struct{ Raw string }
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatal(err)
		}
		toks = append(toks, r.Raw)
	}
	if len(toks) == 0 {
		t.Fatal("no raw tokens stored")
	}
	return toks
}
