// Package keys loads the keys an analyst gives forgehunt: exposed signing keys
// and trusted keys, from PEM, DER, JWK or JWKS files, plus HMAC secrets.
//
// Only public halves are kept. A private key in the input is reduced to its
// public key at once; no Key ever holds private material (an HMAC secret is
// the exception: it is the key).
package keys

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// Roles of a key in a hunt.
const (
	RoleExposed = "exposed" // the leaked key: what it signed is suspect
	RoleTrusted = "trusted" // a legitimate key: what it signed verifies normally
)

// Key types, as stored in Key.Type and the keys table's key_type.
const (
	TypeRSA     = "rsa"
	TypeP256    = "ec-p256"
	TypeP384    = "ec-p384"
	TypeP521    = "ec-p521"
	TypeEd25519 = "ed25519"
	TypeHMAC    = "hmac"
)

// MaxFileSize bounds a key file; key files are small, anything larger is a
// mistake (a log file given as a key) and is refused rather than read.
const MaxFileSize = 4 << 20

// maxRSABits bounds RSA moduli from untrusted JWKS; verification cost grows
// with the modulus and no real issuer uses more.
const maxRSABits = 16384

// Key is one public key (or HMAC secret) given by the analyst.
type Key struct {
	FP     string           // hex sha256 of the SPKI DER; for HMAC, of the secret bytes
	KID    string           // from a JWK, else ""
	Type   string           // TypeRSA, TypeP256, TypeP384, TypeP521, TypeEd25519 or TypeHMAC
	Bits   int              // modulus or curve size; secret length for HMAC. RSA below 1024 is loaded but weak
	Role   string           // RoleExposed or RoleTrusted
	Public crypto.PublicKey // *rsa.PublicKey, *ecdsa.PublicKey or ed25519.PublicKey; nil for HMAC
	Secret []byte           // HMAC only; never printed by String or GoString
	Source string           // file path, with "#N" for the N-th key of a multi-key file
	Label  string           // optional human label (a certificate's subject CN)
	// Cert is the certificate the key was loaded from, or nil: a CA key's
	// subject name and key identifier are how certificates name their
	// issuer.
	Cert *x509.Certificate

	// Encodings are byte strings an attacker could use as the HMAC secret of
	// an algorithm-confusion token made from this public key: PEM SPKI (with
	// and without trailing newline), PEM and DER PKCS#1 for RSA, DER SPKI, the
	// certificate PEM and DER, the JWK JSON, the original file bytes. Nil for
	// HMAC keys. Never holds private material.
	Encodings [][]byte
}

// String describes k for people: type, size, fingerprint prefix, kid,
// source and role. It never includes the secret of an HMAC key.
func (k *Key) String() string {
	if k == nil {
		return "<nil key>"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %d-bit %s", k.Type, k.Bits, shortFP(k.FP))
	if k.KID != "" {
		fmt.Fprintf(&b, " kid=%q", k.KID)
	}
	if k.Label != "" {
		fmt.Fprintf(&b, " label=%q", k.Label)
	}
	fmt.Fprintf(&b, " from %q (%s)", k.Source, k.Role)
	return b.String()
}

// GoString is String, so that %#v cannot print an HMAC secret either.
func (k *Key) GoString() string { return k.String() }

func shortFP(fp string) string {
	if len(fp) > 12 {
		return fp[:12]
	}
	return fp
}

// Error is a key loading error with its position: the file and, when the
// file holds several keys, which entry ("key 2 (kid \"abc\")", "block 1
// (CERTIFICATE)").
type Error struct {
	Source string
	Entry  string
	Err    error
}

func (e *Error) Error() string {
	if e.Entry == "" {
		return e.Source + ": " + e.Err.Error()
	}
	return e.Source + ": " + e.Entry + ": " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// LoadFile reads the key file at path and returns its keys with the given
// role. The format is sniffed from the content, not the extension: PEM
// (public keys, certificates, private keys reduced to their public half, any
// number of blocks), JWK, JWKS, or a single DER public key or certificate.
// It fails on the first entry it cannot load, naming it; a file that yields
// no key is an error.
func LoadFile(path, role string) ([]*Key, error) {
	data, err := readBounded(path)
	if err != nil {
		return nil, err
	}
	ks, private, err := parse(data, path, role)
	if private {
		clear(data) // the file held private material: do not leave it in memory
	}
	return ks, err
}

// Parse is LoadFile over data already read; source names it in Key.Source
// and in errors. data is not retained except as Encodings of a public-only
// single-key file. The caller should clear data after Parse if it may hold
// private keys.
func Parse(data []byte, source, role string) ([]*Key, error) {
	ks, _, err := parse(data, source, role)
	return ks, err
}

// LoadHMACSecret reads an HMAC secret: the file content is the secret, less
// one trailing newline ("\n" or "\r\n"). An empty secret is refused.
func LoadHMACSecret(path, role string) (*Key, error) {
	if err := checkRole(role); err != nil {
		return nil, &Error{Source: path, Err: err}
	}
	data, err := readBounded(path)
	if err != nil {
		return nil, err
	}
	secret := data
	if bytes.HasSuffix(secret, []byte("\r\n")) {
		secret = secret[:len(secret)-2]
	} else if bytes.HasSuffix(secret, []byte("\n")) {
		secret = secret[:len(secret)-1]
	}
	if len(secret) == 0 {
		return nil, &Error{Source: path, Err: errors.New("empty HMAC secret")}
	}
	k := newHMACKey(bytes.Clone(secret))
	clear(data)
	k.Role, k.Source = role, path
	return k, nil
}

// Dedupe returns ks without repeated keys (same FP), keeping the first
// occurrence in order. The kept key takes a KID or Label it lacks from a
// later copy, the role exposed if any copy is exposed (a key given as exposed
// must never be hunted as merely trusted), and the union of Encodings.
func Dedupe(ks []*Key) []*Key {
	seen := make(map[string]*Key, len(ks))
	out := make([]*Key, 0, len(ks))
	for _, k := range ks {
		if k == nil {
			continue
		}
		first, ok := seen[k.FP]
		if !ok {
			seen[k.FP] = k
			out = append(out, k)
			continue
		}
		if first.KID == "" {
			first.KID = k.KID
		}
		if first.Label == "" {
			first.Label = k.Label
		}
		if k.Role == RoleExposed {
			first.Role = RoleExposed
		}
		for _, e := range k.Encodings {
			first.Encodings = appendUnique(first.Encodings, e)
		}
	}
	return out
}

func readBounded(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read key: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read key %s: %w", path, err)
	}
	if len(data) > MaxFileSize {
		return nil, &Error{Source: path, Err: fmt.Errorf("larger than %d MiB; not a key file", MaxFileSize>>20)}
	}
	return data, nil
}

func checkRole(role string) error {
	if role != RoleExposed && role != RoleTrusted {
		return fmt.Errorf("unknown role %q (want %s or %s)", role, RoleExposed, RoleTrusted)
	}
	return nil
}

// parse sniffs data and loads its keys; private reports whether data held
// private key material.
func parse(data []byte, source, role string) (ks []*Key, private bool, err error) {
	if err := checkRole(role); err != nil {
		return nil, false, &Error{Source: source, Err: err}
	}
	body := bytes.TrimSpace(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")))
	switch {
	case len(body) == 0:
		return nil, false, &Error{Source: source, Err: errors.New("empty key file")}
	case body[0] == '{':
		ks, private, err = parseJSON(body, source)
	case bytes.Contains(data, []byte("-----BEGIN ")):
		ks, private, err = parsePEM(data, source)
	default:
		ks, err = parseDER(data, source)
	}
	// Even text that only looks like a private key is not kept as an encoding.
	private = private || bytes.Contains(data, []byte("PRIVATE KEY"))
	if err != nil {
		return nil, private, err
	}
	if len(ks) == 0 {
		return nil, private, &Error{Source: source, Err: errors.New("no key found")}
	}
	for i, k := range ks {
		k.Role = role
		k.Source = source
		if len(ks) > 1 {
			k.Source = fmt.Sprintf("%s#%d", source, i+1)
		} else if !private && k.Type != TypeHMAC {
			// The file as published is a plausible confusion secret.
			k.Encodings = appendUnique(k.Encodings, bytes.Clone(data))
			k.Encodings = appendUnique(k.Encodings, bytes.Clone(body))
		}
	}
	return ks, private, nil
}

// parseDER loads a lone DER public key (SPKI or PKCS#1) or certificate.
func parseDER(data []byte, source string) ([]*Key, error) {
	if pub, err := x509.ParsePKIXPublicKey(data); err == nil {
		k, err := newPublicKey(pub)
		if err != nil {
			return nil, &Error{Source: source, Entry: "DER public key", Err: err}
		}
		return []*Key{k}, nil
	}
	if pub, err := x509.ParsePKCS1PublicKey(data); err == nil {
		k, err := newPublicKey(pub)
		if err != nil {
			return nil, &Error{Source: source, Entry: "DER RSA public key", Err: err}
		}
		return []*Key{k}, nil
	}
	if cert, err := x509.ParseCertificate(data); err == nil {
		k, err := certKey(cert)
		if err != nil {
			return nil, &Error{Source: source, Entry: "DER certificate", Err: err}
		}
		return []*Key{k}, nil
	}
	return nil, &Error{Source: source, Err: errors.New("not a PEM, DER, JWK or JWKS key file (give HMAC secrets as secrets, not keys)")}
}

// newPublicKey builds a Key for a public key, with FP, Type, Bits and the
// encodings derived from the key itself.
func newPublicKey(pub crypto.PublicKey) (*Key, error) {
	k := &Key{Public: pub}
	switch p := pub.(type) {
	case *rsa.PublicKey:
		if p.N == nil || p.N.Sign() <= 0 || p.E < 2 {
			return nil, errors.New("invalid RSA public key")
		}
		if p.N.BitLen() > maxRSABits {
			return nil, fmt.Errorf("RSA modulus of %d bits is larger than %d", p.N.BitLen(), maxRSABits)
		}
		k.Type, k.Bits = TypeRSA, p.N.BitLen()
	case *ecdsa.PublicKey:
		if p.Curve == nil {
			return nil, errors.New("invalid EC public key")
		}
		switch name := p.Curve.Params().Name; name {
		case "P-256":
			k.Type = TypeP256
		case "P-384":
			k.Type = TypeP384
		case "P-521":
			k.Type = TypeP521
		default:
			return nil, fmt.Errorf("unsupported EC curve %s (supported: P-256, P-384, P-521)", name)
		}
		k.Bits = p.Curve.Params().BitSize
	case ed25519.PublicKey:
		if len(p) != ed25519.PublicKeySize {
			return nil, errors.New("invalid Ed25519 public key")
		}
		k.Type, k.Bits = TypeEd25519, 256
	default:
		return nil, fmt.Errorf("unsupported key type %T (supported: RSA, EC P-256/P-384/P-521, Ed25519, HMAC secrets)", pub)
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("encode public key: %w", err)
	}
	k.FP = SPKIFingerprint(der)
	k.Encodings = appendPEM(k.Encodings, "PUBLIC KEY", der)
	k.Encodings = appendUnique(k.Encodings, der)
	if rp, ok := pub.(*rsa.PublicKey); ok {
		pkcs1 := x509.MarshalPKCS1PublicKey(rp)
		k.Encodings = appendPEM(k.Encodings, "RSA PUBLIC KEY", pkcs1)
		k.Encodings = appendUnique(k.Encodings, pkcs1)
	}
	return k, nil
}

func newHMACKey(secret []byte) *Key {
	sum := sha256.Sum256(secret)
	return &Key{FP: hex.EncodeToString(sum[:]), Type: TypeHMAC, Bits: 8 * len(secret), Secret: secret}
}

// certKey loads a certificate's public key, labelled with its subject CN;
// the certificate's own encodings become confusion candidates too.
func certKey(cert *x509.Certificate) (*Key, error) {
	if cert.PublicKey == nil {
		return nil, fmt.Errorf("unsupported certificate key algorithm %s", cert.PublicKeyAlgorithm)
	}
	k, err := newPublicKey(cert.PublicKey)
	if err != nil {
		return nil, err
	}
	k.Label = cert.Subject.CommonName
	k.Cert = cert
	k.Encodings = appendPEM(k.Encodings, "CERTIFICATE", cert.Raw)
	k.Encodings = appendUnique(k.Encodings, bytes.Clone(cert.Raw))
	return k, nil
}

// appendPEM appends the PEM encoding of der with and without its final newline.
func appendPEM(encs [][]byte, typ string, der []byte) [][]byte {
	p := pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
	encs = appendUnique(encs, p)
	return appendUnique(encs, bytes.TrimSuffix(p, []byte("\n")))
}

func appendUnique(encs [][]byte, b []byte) [][]byte {
	if len(b) == 0 {
		return encs
	}
	for _, e := range encs {
		if bytes.Equal(e, b) {
			return encs
		}
	}
	return append(encs, b)
}

// SPKIFingerprint is a key's fingerprint (Key.FP) from its DER
// SubjectPublicKeyInfo: the hex sha256.
func SPKIFingerprint(spki []byte) string {
	sum := sha256.Sum256(spki)
	return hex.EncodeToString(sum[:])
}

// Name names k for people in a verdict's note: its role and its label, or
// the start of its fingerprint.
func (k *Key) Name() string {
	if k.Label != "" {
		return k.Role + " key " + k.Label
	}
	return k.Role + " key " + k.FP[:min(12, len(k.FP))]
}

// ExposedFirst orders ks, in place and stably, with the exposed keys
// first: the keys a verifier tries first.
func ExposedFirst(ks []*Key) {
	slices.SortStableFunc(ks, func(a, b *Key) int {
		return boolInt(a.Role != RoleExposed) - boolInt(b.Role != RoleExposed)
	})
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
