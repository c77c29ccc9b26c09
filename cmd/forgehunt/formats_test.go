package main

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Access logs in the layouts real proxies write, hunted end to end: a custom
// nginx log_format (escape=json, $time_iso8601, the ALB's padded
// x-amzn-oidc-data header) given with --nginx-format, a custom Envoy format
// (epoch START_TIME, a bare JWT in X-Jwt-Assertion) given with
// --envoy-format, Istio's default text format and ingress-nginx's default
// format, both detected. Each forged token is reported at high or above, the
// issued ones are not.
func TestHuntCustomAccessLogFormats(t *testing.T) {
	dir := t.TempDir()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	spki, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	keyPath := filepath.Join(dir, "exposed.pem")
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: spki}), 0o644); err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC)
	enc := base64.RawURLEncoding.EncodeToString
	n := 0
	var ledger strings.Builder
	for i := -30; i <= 30; i++ { // a ledger that covers the tokens' issue times
		fmt.Fprintf(&ledger, `{"kind":"jwt","artifact_id":"routine-%d","subject":"svc","audience":"api","issued_at":"%s"}`+"\n",
			i+30, t0.Add(time.Duration(i)*time.Minute).Format(time.RFC3339))
	}
	mint := func(issued, padded bool) string {
		n++
		jti := fmt.Sprintf("jti-%d", n)
		iat := t0.Add(-time.Minute)
		claims := fmt.Sprintf(`{"iss":"https://idp.test","sub":"u%d","aud":"api","jti":"%s","iat":%d,"exp":%d}`, n, jti, iat.Unix(), iat.Unix()+600)
		header := `{"alg":"RS256","typ":"JWT"}`
		encode := enc
		if padded {
			encode = base64.URLEncoding.EncodeToString
		}
		input := encode([]byte(header)) + "." + encode([]byte(claims))
		sum := sha256.Sum256([]byte(input))
		sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
		if err != nil {
			t.Fatal(err)
		}
		if issued {
			fmt.Fprintf(&ledger, `{"kind":"jwt","artifact_id":"%s","subject":"u%d","audience":"api","issued_at":"%s"}`+"\n", jti, n, iat.Format(time.RFC3339))
		}
		return input + "." + encode(sig)
	}
	type tok struct {
		raw    string
		forged bool
	}
	var toks []tok
	add := func(issued, padded bool) string {
		raw := mint(issued, padded)
		toks = append(toks, tok{raw, !issued})
		return raw
	}
	logs := filepath.Join(dir, "logs")
	write := func(rel string, lines ...string) {
		p := filepath.Join(logs, rel)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	at := func(i int) time.Time { return t0.Add(time.Duration(i) * time.Second) }
	bearer := func(token string) string { // "-" is how proxies log an absent header
		if token == "-" {
			return token
		}
		return "Bearer " + token
	}

	const nginxFormat = `escape=json {"time":"$time_iso8601","client":"$remote_addr","req":"$request","status":$status,"oidc":"$http_x_amzn_oidc_data","host":"$host"}`
	nginxLine := func(i int, token string) string {
		return fmt.Sprintf(`{"time":"%s","client":"203.0.113.%d","req":"GET /api/x HTTP/1.1","status":200,"oidc":"%s","host":"api.test"}`,
			at(i).Format(time.RFC3339), i, token)
	}
	// --nginx-format is for files read as nginx: force it (the lines are JSON).
	write("alb/access.log", nginxLine(1, add(true, true)), nginxLine(2, add(false, true)), nginxLine(3, "-"))

	const envoyFormat = `%START_TIME(%s)% %REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %RESPONSE_CODE% "%REQ(X-JWT-ASSERTION)%" %DOWNSTREAM_REMOTE_ADDRESS%`
	envoyLine := func(i int, token string) string {
		return fmt.Sprintf(`%d GET /v1/pay %d "%s" 198.51.100.%d:4000`, at(i).Unix(), 200, token, i)
	}
	write("envoy/custom.log", envoyLine(1, add(true, false)), envoyLine(2, add(false, false)))

	istio := func(i int, token string) string {
		return fmt.Sprintf(`[%s] "GET /api/v1/pay HTTP/1.1" 200 - via_upstream - "-" 0 512 12 10 "203.0.113.%d" "curl/8.5.0" "7f1c9a2e-0b1d-4d7e-9a55-1f0c2b3d4e5f" "payments.test" "10.0.3.14:8080" outbound|8080||payments.prod.svc.cluster.local 10.0.1.5:45678 10.0.1.5:8080 10.0.9.9:51234 - default "%s"`,
			at(i).Format("2006-01-02T15:04:05.000Z"), i, bearer(token))
	}
	var istioLines []string
	for i := range 4 {
		istioLines = append(istioLines, istio(10+i, "-"))
	}
	istioLines = append(istioLines, istio(20, add(true, false)), istio(21, add(false, false)))
	write("istio/proxy.log", istioLines...)

	ingress := func(i int, token string) string {
		return fmt.Sprintf(`203.0.113.%d - - [%s] "GET /api/payments HTTP/1.1" 200 512 "-" "curl/8.5.0" 112 0.004 [default-payments-8080] [] 10.244.1.17:8080 512 0.004 200 5f2b9e3c8d7a41f0a9b6c3d2e1f00a11 "%s"`,
			i, at(i).Format("02/Jan/2006:15:04:05 -0700"), bearer(token))
	}
	write("ingress/controller.log", ingress(30, add(true, false)), ingress(31, add(false, false)), ingress(32, "-"))

	ledgerPath := filepath.Join(dir, "ledger.jsonl")
	if err := os.WriteFile(ledgerPath, []byte(ledger.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	findings := map[string]string{} // artifact key -> highest level
	hunt := func(args ...string) {
		t.Helper()
		var stdout, stderr bytes.Buffer
		base := []string{"hunt", "--key", keyPath, "--ledger", ledgerPath, "--format", "jsonl", "--fail-on", "none"}
		if code := run(context.Background(), append(base, args...), nil, &stdout, &stderr); code != exitOK {
			t.Fatalf("hunt %q: exit %d\n%s", args, code, stderr.String())
		}
		if strings.Contains(stderr.String(), "rejects") && !strings.Contains(stderr.String(), " 0 rejects") {
			t.Errorf("hunt %q rejected lines:\n%s", args, stderr.String())
		}
		for _, line := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
			var f struct {
				ArtifactKey string `json:"artifact_key"`
				Level       string `json:"level"`
			}
			if line == "" {
				continue
			}
			if err := json.Unmarshal([]byte(line), &f); err != nil {
				t.Fatal(err)
			}
			if f.Level == "high" || f.Level == "critical" {
				findings[f.ArtifactKey] = f.Level
			}
		}
	}
	hunt("--input-format", "nginx", "--nginx-format", nginxFormat, filepath.Join(logs, "alb"))
	hunt("--input-format", "envoy-text", "--envoy-format", envoyFormat, filepath.Join(logs, "envoy"))
	hunt(filepath.Join(logs, "istio"), filepath.Join(logs, "ingress")) // detected
	for i, tk := range toks {
		sum := sha256.Sum256([]byte(tk.raw))
		key := fmt.Sprintf("sha256:%x", sum)
		switch _, hit := findings[key]; {
		case tk.forged && !hit:
			t.Errorf("token %d (forged) was not reported at high or above", i+1)
		case !tk.forged && hit:
			t.Errorf("token %d (issued) was reported", i+1)
		}
	}
}
