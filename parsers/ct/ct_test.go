package ct

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/sunlight"
	ct "github.com/google/certificate-transparency-go"
	"github.com/google/certificate-transparency-go/tls"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/forgehunt/forgehunt/parsers/record"
	"github.com/forgehunt/forgehunt/parsers/record/recordtest"
)

var t0 = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func newTestCA(t testing.TB) *testCA {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Example Issuing CA 1"},
		NotBefore: t0.AddDate(-1, 0, 0), NotAfter: t0.AddDate(5, 0, 0), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return &testCA{cert: c, key: key}
}

func (ca *testCA) leaf(t testing.TB, serial int64, precert bool, name string) []byte {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
		NotBefore: t0, NotAfter: t0.AddDate(0, 0, 90)}
	if precert {
		tmpl.ExtraExtensions = []pkix.Extension{{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 11129, 2, 4, 3}, Critical: true, Value: asn1.NullRawValue.FullBytes}}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, key.Public(), ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// getEntry is the get-entries JSON entry of der (an x509 entry, or a
// precert entry with tbs as the leaf's TBS).
func (ca *testCA) getEntry(t testing.TB, der []byte, precert bool, ts uint64) map[string]string {
	leaf := ct.MerkleTreeLeaf{Version: ct.V1, LeafType: ct.TimestampedEntryLeafType,
		TimestampedEntry: &ct.TimestampedEntry{Timestamp: ts}}
	var extra []byte
	var err error
	if precert {
		c, _ := x509.ParseCertificate(der)
		leaf.TimestampedEntry.EntryType = ct.PrecertLogEntryType
		leaf.TimestampedEntry.PrecertEntry = &ct.PreCert{IssuerKeyHash: sha256.Sum256(ca.cert.RawSubjectPublicKeyInfo), TBSCertificate: c.RawTBSCertificate}
		extra, err = tls.Marshal(ct.PrecertChainEntry{PreCertificate: ct.ASN1Cert{Data: der}, CertificateChain: []ct.ASN1Cert{{Data: ca.cert.Raw}}})
	} else {
		leaf.TimestampedEntry.EntryType = ct.X509LogEntryType
		leaf.TimestampedEntry.X509Entry = &ct.ASN1Cert{Data: der}
		extra, err = tls.Marshal(ct.CertificateChain{Entries: []ct.ASN1Cert{{Data: ca.cert.Raw}}})
	}
	if err != nil {
		t.Fatal(err)
	}
	li, err := tls.Marshal(leaf)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]string{"leaf_input": base64.StdEncoding.EncodeToString(li), "extra_data": base64.StdEncoding.EncodeToString(extra)}
}

func TestGetEntries(t *testing.T) {
	ca := newTestCA(t)
	final, pre := ca.leaf(t, 10, false, "www.example.com"), ca.leaf(t, 11, true, "pay.example.com")
	entries := []map[string]string{
		ca.getEntry(t, final, false, 1772323200000),
		ca.getEntry(t, pre, true, 1772323201000),
		{"leaf_input": "!!!", "extra_data": ""},
		// a leaf that decodes with a broken chain: the certificate is still hunted
		{"leaf_input": ca.getEntry(t, final, false, 1772323202000)["leaf_input"], "extra_data": "AAAFAQ=="},
	}
	body, _ := json.Marshal(map[string]any{"entries": entries})
	dir := filepath.Join(t.TempDir(), "examplelog")
	os.MkdirAll(dir, 0o755)
	name := filepath.Join(dir, "examplelog-4096-4099.json")
	if !GetEntries.Sniff([][]byte{body}) {
		t.Fatal("sniff")
	}
	c, err := recordtest.Parse(GetEntries, name, body, record.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Sightings) != 3 || len(c.Rejects) != 2 || c.Accounted() != 4 {
		// the salvaged entry is a sighting and a reject
		t.Fatalf("got %d sightings, %d rejects, %d ignores", len(c.Sightings), len(c.Rejects), len(c.Ignores))
	}
	s := c.Sightings[0]
	if s.Observer != "examplelog" || record.RawArtifactKey(s.Kind, s.Raw) != record.CertKey(final) || !s.ObservedAt.Equal(time.UnixMilli(1772323200000)) ||
		!strings.Contains(s.Attrs, `"log_index":4096`) || s.Kind != record.KindX509 || s.Source != record.SourceCT {
		t.Errorf("x509 entry: %+v", s)
	}
	p := c.Sightings[1]
	if record.RawArtifactKey(p.Kind, p.Raw) != record.CertKey(pre) || !strings.Contains(p.Attrs, `"precert_entry"`) || !strings.Contains(p.Attrs, `"log_index":4097`) ||
		!strings.Contains(p.Raw, "~") || !strings.Contains(p.Raw, ".") {
		t.Errorf("precert entry: %+v", p)
	}
	if !strings.Contains(c.Rejects[0].Reason, "log index 4098") || !strings.Contains(c.Rejects[0].Reason, "base64") {
		t.Errorf("reject: %+v", c.Rejects[0])
	}
	if c.Sightings[2].Salvaged == "" || record.RawArtifactKey("x509", c.Sightings[2].Raw) != record.CertKey(final) {
		t.Errorf("salvaged: %+v", c.Sightings[2])
	}
	recordtest.CheckInvariants(t, GetEntries, body)
}

func TestGetEntriesWrapperAndLines(t *testing.T) {
	ca := newTestCA(t)
	e := ca.getEntry(t, ca.leaf(t, 5, false, "a.example.com"), false, 1772323200000)
	wrapped, _ := json.Marshal(map[string]any{"log": "argon2026h1", "start": 77, "entries": []any{e, e}})
	c, err := recordtest.Parse(GetEntries, "x.json", wrapped, record.Options{})
	if err != nil || len(c.Sightings) != 2 || c.Sightings[1].Observer != "argon2026h1" || !strings.Contains(c.Sightings[1].Attrs, `"log_index":78`) {
		t.Fatalf("wrapper: %v %+v", err, c)
	}
	line, _ := json.Marshal(e)
	lines := append(append(line, '\n'), line...)
	if c, err = recordtest.Parse(GetEntries, "dump.jsonl", lines, record.Options{}); err != nil || len(c.Sightings) != 2 {
		t.Fatalf("lines: %v %+v", err, c)
	}
	if c.Sightings[0].Observer == "" || strings.Contains(c.Sightings[0].Attrs, "log_index") {
		t.Errorf("an entry without a known index: %+v", c.Sightings[0])
	}
}

func writeTile(t *testing.T, root string, n int64, w int, entries []*sunlight.LogEntry) string {
	var data []byte
	for _, e := range entries {
		data = sunlight.AppendTileLeaf(data, e)
	}
	p := filepath.Join(root, filepath.FromSlash(sunlight.TilePath(tlog.Tile{H: 8, L: -1, N: n, W: w})))
	os.MkdirAll(filepath.Dir(p), 0o755)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestTiles(t *testing.T) {
	ca := newTestCA(t)
	root := filepath.Join(t.TempDir(), "examplelog")
	var full []*sunlight.LogEntry
	for i := range 256 {
		der := ca.leaf(t, int64(100+i), i%2 == 1, fmt.Sprintf("h%d.example.com", i))
		e := &sunlight.LogEntry{Certificate: der, LeafIndex: int64(256 + i), Timestamp: 1772323200000 + int64(i),
			ChainFingerprints: [][32]byte{sha256.Sum256(ca.cert.Raw)}}
		if i%2 == 1 {
			c, _ := x509.ParseCertificate(der)
			e.IsPrecert, e.PreCertificate, e.Certificate = true, der, c.RawTBSCertificate
			e.IssuerKeyHash = sha256.Sum256(ca.cert.RawSubjectPublicKeyInfo)
		}
		full = append(full, e)
	}
	fullPath := writeTile(t, root, 1, 256, full)
	partialPath := writeTile(t, root, 1, 100, full[:100])
	os.MkdirAll(filepath.Join(root, "issuer"), 0o755)
	fp := sha256.Sum256(ca.cert.Raw)
	os.WriteFile(filepath.Join(root, "issuer", fmt.Sprintf("%x", fp)), ca.cert.Raw, 0o644)
	os.WriteFile(filepath.Join(root, "checkpoint"), []byte("example.log/2026\n512\nAAAA\n\n— sig\n"), 0o644)

	data, _ := os.ReadFile(fullPath)
	if !Tile.(record.FileSniffer).SniffFile(fullPath, data) || Tile.(record.FileSniffer).SniffFile("/var/log/x.log", data) {
		t.Fatal("tile sniff")
	}
	c, err := recordtest.Parse(Tile, fullPath, data, record.Options{})
	if err != nil || len(c.Sightings) != 256 {
		t.Fatalf("full tile: %v, %d sightings, %d rejects", err, len(c.Sightings), len(c.Rejects))
	}
	s := c.Sightings[1]
	if s.Observer != "example.log/2026" || !strings.Contains(s.Attrs, `"log_index":257`) || record.RawArtifactKey(s.Kind, s.Raw) != record.CertKey(full[1].PreCertificate) ||
		!strings.Contains(s.Raw, ".") {
		t.Errorf("precert entry of a tile: %+v", s)
	}
	// the partial tile's entries are the full tile's: ignored
	pdata, _ := os.ReadFile(partialPath)
	if c, err = recordtest.Parse(Tile, partialPath, pdata, record.Options{}); err != nil || len(c.Sightings) != 0 || len(c.Ignores) != 100 {
		t.Fatalf("partial beside its full tile: %v, %d sightings, %d ignores", err, len(c.Sightings), len(c.Ignores))
	}
	// a truncated tile: the entries before the break stand, the break is rejected with its index
	cut := data[:len(data)/2]
	if c, err = recordtest.Parse(Tile, fullPath, cut, record.Options{}); err != nil || len(c.Rejects) != 1 || len(c.Sightings) == 0 ||
		!strings.Contains(c.Rejects[0].Reason, "log index") {
		t.Fatalf("truncated tile: %v %d %+v", err, len(c.Sightings), c.Rejects)
	}
	// a partial tile alone is read
	os.Remove(fullPath)
	if c, err = recordtest.Parse(Tile, partialPath, pdata, record.Options{}); err != nil || len(c.Sightings) != 100 {
		t.Fatalf("partial alone: %v, %d sightings", err, len(c.Sightings))
	}
	recordtest.CheckInvariants(t, Tile, data)
}

func TestCrtSh(t *testing.T) {
	body := []byte(`[{"issuer_ca_id":16418,"issuer_name":"C=US, O=Example Corp, CN=Example Issuing CA 1","common_name":"www.example.com","name_value":"www.example.com\nexample.com","id":9000000001,"entry_timestamp":"2026-03-01T00:00:01.5","not_before":"2026-03-01T00:00:00","not_after":"2026-05-30T00:00:00","serial_number":"0a1b2c","result_count":2},
{"issuer_ca_id":16418,"issuer_name":"C=US, O=Example Corp, CN=Example Issuing CA 1","id":9000000002,"serial_number":"zz"}]`)
	if !CrtSh.Sniff([][]byte{body}) || GetEntries.Sniff([][]byte{body}) {
		t.Fatal("sniff")
	}
	c, err := recordtest.Parse(CrtSh, "crtsh.json", body, record.Options{})
	if err != nil || len(c.Sightings) != 1 || len(c.Rejects) != 1 {
		t.Fatalf("%v %+v", err, c)
	}
	s := c.Sightings[0]
	if s.ArtifactID != "a1b2c" || s.Issuer != record.CanonicalDN("/C=US/O=Example Corp/CN=Example Issuing CA 1") || s.Raw != "" ||
		!strings.Contains(s.Attrs, `"names":["example.com","www.example.com"]`) {
		t.Errorf("%+v", s)
	}
	recordtest.CheckInvariants(t, CrtSh, body)
}

func TestBundle(t *testing.T) {
	ca := newTestCA(t)
	a, b := ca.leaf(t, 1, false, "a.example.com"), ca.leaf(t, 2, false, "b.example.com")
	text := "subject=CN=a.example.com\n" + string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: a})) +
		"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n" +
		string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: b})) +
		"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n"
	c, err := recordtest.Parse(Bundle, "chain.pem", []byte(text), record.Options{})
	if err != nil || len(c.Sightings) != 2 || len(c.Ignores) != 1 || len(c.Rejects) != 1 {
		t.Fatalf("%v %+v", err, c)
	}
	if c.Sightings[0].Pos.Line != 2 || record.RawArtifactKey("x509", c.Sightings[0].Raw) != record.CertKey(a) || record.RawArtifactKey("x509", c.Sightings[1].Raw) != record.CertKey(b) {
		t.Errorf("%+v", c.Sightings)
	}
	for _, r := range c.Rejects {
		if strings.Contains(r.Excerpt, "AAAA") {
			t.Error("a private key block's content was kept")
		}
	}
	if !Bundle.(record.FileSniffer).SniffFile("a.der", a) {
		t.Error("DER not sniffed")
	}
	if c, err = recordtest.Parse(Bundle, "a.der", a, record.Options{}); err != nil || len(c.Sightings) != 1 || record.RawArtifactKey("x509", c.Sightings[0].Raw) != record.CertKey(a) {
		t.Fatalf("der: %v %+v", err, c)
	}
	recordtest.CheckInvariants(t, Bundle, []byte(text))
}

func FuzzParse(f *testing.F) {
	ca := newTestCA(f)
	e := ca.getEntry(f, ca.leaf(f, 5, false, "a.example.com"), false, 1)
	body, _ := json.Marshal(map[string]any{"entries": []any{e}})
	f.Add(body)
	f.Add([]byte(`[{"issuer_ca_id":1,"serial_number":"0a","name_value":"a"}]`))
	f.Add(sunlight.AppendTileLeaf(nil, &sunlight.LogEntry{Certificate: ca.cert.Raw, LeafIndex: 3}))
	f.Add(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.cert.Raw}))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, format := range []record.Format{GetEntries, Tile, CrtSh, Bundle} {
			recordtest.CheckInvariants(t, format, data)
		}
	})
}
