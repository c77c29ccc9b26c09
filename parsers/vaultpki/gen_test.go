package vaultpki

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"flag"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var gen = flag.Bool("gen", false, "regenerate the testdata logs that hold certificates (new random keys and serials)")

// TestGenerateTestdata writes the testdata logs that carry certificates, as
// Vault's file audit device writes PKI responses with their serial_number,
// certificate or issuing_ca in clear (audit_non_hmac_response_keys, or
// log_raw). It runs only with -gen; the files are committed so tests are
// deterministic (then run -update for the goldens).
func TestGenerateTestdata(t *testing.T) {
	if !*gen {
		t.Skip("run with -gen to regenerate testdata")
	}
	t0 := time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)
	root := newCert(t, nil, pkix.Name{CommonName: "Example Root R1", Organization: []string{"Example Inc."}, Country: []string{"DE"}}, nil, nil, t0.Add(-30*time.Second), t0.Add(10*365*24*time.Hour), true)
	inter := newCert(t, root, pkix.Name{CommonName: "Example Issuing CA 1", Organization: []string{"Example Inc."}, Country: []string{"DE"}}, nil, nil, t0.Add(time.Minute-30*time.Second), t0.Add(5*365*24*time.Hour), true)
	leaf := func(cn string, dns []string, ips []string, at time.Time) *cert {
		return newCert(t, inter, pkix.Name{CommonName: cn}, dns, ips, at.Add(-30*time.Second), at.Add(72*time.Hour), false)
	}
	web := leaf("web.example.com", []string{"web.example.com"}, nil, t0.Add(2*time.Minute))
	api := leaf("api.example.com", []string{"api.example.com", "API2.example.com"}, []string{"10.1.0.5"}, t0.Add(3*time.Minute))
	der := leaf("db.example.com", []string{"db.example.com"}, nil, t0.Add(4*time.Minute))
	bundle := leaf("queue.example.com", []string{"queue.example.com"}, nil, t0.Add(5*time.Minute))
	verbatim := leaf("", []string{"legacy.example.com"}, nil, t0.Add(6*time.Minute))
	serialOnly := leaf("cache.example.com", []string{"cache.example.com"}, nil, t0.Add(7*time.Minute))
	nested := leaf("mq.example.com", []string{"mq.example.com"}, nil, t0.Add(8*time.Minute))
	oldVault := leaf("old.example.com", []string{"old.example.com"}, nil, t0.Add(9*time.Minute))
	sorted := leaf("sorted.example.com", []string{"sorted.example.com"}, nil, t0.Add(10*time.Minute))

	const fakeKey = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIMa1Zc0vYp9k2dM0vF1kq8Xn3h5H1Ayp0+1q2w3e4r5toAoGCCqGSM49\n-----END EC PRIVATE KEY-----"
	auth := obj{
		{"client_token", hmacOf("token")}, {"accessor", hmacOf("accessor")}, {"display_name", "approle-web"},
		{"policies", []string{"default", "pki-issue"}}, {"token_policies", []string{"default", "pki-issue"}},
		{"metadata", obj{{"role_name", "web"}}}, {"entity_id", "9c1d6e2a-4b5f-4c7d-8e9f-0a1b2c3d4e5f"},
		{"token_type", "service"}, {"token_ttl", 2764800}, {"token_issue_time", "2026-03-04T09:00:00Z"},
	}
	request := func(id, op, mount, path string, data obj) obj {
		r := obj{
			{"id", id}, {"client_id", "e1c3a7d2-0b9f-4a8e-9c6d-5f4e3d2c1b0a"}, {"operation", op},
			{"mount_point", mount}, {"mount_type", "pki"}, {"mount_accessor", "pki_1a2b3c4d"},
			{"mount_running_version", "v1.19.0+builtin.vault"}, {"mount_class", "secret"},
			{"client_token", hmacOf("token")}, {"client_token_accessor", hmacOf("accessor")},
			{"namespace", obj{{"id", "root"}}}, {"path", path},
		}
		if data != nil {
			r = append(r, kv{"data", data})
		}
		return append(r, kv{"remote_address", "10.0.0.5"}, kv{"remote_port", 51234})
	}
	response := func(at time.Time, req obj, mount string, data obj) string {
		return line(obj{
			{"time", at.Format(time.RFC3339Nano)}, {"auth", auth}, {"request", req},
			{"response", obj{{"mount_point", mount}, {"mount_type", "pki"}, {"mount_accessor", "pki_1a2b3c4d"},
				{"mount_running_plugin_version", "v1.19.0+builtin.vault"}, {"mount_class", "secret"}, {"data", data}}},
			{"type", "response"},
		})
	}
	leafData := func(c *cert, format string, withKey bool) obj {
		d := obj{{"ca_chain", []string{inter.pem(), root.pem()}}}
		switch format {
		case "der":
			d = append(d, kv{"certificate", base64.StdEncoding.EncodeToString(c.der)})
		case "pem_bundle":
			d = append(d, kv{"certificate", fakeKey + "\n" + c.pem() + "\n" + inter.pem()})
		default:
			d = append(d, kv{"certificate", c.pem()})
		}
		d = append(d, kv{"expiration", c.cert.NotAfter.Unix()}, kv{"issuing_ca", inter.pem()})
		if withKey {
			d = append(d, kv{"private_key", fakeKey}, kv{"private_key_type", "ec"})
		}
		return append(d, kv{"serial_number", c.serialHex()})
	}

	raw := []string{
		line(obj{{"time", t0.Format(time.RFC3339Nano)}, {"auth", auth}, {"request", request("r-root", "update", "pki/", "pki/root/generate/internal", obj{{"common_name", "Example Root R1"}, {"ttl", "87600h"}})}, {"type", "request"}}),
		response(t0.Add(time.Second), request("r-root", "update", "pki/", "pki/root/generate/internal", obj{{"common_name", "Example Root R1"}, {"ttl", "87600h"}}), "pki/", obj{
			{"certificate", root.pem()}, {"expiration", root.cert.NotAfter.Unix()}, {"issuer_id", "7b0a3c1e-2d4f-4e6a-9b8c-1d2e3f4a5b6c"},
			{"issuer_name", "root-2026"}, {"issuing_ca", root.pem()}, {"key_id", "5e4d3c2b-1a09-4f8e-7d6c-5b4a39281706"},
			{"key_name", ""}, {"serial_number", root.serialHex()},
		}),
		response(t0.Add(time.Minute), request("r-int", "update", "pki/", "pki/root/sign-intermediate", obj{{"csr", "-----BEGIN CERTIFICATE REQUEST-----\nMIIB...\n-----END CERTIFICATE REQUEST-----"}}), "pki/", obj{
			{"ca_chain", []string{inter.pem(), root.pem()}}, {"certificate", inter.pem()}, {"expiration", inter.cert.NotAfter.Unix()},
			{"issuing_ca", root.pem()}, {"serial_number", inter.serialHex()},
		}),
		response(t0.Add(2*time.Minute), request("r-web", "update", "pki_int/", "pki_int/issue/web", obj{{"common_name", "web.example.com"}}), "pki_int/", leafData(web, "pem", true)),
		response(t0.Add(3*time.Minute), request("r-api", "update", "pki_int/", "pki_int/issuer/default/issue/api", obj{{"common_name", "api.example.com"}, {"alt_names", "API2.example.com"}, {"ip_sans", "10.1.0.5"}}), "pki_int/", leafData(api, "pem", true)),
		response(t0.Add(4*time.Minute), request("r-der", "update", "pki_int/", "pki_int/sign/db", obj{{"csr", "-----BEGIN CERTIFICATE REQUEST-----\nMIIB...\n-----END CERTIFICATE REQUEST-----"}, {"format", "der"}}), "pki_int/", leafData(der, "der", false)),
		response(t0.Add(5*time.Minute), request("r-bundle", "update", "pki_int/", "pki_int/issue/queue", obj{{"common_name", "queue.example.com"}, {"format", "pem_bundle"}}), "pki_int/", leafData(bundle, "pem_bundle", true)),
		response(t0.Add(6*time.Minute), request("r-verbatim", "update", "pki_int/", "pki_int/sign-verbatim", obj{{"csr", "-----BEGIN CERTIFICATE REQUEST-----\nMIIB...\n-----END CERTIFICATE REQUEST-----"}}), "pki_int/", leafData(verbatim, "pem", false)),
		// the file device's prefix option, and an older Vault's key order (type first)
		"vault-audit: " + line(obj{
			{"type", "response"}, {"time", t0.Add(7 * time.Minute).Format(time.RFC3339Nano)}, {"auth", auth},
			{"request", request("r-old", "update", "pki_int/", "pki_int/issue/web", obj{{"common_name", "old.example.com"}})},
			{"response", obj{{"data", leafData(oldVault, "pem", true)}}},
		}),
	}
	write(t, "clear-cert.log", raw)

	serialKeys := func(c *cert, issuingCAClear bool) obj {
		ca := hmacOf(inter.pem())
		if issuingCAClear {
			ca = inter.pem()
		}
		return obj{
			{"ca_chain", []string{hmacOf("chain1"), hmacOf("chain2")}}, {"certificate", hmacOf(c.pem())},
			{"expiration", c.cert.NotAfter.Unix()}, {"issuing_ca", ca}, {"private_key", hmacOf("key")},
			{"private_key_type", hmacOf("ec")}, {"serial_number", c.serialHex()},
		}
	}
	sortedEntry, err := json.Marshal(map[string]any{
		"time": t0.Add(10 * time.Minute).Format(time.RFC3339Nano), "type": "response",
		"auth": map[string]any{"client_token": hmacOf("token"), "display_name": "token", "policies": []string{"root"}},
		"request": map[string]any{"id": "r-sorted", "operation": "update", "mount_point": "pki_int/", "mount_type": "pki",
			"path": "pki_int/issue/web", "remote_address": "10.0.0.9"},
		"response": map[string]any{"mount_point": "pki_int/", "mount_type": "pki", "data": serialKeys(sorted, false)},
	})
	if err != nil {
		t.Fatal(err)
	}
	write(t, "clear-serial.log", []string{
		response(t0.Add(7*time.Minute), request("r-cache", "update", "pki_int/", "pki_int/issue/cache", obj{{"common_name", hmacOf("cache.example.com")}}), "pki_int/", serialKeys(serialOnly, true)),
		response(t0.Add(8*time.Minute), request("r-mq", "update", "pki/int/", "pki/int/issue/mq", nil), "pki/int/", serialKeys(nested, false)),
		// an older Vault that logs no mount_type or mount_point
		line(obj{{"time", t0.Add(9 * time.Minute).Format(time.RFC3339Nano)}, {"type", "response"}, {"auth", obj{{"display_name", "root"}}},
			{"request", obj{{"id", "r-nomount"}, {"operation", "update"}, {"path", "pki/issue/web"}, {"remote_address", "10.0.0.6"}}},
			{"response", obj{{"data", serialKeys(oldVault, false)}}}}),
		string(sortedEntry),
	})

	other := leaf("other.example.com", []string{"other.example.com"}, nil, t0)
	mismatch := leafData(other, "pem", false)
	mismatch[len(mismatch)-1] = kv{"serial_number", "01:02:03"}
	garbage := leafData(other, "pem", false)
	garbage[1] = kv{"certificate", "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----"}
	keyOnly := leafData(other, "pem", false)
	keyOnly[1] = kv{"certificate", fakeKey}
	write(t, "rejects-cert.log", []string{
		response(t0, request("x1", "update", "pki/", "pki/issue/web", nil), "pki/", mismatch),
		response(t0, request("x2", "update", "pki/", "pki/issue/web", nil), "pki/", garbage),
		response(t0, request("x3", "update", "pki/", "pki/issue/web", nil), "pki/", keyOnly),
	})
}

// kv and obj write JSON objects with their keys in a given order, as
// Vault's audit entries (Go structs) are written.
type kv struct {
	k string
	v any
}

type obj []kv

func (o obj) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, f := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(f.k)
		v, err := json.Marshal(f.v)
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func line(o obj) string {
	b, err := json.Marshal(o)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// hmacOf is a stand-in for the audit device's HMAC of s (the real one is
// keyed with the device's salt).
func hmacOf(s string) string {
	sum := 0
	for _, c := range s {
		sum = sum*31 + int(c)
	}
	return fmt.Sprintf("hmac-sha256:%064x", uint64(sum))
}

type cert struct {
	cert *x509.Certificate
	der  []byte
	key  *ecdsa.PrivateKey
}

func (c *cert) pem() string {
	return strings.TrimSpace(string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.der})))
}

// serialHex is the serial as Vault writes it: its bytes in lower-case hex,
// joined with colons.
func (c *cert) serialHex() string {
	b := c.cert.SerialNumber.Bytes()
	parts := make([]string, len(b))
	for i, x := range b {
		parts[i] = fmt.Sprintf("%02x", x)
	}
	return strings.Join(parts, ":")
}

// newCert issues a certificate as Vault does: a random 20-byte serial; a
// nil parent makes it self-signed.
func newCert(t *testing.T, parent *cert, subject pkix.Name, dns, ips []string, notBefore, notAfter time.Time, isCA bool) *cert {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 159))
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               subject,
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		DNSNames:              dns,
		IsCA:                  isCA,
		BasicConstraintsValid: isCA,
	}
	for _, ip := range ips {
		tmpl.IPAddresses = append(tmpl.IPAddresses, net.ParseIP(ip))
	}
	signer, signerCert := key, tmpl
	if parent != nil {
		signer, signerCert = parent.key, parent.cert
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signerCert, key.Public(), signer)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &cert{c, der, key}
}

func write(t *testing.T, name string, lines []string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join("testdata", name), []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}
