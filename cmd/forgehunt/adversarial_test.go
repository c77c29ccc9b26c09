package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/forgehunt/forgehunt/analyzer"
	"github.com/forgehunt/forgehunt/internal/adversarial"
)

// The adversarial corpus (internal/adversarial) hunted end to end: no panic,
// no error exit, every record read accounted for, every case's outcome as
// the corpus says, and no terminal control character from the input in any
// output or in any column that is shown.
func TestHuntAdversarialCorpus(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cases, err := adversarial.Generate(dir)
	if err != nil {
		t.Fatal(err)
	}
	casePath := filepath.Join(dir, "case.duckdb")
	hunt := func(format string) (string, string) {
		t.Helper()
		var stdout, stderr bytes.Buffer
		code := run(ctx, []string{"hunt",
			"--key", filepath.Join(dir, adversarial.KeyFile),
			"--exposed-from", adversarial.ExposedFrom.Format(time.RFC3339),
			"--case", casePath, "--format", format, "--min-level", "informational",
			filepath.Join(dir, adversarial.LogDir),
		}, nil, &stdout, &stderr)
		if code != exitOK && code != exitFindings {
			t.Fatalf("hunt --format %s: exit %d; stderr:\n%s", format, code, stderr.String())
		}
		return stdout.String(), stderr.String()
	}
	stdout, stderr := hunt("jsonl")
	assertTerminalSafe(t, "hunt stdout (jsonl)", stdout)
	assertTerminalSafe(t, "hunt stderr", stderr)
	// The summary names what was salvaged; the JSONL marks it.
	if !strings.Contains(stderr, "salvaged from") {
		t.Errorf("the summary does not name the salvaged tokens:\n%s", stderr)
	}
	if !strings.Contains(stdout, `"salvaged":1`) || !strings.Contains(stdout, `"ambiguous":true`) {
		t.Errorf("no JSONL finding says it rests on salvaged (and ambiguous) lines")
	}
	if !strings.Contains(stdout, `"rule_id"`) {
		t.Errorf("no findings from a corpus of forged tokens:\n%s", stdout)
	}
	// Again on the same case: nothing is re-read, the findings are printed
	// for people.
	stdout, stderr = hunt("table")
	assertTerminalSafe(t, "hunt stdout (table)", stdout)
	assertTerminalSafe(t, "hunt stderr (second run)", stderr)

	cs, err := analyzer.OpenCaseReadOnly(ctx, casePath)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	db := cs.DB

	// Accounting: every record read is a row, a reject or an ignore.
	type source struct {
		status, errText string
		ignored         map[string]int64
	}
	sources := map[string]source{}
	rows, err := db.QueryContext(ctx, `SELECT path, status, coalesce(error, ''), coalesce(records_read, -1),
		sightings, issuances, rejects, coalesce(ignored, -1), coalesce(ignored_reasons, '') FROM sources`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var path, status, errText, reasons string
		var read, sightings, issuances, rejects, ignored int64
		if err := rows.Scan(&path, &status, &errText, &read, &sightings, &issuances, &rejects, &ignored, &reasons); err != nil {
			t.Fatal(err)
		}
		if status != "complete" && status != "partial" {
			sources[path] = source{status: status, errText: errText}
			continue
		}
		if sum := sightings + issuances + rejects + ignored; read != sum || strings.Contains(errText, "accounting mismatch") {
			t.Errorf("%s: read %d records, accounted %d (%d sightings, %d issuances, %d rejects, %d ignored); error %q",
				path, read, sum, sightings, issuances, rejects, ignored, errText)
		}
		var byReason map[string]int64
		if err := json.Unmarshal([]byte(reasons), &byReason); err != nil {
			t.Errorf("%s: ignored_reasons %q: %v", path, reasons, err)
		}
		sources[path] = source{status, errText, byReason}
		var n int64
		for _, v := range byReason {
			n += v
		}
		if n != ignored {
			t.Errorf("%s: ignored %d, but ignored_reasons %s", path, ignored, reasons)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()

	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			path := filepath.Join(dir, filepath.FromSlash(c.File))
			src, ok := sources[path]
			if !ok {
				t.Fatalf("%s is not in sources", c.File)
			}
			if c.Status != "" && src.status != c.Status {
				t.Errorf("status %q (error %q), want %q", src.status, src.errText, c.Status)
			}
			if c.Error != "" && !strings.Contains(src.errText, c.Error) {
				t.Errorf("error %q, want it to contain %q", src.errText, c.Error)
			}
			if c.Ignored != "" && src.ignored[c.Ignored] == 0 {
				t.Errorf("ignored_reasons %v, want %q counted", src.ignored, c.Ignored)
			}
			if c.Reject != "" {
				reasons := strs(t, db, `SELECT reason FROM rejects WHERE src_file = ? AND src_line = ?`, path, c.Line)
				found := false
				for _, r := range reasons {
					found = found || strings.HasPrefix(r, c.Reject)
				}
				if !found {
					t.Errorf("line %d: rejects %q, want one starting %q", c.Line, reasons, c.Reject)
				}
			}
			if c.Token != "" {
				var status, note string
				var salvaged, ambiguous bool
				err := db.QueryRowContext(ctx, `SELECT a.sig_status, coalesce(a.verify_note, ''),
					s.salvaged IS NOT NULL, coalesce(s.ambiguous, false)
					FROM sightings s JOIN artifacts a ON a.artifact_key = s.artifact_key
					WHERE s.src_file = ? AND s.src_line = ? AND s.artifact_key = ?`, path, c.Line, c.Token).Scan(&status, &note, &salvaged, &ambiguous)
				if err != nil {
					t.Fatalf("line %d: no sighting of %s with its artifact: %v", c.Line, c.Token, err)
				}
				if status != c.SigStatus || !strings.Contains(note, c.VerifyNote) {
					t.Errorf("line %d: sig_status %q, verify_note %q; want %q and a note containing %q",
						c.Line, status, note, c.SigStatus, c.VerifyNote)
				}
				if salvaged != c.Salvaged || ambiguous != c.Ambiguous {
					t.Errorf("line %d: salvaged %v, ambiguous %v; want %v, %v", c.Line, salvaged, ambiguous, c.Salvaged, c.Ambiguous)
				}
			}
			if c.Verdict != "" {
				var high, salvaged int64
				var reasons string
				if err := db.QueryRowContext(ctx, `SELECT count(*), coalesce(max(salvaged), 0), coalesce(string_agg(reason, ' | '), '')
					FROM findings WHERE artifact_key = ? AND level IN ('high', 'critical')`, c.Token).Scan(&high, &salvaged, &reasons); err != nil {
					t.Fatal(err)
				}
				switch {
				case c.Verdict == adversarial.VerdictForged && high == 0:
					t.Errorf("forged token %s: no finding at high or above; findings: %q", c.Token, strs(t, db,
						`SELECT rule_id || ' ' || level || ': ' || reason FROM findings WHERE artifact_key = ?`, c.Token))
				case c.Verdict == adversarial.VerdictLegitimate && high > 0:
					t.Errorf("legitimately issued token %s: %d finding(s) at high or above: %s", c.Token, high, reasons)
				case c.Verdict == adversarial.VerdictForged && c.Salvaged && salvaged == 0:
					t.Errorf("forged token %s rests on salvaged lines, but its findings say salvaged = 0", c.Token)
				case c.Verdict == adversarial.VerdictForged && c.Ambiguous && !strings.Contains(reasons, "ambiguous"):
					t.Errorf("forged token %s from an ambiguous line: the reason does not say so: %s", c.Token, reasons)
				}
			}
		})
	}

	// The table marks findings on salvaged evidence.
	if !strings.Contains(stdout, "salvaged") {
		t.Errorf("the table does not mark findings on salvaged evidence:\n%s", stdout)
	}

	// The columns people see hold no terminal control character, and the
	// hostile values did arrive (escaped), so the check is not vacuous.
	for _, q := range []string{
		`SELECT user_agent, observer, principal, action FROM sightings`,
		`SELECT artifact_id, issuer, subject, audience, azp, kid, alg, verify_note FROM artifacts`,
		`SELECT issuer, artifact_id, subject, audience, key_ref FROM issuances`,
		`SELECT reason, excerpt FROM rejects`,
		`SELECT reason, artifact_id, issuer, subject, observers::VARCHAR, principals::VARCHAR, title FROM findings`,
		`SELECT error FROM sources`, // path is the real file name, escaped wherever it is shown
	} {
		for _, v := range strs(t, db, q) {
			assertTerminalSafe(t, q, v)
		}
	}
	for _, want := range []struct{ q, like string }{
		{`SELECT user_agent FROM sightings`, `\x1b[2JMozilla\x07\x9b31m`},
		{`SELECT principal FROM sightings`, `\x1b]0;pwned\x07root`},
		{`SELECT action FROM sightings`, `GET /pay\u202efdp.exe`},
		{`SELECT observer FROM sightings`, `\x1b]0;pwned\x07api.example`},
		{`SELECT subject FROM artifacts`, `\x1b]0;pwned\x07admin\u202e`},
		{`SELECT artifact_id FROM artifacts`, `kc-\u202e1`},
		{`SELECT kid FROM artifacts`, `\x1b[2Jk1`},
		{`SELECT subject FROM issuances`, `\x9b31malice`},
		{`SELECT audience FROM issuances`, `\x1b[2Jweb`},
		{`SELECT subject FROM issuances`, `\x1b]0;pwned\x07\u202ecarol`},
	} {
		found := false
		for _, v := range strs(t, db, want.q) {
			found = found || v == want.like || strings.Contains(v, want.like)
		}
		if !found {
			t.Errorf("%s: no value contains %q", want.q, want.like)
		}
	}
	// SQL in a value is data: stored verbatim, every table still there.
	if got := strs(t, db, `SELECT user_agent FROM sightings WHERE user_agent = ?`, adversarial.SQLInjectionUA); len(got) != 1 {
		t.Errorf("the SQL-injection user agent is stored %d times, want once", len(got))
	}
	// The escaped-claims token and its Keycloak issuance share an id once
	// both are escaped: the id matched.
	if n := strs(t, db, `SELECT m.artifact_key FROM matches m JOIN artifacts a USING (artifact_key) WHERE a.artifact_id = 'kc-\u202e1' AND m.match_file IS NOT NULL`); len(n) == 0 {
		t.Errorf("the token whose jti holds a bidi override did not match its Keycloak issuance by id")
	}
}

// strs runs q and returns every non-NULL column value of every row as text.
func strs(t *testing.T, db *sql.DB, q string, args ...any) []string {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	vals := make([]sql.NullString, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		for _, v := range vals {
			if v.Valid {
				out = append(out, v.String)
			}
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// assertTerminalSafe fails when s holds ESC, BEL, a C1 control, a bidi
// override or isolate, or a byte that is not UTF-8 (a raw 0x9b is the 8-bit
// CSI).
func assertTerminalSafe(t *testing.T, where, s string) {
	t.Helper()
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		bad := ""
		switch {
		case r == utf8.RuneError && size == 1:
			bad = fmt.Sprintf("byte 0x%02x (not UTF-8)", s[i])
		case r == 0x1b || r == 0x07 || r >= 0x80 && r < 0xa0 ||
			r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069:
			bad = fmt.Sprintf("%U", r)
		}
		if bad != "" {
			t.Errorf("%s: %s at byte %d: %q", where, bad, i, s[max(0, i-40):min(len(s), i+40)])
			return
		}
		i += size
	}
}
