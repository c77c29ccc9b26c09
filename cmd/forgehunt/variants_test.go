package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/forgehunt/forgehunt/rules"
)

// Logs as they are found on real hosts, not as the formats' documentation
// prints them: Keycloak through journald, through RFC 5424 syslog (Quarkus
// JSON logging), through kubectl --timestamps (an old WildFly Keycloak whose
// lines have no date), and as an Admin REST API events export; nginx in
// Docker's json-file; Envoy in the kubelet's CRI files with a line split
// into partial lines. Each file is detected with its envelope, every
// issuance is read with its id, subject and time, and the forged token is
// found while the issued ones are not.
func TestHuntRealVariants(t *testing.T) {
	dir := t.TempDir()
	logs := filepath.Join(dir, "logs")
	write := func(rel, data string) string {
		path := filepath.Join(logs, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}

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

	// The estate runs in Berlin (CET in March): lines without a zone are
	// local time, hunted with --tz Europe/Berlin.
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatalf("no time zone data (the binary embeds time/tzdata): %v", err)
	}
	const issuer = "https://sso.acme.test/realms/acme"
	type token struct {
		jti, sub, client string
		issued           time.Time // the issuer's log time; iat is its second
		raw              string
	}
	at := func(s string) time.Time {
		ts, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return ts
	}
	mint := func(tok *token) {
		iat := tok.issued.Truncate(time.Second)
		jt := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{
			"iss": issuer, "sub": tok.sub, "aud": "account", "azp": tok.client, "typ": "Bearer",
			"jti": tok.jti, "iat": iat.Unix(), "exp": iat.Add(5 * time.Minute).Unix(),
		})
		jt.Header["kid"] = "acme-2025"
		if tok.raw, err = jt.SignedString(key); err != nil {
			t.Fatal(err)
		}
	}
	journald := &token{jti: "0a1b2c3d-0001-4e5f-8a9b-0c1d2e3f4a5b", sub: "6f1c0a52-7e0b-4c38-9d51-0a1b2c3d4e5f", client: "payments-web", issued: at("2026-03-04T10:00:00.300Z")}
	syslog := &token{jti: "0a1b2c3d-0002-4e5f-8a9b-0c1d2e3f4a5b", sub: "7a2d1b63-8f1c-4d49-8e62-1b2c3d4e5f60", client: "payments-web", issued: at("2026-03-04T10:05:00.250Z")}
	wildfly := &token{jti: "0a1b2c3d-0003-4e5f-8a9b-0c1d2e3f4a5b", sub: "8b3e2c74-902d-4e5a-9f73-2c3d4e5f6071", client: "reports-web", issued: at("2026-03-04T10:10:00.300Z")}
	export := &token{jti: "0a1b2c3d-0004-4e5f-8a9b-0c1d2e3f4a5b", sub: "9c4f3d85-a13e-4f6b-a084-3d4e5f607182", client: "batch", issued: at("2026-03-04T10:15:00.123Z")}
	forged := &token{jti: "0a1b2c3d-0666-4e5f-8a9b-0c1d2e3f4a5b", sub: "6f1c0a52-7e0b-4c38-9d51-0a1b2c3d4e5f", client: "payments-web", issued: at("2026-03-04T10:12:00Z")}
	issued := []*token{journald, syslog, wildfly, export}
	for _, tok := range append(issued, forged) {
		mint(tok)
	}
	local := func(t time.Time, layout string) string { return t.In(berlin).Format(layout) }

	// Keycloak 26 under systemd, as journalctl prints it (quoted style, local time).
	write("keycloak/journal.log", ""+
		"Mar 04 10:59:58 kc-0 kc.sh[2871]: "+local(journald.issued.Add(-2*time.Second), "2006-01-02 15:04:05,000")+" INFO  [io.quarkus] (main) Keycloak 26.0.5 on JVM (powered by Quarkus 3.15.1) started in 9.184s. Listening on: http://0.0.0.0:8080\n"+
		"Mar 04 11:00:00 kc-0 kc.sh[2871]: "+local(journald.issued, "2006-01-02 15:04:05,000")+` INFO  [org.keycloak.events] (executor-thread-3) type="CODE_TO_TOKEN", realmId="7c3e1b2a-5d4f-4e6a-8b9c-0d1e2f3a4b5c", realmName="acme", clientId="`+journald.client+`", userId="`+journald.sub+`", sessionId="ab12cd34-ef56-4789-8abc-def012345678", ipAddress="10.1.2.3", token_id="`+journald.jti+`", grant_type="authorization_code", scope="openid profile email"`+"\n"+
		"Mar 04 11:00:01 kc-0 kc.sh[2871]: "+local(journald.issued.Add(time.Second), "2006-01-02 15:04:05,000")+` WARN  [org.keycloak.events] (executor-thread-4) type="LOGIN_ERROR", realmId="7c3e1b2a-5d4f-4e6a-8b9c-0d1e2f3a4b5c", realmName="acme", clientId="payments-web", userId="null", ipAddress="203.0.113.7", error="user_not_found", username="root"`+"\n")

	// Keycloak with Quarkus JSON logging, shipped over RFC 5424 syslog.
	quarkus := func(seq int, ts time.Time, logger, msg string) string {
		b, _ := json.Marshal(map[string]any{"timestamp": ts.UTC().Format("2006-01-02T15:04:05.000Z"), "sequence": seq,
			"loggerClassName": "org.jboss.logging.Logger", "loggerName": logger, "level": "DEBUG", "message": msg,
			"threadName": "executor-thread-5", "threadId": 61, "mdc": map[string]any{}, "ndc": "",
			"hostName": "kc-1", "processName": "QuarkusEntryPoint", "processId": 1})
		return string(b)
	}
	write("keycloak/syslog.log", ""+
		"<134>1 "+syslog.issued.Add(time.Millisecond).Format(time.RFC3339Nano)+` kc-1 keycloak 1 - [meta sequenceId="77"] `+
		quarkus(9021, syslog.issued, "org.keycloak.events", `type="REFRESH_TOKEN", realmId="7c3e1b2a-5d4f-4e6a-8b9c-0d1e2f3a4b5c", realmName="acme", clientId="`+syslog.client+`", userId="`+syslog.sub+`", ipAddress="10.1.2.4", token_id="`+syslog.jti+`", grant_type="refresh_token"`)+"\n"+
		"<134>1 "+syslog.issued.Add(time.Second).Format(time.RFC3339Nano)+" kc-1 keycloak 1 - - "+
		quarkus(9022, syslog.issued.Add(time.Second), "org.keycloak.services", "KC-SERVICES0013: Failed authentication")+"\n")

	// Keycloak 15 on WildFly, from kubectl logs --timestamps: the lines have
	// a local time of day, the envelope the UTC date.
	kubectl := func(ts time.Time, line string) string {
		return ts.UTC().Format(time.RFC3339Nano) + " " + line + "\n"
	}
	write("keycloak/wildfly-kubectl.log", ""+
		kubectl(wildfly.issued.Add(-time.Minute), local(wildfly.issued.Add(-time.Minute), "15:04:05,000")+` INFO  [org.jboss.as] (Controller Boot Thread) WFLYSRV0025: Keycloak 15.0.2 (WildFly Core 15.0.1.Final) started in 14021ms - Started 692 of 977 services`)+
		kubectl(wildfly.issued.Add(2345678*time.Nanosecond), local(wildfly.issued, "15:04:05,000")+` DEBUG [org.keycloak.events] (default task-110) type=CODE_TO_TOKEN, realmId=acme, clientId=`+wildfly.client+`, userId=`+wildfly.sub+`, ipAddress=10.1.2.5, token_id=`+wildfly.jti+`, grant_type=authorization_code, refresh_token_type=Refresh, scope=openid profile, client_auth_method=client-secret`))

	// The Admin REST API's events, saved with curl | jq: EventRepresentation's
	// fields in Keycloak's order.
	type event struct {
		Time      int64             `json:"time"`
		Type      string            `json:"type"`
		RealmID   string            `json:"realmId"`
		ClientID  string            `json:"clientId"`
		UserID    *string           `json:"userId"`
		IPAddress string            `json:"ipAddress"`
		Error     string            `json:"error,omitempty"`
		Details   map[string]string `json:"details"`
	}
	exportEvents := []event{
		{Time: export.issued.UnixMilli(), Type: "CLIENT_LOGIN", RealmID: "acme", ClientID: export.client, UserID: &export.sub,
			IPAddress: "10.1.5.5", Details: map[string]string{"token_id": export.jti, "grant_type": "client_credentials", "scope": "profile email", "username": "service-account-batch"}},
		{Time: export.issued.Add(time.Minute).UnixMilli(), Type: "LOGIN_ERROR", RealmID: "acme", ClientID: "payments-web",
			IPAddress: "203.0.113.9", Error: "invalid_user_credentials", Details: map[string]string{"username": "alice"}},
	}
	pretty, err := json.MarshalIndent(exportEvents, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	write("keycloak/events-acme.json", string(pretty)+"\n")

	// nginx in Docker, json-file logging driver.
	nginxLine := func(ts time.Time, ip, raw string) string {
		inner := ip + ` - - [` + ts.Format("02/Jan/2006:15:04:05 -0700") + `] "GET /api/invoices HTTP/1.1" 200 512 "-" "curl/8.5.0" "Bearer ` + raw + `"` + "\n"
		b, _ := json.Marshal(map[string]string{"log": inner, "stream": "stdout", "time": ts.Add(137 * time.Microsecond).UTC().Format(time.RFC3339Nano)})
		return string(b) + "\n"
	}
	write("docker/billing-nginx-json.log", ""+
		nginxLine(journald.issued.Add(20*time.Second), "10.1.2.3", journald.raw)+
		nginxLine(syslog.issued.Add(30*time.Second), "10.1.2.4", syslog.raw)+
		nginxLine(forged.issued.Add(40*time.Second), "198.51.100.23", forged.raw))

	// Envoy (Istio) in Kubernetes, the kubelet's CRI file; one line is over
	// containerd's 16 KiB and split into partial lines.
	envoyLine := func(start time.Time, ip, ua, raw string) string {
		b, _ := json.Marshal(map[string]any{"start_time": start.UTC().Format("2006-01-02T15:04:05.000Z"), "method": "GET", "path": "/reports/17",
			"protocol": "HTTP/1.1", "response_code": 200, "response_flags": "-", "bytes_received": 0, "bytes_sent": 912, "duration": 12,
			"x_forwarded_for": ip, "user_agent": ua, "request_id": "5e3f0a1b-2c3d-4e5f-8a9b-0c1d2e3f4a5b", "authority": "reports.acme.test",
			"upstream_host": "10.244.2.31:8080", "upstream_cluster": "outbound|8080||reports-api.reports.svc.cluster.local",
			"downstream_remote_address": ip + ":40112", "authorization": "Bearer " + raw})
		return string(b)
	}
	cri := func(ts time.Time, tag, msg string) string {
		return ts.UTC().Format(time.RFC3339Nano) + " stdout " + tag + " " + msg + "\n"
	}
	long := envoyLine(wildfly.issued.Add(30*time.Second), "10.1.2.5", "Mozilla/5.0 "+strings.Repeat("(padding) ", 1800), wildfly.raw)
	if len(long) <= 16<<10 {
		t.Fatalf("the long line is %d bytes", len(long))
	}
	split := 16 << 10
	write("pods/istio-system_istio-ingressgateway-7d9f_0a1b/istio-proxy/0.log", ""+
		cri(wildfly.issued.Add(30*time.Second+12*time.Millisecond), "P", long[:split])+
		cri(wildfly.issued.Add(30*time.Second+12*time.Millisecond), "F", long[split:])+
		cri(export.issued.Add(10*time.Second), "F", envoyLine(export.issued.Add(10*time.Second), "10.1.5.5", "python-requests/2.31", export.raw))+
		cri(forged.issued.Add(50*time.Second), "F", envoyLine(forged.issued.Add(50*time.Second), "198.51.100.23", "python-requests/2.31", forged.raw)))

	casePath := filepath.Join(dir, "case.duckdb")
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"hunt", "--key", keyPath, "--tz", "Europe/Berlin",
		"--exposed-from", "2026-03-01T00:00:00Z", "--case", casePath, "--format", "jsonl", "--quiet", logs}, nil, &stdout, &stderr)
	if code != exitFindings {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr.String())
	}

	query := func(sql string) []map[string]any {
		t.Helper()
		var out, errOut bytes.Buffer
		if code := run(context.Background(), []string{"query", "--case", casePath, "--format", "jsonl", sql}, nil, &out, &errOut); code != 0 {
			t.Fatalf("query exit %d: %s", code, errOut.String())
		}
		var rows []map[string]any
		dec := json.NewDecoder(&out)
		for dec.More() {
			var row map[string]any
			if err := dec.Decode(&row); err != nil {
				t.Fatal(err)
			}
			rows = append(rows, row)
		}
		return rows
	}

	// Every file: its format, envelope and counts.
	wantSources := map[string]string{
		"docker/billing-nginx-json.log": "nginx docker-json read=3 sightings=3 issuances=0 rejects=0",
		"keycloak/events-acme.json":     "keycloak - read=2 sightings=0 issuances=1 rejects=0",
		"keycloak/journal.log":          "keycloak syslog read=3 sightings=0 issuances=1 rejects=0",
		"keycloak/syslog.log":           "keycloak syslog-rfc5424 read=2 sightings=0 issuances=1 rejects=0",
		"keycloak/wildfly-kubectl.log":  "keycloak timestamp read=2 sightings=0 issuances=1 rejects=0",
		"pods/istio-system_istio-ingressgateway-7d9f_0a1b/istio-proxy/0.log": "envoy-json cri read=3 sightings=3 issuances=0 rejects=0",
	}
	rows := query(`SELECT path, format, coalesce(envelope, '-') AS envelope, records_read, sightings, issuances, rejects, status FROM sources ORDER BY path`)
	if len(rows) != len(wantSources) {
		t.Errorf("%d sources, want %d: %v", len(rows), len(wantSources), rows)
	}
	for _, r := range rows {
		rel, err := filepath.Rel(logs, fmt.Sprint(r["path"]))
		if err != nil {
			t.Fatal(err)
		}
		got := fmt.Sprintf("%v %v read=%v sightings=%v issuances=%v rejects=%v", r["format"], r["envelope"], r["records_read"], r["sightings"], r["issuances"], r["rejects"])
		if want := wantSources[filepath.ToSlash(rel)]; got != want || r["status"] != "complete" {
			t.Errorf("%s: %s (%v), want %s", rel, got, r["status"], want)
		}
	}

	// Every issuance, with its id, subject, client and time.
	rows = query(`SELECT artifact_id, subject, audience, epoch_ms(issued_at) AS ms, src_file, src_line FROM issuances ORDER BY artifact_id`)
	if len(rows) != len(issued) {
		t.Fatalf("%d issuances, want %d: %v", len(rows), len(issued), rows)
	}
	for i, tok := range issued {
		r := rows[i]
		if r["artifact_id"] != tok.jti || r["subject"] != tok.sub || r["audience"] != tok.client || r["ms"] != float64(tok.issued.UnixMilli()) {
			t.Errorf("issuance %v, want id %s subject %s client %s at %v (ms %d)", r, tok.jti, tok.sub, tok.client, tok.issued, tok.issued.UnixMilli())
		}
	}
	if r := rows[3]; r["src_line"] != float64(2) || !strings.HasSuffix(fmt.Sprint(r["src_file"]), "events-acme.json") {
		t.Errorf("export issuance at %v:%v, want events-acme.json:2 (where its element starts)", r["src_file"], r["src_line"])
	}

	// The forged token is found; the issued ones are not.
	keyOf := func(raw string) string {
		sum := sha256.Sum256([]byte(raw))
		return "sha256:" + hex.EncodeToString(sum[:])
	}
	high := map[string]bool{}
	all := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
		var f struct {
			RuleID      string `json:"rule_id"`
			Level       string `json:"level"`
			ArtifactKey string `json:"artifact_key"`
		}
		if err := json.Unmarshal([]byte(line), &f); err != nil {
			t.Fatalf("bad finding %q: %v", line, err)
		}
		all[f.ArtifactKey] = append(all[f.ArtifactKey], f.RuleID+"/"+f.Level)
		if rules.LevelRank(f.Level) >= rules.LevelRank("high") {
			high[f.ArtifactKey] = true
		}
	}
	if !high[keyOf(forged.raw)] {
		t.Errorf("forged token not found at high or above; findings: %v", all)
	}
	for _, tok := range issued {
		if f := all[keyOf(tok.raw)]; len(f) > 0 {
			t.Errorf("issued token %s has findings %v", tok.jti, f)
		}
	}
	rows = query(`SELECT count(*) AS n FROM sightings`)
	if rows[0]["n"] != float64(6) {
		t.Errorf("%v sightings, want 6", rows[0]["n"])
	}
}
