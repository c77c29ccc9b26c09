package ctincident

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"filippo.io/sunlight"
	cttls "github.com/google/certificate-transparency-go/tls"
	"golang.org/x/mod/sumdb/tlog"
)

// writer writes the incident's files under dir and remembers their names.
type writer struct {
	dir   string
	files []string
}

func (w *writer) write(rel string, data []byte) error {
	p := filepath.Join(w.dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("ctincident: %w", err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		return fmt.Errorf("ctincident: %w", err)
	}
	w.files = append(w.files, rel)
	return nil
}

// keys writes the exposed intermediate's certificate (the analyst's exposed
// key) and its root.
func (w *writer) keys(p *pkiSet) error {
	if err := w.write(ExposedKeyFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.exposed.der})); err != nil {
		return err
	}
	return w.write(RootFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.root.der}))
}

// ledger writes every certificate the exposed CA issued as a CSV ledger in
// the forms people export: kind "certificate", the issuer in OpenSSL's
// one-line form, the serial upper-case colon hex, names joined with ";",
// the DER's sha256 on some rows.
func (w *writer) ledger(sc *scenario) error {
	var b strings.Builder
	cw := csv.NewWriter(&b)
	cw.Write([]string{"kind", "issuer", "artifact_id", "subject", "names", "issued_at", "expires_at", "raw_sha256"})
	for _, a := range sc.artifacts {
		if !a.ledger {
			continue
		}
		raw := ""
		if a.ledgerRaw {
			sum := sha256.Sum256(a.der)
			raw = hex.EncodeToString(sum[:])
		}
		cw.Write([]string{"certificate", ExposedIssuer, colonHex(a.serial.Bytes()), a.names[0], strings.Join(a.names, ";"),
			a.notBefore.UTC().Format(time.RFC3339), a.notAfter.UTC().Format(time.RFC3339), raw})
	}
	cw.Flush()
	return w.write(LedgerFile, []byte(b.String()))
}

func colonHex(b []byte) string {
	parts := make([]string, len(b))
	for i, c := range b {
		parts[i] = fmt.Sprintf("%02X", c)
	}
	return strings.Join(parts, ":")
}

// stepCA writes step-ca's JSON request log (logrus' JSON formatter) of the
// certificates it signed: api.LogCertificate's fields on the request line.
func (w *writer) stepCA(sc *scenario) error {
	var b strings.Builder
	b.WriteString(`{"level":"info","msg":"Starting Smallstep CA/0.28.3 (linux/amd64)","time":"` + utc(windowFrom).Format(time.RFC3339) + `"}` + "\n")
	n := 0
	for _, a := range sc.artifacts {
		if !a.stepCA {
			continue
		}
		n++
		at := utc(a.requestAt)
		line := map[string]any{
			"level": "info", "msg": "", "time": at.Format(time.RFC3339),
			"fields.time": at.Format(time.RFC3339Nano), "request-id": fmt.Sprintf("d0%06dq", n),
			"remote-address": fmt.Sprintf("10.20.%d.%d", n/250, n%250+1), "name": "ca", "user-id": "",
			"method": "POST", "path": "/1.0/sign", "protocol": "HTTP/2.0", "status": 201, "size": 1650,
			"referer": "", "user-agent": "Smallstep CLI/0.28.2 (linux/amd64)",
			"duration": "3.1ms", "duration-ns": 3100000,
			"serial": a.serial.String(), "subject": a.names[0], "issuer": a.issuer.cert.Subject.CommonName,
			"sans":       map[string][]string{"dns": a.names},
			"valid-from": a.notBefore.UTC().Format(time.RFC3339), "valid-to": a.notAfter.UTC().Format(time.RFC3339),
			"public-key": "ECDSA P-256", "certificate": base64.StdEncoding.EncodeToString(a.der),
			"provisioner": provisionerName + " (" + sc.pki.provisionerKID + ")",
		}
		data, err := json.Marshal(line)
		if err != nil {
			return fmt.Errorf("ctincident: %w", err)
		}
		b.Write(data)
		b.WriteByte('\n')
	}
	return w.write(StepCAFile, []byte(b.String()))
}

// getEntries writes the log as get-entries responses of GetEntriesBatch
// entries, named examplelog-<start>-<end>.json.
func (w *writer) getEntries(sc *scenario) error {
	for start := 0; start < len(sc.entries); start += GetEntriesBatch {
		end := min(start+GetEntriesBatch, len(sc.entries))
		type leaf struct {
			LeafInput string `json:"leaf_input"`
			ExtraData string `json:"extra_data"`
		}
		resp := struct {
			Entries []leaf `json:"entries"`
		}{}
		for i := start; i < end; i++ {
			li, err := cttls.Marshal(sc.merkleTreeLeaf(i, nil))
			if err != nil {
				return fmt.Errorf("ctincident: leaf %d: %w", i, err)
			}
			resp.Entries = append(resp.Entries, leaf{
				LeafInput: base64.StdEncoding.EncodeToString(li),
				ExtraData: base64.StdEncoding.EncodeToString(sc.entries[i].art.extraData),
			})
		}
		data, err := json.Marshal(resp)
		if err != nil {
			return fmt.Errorf("ctincident: %w", err)
		}
		name := fmt.Sprintf("%s/examplelog-%d-%d.json", GetEntriesDir, start, end-1)
		if err := w.write(name, data); err != nil {
			return err
		}
	}
	return nil
}

// tiles writes the log as a static-ct-api tile set (when write is set) and
// returns its root hash (base64): full data tiles of 256 entries, the last
// one partial, a stale partial tile beside the first full tile (entries a
// mirror kept from before the tile filled), the issuer/ directory and the
// checkpoint.
func (w *writer) tiles(sc *scenario, write bool) (string, error) {
	n := len(sc.entries)
	hashes := make([]tlog.Hash, n)
	var tile []byte
	tileStart := 0
	flush := func(end int) error {
		if !write || end == tileStart {
			return nil
		}
		t := tlog.Tile{H: sunlight.TileHeight, L: -1, N: int64(tileStart / sunlight.TileWidth), W: end - tileStart}
		if err := w.write(TilesDir+"/"+sunlight.TilePath(t), tile); err != nil {
			return err
		}
		tile, tileStart = nil, end
		return nil
	}
	var stale []byte
	for i := range sc.entries {
		le := sc.tileEntry(i)
		hashes[i] = tlog.RecordHash(le.MerkleTreeLeaf())
		tile = sunlight.AppendTileLeaf(tile, le)
		if i == 99 && n >= sunlight.TileWidth {
			stale = append([]byte(nil), tile...)
		}
		if (i+1)%sunlight.TileWidth == 0 {
			if err := flush(i + 1); err != nil {
				return "", err
			}
		}
	}
	if err := flush(n); err != nil {
		return "", err
	}
	root := base64.StdEncoding.EncodeToString(treeHash(hashes))
	if !write {
		return root, nil
	}
	if stale != nil {
		t := tlog.Tile{H: sunlight.TileHeight, L: -1, N: 0, W: 100}
		if err := w.write(TilesDir+"/"+sunlight.TilePath(t), stale); err != nil {
			return "", err
		}
	}
	p := sc.pki
	for _, a := range []*authority{p.root, p.exposed, p.psc, p.foreignRoot, p.foreign, p.look} {
		sum := sha256.Sum256(a.der)
		if err := w.write(TilesDir+"/issuer/"+hex.EncodeToString(sum[:]), a.der); err != nil {
			return "", err
		}
	}
	text := LogOrigin + "\n" + strconv.Itoa(n) + "\n" + root + "\n"
	if err := w.write(TilesDir+"/checkpoint", []byte(text+"\n"+noteSignature(p.witnessKey, LogOrigin, text))); err != nil {
		return "", err
	}
	return root, nil
}

// noteSignature is a signed note's Ed25519 signature line (c2sp.org/signed-note).
func noteSignature(key ed25519.PrivateKey, name, text string) string {
	pub := key.Public().(ed25519.PublicKey)
	h := sha256.Sum256(append(append([]byte(name+"\n"), 0x01), pub...))
	sig := ed25519.Sign(key, []byte(text))
	var b []byte
	b = binary.BigEndian.AppendUint32(b, binary.BigEndian.Uint32(h[:4]))
	b = append(b, sig...)
	return "— " + name + " " + base64.StdEncoding.EncodeToString(b) + "\n"
}

// treeHash is the RFC 6962 Merkle tree hash of the leaf hashes.
func treeHash(h []tlog.Hash) []byte {
	switch len(h) {
	case 0:
		sum := sha256.Sum256(nil)
		return sum[:]
	case 1:
		return h[0][:]
	}
	k := 1
	for k*2 < len(h) {
		k *= 2
	}
	l, r := treeHash(h[:k]), treeHash(h[k:])
	sum := sha256.Sum256(append(append([]byte{1}, l...), r...))
	return sum[:]
}
