// Package adversarial writes a corpus of hostile inputs, in the log formats
// forgehunt reads (nginx, envoy-json, json-bearer, keycloak, ledger), and
// says for each what forgehunt must do with it. cmd/forgehunt's
// TestHuntAdversarialCorpus hunts the corpus end to end and checks every
// case; docs/HOSTILE.md lists them.
//
// The corpus covers broken archives (truncated gzip and zstd, a bad CRC,
// garbage after the gzip header or after a member, decompression bombs), a
// 100 MB line, invalid UTF-8, NUL bytes, deeply nested JSON, duplicate JSON
// keys, hostile JWTs (duplicate header keys, a huge header, alg none, HS256
// keyed with the exposed RSA key's PEM, crit, padded and non-canonical
// base64url, duplicate claims) and terminal escapes (OSC, CSI, BEL, C1, bidi
// overrides) in every field that is shown.
//
// A forged token must never hide in a line its format rejects: the salvage
// cases put forged tokens only in such lines (raw NUL, invalid UTF-8, raw
// ESC, a duplicated authorization key, a line cut by the end of an archive)
// and legitimately issued tokens beside them; each case says what the hunt
// must conclude (Verdict).
//
// Certificates and Rekor entries are not parsed by forgehunt yet, so there
// are no cases for them.
package adversarial

import (
	"bytes"
	"compress/gzip"
	"crypto"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/klauspost/compress/zstd"
)

// Case is one hostile input and what forgehunt must do with it. The fields
// after Must are what a test checks; an empty field checks nothing.
type Case struct {
	Name string // short stable id
	File string // path under the corpus dir, slash-separated
	Line int64  // the input's line in File; 0 for the file as a whole
	What string // what the input is
	Must string // what forgehunt must do, for people

	// Status is the sources.status File must get: "complete", "partial",
	// or "unrecognised" (not read).
	Status string
	// Error is a substring of File's sources.error.
	Error string
	// Reject is a prefix of the reason of a reject at File:Line.
	Reject string
	// Ignored is a reason File's ignored_reasons must count (ignores are
	// counted per file, not stored per line).
	Ignored string
	// Token is the artifact key ("sha256:<hex>") of the token sighted at
	// File:Line; SigStatus and VerifyNote (a substring) are what the
	// artifact must get.
	Token      string
	SigStatus  string
	VerifyNote string
	// Salvaged: the sighting of Token at File:Line was salvaged from the
	// rejected line (and Ambiguous: marked ambiguous).
	Salvaged, Ambiguous bool
	// Verdict is what the hunt must conclude of Token: VerdictForged or
	// VerdictLegitimate; "" checks nothing.
	Verdict string
}

// Paths in the corpus.
const (
	// KeyFile is the exposed RSA public key (PEM, SPKI); hunt with --key.
	KeyFile = "keys/exposed.pem"
	// LogDir holds the hostile logs; hunt this directory.
	LogDir = "logs"
	// HugeLineBytes is the size of the over-long line.
	HugeLineBytes = 100 << 20
	// bombBytes is what each bomb expands to: past parsers.Open's 64 MiB
	// floor and 200x ratio.
	bombBytes = 80 << 20
)

// ExposedFrom is a time before every token of the corpus; hunt with
// --exposed-from.
var ExposedFrom = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

// The terminal attacks put in displayed fields: an OSC title change ended by
// BEL, a CSI clear screen, a C1 CSI (U+009B), and a right-to-left override.
const (
	osc  = "\x1b]0;pwned\x07"
	csi  = "\x1b[2J"
	c1   = "\u009b31m"
	bidi = "\u202e"
)

var t0 = time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)

// SQLInjectionUA is the user agent of the nginx-sql-injection case, which
// must be stored verbatim.
const SQLInjectionUA = `'); DROP TABLE sightings; SELECT ('`

// Generate writes the corpus under dir (KeyFile and LogDir) and returns its
// cases. It makes a fresh RSA key each time; the private half is not written.
func Generate(dir string) ([]Case, error) {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	spki, err := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	if err != nil {
		return nil, err
	}
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: spki})
	g := &gen{dir: dir, priv: priv, pem: pemBytes}
	if err := g.write(KeyFile, pemBytes); err != nil {
		return nil, err
	}
	for _, step := range []func() error{
		g.archives, g.bombs, g.hugeLine, g.tokens, g.nginxHostile, g.envoyHostile,
		g.jsonBearerHostile, g.keycloakHostile, g.ledgerHostile, g.salvage,
	} {
		if err := step(); err != nil {
			return nil, err
		}
	}
	return g.cases, nil
}

type gen struct {
	dir   string
	priv  *rsa.PrivateKey
	pem   []byte
	cases []Case
}

func (g *gen) add(c Case) { g.cases = append(g.cases, c) }

// lineFile builds a line-based corpus file, giving each case it holds the
// file and the line it stands on.
type lineFile struct {
	g    *gen
	name string
	b    strings.Builder
	n    int64 // lines so far
}

func (g *gen) lines(name string) *lineFile { return &lineFile{g: g, name: name} }

// add appends line (ending in a newline) and records c, when named, at it.
func (f *lineFile) add(line string, c Case) {
	f.b.WriteString(line)
	f.n++
	if c.Name != "" {
		c.File, c.Line = f.name, f.n
		f.g.add(c)
	}
}

func (f *lineFile) write() error { return f.g.write(f.name, []byte(f.b.String())) }

func (g *gen) path(rel string) string { return filepath.Join(g.dir, filepath.FromSlash(rel)) }

func (g *gen) write(rel string, data []byte) error {
	p := g.path(rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return os.WriteFile(p, data, 0o644)
}

// create opens rel for streaming writes.
func (g *gen) create(rel string) (*os.File, error) {
	p := g.path(rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return nil, err
	}
	return os.Create(p)
}

// Lines of the formats.

func nginxLine(at time.Time, remoteUser, request, ua, auth string) string {
	if remoteUser == "" {
		remoteUser = "-"
	}
	return fmt.Sprintf(`10.1.2.3 - %s [%s] "%s" 200 512 "-" "%s" "%s"`+"\n",
		remoteUser, at.Format("02/Jan/2006:15:04:05 -0700"), request, ua, auth)
}

func envoyLine(at time.Time, authority, path, ua, auth string) string {
	return fmt.Sprintf(`{"start_time":"%s","method":"GET","path":"%s","protocol":"HTTP/1.1","response_code":200,`+
		`"authority":"%s","user_agent":"%s","downstream_remote_address":"10.1.2.4:51234","authorization":"%s"}`+"\n",
		at.Format(time.RFC3339Nano), path, authority, ua, auth)
}

// Tokens.

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// rs256 signs header.payload (both JSON, encoded here) with the exposed key.
func (g *gen) rs256(header, claims string) string {
	return g.signRS256(b64(header) + "." + b64(claims))
}

func (g *gen) signRS256(input string) string {
	sum := sha256.Sum256([]byte(input))
	sig, err := rsa.SignPKCS1v15(rand.Reader, g.priv, crypto.SHA256, sum[:])
	if err != nil {
		panic(err) // cannot fail for a 2048-bit key and a SHA-256 digest
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func claims(sub, jti string, extra string) string {
	iat := t0.Add(-time.Minute).Unix()
	return fmt.Sprintf(`{"iss":"https://idp.adversarial.example/realms/acme","sub":"%s","aud":"payments","azp":"web","jti":"%s","iat":%d,"exp":%d%s}`,
		sub, jti, iat, iat+300, extra)
}

// ArtifactKey is forgehunt's key of a raw token: "sha256:<hex>".
func ArtifactKey(raw string) string {
	sum := sha256.Sum256([]byte(raw))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// archives: broken compressed files, each an nginx log.
func (g *gen) archives() error {
	var log strings.Builder
	for i := range 20000 { // many zstd blocks, so that half the file holds whole ones
		auth := "-"
		if i%100 == 0 {
			auth = "Bearer " + g.rs256(`{"alg":"RS256","typ":"JWT"}`, claims("archived", fmt.Sprintf("arch-%d", i), ""))
		}
		log.WriteString(nginxLine(t0.Add(time.Duration(i)*time.Second), "", "GET /api/ping HTTP/1.1", "probe/1", auth))
	}
	plain := []byte(log.String())

	gz := gzipBytes(plain)
	if err := g.write("logs/archives/truncated.log.gz", gz[:len(gz)/2]); err != nil {
		return err
	}
	g.add(Case{Name: "truncated-gzip", File: "logs/archives/truncated.log.gz",
		What:   "gzip nginx log cut in the middle of the deflate stream",
		Must:   "keep the lines before the cut, reject the rest as \"read stopped: unexpected EOF\", mark the source partial",
		Status: "partial", Error: "unexpected EOF"})

	zs, err := zstdBytes(plain)
	if err != nil {
		return err
	}
	if err := g.write("logs/archives/truncated.log.zst", zs[:len(zs)/2]); err != nil {
		return err
	}
	g.add(Case{Name: "truncated-zstd", File: "logs/archives/truncated.log.zst",
		What:   "zstd nginx log cut in the middle of a frame",
		Must:   "keep the lines before the cut, reject the rest as \"read stopped\", mark the source partial",
		Status: "partial", Error: "EOF"})

	bad := bytes.Clone(gz)
	bad[len(bad)-8] ^= 0xff // CRC-32 of the trailer
	if err := g.write("logs/archives/bad-crc.log.gz", bad); err != nil {
		return err
	}
	g.add(Case{Name: "gzip-bad-crc", File: "logs/archives/bad-crc.log.gz",
		What:   "gzip nginx log whose trailer CRC-32 is wrong",
		Must:   "read every line, then report the checksum error and mark the source partial (the content may be altered)",
		Status: "partial", Error: "invalid checksum"})

	garbage := append(bytes.Clone(gz[:10]), bytes.Repeat([]byte{0xde, 0xad, 0xbe, 0xef}, 256)...)
	if err := g.write("logs/archives/garbage-after-header.log.gz", garbage); err != nil {
		return err
	}
	g.add(Case{Name: "gzip-garbage-after-header", File: "logs/archives/garbage-after-header.log.gz",
		What:   "a valid gzip header followed by bytes that are not deflate",
		Must:   "read nothing, record the source as unrecognised with the decompression error",
		Status: "unrecognised", Error: "flate"})

	trailing := append(bytes.Clone(gz), []byte("this is not a gzip member\n")...)
	if err := g.write("logs/archives/garbage-after-member.log.gz", trailing); err != nil {
		return err
	}
	g.add(Case{Name: "gzip-garbage-after-member", File: "logs/archives/garbage-after-member.log.gz",
		What:   "a complete gzip member followed by text that is not another member",
		Must:   "read every line of the member, then report the bad header and mark the source partial",
		Status: "partial", Error: "invalid header"})
	return nil
}

func gzipBytes(data []byte) []byte {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write(data) // a bytes.Buffer does not fail
	w.Close()
	return b.Bytes()
}

func zstdBytes(data []byte) ([]byte, error) {
	var b bytes.Buffer
	w, err := zstd.NewWriter(&b)
	if err != nil {
		return nil, err
	}
	w.Write(data)
	if err := w.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// bombs: a few nginx lines, then bombBytes of one byte, compressed about
// 1000x (gzip) and 30000x (zstd).
func (g *gen) bombs() error {
	head := nginxLine(t0, "", "GET /bomb HTTP/1.1", "bomb/1", "-") +
		nginxLine(t0.Add(time.Second), "", "GET /bomb HTTP/1.1", "bomb/1", "-") +
		nginxLine(t0.Add(2*time.Second), "", "GET /bomb HTTP/1.1", "bomb/1", "-")
	fill := bytes.Repeat([]byte{'A'}, 1<<20)
	writeBomb := func(w io.WriteCloser) error {
		if _, err := io.WriteString(w, head); err != nil {
			return err
		}
		for range bombBytes >> 20 {
			if _, err := w.Write(fill); err != nil {
				return err
			}
		}
		return w.Close()
	}
	var gz bytes.Buffer
	gw, err := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	if err != nil {
		return err
	}
	if err := writeBomb(gw); err != nil {
		return err
	}
	if err := g.write("logs/bombs/bomb.log.gz", gz.Bytes()); err != nil {
		return err
	}
	var zs bytes.Buffer
	zw, err := zstd.NewWriter(&zs, zstd.WithEncoderLevel(zstd.SpeedBestCompression))
	if err != nil {
		return err
	}
	if err := writeBomb(zw); err != nil {
		return err
	}
	if err := g.write("logs/bombs/bomb.log.zst", zs.Bytes()); err != nil {
		return err
	}
	for _, c := range []struct{ name, file string }{
		{"gzip-bomb", "logs/bombs/bomb.log.gz"}, {"zstd-bomb", "logs/bombs/bomb.log.zst"},
	} {
		g.add(Case{Name: c.name, File: c.file,
			What:   fmt.Sprintf("%d MiB of one byte after three nginx lines, compressed to a few KiB", bombBytes>>20),
			Must:   "stop decompressing at the bound (64 MiB or 200x the file), keep the three lines, mark the source partial with the bomb error",
			Status: "partial", Error: "decompression bomb"})
		g.add(Case{Name: c.name + "-line", File: c.file, Line: 4,
			What:   "the bomb's endless line",
			Must:   "reject it as too long without buffering it",
			Reject: "line too long"})
	}
	return nil
}

// hugeLine: an nginx log with a 100 MB line between valid ones, written in
// chunks.
func (g *gen) hugeLine() error {
	const file = "logs/huge/huge-line.log"
	f, err := g.create(file)
	if err != nil {
		return err
	}
	defer f.Close()
	for i := range 3 {
		if _, err := io.WriteString(f, nginxLine(t0.Add(time.Duration(i)*time.Second), "", "GET /before HTTP/1.1", "ok/1", "-")); err != nil {
			return err
		}
	}
	prefix := nginxLine(t0.Add(3*time.Second), "", "GET /huge HTTP/1.1", "huge/1", "Bearer ")
	prefix = prefix[:len(prefix)-2] // cut the closing quote and newline
	if _, err := io.WriteString(f, prefix); err != nil {
		return err
	}
	chunk := bytes.Repeat([]byte("eyJhbGciOiJSUzI1NiJ9"), 1<<15) // 640 KiB
	for left := HugeLineBytes - len(prefix); left > 0; left -= len(chunk) {
		if _, err := f.Write(chunk[:min(left, len(chunk))]); err != nil {
			return err
		}
	}
	if _, err := io.WriteString(f, "\"\n"+nginxLine(t0.Add(4*time.Second), "", "GET /after HTTP/1.1", "ok/1", "-")); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	g.add(Case{Name: "huge-line", File: file, Line: 4,
		What:   "a 100 MB nginx line (a bearer value of 100 MB) between valid lines",
		Must:   "reject it as \"line too long\" with a bounded excerpt, without buffering it; read the lines around it",
		Status: "complete", Reject: "line too long"})
	return nil
}

// tokens: hostile JWTs, one per nginx line, signed with the exposed key
// unless said otherwise.
func (g *gen) tokens() error {
	const file = "logs/tokens/jwt-attacks-access.log"
	type tok struct {
		name, what, must, raw, sig, note, reject string
	}
	std := `{"alg":"RS256","typ":"JWT"}`
	// HS256 keyed with the PEM of the exposed public key.
	confInput := b64(`{"alg":"HS256","typ":"JWT"}`) + "." + b64(claims("confused", "conf-1", ""))
	mac := hmac.New(sha256.New, g.pem)
	mac.Write([]byte(confInput))
	confusion := confInput + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
	// A signature whose last character carries non-zero unused bits: a
	// lenient decoder reads the same bytes, a strict one refuses.
	good := g.rs256(std, claims("bits", "bits-1", ""))
	trailing := good[:len(good)-1] + string(nonCanonical(good[len(good)-1]))
	// Padded segments, signed as sent.
	padded := g.signRS256(base64.URLEncoding.EncodeToString([]byte(`{"alg":"RS256","x":12}`)) + "." +
		base64.URLEncoding.EncodeToString([]byte(claims("padded", "pad-1", ""))))
	toks := []tok{
		{name: "jwt-escaped-claims", what: "a token whose sub, iss, jti, azp and kid carry OSC, CSI, BEL, C1 and bidi overrides; its jti is a Keycloak token_id",
			must: "verify it (valid), store sub/iss/jti/azp/kid escaped, match the id with the Keycloak issuance escaped the same way",
			raw: g.rs256(`{"alg":"RS256","typ":"JWT","kid":"`+jsonEsc(csi)+`k1"}`,
				fmt.Sprintf(`{"iss":"https://idp.adversarial.example/%s","sub":"%sadmin%s","aud":"payments","azp":"web%s","jti":"kc-%s1","iat":%d,"exp":%d}`,
					jsonEsc(c1), jsonEsc(osc), jsonEsc(bidi), jsonEsc(bidi), jsonEsc(bidi), t0.Add(-time.Minute).Unix(), t0.Add(4*time.Minute).Unix())),
			sig: "valid"},
		{name: "jwt-duplicate-kid", what: `header {"alg":"RS256","kid":"a","kid":"b"}`,
			must: "mark it malformed: verifiers disagree on which kid counts",
			raw:  g.rs256(`{"alg":"RS256","kid":"a","kid":"b"}`, claims("dupkid", "dupkid-1", "")),
			sig:  "malformed", note: `duplicate header key "kid"`},
		{name: "jwt-duplicate-alg", what: `header {"alg":"RS256","alg":"HS256"}`,
			must: "mark it malformed: verifiers disagree on which alg counts",
			raw:  g.rs256(`{"alg":"RS256","alg":"HS256"}`, claims("dupalg", "dupalg-1", "")),
			sig:  "malformed", note: `duplicate header key "alg"`},
		{name: "jwt-duplicate-claim", what: `payload with "sub" twice`,
			must: "verify it (valid) and say the claim is duplicated",
			raw:  g.rs256(std, claims("first", "dupsub-1", `,"sub":"second"`)),
			sig:  "valid", note: `duplicate claim "sub"`},
		{name: "jwt-huge-header", what: "a header of 9 KiB (over jwtcheck.MaxHeaderSize, 8 KiB)",
			must: "refuse to decode it: malformed",
			raw:  g.rs256(`{"alg":"RS256","x":"`+strings.Repeat("A", 9<<10)+`"}`, claims("huge", "huge-1", "")),
			sig:  "malformed", note: "header is larger than 8 KiB"},
		{name: "jwt-alg-none", what: `an unsigned token, {"alg":"none"}, empty signature`,
			must: "record it invalid, never valid",
			raw:  b64(`{"alg":"none","typ":"JWT"}`) + "." + b64(claims("nobody", "none-1", "")) + ".",
			sig:  "invalid", note: "alg none"},
		{name: "jwt-alg-confusion", what: "HS256 keyed with the exposed RSA key's PEM (keys/exposed.pem) as the secret",
			must: "record it invalid as algorithm confusion",
			raw:  confusion, sig: "invalid", note: "alg-confusion"},
		{name: "jwt-crit", what: `header {"alg":"RS256","crit":["x-unknown"]}`,
			must: "verify the signature (valid) and say the crit header is not understood",
			raw:  g.rs256(`{"alg":"RS256","crit":["x-unknown"],"x-unknown":true}`, claims("crit", "crit-1", "")),
			sig:  "valid", note: "crit header not understood"},
		{name: "jwt-trailing-bits", what: "a signature whose last base64url character has non-zero unused bits",
			must: "verify it over the bytes as presented (lenient verifiers accept it): valid, flagged non-canonical",
			raw:  trailing, sig: "valid", note: "non-canonical base64url"},
		{name: "jwt-padded", what: "a token with '=' padding in its segments (signed as sent)",
			must: "verify it as presented (AWS ALB pads its tokens): valid, flagged padded",
			raw:  padded, sig: "valid", note: "padded base64url"},
	}
	f := g.lines(file)
	for i, tk := range toks {
		c := Case{Name: tk.name, What: tk.what, Must: tk.must, Reject: tk.reject}
		if tk.reject == "" {
			c.Token, c.SigStatus, c.VerifyNote = ArtifactKey(tk.raw), tk.sig, tk.note
		}
		f.add(nginxLine(t0.Add(time.Duration(i)*time.Second), "", "GET /t/"+tk.name+" HTTP/1.1", "attack/1", "Bearer "+tk.raw), c)
	}
	return f.write()
}

// nonCanonical returns a base64url character with the same high bits as c
// and the low two set: the last character of a 342-character RSA-2048
// signature carries 2 bits of data and 4 unused ones, which must be zero.
func nonCanonical(c byte) byte {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	i := strings.IndexByte(alphabet, c)
	return alphabet[i|3]
}

// jsonEsc writes s's control and bidi characters as JSON \u escapes.
func jsonEsc(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r < 0x20 || r >= 0x7f && r < 0xa0 || r >= 0x2000 {
			fmt.Fprintf(&b, `\u%04x`, r)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// nginxEsc writes s as nginx logs it: bytes below 0x20, above 0x7e, and "
// and \ as \xHH.
func nginxEsc(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			fmt.Fprintf(&b, `\x%02X`, c)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// nginxHostile: escapes in the user agent, remote user and path (as nginx
// writes them, \xHH), and raw bytes nginx would never write.
func (g *gen) nginxHostile() error {
	const file = "logs/nginx/escapes-access.log"
	tok := g.rs256(`{"alg":"RS256","typ":"JWT"}`, claims("forged-nginx", "ngx-1", ""))
	lines := []struct {
		line string
		c    Case
	}{
		{nginxLine(t0, "", "GET /healthz HTTP/1.1", "kube-probe/1.29", "-"), Case{Name: "nginx-no-token",
			What: "a health check without Authorization", Must: "ignore it (\"no bearer token\")", Ignored: "no bearer token"}},
		{nginxLine(t0.Add(time.Second), nginxEsc(osc+"root"), "GET /pay"+nginxEsc(bidi)+"fdp.exe HTTP/1.1",
			nginxEsc(csi+"Mozilla"+"\x07"+c1), "Bearer "+tok), Case{Name: "nginx-escapes",
			What:  "OSC/BEL in $remote_user, bidi override in the path, CSI, BEL and C1 in the user agent, all \\xHH-escaped as nginx writes them",
			Must:  "read the sighting; store principal, action and user_agent with the escapes made visible (\\x1b, \\u202e)",
			Token: ArtifactKey(tok), SigStatus: "valid"}},
		{nginxLine(t0.Add(2*time.Second), "", "GET / HTTP/1.1", "raw"+csi, "Bearer "+tok), Case{Name: "nginx-raw-escape",
			What: "a raw ESC byte in the user agent (nginx escapes them, so the line was not written by nginx)",
			Must: "reject it", Reject: "control character in line"}},
		{nginxLine(t0.Add(3*time.Second), "", "GET / HTTP/1.1", "bad\xff\xfeutf8\x9b", "Bearer "+tok), Case{Name: "nginx-invalid-utf8",
			What: "raw invalid UTF-8 (and a raw 0x9b, the 8-bit CSI) in the user agent",
			Must: "reject it", Reject: "invalid UTF-8"}},
		{nginxLine(t0.Add(4*time.Second), "", "GET / HTTP/1.1", "nul\x00byte", "Bearer "+tok), Case{Name: "nginx-nul",
			What: "a NUL byte in the user agent", Must: "reject it", Reject: "control character in line"}},
		{nginxLine(t0.Add(5*time.Second), "x'; DROP TABLE findings; --", "GET /?q=1'OR'1'='1 HTTP/1.1", SQLInjectionUA, "Bearer "+tok),
			Case{Name: "nginx-sql-injection",
				What:  "SQL in the remote user, the query string and the user agent",
				Must:  "store the user agent verbatim (values reach SQL only as bound parameters or Arrow batches); every table stays",
				Token: ArtifactKey(tok), SigStatus: "valid"}},
	}
	f := g.lines(file)
	for _, l := range lines {
		f.add(l.line, l.c)
	}
	return f.write()
}

// envoyHostile: escapes in authority, path and user agent; duplicate keys;
// NUL; invalid UTF-8; deep nesting.
func (g *gen) envoyHostile() error {
	const file = "logs/envoy/istio-proxy.log"
	tok := g.rs256(`{"alg":"RS256","typ":"JWT"}`, claims("forged-envoy", "envoy-1", ""))
	other := g.rs256(`{"alg":"RS256","typ":"JWT"}`, claims("forged-envoy-2", "envoy-2", ""))
	f := g.lines(file)
	add := f.add
	for i := range 8 { // detection looks at the first 8 lines
		add(envoyLine(t0.Add(time.Duration(i)*time.Second), "api.example:443", "/healthz", "kube-probe/1.29", "-"), Case{})
	}
	add(envoyLine(t0.Add(10*time.Second), jsonEsc(osc)+"api.example", "/v1/"+jsonEsc(bidi)+"exe", jsonEsc(csi+"\x07"+c1)+"curl", "Bearer "+tok),
		Case{Name: "envoy-escapes", What: "OSC/BEL in authority (the observer), bidi override in the path, CSI, BEL and C1 in the user agent, as JSON \\u escapes",
			Must: "read the sighting; store observer, action and user_agent escaped", Token: ArtifactKey(tok), SigStatus: "valid"})
	add(`{"start_time":"2026-03-04T10:00:11Z","response_code":200,"authority":"api.example","authorization":"Bearer `+tok+
		`","path":"/v1/x","authorization":"Bearer `+other+`"}`+"\n",
		Case{Name: "envoy-duplicate-authorization", What: "two \"authorization\" keys holding different tokens",
			Must: "reject the line: which token the proxy saw is ambiguous", Reject: `duplicate key "authorization"`})
	add(`{"start_time":"2026-03-04T10:00:12Z","response_code":200,"authority":"api.example","authorization":"Bearer `+tok+"\",\"x\":\"\x00\"}\n",
		Case{Name: "envoy-nul", What: "a raw NUL byte inside a JSON string", Must: "reject it", Reject: "NUL byte in line"})
	add(`{"start_time":"2026-03-04T10:00:13Z","response_code":200,"authority":"api.example","user_agent":"`+"\xc3\x28"+`","authorization":"Bearer `+tok+"\"}\n",
		Case{Name: "envoy-invalid-utf8", What: "invalid UTF-8 in the user agent", Must: "reject it", Reject: "invalid UTF-8"})
	add(`{"start_time":"2026-03-04T10:00:14Z","response_code":200,"authorization":`+strings.Repeat("[", 100_000)+"\n",
		Case{Name: "envoy-deep-nesting", What: "100,000 nested '[' as a JSON value", Must: "reject it as invalid JSON without deep recursion", Reject: "invalid JSON"})
	add(`{"start_time":"2026-03-04T10:00:15Z","response_code":200,"authority":"api.example","authorization":"Basic YWxhZGRpbjpvcGVuc2VzYW1l"}`+"\n",
		Case{Name: "envoy-basic-auth", What: "a Basic credential", Must: "ignore it (\"no bearer token\")", Ignored: "no bearer token"})
	return f.write()
}

// jsonBearerHostile: escapes in the generic JSON format's service, user,
// user agent and path; a duplicated token key.
func (g *gen) jsonBearerHostile() error {
	const file = "logs/app/audit.json.log"
	tok := g.rs256(`{"alg":"RS256","typ":"JWT"}`, claims("forged-app", "app-1", ""))
	f := g.lines(file)
	add := f.add
	for i := range 2 { // detection needs a token among the first 8 lines
		add(fmt.Sprintf(`{"time":"2026-03-04T10:00:0%dZ","service":"billing","user":"svc","token":"-","path":"/health"}`+"\n", i), Case{})
	}
	add(`{"time":"2026-03-04T10:00:10Z","service":"`+jsonEsc(osc)+`billing","user":"`+jsonEsc(bidi)+`toor","user_agent":"`+
		jsonEsc(c1+csi)+`","method":"GET","path":"/`+jsonEsc(csi)+`x","token":"Bearer `+tok+`"}`+"\n",
		Case{Name: "json-bearer-escapes", What: "OSC/BEL in service (the observer), bidi in user (the principal), C1 and CSI in the user agent and path",
			Must: "read the sighting; store observer, principal, user_agent and action escaped", Token: ArtifactKey(tok), SigStatus: "valid"})
	add(`{"time":"2026-03-04T10:00:11Z","token":"Bearer `+tok+`","token":"-"}`+"\n",
		Case{Name: "json-bearer-duplicate-token", What: "two \"token\" keys, the second hiding the first",
			Must: "reject the line", Reject: `duplicate key "token"`})
	return f.write()
}

// keycloakHostile: escapes in clientId and userId (JSON and text logging),
// a token_id with a bidi override matched by the escaped-claims token, deep
// nesting.
func (g *gen) keycloakHostile() error {
	const file = "logs/keycloak/keycloak.log"
	f := g.lines(file)
	add := f.add
	jsonEvent := func(at time.Time, msg string) string {
		return fmt.Sprintf(`{"timestamp":"%s","sequence":%d,"loggerName":"org.keycloak.events","level":"DEBUG","message":"%s","hostName":"kc-0"}`+"\n",
			at.Format("2006-01-02T15:04:05.000Z"), f.n+1, msg)
	}
	add(`{"timestamp":"2026-03-04T09:59:00.000Z","sequence":1,"loggerName":"io.quarkus","level":"INFO","message":"Keycloak started","hostName":"kc-0"}`+"\n",
		Case{Name: "keycloak-startup", What: "a startup line of another logger", Must: "ignore it (\"not an event line\")", Ignored: "not an event line"})
	add(jsonEvent(t0.Add(-time.Minute), `type=\"CODE_TO_TOKEN\", realmId=\"acme\", clientId=\"`+jsonEsc(osc)+`web`+jsonEsc(bidi)+
		`\", userId=\"`+jsonEsc(c1)+`alice\", ipAddress=\"10.0.0.9\", token_id=\"kc-`+jsonEsc(bidi)+`1\"`),
		Case{Name: "keycloak-json-escapes", What: "JSON logging: OSC/BEL and bidi in clientId, C1 in userId, bidi in token_id",
			Must: "record the issuance with audience, subject and artifact_id escaped; the token with that jti matches it by id (and differs in subject)"})
	add("2026-03-04 10:00:01,000 DEBUG [org.keycloak.events] (executor-thread-1) type=CODE_TO_TOKEN, realmId=acme, clientId="+csi+
		"web, userId=\x07bob"+bidi+", ipAddress=10.0.0.9, token_id=kc-2\n",
		Case{Name: "keycloak-text-escapes", What: "text logging with raw ESC, BEL and a bidi override in clientId and userId",
			Must: "record the issuance with audience and subject escaped"})
	add(jsonEvent(t0.Add(2*time.Second), `type=\"LOGIN\", realmId=\"acme\", clientId=\"web\", userId=\"u1\"`),
		Case{Name: "keycloak-login", What: "a LOGIN event (issues no token)", Must: "ignore it (\"event issues no token\")", Ignored: "event issues no token"})
	add(`{"timestamp":"2026-03-04T10:00:03.000Z","loggerName":"org.keycloak.events","message":`+strings.Repeat("[", 100_000)+"\n",
		Case{Name: "keycloak-deep-nesting", What: "an events-logger JSON line with 100,000 nested '['",
			Must: "reject it as invalid JSON", Reject: "invalid JSON"})
	return f.write()
}

// ledgerHostile: escapes in subject, audience and id; invalid UTF-8; deep
// nesting.
func (g *gen) ledgerHostile() error {
	const file = "logs/ledger/issued.jsonl"
	f := g.lines(file)
	add := f.add
	for i := range 3 {
		add(fmt.Sprintf(`{"kind":"jwt","artifact_id":"led-%d","subject":"svc","audience":"payments","issued_at":"2026-03-04T09:0%d:00Z"}`+"\n", i, i), Case{})
	}
	add(`{"kind":"jwt","artifact_id":"led-`+jsonEsc(csi)+`9","subject":"`+jsonEsc(osc+bidi)+`carol","audience":"payments`+jsonEsc(c1)+
		`","issuer":"https://idp.adversarial.example/`+jsonEsc(csi)+`","issued_at":"2026-03-04T09:10:00Z"}`+"\n",
		Case{Name: "ledger-escapes", What: "OSC/BEL/bidi in subject, CSI in artifact_id and issuer, C1 in audience",
			Must: "record the issuance with issuer, artifact_id, subject and audience escaped"})
	add(`{"kind":"jwt","artifact_id":"led-x","subject":"`+"\xff\xfe"+`","issued_at":"2026-03-04T09:11:00Z"}`+"\n",
		Case{Name: "ledger-invalid-utf8", What: "invalid UTF-8 in subject", Must: "reject it", Reject: "invalid UTF-8"})
	add(`{"kind":"jwt","artifact_id":`+strings.Repeat("[", 100_000)+"\n",
		Case{Name: "ledger-deep-nesting", What: "100,000 nested '[' as a JSON value", Must: "reject it as invalid JSON", Reject: "invalid JSON"})
	return f.write()
}
