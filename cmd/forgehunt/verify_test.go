package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
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

	"github.com/forgehunt/forgehunt/analyzer"
	"github.com/forgehunt/forgehunt/internal/adversarial"
	"github.com/forgehunt/forgehunt/internal/incident"
)

// Deferring the trusted-key checks (--verify needed, the default with the
// built-in rules) changes no finding: the generated incidents and the
// adversarial corpus give byte-identical JSONL under both paths, and the
// lazy path did defer checks (else this would prove nothing).
func TestVerifyNeededFindingsEqualAll(t *testing.T) {
	ctx := context.Background()
	type input struct {
		name string
		args []string // keys, window, rules; the logs last
		// deferred: some check must stay deferred (not so when a rule hits
		// every token, or every token verifies with the exposed key)
		deferred bool
	}
	var inputs []input
	for _, seed := range []int64{1, 7} {
		dir := t.TempDir()
		cfg := incident.DefaultConfig()
		cfg.Seed = seed
		truth, err := incident.Generate(dir, cfg)
		if err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, input{name: "incident seed " + string(rune('0'+seed)), deferred: true, args: []string{
			"--key", filepath.Join(dir, "keys", "exposed.pem"),
			"--trusted-key", filepath.Join(dir, "keys", "trusted-jwks.json"),
			"--exposed-from", truth.ExposedFrom.Format(time.RFC3339),
			"--revoked-at", truth.RevokedAt.Format(time.RFC3339),
			filepath.Join(dir, "logs")}})
		if seed == 1 {
			// A rule of the analyst's that hits every accepted token, whatever
			// its signer: the checks deferred for its hits are settled and the
			// rules run again before the findings are written.
			rulesDir := filepath.Join(dir, "myrules")
			os.MkdirAll(rulesDir, 0o700)
			os.WriteFile(filepath.Join(rulesDir, "accepted.yml"), []byte(`id: local-accepted
title: Accepted token
level: low
kind: jwt
query: |
  SELECT a.artifact_key, 'accepted, signed by ' || coalesce(a.signer_fp, a.sig_status) AS reason
  FROM artifacts a JOIN artifact_stats st USING (artifact_key)
  WHERE st.accepted > 0
`), 0o600)
			inputs = append(inputs, input{name: "incident with a rule of the analyst's", args: []string{
				"--key", filepath.Join(dir, "keys", "exposed.pem"),
				"--trusted-key", filepath.Join(dir, "keys", "trusted-jwks.json"),
				"--rules", rulesDir, filepath.Join(dir, "logs")}})
		}
	}
	adv := t.TempDir()
	if _, err := adversarial.Generate(adv); err != nil {
		t.Fatal(err)
	}
	inputs = append(inputs, input{name: "adversarial corpus", args: []string{
		"--key", filepath.Join(adv, adversarial.KeyFile),
		"--trusted-key", inputs[0].args[3], // an unrelated trusted key set
		"--exposed-from", adversarial.ExposedFrom.Format(time.RFC3339),
		filepath.Join(adv, adversarial.LogDir)}})

	for _, in := range inputs {
		t.Run(in.name, func(t *testing.T) {
			hunt := func(verify string) (string, string) {
				t.Helper()
				casePath := filepath.Join(t.TempDir(), "case.duckdb")
				args := append([]string{"hunt", "--verify", verify, "--case", casePath, "--format", "jsonl",
					"--min-level", "informational", "--quiet", "--fail-on", "none"}, in.args...)
				var stdout, stderr bytes.Buffer
				if code := run(ctx, args, nil, &stdout, &stderr); code != exitOK {
					t.Fatalf("hunt --verify %s: exit %d; stderr:\n%s", verify, code, stderr.String())
				}
				return stdout.String(), casePath
			}
			all, allCase := hunt("all")
			needed, neededCase := hunt("needed")
			if all != needed {
				t.Errorf("findings differ between --verify all and --verify needed:\n--- all\n%s\n--- needed\n%s", all, needed)
			}
			if all == "" {
				t.Error("no findings at all")
			}
			if n := countStatus(t, allCase, analyzer.SigNotChecked); n != 0 {
				t.Errorf("--verify all left %d artifacts not-checked", n)
			}
			if n := countStatus(t, neededCase, analyzer.SigNotChecked); in.deferred && n == 0 {
				t.Error("--verify needed deferred no check: the comparison proves nothing")
			}
		})
	}
}

func countStatus(t *testing.T, casePath, status string) int {
	t.Helper()
	cs, err := analyzer.OpenCaseReadOnly(context.Background(), casePath)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	var n int
	if err := cs.DB.QueryRow(`SELECT count(*) FROM artifacts WHERE sig_status = ?`, status).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// A re-signed copy of a legitimately issued token: the original carries
// the jti under the trusted key and the ledger accounts for it, the copy
// carries the same jti under the exposed key. Telling them apart needs the
// original's signer, a check --verify needed defers at ingest and must
// settle before the rules run.
func TestVerifyNeededSettlesSiblingsOfExposedTokens(t *testing.T) {
	dir := t.TempDir()
	exposed, _ := rsa.GenerateKey(rand.Reader, 2048)
	trusted, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	writePub := func(name string, pub any) string {
		der, err := x509.MarshalPKIXPublicKey(pub)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name)
		os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600)
		return p
	}
	iat := time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)
	claims := jwt.MapClaims{"iss": "https://idp.example", "jti": "j-1", "sub": "alice", "aud": "payments",
		"iat": iat.Unix(), "exp": iat.Add(time.Hour).Unix()}
	orig, err := jwt.NewWithClaims(jwt.SigningMethodES256, claims).SignedString(trusted)
	if err != nil {
		t.Fatal(err)
	}
	copyTok, err := jwt.NewWithClaims(jwt.SigningMethodRS256, claims).SignedString(exposed)
	if err != nil {
		t.Fatal(err)
	}
	ledger := filepath.Join(dir, "ledger.jsonl")
	os.WriteFile(ledger, []byte(`{"kind":"jwt","issuer":"https://idp.example","artifact_id":"j-1","subject":"alice","audience":"payments","issued_at":"2026-03-04T10:00:00Z","expires_at":"2026-03-04T11:00:00Z"}`+"\n"), 0o600)
	os.MkdirAll(filepath.Join(dir, "logs"), 0o700)
	var log bytes.Buffer
	for i, tok := range []string{orig, copyTok, orig} {
		fmt.Fprintf(&log, `{"start_time":"2026-03-04T10:0%d:00.000Z","method":"GET","path":"/api","response_code":200,"x_forwarded_for":"198.51.100.%d","authority":"payments.example","authorization":"Bearer %s"}`+"\n", i+1, i+1, tok)
	}
	os.WriteFile(filepath.Join(dir, "logs", "access.log"), log.Bytes(), 0o600)
	hunt := func(verify string) string {
		t.Helper()
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), []string{"hunt", "--verify", verify, "--format", "jsonl", "--quiet", "--fail-on", "none",
			"--key", writePub("exposed.pem", &exposed.PublicKey), "--trusted-key", writePub("trusted.pem", &trusted.PublicKey),
			"--ledger", ledger, filepath.Join(dir, "logs")}, nil, &stdout, &stderr)
		if code != exitOK {
			t.Fatalf("hunt --verify %s: exit %d; stderr:\n%s", verify, code, stderr.String())
		}
		return stdout.String()
	}
	all, needed := hunt("all"), hunt("needed")
	if !strings.Contains(all, `"jwt-duplicate-id"`) {
		t.Fatalf("--verify all does not find the copy:\n%s", all)
	}
	if all != needed {
		t.Errorf("findings differ between --verify all and --verify needed:\n--- all\n%s\n--- needed\n%s", all, needed)
	}
}

// Two copies of a log in one run, read in parallel and hashed as they are
// read: one is kept, the other is reported as a copy, and no sighting of
// the kept one names an artifact the case lacks (whichever copy met a
// token first).
func TestHuntCopiesInOneRun(t *testing.T) {
	dir := t.TempDir()
	cfg := incident.DefaultConfig()
	truth, err := incident.Generate(dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	logs := filepath.Join(dir, "logs")
	var biggest string
	var size int64
	filepath.Walk(logs, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() && fi.Size() > size && strings.HasSuffix(p, ".log") {
			biggest, size = p, fi.Size()
		}
		return nil
	})
	data, err := os.ReadFile(biggest)
	if err != nil {
		t.Fatal(err)
	}
	// just the two copies, so that they are read at the same time
	logs = filepath.Join(t.TempDir(), "logs")
	os.MkdirAll(logs, 0o700)
	biggest = filepath.Join(logs, "access.log")
	os.WriteFile(biggest, data, 0o600)
	os.WriteFile(biggest+".copy", data, 0o600)
	casePath := filepath.Join(t.TempDir(), "case.duckdb")
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"hunt", "--case", casePath, "--format", "jsonl", "--quiet", "--fail-on", "none",
		"--key", filepath.Join(dir, "keys", "exposed.pem"), "--trusted-key", filepath.Join(dir, "keys", "trusted-jwks.json"),
		"--exposed-from", truth.ExposedFrom.Format(time.RFC3339), logs}, nil, &stdout, &stderr)
	if code != exitOK {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr.String())
	}
	cs, err := analyzer.OpenCaseReadOnly(context.Background(), casePath)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	var copies, orphans, kept int
	if err := cs.DB.QueryRow(`SELECT
		(SELECT count(*) FROM sources WHERE path IN (?, ?)),
		(SELECT count(*) FROM sightings s WHERE NOT EXISTS (SELECT 1 FROM artifacts a WHERE a.artifact_key = s.artifact_key)),
		(SELECT count(DISTINCT src_file) FROM sightings WHERE src_file IN (?, ?))`,
		biggest, biggest+".copy", biggest, biggest+".copy").Scan(&copies, &orphans, &kept); err != nil {
		t.Fatal(err)
	}
	if copies != 1 || kept != 1 {
		t.Errorf("%d sources rows and sightings from %d of the two copies, want 1 and 1", copies, kept)
	}
	if orphans != 0 {
		t.Errorf("%d sightings name an artifact the case lacks", orphans)
	}
}

// A case hunted again with other keys is verified again from its stored
// raw tokens: tokens of a key given only the second time become valid, and
// nothing else about them changes.
func TestHuntAgainWithOtherKeys(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	truth, err := incident.Generate(dir, incident.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	casePath := filepath.Join(t.TempDir(), "case.duckdb")
	hunt := func(extra ...string) {
		t.Helper()
		args := append([]string{"hunt", "--case", casePath, "--format", "jsonl", "--quiet", "--fail-on", "none",
			"--key", filepath.Join(dir, "keys", "exposed.pem"), "--exposed-from", truth.ExposedFrom.Format(time.RFC3339)}, extra...)
		var stdout, stderr bytes.Buffer
		if code := run(ctx, append(args, filepath.Join(dir, "logs")), nil, &stdout, &stderr); code != exitOK {
			t.Fatalf("exit %d; stderr:\n%s", code, stderr.String())
		}
	}
	state := func() (statuses, claims string) {
		t.Helper()
		cs, err := analyzer.OpenCaseReadOnly(ctx, casePath)
		if err != nil {
			t.Fatal(err)
		}
		defer cs.Close()
		if err := cs.DB.QueryRow(`SELECT string_agg(sig_status || '=' || n, ',' ORDER BY sig_status)
			FROM (SELECT sig_status, count(*) AS n FROM artifacts GROUP BY ALL)`).Scan(&statuses); err != nil {
			t.Fatal(err)
		}
		if err := cs.DB.QueryRow(`SELECT md5(string_agg(artifact_key || coalesce(claims, '') || coalesce(raw_sha256, ''), ',' ORDER BY artifact_key))
			FROM artifacts`).Scan(&claims); err != nil {
			t.Fatal(err)
		}
		return statuses, claims
	}
	hunt()
	before, claimsBefore := state()
	hunt("--verify", "all", "--trusted-key", filepath.Join(dir, "keys", "trusted-jwks.json"))
	after, claimsAfter := state()
	if before == after || !strings.Contains(after, "valid=") {
		t.Errorf("statuses before %s, after %s: the trusted key's tokens were not verified again", before, after)
	}
	if strings.Contains(after, "not-checked") {
		t.Errorf("--verify all left tokens not checked: %s", after)
	}
	if claimsBefore != claimsAfter {
		t.Error("verifying again changed what was decoded of the tokens")
	}
	t.Logf("before %s; after %s", before, after)
}
