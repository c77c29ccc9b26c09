package analyzer

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/forgehunt/forgehunt/analyzer/keys"
	"github.com/forgehunt/forgehunt/rules"
)

// TestSequenceGapCoverage ingests two rotated Keycloak JSON logs of one
// process, with a hole in the numbering inside the older file and another
// between the files, and an access log with tokens of an exposed key: the
// tokens issued inside the holes are in a 'gap' that names the lost lines,
// one issued where the numbering is whole is 'covered', and ledger-gap
// reports each hole once.
func TestSequenceGapCoverage(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	spki, err := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	keyPath := filepath.Join(dir, "exposed.pem")
	writeFile(t, keyPath, string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: spki})))
	set, err := keys.LoadFile(keyPath, keys.RoleExposed)
	if err != nil {
		t.Fatal(err)
	}

	day := time.Date(2026, 3, 4, 0, 0, 0, 0, time.UTC)
	at := func(h, m, s int) time.Time {
		return day.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(s)*time.Second)
	}
	kcLine := func(seq int, ts time.Time, logger, msg string) string {
		return fmt.Sprintf(`{"timestamp":%q,"sequence":%d,"loggerClassName":"org.jboss.logging.Logger","loggerName":%q,"level":"DEBUG","message":%q,"threadName":"executor-thread-1","threadId":42,"mdc":{},"ndc":"","hostName":"kc-0","processName":"QuarkusEntryPoint","processId":1}`,
			ts.Format("2006-01-02T15:04:05.000Z"), seq, logger, msg)
	}
	issue := func(seq int, ts time.Time) string {
		msg := fmt.Sprintf(`type="CODE_TO_TOKEN", realmId="1b2c", realmName="acme", clientId="web", userId="alice", ipAddress="10.1.2.3", token_id="legit-%d", grant_type="authorization_code"`, seq)
		return kcLine(seq, ts, "org.keycloak.events", msg)
	}
	// keycloak.log.1: numbers 1..20 from 09:00:01, then 21..120 lost, then
	// 121..130 from 09:40:00. keycloak.log: from 400 at 10:30:00 (131..399
	// lost between the files).
	var old, cur []string
	old = append(old, kcLine(0, at(9, 0, 0), "io.quarkus", "Keycloak 26.1.0 started"))
	for seq := 1; seq <= 20; seq++ {
		old = append(old, issue(seq, at(9, 0, seq)))
	}
	holeLine := len(old) + 1
	for seq := 121; seq <= 130; seq++ {
		old = append(old, issue(seq, at(9, 40, seq-121)))
	}
	for seq := 400; seq <= 420; seq++ {
		cur = append(cur, issue(seq, at(10, 30, seq-400)))
	}
	logs := filepath.Join(dir, "logs")
	writeFile(t, filepath.Join(logs, "keycloak.log.1"), strings.Join(old, "\n")+"\n")
	writeFile(t, filepath.Join(logs, "keycloak.log"), strings.Join(cur, "\n")+"\n")

	token := func(jti, sub string, iat time.Time) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{
			"iss": "https://sso.acme.test/realms/acme", "sub": sub, "aud": "web", "azp": "web", "jti": jti,
			"iat": iat.Unix(), "exp": iat.Add(5 * time.Minute).Unix(),
		})
		tok.Header["kid"] = "k1"
		s, err := tok.SignedString(priv)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	access := func(ts time.Time, tok string) string {
		return fmt.Sprintf(`203.0.113.7 - - [%s] "GET /api/payments HTTP/1.1" 200 512 "-" "curl/8.5.0" "Bearer %s"`,
			ts.Format("02/Jan/2006:15:04:05 -0700"), tok)
	}
	writeFile(t, filepath.Join(logs, "access.log"), strings.Join([]string{
		access(at(9, 0, 30), token("legit-5", "alice", at(9, 0, 5))),          // issued, in the ledger
		access(at(9, 1, 0), token("forged-covered", "mallory", at(9, 0, 10))), // numbering whole there
		access(at(9, 21, 0), token("forged-infile", "mallory", at(9, 20, 0))), // in 21..120
		access(at(10, 1, 0), token("forged-rotation", "mallory", at(10, 0, 0))),
	}, "\n")+"\n")

	c, err := OpenCase(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.SetKeys(ctx, set, KeyWindow{}); err != nil {
		t.Fatal(err)
	}
	sum, err := c.Ingest(ctx, []string{logs}, set, IngestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sum.Sources {
		if s.Skipped != "" || s.Mismatch != "" || s.Rejects != 0 {
			t.Fatalf("%s: %+v", s.Path, s)
		}
		if want := map[string]int64{"keycloak.log.1": 1}[filepath.Base(s.Path)]; s.SequenceGaps != want {
			t.Errorf("%s: %d sequence gaps, want %d", s.Path, s.SequenceGaps, want)
		}
	}
	var stored int64
	if err := c.DB.QueryRowContext(ctx, `SELECT sum(sequence_gaps) FROM sources`).Scan(&stored); err != nil || stored != 1 {
		t.Errorf("sources.sequence_gaps sum = %d, %v; want 1", stored, err)
	}

	ruleSet, errs := rules.Builtin()
	if len(errs) > 0 {
		t.Fatal(errs[0].Err)
	}
	if _, err := c.Analyze(ctx, ruleSet, Settings{}); err != nil {
		t.Fatal(err)
	}
	oldPath, curPath := filepath.Join(logs, "keycloak.log.1"), filepath.Join(logs, "keycloak.log")

	coverage := map[string][2]string{}
	rows, err := c.DB.QueryContext(ctx, `SELECT a.artifact_id, m.coverage, m.coverage_note
		FROM matches m JOIN artifacts a USING (artifact_key)`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id, cov, note string
		if err := rows.Scan(&id, &cov, &note); err != nil {
			t.Fatal(err)
		}
		coverage[id] = [2]string{cov, note}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	wantCoverage := map[string][2]string{
		"legit-5":        {"covered", "ledger has records at 2026-03-04T09:00:05Z and 2026-03-04T09:00:05Z"},
		"forged-covered": {"covered", "ledger has records at 2026-03-04T09:00:10Z and 2026-03-04T09:00:10Z"},
		"forged-infile": {"gap", "ledger lost 100 line(s) (sequence 21..120 of kc-0/1) between 2026-03-04T09:00:20.000Z and " +
			"2026-03-04T09:40:00.000Z (" + oldPath + ":" + fmt.Sprint(holeLine) + ")"},
		"forged-rotation": {"gap", "ledger lost 269 line(s) (sequence 131..399 of kc-0/1) between 2026-03-04T09:40:09.000Z and " +
			"2026-03-04T10:30:00.000Z (" + curPath + ":1)"},
	}
	for id, want := range wantCoverage {
		if got := coverage[id]; got != want {
			t.Errorf("%s: coverage %q, %q\nwant %q, %q", id, got[0], got[1], want[0], want[1])
		}
	}

	findings, err := c.Findings(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Finding{}
	for _, f := range findings {
		got[f.RuleID+" "+f.ArtifactKey] = f
	}
	for key, want := range map[string]struct {
		reason   string
		evidence []Evidence
	}{
		"ledger-gap ledger-seq:kc-0/1:20": {
			"the jwt issuance ledger lost 100 line(s): sequence 21..120 of kc-0/1 is missing from " + oldPath +
				", between 2026-03-04T09:00:20.000Z and 2026-03-04T09:40:00.000Z (39.7 min); 1 artifact(s) signed by an exposed key" +
				" were issued in it (1 of them accepted by a verifier), which the ledger can neither confirm nor refute",
			[]Evidence{{oldPath, int64(holeLine)}},
		},
		"ledger-gap ledger-seq:kc-0/1:130": {
			"the jwt issuance ledger lost 269 line(s): sequence 131..399 of kc-0/1 is missing between the files " + oldPath +
				" and " + curPath + ", between 2026-03-04T09:40:09.000Z and 2026-03-04T10:30:00.000Z (49.9 min); 1 artifact(s)" +
				" signed by an exposed key were issued in it (1 of them accepted by a verifier), which the ledger can neither confirm nor refute",
			[]Evidence{{oldPath, int64(len(old))}, {curPath, 1}},
		},
	} {
		f, ok := got[key]
		if !ok {
			t.Errorf("no finding %s", key)
			continue
		}
		if f.Reason != want.reason || f.Coverage != "gap" || f.Level != "informational" || fmt.Sprint(f.Evidence) != fmt.Sprint(want.evidence) {
			t.Errorf("%s:\n got %s %s %q %v\nwant informational gap %q %v", key, f.Level, f.Coverage, f.Reason, f.Evidence, want.reason, want.evidence)
		}
	}
	// The tokens themselves: the covered forgery is critical, the two in the
	// holes medium (a gap), and their reasons say why.
	levels := map[string]string{}
	for _, f := range findings {
		if f.RuleID == "jwt-no-issuance" {
			levels[f.ArtifactID] = f.Level + " " + f.Coverage
			if f.Coverage == "gap" && !strings.Contains(f.Reason, "ledger lost ") {
				t.Errorf("%s: reason %q does not name the lost lines", f.ArtifactID, f.Reason)
			}
		}
	}
	wantLevels := map[string]string{"forged-covered": "critical covered", "forged-infile": "medium gap", "forged-rotation": "medium gap"}
	if fmt.Sprint(levels) != fmt.Sprint(wantLevels) {
		t.Errorf("jwt-no-issuance findings %v, want %v", levels, wantLevels)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
