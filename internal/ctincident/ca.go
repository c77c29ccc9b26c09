package ctincident

import (
	"bytes"
	"cmp"
	"crypto"
	"crypto/sha256"
	"encoding/asn1"
	"encoding/base32"
	"encoding/base64"
	"encoding/binary"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"time"
)

// ledgerHeader is the CA's export of what it issued.
var ledgerHeader = []string{"kind", "issuer", "artifact_id", "subject", "names", "issued_at", "expires_at", "raw_sha256"}

// legitFinals returns the exposed CA's real final certificates by notBefore.
func (sc *scenario) legitFinals() []*artifact {
	var out []*artifact
	for _, a := range sc.artifacts {
		if a.ledger && !a.precert {
			out = append(out, a)
		}
	}
	slices.SortStableFunc(out, func(a, b *artifact) int { return a.notBefore.Compare(b.notBefore) })
	return out
}

// ledger writes ca/issued.csv: one row per certificate, the issuer in
// OpenSSL's one-line form, the serial as upper-case colon-separated hex,
// the names separated by ";", and the DER's SHA-256 on half the rows.
func (w *writer) ledger(sc *scenario) error {
	var buf bytes.Buffer
	cw := csv.NewWriter(&buf)
	if err := cw.Write(ledgerHeader); err != nil {
		return fmt.Errorf("ctincident: ledger: %w", err)
	}
	for _, a := range sc.legitFinals() {
		raw := ""
		if a.ledgerRaw {
			sum := sha256.Sum256(a.der)
			raw = hex.EncodeToString(sum[:])
		}
		row := []string{
			"certificate", ExposedIssuer, colonHex(a.serial), "/CN=" + a.names[0], strings.Join(a.names, ";"),
			a.notBefore.Format(time.RFC3339), a.notAfter.Format(time.RFC3339), raw,
		}
		if err := cw.Write(row); err != nil {
			return fmt.Errorf("ctincident: ledger: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("ctincident: ledger: %w", err)
	}
	return w.write(LedgerFile, buf.Bytes())
}

// colonHex formats a serial as 0A:1B:...
func colonHex(serial *big.Int) string {
	b := serial.Bytes()
	parts := make([]string, len(b))
	for i, x := range b {
		parts[i] = fmt.Sprintf("%02X", x)
	}
	return strings.Join(parts, ":")
}

// step-ca's request log, as its logging middleware writes it with the JSON
// formatter (logrus): one object per request, keys sorted, the request's
// start in "fields.time" (logrus renames the handler's "time", which it
// sets to the time of logging), and the sign handler's fields: ott, and
// serial (decimal), subject, issuer, sans, valid-from, valid-to,
// public-key, certificate and provisioner of the certificate issued.
const (
	stepCLIAgent    = "Smallstep CLI/0.28.6 (linux/amd64)"
	kubeProbeAgent  = "kube-probe/1.31"
	stepUnauthorize = `{"status":401,"message":"The request lacked necessary authorization to be completed. Please see the certificate authority logs for more info."}` + "\n"
)

var stepClients = []string{"10.20.1.15", "10.20.1.16", "10.20.3.7", "10.20.4.22", "10.20.4.23"}

// xidEncoding is github.com/rs/xid's alphabet, what step-ca's request ids use.
var xidEncoding = base32.NewEncoding("0123456789abcdefghijklmnopqrstuv").WithPadding(base32.NoPadding)

type stepRequest struct {
	at       int64 // ms of the request's start
	duration time.Duration
	fields   map[string]any
}

func (w *writer) stepCA(sc *scenario) error {
	p := sc.pki
	var reqs []stepRequest
	common := func(at int64, d time.Duration, method, path, proto string, status, size int, ip, agent string) map[string]any {
		return map[string]any{
			"remote-address": ip, "name": "ca", "user-id": "",
			"fields.time": utc(at).Format(time.RFC3339),
			"duration-ns": d.Nanoseconds(), "duration": d.String(),
			"method": method, "path": path, "protocol": proto,
			"status": status, "size": size, "referer": "", "user-agent": agent,
		}
	}
	caPEM := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.exposed.der}))
	for _, a := range sc.legitFinals() {
		if !a.stepCA {
			continue
		}
		// The request lasts until the precertificate is logged.
		d := time.Duration(a.precertOf.loggedAt-a.requestAt+40+sc.rng.Int64N(260))*time.Millisecond + time.Duration(sc.rng.IntN(1e6))
		leafPEM := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: a.der}))
		body, _ := json.Marshal(map[string]any{"crt": leafPEM, "ca": caPEM, "certChain": []string{leafPEM, caPEM}})
		ott, err := sc.ott(a.names, a.requestAt, false)
		if err != nil {
			return err
		}
		f := common(a.requestAt, d, "POST", "/1.0/sign", "HTTP/2.0", 201, len(body)+1, stepClients[sc.rng.IntN(len(stepClients))], stepCLIAgent)
		f["ott"] = ott
		f["serial"] = a.serial.String()
		f["subject"] = a.names[0]
		f["issuer"] = p.exposed.cert.Subject.CommonName
		f["sans"] = map[string][]string{"dns": a.names}
		f["valid-from"] = a.notBefore.Format(time.RFC3339)
		f["valid-to"] = a.notAfter.Format(time.RFC3339)
		f["public-key"] = "ECDSA P-256"
		f["certificate"] = base64.StdEncoding.EncodeToString(a.der)
		f["provisioner"] = provisionerName + " (" + p.provisionerKID + ")"
		reqs = append(reqs, stepRequest{a.requestAt, d, f})
	}
	// Sign requests refused for an expired token.
	for range 3 {
		at := sc.between(windowFrom, revokedAt)
		names := []string{legitHosts[sc.rng.IntN(len(legitHosts))] + ".example.com"}
		ott, err := sc.ott(names, at, true)
		if err != nil {
			return err
		}
		d := time.Duration(1+sc.rng.IntN(3))*time.Millisecond + time.Duration(sc.rng.IntN(1e6))
		f := common(at, d, "POST", "/1.0/sign", "HTTP/2.0", 401, len(stepUnauthorize), stepClients[sc.rng.IntN(len(stepClients))], stepCLIAgent)
		f["ott"] = ott
		f["error"] = "authority.Authorize: jwk.AuthorizeSign: jwk.authorizeToken: invalid jwk token: go-jose/go-jose/jwt: validation failed, token is expired (exp)"
		reqs = append(reqs, stepRequest{at, d, f})
	}
	// Health checks and root downloads.
	for t := windowFrom; t < revokedAt; t += 6 * hour {
		at := t + sc.rng.Int64N(6*hour)
		d := time.Duration(20+sc.rng.IntN(200)) * time.Microsecond
		reqs = append(reqs, stepRequest{at, d, common(at, d, "GET", "/health", "HTTP/1.1", 200, 16, "10.42.0.1", kubeProbeAgent)})
		if sc.rng.IntN(4) == 0 {
			at := t + sc.rng.Int64N(6*hour)
			body, _ := json.Marshal(map[string]any{"crts": []string{string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.root.der}))}})
			d := time.Duration(200+sc.rng.IntN(900)) * time.Microsecond
			reqs = append(reqs, stepRequest{at, d, common(at, d, "GET", "/1.0/roots", "HTTP/2.0", 200, len(body)+1, stepClients[sc.rng.IntN(len(stepClients))], stepCLIAgent)})
		}
	}
	// Lines are written when requests end.
	slices.SortStableFunc(reqs, func(a, b stepRequest) int {
		return cmp.Compare(a.at*1e6+int64(a.duration), b.at*1e6+int64(b.duration))
	})
	var buf bytes.Buffer
	counter := sc.rng.Uint32() & 0xffffff
	machine := sc.rng.Uint32()
	for _, r := range reqs {
		// An xid: seconds, machine, pid, counter.
		var id [12]byte
		binary.BigEndian.PutUint32(id[:4], uint32(r.at/1000))
		id[4], id[5], id[6] = byte(machine>>16), byte(machine>>8), byte(machine)
		binary.BigEndian.PutUint16(id[7:9], 1)
		counter++
		id[9], id[10], id[11] = byte(counter>>16), byte(counter>>8), byte(counter)
		r.fields["request-id"] = xidEncoding.EncodeToString(id[:])
		level := "info"
		if r.fields["status"].(int) >= 400 {
			level = "warning"
		}
		r.fields["level"] = level
		r.fields["msg"] = ""
		r.fields["time"] = utc(r.at + r.duration.Milliseconds()).Format(time.RFC3339)
		line, err := json.Marshal(r.fields)
		if err != nil {
			return fmt.Errorf("ctincident: step-ca log: %w", err)
		}
		buf.Write(line)
		buf.WriteByte('\n')
	}
	return w.write(StepCAFile, buf.Bytes())
}

// ott is the one-time token the step CLI sends to /1.0/sign: an ES256 JWT
// from the JWK provisioner, for names, made just before at (or long before,
// and so expired).
func (sc *scenario) ott(names []string, at int64, expired bool) (string, error) {
	p := sc.pki
	iat := at/1000 - 1 - sc.rng.Int64N(5)
	if expired {
		iat = at/1000 - 400 - sc.rng.Int64N(3000)
	}
	var jti [32]byte
	for i := range jti {
		jti[i] = byte(sc.rng.Uint32())
	}
	rootSum := sha256.Sum256(p.root.der)
	header, _ := json.Marshal(map[string]string{"alg": "ES256", "kid": p.provisionerKID, "typ": "JWT"})
	claims, _ := json.Marshal(map[string]any{
		"aud": stepCAAudience, "exp": iat + 300, "iat": iat, "iss": provisionerName,
		"jti": hex.EncodeToString(jti[:]), "nbf": iat, "sans": names,
		"sha": hex.EncodeToString(rootSum[:]), "sub": names[0],
	})
	b64 := base64.RawURLEncoding.EncodeToString
	signed := b64(header) + "." + b64(claims)
	digest := sha256.Sum256([]byte(signed))
	der, err := p.provisionerKey.Sign(nil, digest[:], crypto.SHA256) // nil: RFC 6979
	if err != nil {
		return "", fmt.Errorf("ctincident: ott: %w", err)
	}
	var rs struct{ R, S *big.Int }
	if _, err := asn1.Unmarshal(der, &rs); err != nil {
		return "", fmt.Errorf("ctincident: ott: %w", err)
	}
	var raw [64]byte
	rs.R.FillBytes(raw[:32])
	rs.S.FillBytes(raw[32:])
	return signed + "." + b64(raw[:]), nil
}
