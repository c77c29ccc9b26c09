package record

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
)

// Code signatures (cosign, Sigstore bundles, Rekor entries) are artifacts of
// kind signature. Their raw form is SigRaw's encoding: what was signed, the
// signature, and the signer's material as the log or bundle carried it, so
// that the signature kind can verify it without going back to the input.

// Signature artifact types (SigRaw.Type).
const (
	// SigMessage: a signature over a digest (Rekor hashedrekord, a bundle's
	// messageSignature, a cosign .sig manifest's layer).
	SigMessage = "message"
	// SigDSSE: a signature over a DSSE envelope's PAE (Rekor dsse and
	// intoto entries, a bundle's dsseEnvelope).
	SigDSSE = "dsse"
)

// SigRaw is one signature and what it signs. Byte fields are base64 (std)
// in the encoding.
type SigRaw struct {
	Type string `json:"t"` // SigMessage or SigDSSE
	Sig  []byte `json:"sig"`
	// Digest is the digest a message signature signs, canonical
	// (CanonicalDigest): the blob's, or for a cosign image signature the
	// simple-signing payload's.
	Digest string `json:"digest,omitempty"`
	// PayloadType and Payload are a DSSE envelope's; Payload is also the
	// signed payload of a message signature when the input carries it (a
	// simple-signing payload). Nil when the input holds only its hash.
	PayloadType string `json:"pt,omitempty"`
	Payload     []byte `json:"payload,omitempty"`
	// PayloadHash is the canonical sha256 of a DSSE payload when Payload is
	// absent (Rekor's dsse and intoto entries keep only the hash).
	PayloadHash string `json:"payload_hash,omitempty"`
	// PublicKey is the DER SPKI of the public key the input names as the
	// signer (a hashedrekord's publicKey, a bundle's public key material
	// when it is a key); Certs the signer's certificate chain, leaf first
	// (DER). At most one of them is usually set.
	PublicKey []byte   `json:"key,omitempty"`
	Certs     [][]byte `json:"certs,omitempty"`
	// KeyHint is the bundle's publicKey hint or the DSSE signature's keyid.
	KeyHint string `json:"hint,omitempty"`
}

// Encode is r's raw artifact text (compact JSON, fields in a fixed order).
func (r *SigRaw) Encode() string {
	b, _ := json.Marshal(r) // only strings and byte slices: cannot fail
	return string(b)
}

// DecodeSigRaw reads a raw signature artifact.
func DecodeSigRaw(s string) (*SigRaw, error) {
	var r SigRaw
	d := json.NewDecoder(strings.NewReader(s))
	d.DisallowUnknownFields()
	if err := d.Decode(&r); err != nil {
		return nil, errors.New("not a raw signature artifact: " + err.Error())
	}
	if d.More() {
		return nil, errors.New("not a raw signature artifact: trailing data")
	}
	switch r.Type {
	case SigMessage:
		if r.Digest == "" && r.Payload == nil {
			return nil, errors.New("message signature without a digest")
		}
	case SigDSSE:
		if r.Payload == nil && r.PayloadHash == "" {
			return nil, errors.New("DSSE signature without a payload or its hash")
		}
	default:
		return nil, errors.New("unknown signature type " + strconv.QuoteToASCII(r.Type))
	}
	if len(r.Sig) == 0 {
		return nil, errors.New("empty signature")
	}
	return &r, nil
}

// Signed is the canonical digest of what r's signature signs: a message
// signature's digest (or its payload's sha256), a DSSE signature's
// payload hash (the payload's sha256 when it is there).
func (r *SigRaw) Signed() string {
	switch {
	case r.Type == SigDSSE && r.Payload != nil:
		return SHA256Digest(r.Payload)
	case r.Type == SigDSSE:
		return r.PayloadHash
	case r.Digest != "":
		return r.Digest
	default:
		return SHA256Digest(r.Payload)
	}
}

// Key is the artifact key of r: the sha256 of the signature bytes with the
// digest they sign, so the same signature met in two Rekor entries, a
// bundle and an OCI manifest is one artifact, and its signer's material,
// which an input may present differently (a key, a certificate), is not
// part of it.
func (r *SigRaw) Key() string { return SigKey(r.Sig, r.Signed()) }

// SigKey is the artifact key of signature sig over the canonical digest
// signed.
func SigKey(sig []byte, signed string) string {
	h := sha256.New()
	h.Write([]byte("sig\x00"))
	h.Write(sig)
	h.Write([]byte{0})
	h.Write([]byte(signed))
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// SHA256Digest is the canonical digest of b ("sha256:" and lower-case hex).
func SHA256Digest(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// CanonicalDigest is a digest as "<alg>:<lower-case hex>" from the forms
// logs write it in: "sha256:ABC…", "SHA2_256" with the hex apart (a
// bundle's HashAlgorithm), an in-toto DigestSet key ("sha256", "sha512",
// "gitCommit"). alg may be empty when d already carries it. The hex must be
// the length the algorithm has, where it is known.
func CanonicalDigest(alg, d string) (string, error) {
	d = strings.TrimSpace(d)
	if alg == "" {
		i := strings.IndexByte(d, ':')
		if i < 0 {
			return "", errors.New("digest without an algorithm")
		}
		alg, d = d[:i], d[i+1:]
	}
	alg = strings.ToLower(strings.TrimSpace(alg))
	alg = strings.NewReplacer("-", "", "_", "").Replace(alg)
	switch alg {
	case "sha2256":
		alg = "sha256"
	case "sha2384":
		alg = "sha384"
	case "sha2512":
		alg = "sha512"
	case "gitcommit":
		alg = "gitCommit"
	}
	want := map[string]int{"sha1": 40, "sha256": 64, "sha384": 96, "sha512": 128}[alg]
	h := strings.ToLower(d)
	if h == "" {
		return "", errors.New("empty digest")
	}
	for i := 0; i < len(h); i++ {
		if !isHex(h[i]) {
			return "", errors.New("digest is not hexadecimal")
		}
	}
	if want > 0 && len(h) != want {
		return "", errors.New("digest of the wrong length for " + alg)
	}
	if alg == "" {
		return "", errors.New("digest without an algorithm")
	}
	return alg + ":" + h, nil
}

// DSSEPAE is the DSSE v1 pre-authentication encoding of a payload: what a
// DSSE signature signs.
func DSSEPAE(payloadType string, payload []byte) []byte {
	var b bytes.Buffer
	b.WriteString("DSSEv1 ")
	writeLen(&b, len(payloadType))
	b.WriteString(payloadType)
	b.WriteByte(' ')
	writeLen(&b, len(payload))
	b.Write(payload)
	return b.Bytes()
}

func writeLen(b *bytes.Buffer, n int) {
	var d [20]byte
	i := len(d)
	for {
		i--
		d[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			break
		}
	}
	b.Write(d[i:])
	b.WriteByte(' ')
}
