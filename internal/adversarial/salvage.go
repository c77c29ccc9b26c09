package adversarial

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha512"
	"encoding/base64"
	"fmt"
	"strings"
	"time"
)

// Verdicts of a case's token: what the hunt must conclude.
const (
	// VerdictForged: a finding at level high or above names the token.
	VerdictForged = "forged"
	// VerdictLegitimate: no finding at level high or above names it (the
	// ledger issued it).
	VerdictLegitimate = "legitimate"
)

// salvage: forged tokens that appear ONLY in lines their format rejects (a
// raw NUL, invalid UTF-8, a raw ESC, a duplicated authorization key, a line
// cut by the end of an archive), in nginx, Envoy JSON and generic JSON logs;
// legitimately issued tokens in such lines; and forged tokens in the lenient
// encodings and non-JSON payloads some verifiers accept. The ledger covers
// their issue time, so a forged token is a forgery with full confidence.
func (g *gen) salvage() error {
	const subjects = "logs/salvage/"
	// Ten minutes after the rest of the corpus, clear of the Keycloak
	// file's hole in its numbering (a gap in the ledger).
	t1 := t0.Add(10 * time.Minute)
	iat := t1.Add(-time.Minute)
	claimsAt := func(sub, jti string) string {
		return fmt.Sprintf(`{"iss":"https://idp.adversarial.example/realms/acme","sub":"%s","aud":"payments","azp":"web","jti":"%s","iat":%d,"exp":%d}`,
			sub, jti, iat.Unix(), iat.Unix()+300)
	}
	n := 0
	forged := func(what string) string {
		n++
		return g.rs256(`{"alg":"RS256","typ":"JWT","kid":"k1"}`, claimsAt("mallory-"+what, fmt.Sprintf("forged-%d", n)))
	}
	var legit []string // the ledger's records for the legitimately issued tokens
	issued := func(sub string) string {
		n++
		jti := fmt.Sprintf("issued-%d", n)
		legit = append(legit, fmt.Sprintf(`{"kind":"jwt","artifact_id":"%s","subject":"%s","audience":"payments","issued_at":"%s"}`,
			jti, sub, iat.Format(time.RFC3339)))
		return g.rs256(`{"alg":"RS256","typ":"JWT","kid":"k1"}`, claimsAt(sub, jti))
	}
	at := func(i int) time.Time { return t1.Add(time.Duration(i) * time.Second) }

	// nginx: raw bytes nginx itself would have escaped.
	ngx := g.lines(subjects + "nginx/payments-access.log")
	for i := range 8 {
		ngx.add(nginxLine(at(i), "", "GET /healthz HTTP/1.1", "kube-probe/1.29", "-"), Case{})
	}
	for _, c := range []struct{ name, ua, reject, verdict string }{
		{"salvage-nginx-nul", "curl/8.5\x00", "control character in line", VerdictForged},
		{"salvage-nginx-invalid-utf8", "curl/\xff\xfe8.5", "invalid UTF-8", VerdictForged},
		{"salvage-nginx-raw-esc", "curl/8.5" + csi, "control character in line", VerdictForged},
		{"salvage-nginx-nul-issued", "curl/8.5\x00", "control character in line", VerdictLegitimate},
	} {
		tok := ""
		if c.verdict == VerdictForged {
			tok = forged(c.name)
		} else {
			tok = issued("alice")
		}
		ngx.add(nginxLine(at(10+n), "", "POST /api/payments HTTP/1.1", c.ua, "Bearer "+tok), Case{Name: c.name,
			What:   fmt.Sprintf("a %s token presented only in an nginx line rejected for %q", c.verdict, c.reject),
			Must:   "reject the line and salvage its token: verified, a sighting marked salvaged with the line's time, client, path and status",
			Reject: c.reject, Token: ArtifactKey(tok), SigStatus: "valid", Salvaged: true, Verdict: c.verdict})
	}
	if err := ngx.write(); err != nil {
		return err
	}

	// Envoy JSON: a NUL, invalid UTF-8, a duplicated authorization key.
	env := g.lines(subjects + "envoy/istio-proxy.log")
	for i := range 8 {
		env.add(envoyLine(at(i), "payments.example:443", "/healthz", "kube-probe/1.29", "-"), Case{})
	}
	envoyRaw := func(at time.Time, extra string) string {
		return fmt.Sprintf(`{"start_time":"%s","method":"POST","path":"/api/payments","response_code":200,"authority":"payments.example",`+
			`"downstream_remote_address":"198.51.100.20:40000"%s}`+"\n", at.Format(time.RFC3339), extra)
	}
	f1, f2 := forged("envoy-nul"), forged("envoy-utf8")
	env.add(envoyRaw(at(20), `,"user_agent":"a`+"\x00"+`b","authorization":"Bearer `+f1+`"`), Case{Name: "salvage-envoy-nul",
		What: "a forged token only in an Envoy JSON line with a raw NUL byte", Must: "reject the line, salvage its token",
		Reject: "NUL byte in line", Token: ArtifactKey(f1), SigStatus: "valid", Salvaged: true, Verdict: VerdictForged})
	env.add(envoyRaw(at(21), `,"user_agent":"`+"\xc3\x28"+`","authorization":"Bearer `+f2+`"`), Case{Name: "salvage-envoy-invalid-utf8",
		What: "a forged token only in an Envoy JSON line with invalid UTF-8", Must: "reject the line, salvage its token",
		Reject: "invalid UTF-8", Token: ArtifactKey(f2), SigStatus: "valid", Salvaged: true, Verdict: VerdictForged})
	hidden, shown := forged("envoy-hidden"), issued("bob")
	env.add(envoyRaw(at(22), `,"authorization":"Bearer `+hidden+`","Authorization":"Bearer `+shown+`"`), Case{Name: "salvage-envoy-duplicate-authorization",
		What:   "a forged token hidden behind a second, legitimately issued, Authorization key",
		Must:   "reject the line as ambiguous and salvage both tokens: the forged one is reported (the finding says the line was ambiguous), the issued one is not",
		Reject: `duplicate key "Authorization"`, Token: ArtifactKey(hidden), SigStatus: "valid", Salvaged: true, Verdict: VerdictForged, Ambiguous: true})
	g.add(Case{Name: "salvage-envoy-duplicate-authorization-issued", File: env.name, Line: env.n,
		What: "the legitimately issued token beside the hidden forged one", Must: "salvage it; no finding at high or above",
		Token: ArtifactKey(shown), SigStatus: "valid", Salvaged: true, Verdict: VerdictLegitimate, Ambiguous: true})
	if err := env.write(); err != nil {
		return err
	}

	// Generic JSON: a NUL, and a duplicated token key that hides the first.
	app := g.lines(subjects + "app/audit.json.log")
	known := issued("carol")
	for i := range 2 {
		app.add(fmt.Sprintf(`{"time":"%s","service":"ledger-api","user":"carol","token":"Bearer %s","path":"/v1/balance","status":200}`+"\n",
			at(i).Format(time.RFC3339), known), Case{})
	}
	f3, f4 := forged("app-nul"), forged("app-dup")
	app.add(fmt.Sprintf(`{"time":"%s","service":"ledger-api","user":"x`+"\x00"+`","token":"Bearer %s","path":"/v1/transfer","status":200}`+"\n",
		at(30).Format(time.RFC3339), f3), Case{Name: "salvage-json-nul",
		What: "a forged token only in a generic JSON line with a raw NUL byte", Must: "reject the line, salvage its token",
		Reject: "NUL byte in line", Token: ArtifactKey(f3), SigStatus: "valid", Salvaged: true, Verdict: VerdictForged})
	app.add(fmt.Sprintf(`{"time":"%s","service":"ledger-api","token":"Bearer %s","path":"/v1/transfer","status":200,"token":"-"}`+"\n",
		at(31).Format(time.RFC3339), f4), Case{Name: "salvage-json-duplicate-token",
		What: "a forged token hidden by a second \"token\" key holding \"-\"", Must: "reject the line as ambiguous, salvage the token",
		Reject: `duplicate key "token"`, Token: ArtifactKey(f4), SigStatus: "valid", Salvaged: true, Verdict: VerdictForged, Ambiguous: true})
	if err := app.write(); err != nil {
		return err
	}

	// A line cut by the end of a gzip member (the writer died mid-line),
	// and a gzip stream cut in its last line.
	var cut strings.Builder
	for i := range 8 {
		cut.WriteString(nginxLine(at(i), "", "GET /healthz HTTP/1.1", "kube-probe/1.29", "-"))
	}
	f5 := forged("cut-member")
	last := strings.TrimSuffix(nginxLine(at(40), "", "POST /api/payments HTTP/1.1", "curl/8.5", "Bearer "+f5), "\n")
	cut.WriteString(last[:len(last)-1]) // no closing quote, no newline
	const cutFile = subjects + "nginx/cut-access.log.gz"
	if err := g.write(cutFile, gzipBytes([]byte(cut.String()))); err != nil {
		return err
	}
	g.add(Case{Name: "salvage-line-cut-at-member-end", File: cutFile, Line: 9,
		What: "a forged token in the last line of a gzip member, cut before its closing quote and newline",
		Must: "reject the line (unterminated field) and salvage its token", Reject: "not nginx combined",
		Token: ArtifactKey(f5), SigStatus: "valid", Salvaged: true, Verdict: VerdictForged})

	cut.Reset()
	for i := range 8 {
		cut.WriteString(nginxLine(at(i), "", "GET /healthz HTTP/1.1", "kube-probe/1.29", "-"))
	}
	f6 := forged("cut-stream")
	// incompressible text after the token (an extra logged header), so
	// that the cut falls after the token
	tail := base64.RawStdEncoding.EncodeToString(randomBytes(3000))
	cut.WriteString(strings.TrimSuffix(nginxLine(at(41), "", "POST /api/payments HTTP/1.1", "curl/8.5", "Bearer "+f6), "\n") + ` "` + tail + `"`)
	gz := gzipBytes([]byte(cut.String()))
	const streamFile = subjects + "nginx/truncated-access.log.gz"
	if err := g.write(streamFile, gz[:len(gz)-400]); err != nil {
		return err
	}
	g.add(Case{Name: "salvage-truncated-gzip-last-line", File: streamFile, Line: 9,
		What:   "a forged token in the last line of a gzip stream cut 400 bytes before its end",
		Must:   "keep the lines read, reject the cut line and salvage its token, mark the source partial",
		Status: "partial", Error: "unexpected EOF",
		Token: ArtifactKey(f6), SigStatus: "valid", Salvaged: true, Verdict: VerdictForged})

	// What the key signed is evidence whatever it says: forged tokens in
	// lenient encodings and with non-JSON payloads, in parsed lines.
	lenient := g.lines(subjects + "nginx/webhooks-access.log")
	for i := range 8 {
		lenient.add(nginxLine(at(i), "", "GET /healthz HTTP/1.1", "kube-probe/1.29", "-"), Case{})
	}
	prose := "It\u2019s a dangerous business, Frodo, going out your door." // RFC 7520's payload
	padded := g.signRS256(base64.URLEncoding.EncodeToString([]byte(`{"alg":"RS256","typ":"JWT"}`)) + "." +
		base64.URLEncoding.EncodeToString([]byte(claimsAt("mallory-padded", "forged-padded"))))
	good := g.rs256(`{"alg":"RS256","typ":"JWT"}`, claimsAt("mallory-bits", "forged-bits"))
	bits := good[:len(good)-1] + string(nonCanonical(good[len(good)-1]))
	for _, c := range []struct{ name, what, tok, note string }{
		{"forged-non-json-payload-rs256", "an RS256 JWS whose payload is prose (RFC 7520's example text)",
			g.rs256(`{"alg":"RS256"}`, prose), "payload is not a JSON object"},
		{"forged-non-json-payload-ps384", "a PS384 JWS whose payload is a webhook body",
			g.ps384(`{"alg":"PS384"}`, "event=push&ref=refs/heads/main"), "payload is not a JSON object"},
		{"forged-padded", "a forged token with '=' padding in its segments (as AWS ALB's x-amzn-oidc-data pads)",
			padded, "padded base64url"},
		{"forged-non-canonical", "a forged token whose signature's last character has non-zero unused bits",
			bits, "non-canonical base64url"},
		{"forged-alg-case", `a forged token with "alg":"rs256"`,
			g.rs256(`{"alg":"rs256","typ":"JWT"}`, claimsAt("mallory-case", "forged-case")), `alg "rs256" is not the registered spelling`},
	} {
		lenient.add(nginxLine(at(50+n), "", "POST /hooks HTTP/1.1", "hook/1", "Bearer "+c.tok), Case{Name: c.name, What: c.what,
			Must:  "verify it over the bytes as presented (valid), flag it, and report it as forged",
			Token: ArtifactKey(c.tok), SigStatus: "valid", VerifyNote: c.note, Verdict: VerdictForged})
	}
	if err := lenient.write(); err != nil {
		return err
	}

	// A file name that is a terminal attack: its path reaches every output
	// (the summary, evidence pointers, reasons that cite a file).
	named := g.lines(subjects + "names/" + osc + bidi + c1 + "edge-access.log")
	for i := range 8 {
		named.add(nginxLine(at(i), "", "GET /healthz HTTP/1.1", "kube-probe/1.29", "-"), Case{})
	}
	f7 := forged("file-name")
	named.add(nginxLine(at(60), "", "POST /api/payments HTTP/1.1", "curl/8.5", "Bearer "+f7), Case{Name: "hostile-file-name",
		What:  "a forged token in a log whose file name holds OSC/BEL, a bidi override and a C1 CSI",
		Must:  "report it; the path is stored as it is (so that it can be opened) and escaped wherever it is shown",
		Token: ArtifactKey(f7), SigStatus: "valid", Verdict: VerdictForged})
	if err := named.write(); err != nil {
		return err
	}

	// The ledger: a record a minute around the tokens' issue time (so that
	// it covers them), and the legitimately issued ones.
	var ledger strings.Builder
	for i := -30; i <= 30; i++ {
		fmt.Fprintf(&ledger, `{"kind":"jwt","artifact_id":"routine-%d","subject":"svc-%d","audience":"payments","issued_at":"%s"}`+"\n",
			i+30, i+30, t1.Add(time.Duration(i)*time.Minute+17*time.Second).Format(time.RFC3339))
	}
	for _, l := range legit {
		ledger.WriteString(l + "\n")
	}
	return g.write(subjects+"ledger/issued.jsonl", []byte(ledger.String()))
}

// ps384 signs header.payload (encoded here) with the exposed key, RSASSA-PSS.
func (g *gen) ps384(header, payload string) string {
	input := b64(header) + "." + b64(payload)
	sum := sha512.Sum384([]byte(input))
	sig, err := rsa.SignPSS(rand.Reader, g.priv, crypto.SHA384, sum[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
	if err != nil {
		panic(err) // cannot fail for a 2048-bit key
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}
