package incident

import (
	"bytes"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// small keeps the tests quick; the default config is checked once.
var small = Config{Seed: 7, LegitTokens: 120, Requests: 1500, Forged: 12, Compress: true}

type generated struct {
	dir   string
	truth *Truth
}

var (
	cacheMu sync.Mutex
	cache   = map[Config]generated{}
)

// generate runs Generate once per config for the whole test binary.
func generate(t *testing.T, cfg Config) generated {
	t.Helper()
	cacheMu.Lock()
	defer cacheMu.Unlock()
	if g, ok := cache[cfg]; ok {
		return g
	}
	dir, err := os.MkdirTemp("", "incident-")
	if err != nil {
		t.Fatal(err)
	}
	truth, err := Generate(dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	g := generated{dir, truth}
	cache[cfg] = g
	return g
}

func TestMain(m *testing.M) {
	code := m.Run()
	for _, g := range cache {
		os.RemoveAll(g.dir)
	}
	os.Exit(code)
}

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var r io.Reader = f
	switch {
	case strings.HasSuffix(name, ".gz"):
		zr, err := gzip.NewReader(f)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		r = zr
	case strings.HasSuffix(name, ".zst"):
		zr, err := zstd.NewReader(f)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		defer zr.Close()
		r = zr
	}
	data, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return data
}

func lines(data []byte) []string {
	return strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
}

func TestDeterministic(t *testing.T) {
	for _, cfg := range []Config{small, {Seed: 3, LegitTokens: 50, Requests: 400, Forged: 5}} {
		a, b := t.TempDir(), t.TempDir()
		if _, err := Generate(a, cfg); err != nil {
			t.Fatal(err)
		}
		if _, err := Generate(b, cfg); err != nil {
			t.Fatal(err)
		}
		n := 0
		err := filepath.WalkDir(a, func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, _ := filepath.Rel(a, p)
			x, _ := os.ReadFile(p)
			y, err := os.ReadFile(filepath.Join(b, rel))
			if err != nil {
				t.Errorf("%s only in the first run", rel)
			} else if !bytes.Equal(x, y) {
				t.Errorf("%s differs between runs", rel)
			}
			n++
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if n != 10 {
			t.Errorf("%d files, want 10", n)
		}
	}
	// Another seed is another incident.
	c := t.TempDir()
	other := small
	other.Seed++
	if _, err := Generate(c, other); err != nil {
		t.Fatal(err)
	}
	x := readFile(t, filepath.Join(generate(t, small).dir, "logs/istio/ingressgateway.log"))
	if bytes.Equal(x, readFile(t, filepath.Join(c, "logs/istio/ingressgateway.log"))) {
		t.Error("seeds 7 and 8 gave the same istio log")
	}
}

func TestCounts(t *testing.T) {
	for _, cfg := range []Config{small, DefaultConfig()} {
		tr := generate(t, cfg).truth
		count := map[string]int{}
		presented := 0
		for _, tok := range tr.Tokens {
			count[tok.Category]++
			presented += tok.Presentations
			if tok.Presentations < 1 {
				t.Errorf("%s (%s) never presented", tok.ArtifactKey, tok.Category)
			}
		}
		if got := count[CategoryLegit] + count[CategoryLegitGap]; got != cfg.LegitTokens {
			t.Errorf("%d legit tokens, want %d", got, cfg.LegitTokens)
		}
		if got := len(tr.Forged()); got != cfg.Forged {
			t.Errorf("%d forged tokens, want %d", got, cfg.Forged)
		}
		for _, c := range Categories() {
			if count[c] == 0 {
				t.Errorf("no %s token", c)
			}
			if len(tr.ByCategory(c)) != count[c] {
				t.Errorf("ByCategory(%s) = %d, want %d", c, len(tr.ByCategory(c)), count[c])
			}
		}
		if tr.NotJWTBearers == 0 {
			t.Error("no non-JWT bearer")
		}
		if tr.Requests != cfg.Requests || presented > cfg.Requests {
			t.Errorf("requests %d, presentations %d, want %d lines", tr.Requests, presented, cfg.Requests)
		}
		keys := map[string]bool{}
		for _, tok := range tr.Tokens {
			if keys[tok.ArtifactKey] {
				t.Errorf("duplicate artifact %s", tok.ArtifactKey)
			}
			keys[tok.ArtifactKey] = true
		}
	}
}

func TestTiny(t *testing.T) {
	for _, cfg := range []Config{{LegitTokens: 1, Requests: 12, Forged: 1}, {LegitTokens: 3, Requests: 40, Forged: 2, Compress: true}} {
		tr, err := Generate(t.TempDir(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		if len(tr.ByCategory(CategoryLegit)) != cfg.LegitTokens || len(tr.Forged()) != cfg.Forged {
			t.Errorf("%+v: %d legit, %d forged", cfg, len(tr.ByCategory(CategoryLegit)), len(tr.Forged()))
		}
	}
}

func TestTooFewRequests(t *testing.T) {
	if _, err := Generate(t.TempDir(), Config{LegitTokens: 100, Requests: 50}); err == nil {
		t.Fatal("want an error for fewer requests than tokens")
	}
}

func TestTruthFile(t *testing.T) {
	g := generate(t, small)
	got, err := ReadTruth(filepath.Join(g.dir, "truth.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, g.truth) {
		t.Error("truth.json differs from the returned truth")
	}
	if g.truth.Gap.From.Format(time.RFC3339) != "2026-03-02T06:00:00Z" || g.truth.RevokedAt.Format(time.RFC3339) != "2026-03-06T12:00:00Z" {
		t.Errorf("gap %v, revoked %v", g.truth.Gap, g.truth.RevokedAt)
	}
	want := []string{
		"logs/keycloak/keycloak.log.1.gz", "logs/keycloak/keycloak.log", "logs/istio/ingressgateway.log",
		"logs/nginx/billing-access.log.1.gz", "logs/nginx/billing-access.log", "logs/app/audit.jsonl.zst",
	}
	if !reflect.DeepEqual(g.truth.Files, want) {
		t.Errorf("files %q, want %q", g.truth.Files, want)
	}
	plain := generate(t, Config{Seed: 7, LegitTokens: 120, Requests: 1500, Forged: 12})
	for _, f := range plain.truth.Files {
		if strings.HasSuffix(f, ".gz") || strings.HasSuffix(f, ".zst") {
			t.Errorf("Compress false wrote %s", f)
		}
	}
}

var (
	nginxRe   = regexp.MustCompile(`^(\S+) - - \[([^\]]+)\] "(\S+) (\S+) HTTP/1\.1" (\d{3}) \d+ "[^"]*" "[^"]*" "([^"]*)"$`)
	criRe     = regexp.MustCompile(`^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?Z) stdout F (\{.*\})$`)
	journalRe = regexp.MustCompile(`^([A-Z][a-z]{2} \d\d \d\d:\d\d:\d\d) kc-0 kc\.sh\[2871\]: (.*)$`)
	kcRe      = regexp.MustCompile(`^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) (INFO |DEBUG|WARN ) \[[^\]]+\] \([^)]+\) `)
	tokenID   = regexp.MustCompile(`token_id="?([0-9a-f-]{36})`)
)

// sighting is a bearer seen in an access log.
type sighting struct {
	at     time.Time
	status int
	file   string
}

// accessLogs reads every access log and returns the sightings of each bearer
// value, checking each file's format and time order on the way.
func accessLogs(t *testing.T, g generated) (map[string][]sighting, int) {
	t.Helper()
	seen := map[string][]sighting{}
	total := 0
	for _, rel := range g.truth.Files {
		if strings.Contains(rel, "keycloak") {
			continue
		}
		var last time.Time
		for i, line := range lines(readFile(t, filepath.Join(g.dir, rel))) {
			total++
			var at time.Time
			var status int
			var bearer string
			var err error
			switch {
			case strings.Contains(rel, "nginx"):
				m := nginxRe.FindStringSubmatch(line)
				if m == nil {
					t.Fatalf("%s:%d: not nginx: %q", rel, i+1, line)
				}
				at, err = time.Parse("02/Jan/2006:15:04:05 -0700", m[2])
				status = int(m[5][0]-'0')*100 + int(m[5][1]-'0')*10 + int(m[5][2]-'0')
				bearer = strings.TrimPrefix(m[6], "Bearer ")
				if m[6] == "-" {
					bearer = ""
				}
			case strings.Contains(rel, "istio"):
				m := criRe.FindStringSubmatch(line)
				if m == nil {
					t.Fatalf("%s:%d: not a CRI log line: %q", rel, i+1, line)
				}
				line = m[2]
				var v struct {
					StartTime    string  `json:"start_time"`
					ResponseCode int     `json:"response_code"`
					Auth         *string `json:"authorization"`
				}
				if err := json.Unmarshal([]byte(line), &v); err != nil {
					t.Fatalf("%s:%d: %v", rel, i+1, err)
				}
				at, err = time.Parse(time.RFC3339Nano, v.StartTime)
				status = v.ResponseCode
				if v.Auth != nil {
					bearer = strings.TrimPrefix(*v.Auth, "Bearer ")
				}
			default:
				var v struct {
					TS     string  `json:"ts"`
					Status int     `json:"status"`
					Bearer *string `json:"bearer_token"`
				}
				if err := json.Unmarshal([]byte(line), &v); err != nil {
					t.Fatalf("%s:%d: %v", rel, i+1, err)
				}
				at, err = time.Parse(time.RFC3339, v.TS)
				status = v.Status
				if v.Bearer != nil {
					bearer = *v.Bearer
				}
			}
			if err != nil {
				t.Fatalf("%s:%d: %v", rel, i+1, err)
			}
			if at.Before(last) {
				t.Fatalf("%s:%d: time goes back", rel, i+1)
			}
			last = at
			if bearer != "" {
				seen[bearer] = append(seen[bearer], sighting{at, status, rel})
			}
		}
	}
	return seen, total
}

func TestEveryTokenInTheLogs(t *testing.T) {
	for _, cfg := range []Config{small, DefaultConfig()} {
		g := generate(t, cfg)
		seen, total := accessLogs(t, g)
		if total != cfg.Requests {
			t.Errorf("%d access-log lines, want %d", total, cfg.Requests)
		}
		byKey := map[string][]sighting{}
		notJWT := 0
		for raw, s := range seen {
			byKey[artifactKey(raw)] = s
			if strings.Count(raw, ".") != 2 {
				notJWT++
			}
		}
		if notJWT != g.truth.NotJWTBearers {
			t.Errorf("%d non-JWT bearers in the logs, truth says %d", notJWT, g.truth.NotJWTBearers)
		}
		if len(seen) != len(g.truth.Tokens)+notJWT {
			t.Errorf("%d distinct bearers in the logs, want %d", len(seen), len(g.truth.Tokens)+notJWT)
		}
		accepted := 0
		for _, tok := range g.truth.Tokens {
			s := byKey[tok.ArtifactKey]
			if len(s) != tok.Presentations {
				t.Errorf("%s %s: %d sightings, truth says %d", tok.Category, tok.JTI, len(s), tok.Presentations)
			}
			for _, x := range s {
				switch {
				case strings.HasPrefix(tok.Category, "legit"):
					if x.at.Before(tok.IssuedAt) || !x.at.Before(tok.ExpiresAt) || x.status == 401 {
						t.Errorf("legit %s presented at %v (%v..%v) status %d", tok.JTI, x.at, tok.IssuedAt, tok.ExpiresAt, x.status)
					}
				case IsForged(tok.Category):
					if x.at.Before(tok.IssuedAt) || x.at.After(tok.ExpiresAt) {
						t.Errorf("forged %s presented at %v outside %v..%v", tok.JTI, x.at, tok.IssuedAt, tok.ExpiresAt)
					}
					if x.status != 401 {
						accepted++
					}
				default:
					if x.status != 401 {
						t.Errorf("%s %s accepted with %d", tok.Category, tok.JTI, x.status)
					}
				}
			}
		}
		forged := 0
		for _, tok := range g.truth.Tokens {
			if IsForged(tok.Category) {
				forged += tok.Presentations
			}
		}
		if accepted*2 < forged {
			t.Errorf("only %d of %d forged presentations accepted", accepted, forged)
		}
	}
}

func TestKeycloakLedger(t *testing.T) {
	g := generate(t, small)
	issued := map[string]bool{}
	var last time.Time
	for _, rel := range g.truth.Files[:2] {
		quoted := !strings.Contains(rel, ".1")
		for i, line := range lines(readFile(t, filepath.Join(g.dir, rel))) {
			if quoted {
				line = unwrapJournal(t, rel, i+1, line)
			}
			m := kcRe.FindStringSubmatch(line)
			if m == nil {
				t.Fatalf("%s:%d: not a keycloak line: %q", rel, i+1, line)
			}
			at, err := time.Parse("2006-01-02 15:04:05,000", m[1])
			if err != nil {
				t.Fatal(err)
			}
			if at.Before(last) {
				t.Fatalf("%s:%d: time goes back", rel, i+1)
			}
			last = at
			if !at.Before(g.truth.Gap.From) && at.Before(g.truth.Gap.To) {
				t.Errorf("%s:%d: a line in the logging gap", rel, i+1)
			}
			if strings.Contains(line, "[org.keycloak.events]") && strings.Contains(line, `type="`) != quoted {
				t.Errorf("%s:%d: wrong event style: %q", rel, i+1, line)
			}
			if id := tokenID.FindStringSubmatch(line); id != nil {
				issued[id[1]] = true
			}
		}
	}
	for _, tok := range g.truth.Tokens {
		want := false
		switch tok.Category {
		case CategoryLegit, CategoryForgedReusedJTI, CategoryTampered:
			want = true
		}
		if issued[tok.JTI] != want {
			t.Errorf("%s %s: in ledger %v, want %v", tok.Category, tok.JTI, issued[tok.JTI], want)
		}
	}
}

// unwrapJournal checks a line of journalctl's short output and returns
// Keycloak's line inside; the journal's time is the line's, a moment later.
func unwrapJournal(t *testing.T, rel string, lineNo int, line string) string {
	t.Helper()
	m := journalRe.FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("%s:%d: not a journal line: %q", rel, lineNo, line)
	}
	inner := kcRe.FindStringSubmatch(m[2])
	if inner == nil {
		t.Fatalf("%s:%d: not a keycloak line: %q", rel, lineNo, m[2])
	}
	at, err := time.Parse("2006-01-02 15:04:05,000", inner[1])
	if err != nil {
		t.Fatal(err)
	}
	if j := at.Add(2 * time.Millisecond).Format("Jan 02 15:04:05"); j != m[1] {
		t.Fatalf("%s:%d: journal time %s for a line at %v", rel, lineNo, m[1], at)
	}
	return m[2]
}

// The gateway's log is the kubelet's: each line stamped by the runtime when
// the request ended, stamps never going back.
func TestCRIEnvelope(t *testing.T) {
	g := generate(t, small)
	var last time.Time
	n := 0
	for i, line := range lines(readFile(t, filepath.Join(g.dir, "logs/istio/ingressgateway.log"))) {
		m := criRe.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("line %d: not a CRI log line: %q", i+1, line)
		}
		stamp, err := time.Parse(time.RFC3339Nano, m[1])
		if err != nil {
			t.Fatal(err)
		}
		var v struct {
			StartTime string `json:"start_time"`
			Duration  int    `json:"duration"`
		}
		if err := json.Unmarshal([]byte(m[2]), &v); err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		start, err := time.Parse(time.RFC3339Nano, v.StartTime)
		if err != nil {
			t.Fatal(err)
		}
		if end := start.Add(time.Duration(v.Duration) * time.Millisecond); stamp.Before(end) || stamp.Sub(end) > time.Second {
			t.Fatalf("line %d: stamped %v for a request ending at %v", i+1, stamp, end)
		}
		if stamp.Before(last) {
			t.Fatalf("line %d: stamp goes back", i+1)
		}
		last = stamp
		n++
	}
	if n == 0 {
		t.Fatal("empty gateway log")
	}
	// A line past containerd's bound is split into partial lines.
	cri := criWriter{rng: newRNG(1, criStream)}
	long := append(bytes.Repeat([]byte("x"), criMaxLine+10), '\n')
	out := string(cri.append(nil, ms(2026, 3, 4, 10), long))
	parts := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(parts) != 2 || !strings.Contains(parts[0], " stdout P x") || !strings.HasSuffix(parts[1], " stdout F xxxxxxxxxx") ||
		!strings.HasPrefix(parts[0], "2026-03-04T10:00:00.") {
		t.Errorf("split line: %.80q ... %.80q", parts[0], parts[len(parts)-1])
	}
}

func TestSignatures(t *testing.T) {
	g := generate(t, small)
	exposedPEM, err := os.ReadFile(filepath.Join(g.dir, "keys/exposed.pem"))
	if err != nil {
		t.Fatal(err)
	}
	exposed, err := jwt.ParseRSAPublicKeyFromPEM(exposedPEM)
	if err != nil {
		t.Fatal(err)
	}
	priv, err := jwt.ParseRSAPrivateKeyFromPEM(readFile(t, filepath.Join(g.dir, "keys/exposed-private.pem")))
	if err != nil || !priv.PublicKey.Equal(exposed) {
		t.Fatalf("exposed private key does not match the public key: %v", err)
	}
	var jwks struct {
		Keys []struct{ Kty, Kid, Use, Alg, N, E string }
	}
	if err := json.Unmarshal(readFile(t, filepath.Join(g.dir, "keys/trusted-jwks.json")), &jwks); err != nil || len(jwks.Keys) != 1 {
		t.Fatalf("jwks: %v", err)
	}
	k := jwks.Keys[0]
	n, _ := base64.RawURLEncoding.DecodeString(k.N)
	e, _ := base64.RawURLEncoding.DecodeString(k.E)
	trusted := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
	if k.Kid != TrustedKID || k.Kty != "RSA" || k.Alg != "RS256" || k.Use != "sig" {
		t.Errorf("jwks key %+v", k)
	}

	seen, _ := accessLogs(t, g)
	raws := map[string]string{}
	for raw := range seen {
		raws[artifactKey(raw)] = raw
	}
	verifies := func(raw string, key *rsa.PublicKey) bool {
		_, err := jwt.Parse(raw, func(*jwt.Token) (any, error) { return key, nil },
			jwt.WithoutClaimsValidation(), jwt.WithValidMethods([]string{"RS256"}))
		return err == nil
	}
	legitByJTI := map[string]jwt.MapClaims{}
	for _, tok := range g.truth.Tokens {
		raw := raws[tok.ArtifactKey]
		var want string
		switch {
		case verifies(raw, exposed):
			want = SignedByExposed
		case verifies(raw, trusted):
			want = SignedByTrusted
		case tok.Category == CategoryUnknownKey:
			want = SignedByUnknown // checked below: EdDSA, not ours
		default:
			want = SignedByNone
		}
		if tok.SignedBy != want {
			t.Errorf("%s %s: signed by %s, truth says %s", tok.Category, tok.JTI, want, tok.SignedBy)
		}
		c := jwt.MapClaims{}
		tk, _, err := jwt.NewParser().ParseUnverified(raw, c)
		if err != nil {
			t.Fatalf("%s: %v", tok.Category, err)
		}
		if c["jti"] != tok.JTI || c["sub"] != tok.Sub || c["iss"] != Issuer || tk.Header["kid"] != nilIfEmpty(tok.KID) {
			t.Errorf("%s: claims %v header %v disagree with truth %+v", tok.Category, c, tk.Header, tok)
		}
		switch tok.Category {
		case CategoryLegit, CategoryLegitGap:
			legitByJTI[tok.JTI] = c
			wantKID := ExposedKID
			if !tok.IssuedAt.Before(g.truth.RotatedAt) {
				wantKID = TrustedKID
			}
			if tok.KID != wantKID || tok.ExpiresAt.Sub(tok.IssuedAt) != 5*time.Minute {
				t.Errorf("legit %s: kid %s, lifetime %v", tok.JTI, tok.KID, tok.ExpiresAt.Sub(tok.IssuedAt))
			}
			inGap := !tok.IssuedAt.Before(g.truth.Gap.From) && tok.IssuedAt.Before(g.truth.Gap.To)
			if inGap != (tok.Category == CategoryLegitGap) {
				t.Errorf("legit %s at %v: category %s", tok.JTI, tok.IssuedAt, tok.Category)
			}
		case CategoryForged, CategoryForgedReusedJTI, CategoryForgedAfterRevocation:
			if tok.IssuedAt.Before(g.truth.ExposedFrom) {
				t.Errorf("forged %s before the exposure", tok.JTI)
			}
			if after := !tok.IssuedAt.Before(g.truth.RevokedAt); after != (tok.Category == CategoryForgedAfterRevocation) {
				t.Errorf("forged %s at %v: category %s", tok.JTI, tok.IssuedAt, tok.Category)
			}
		case CategoryUnknownKey:
			if tk.Header["alg"] != "EdDSA" {
				t.Errorf("unknown-key token with alg %v", tk.Header["alg"])
			}
		case CategoryAlgNone:
			if tk.Header["alg"] != "none" || !strings.HasSuffix(raw, ".") {
				t.Errorf("alg-none token %q", raw)
			}
		}
	}
	for _, tok := range g.truth.Tokens {
		if tok.Category != CategoryForgedReusedJTI && tok.Category != CategoryTampered {
			continue
		}
		orig, ok := legitByJTI[tok.JTI]
		if !ok || orig["sub"] == tok.Sub {
			t.Errorf("%s %s reuses no legit jti with another sub", tok.Category, tok.JTI)
		}
	}
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func TestKeycloakStyles(t *testing.T) {
	g := generate(t, small)
	old := lines(readFile(t, filepath.Join(g.dir, g.truth.Files[0])))
	cur := lines(readFile(t, filepath.Join(g.dir, g.truth.Files[1])))
	find := func(ls []string, typ string) string {
		for _, l := range ls {
			if strings.Contains(l, typ) {
				return l
			}
		}
		t.Fatalf("no %s line", typ)
		return ""
	}
	oldLine := find(old, "type=CODE_TO_TOKEN,")
	if !strings.Contains(oldLine, " DEBUG [org.keycloak.events] (executor-thread-") || !strings.Contains(oldLine, ", realmId=acme, clientId=") {
		t.Errorf("old style: %q", oldLine)
	}
	curLine := find(cur, `type="CODE_TO_TOKEN"`)
	if !strings.Contains(curLine, " INFO  [org.keycloak.events] (executor-thread-") || !strings.Contains(curLine, `, realmName="acme", clientId="`) {
		t.Errorf("quoted style: %q", curLine)
	}
	for _, typ := range []string{`type="REFRESH_TOKEN"`, `type="CLIENT_LOGIN"`, `type="LOGIN"`, `type="LOGOUT"`, `error="invalid_code"`, "[io.quarkus] (main) Keycloak 26.0.5 on JVM"} {
		find(cur, typ)
	}
}

func BenchmarkGenerate(b *testing.B) {
	for _, bc := range []struct {
		name string
		cfg  Config
	}{
		{"demo", DefaultConfig()},
		{"200k", Config{Seed: 1, LegitTokens: 2000, Requests: 200000, Forged: 40, Compress: true}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := Generate(b.TempDir(), bc.cfg); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
