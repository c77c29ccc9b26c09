package ctincident

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"math/big"
	"math/rand/v2"

	"github.com/forgehunt/forgehunt/internal/seeded"
)

// Since Go 1.26 ecdsa.GenerateKey and rsa.GenerateKey ignore the reader
// they are given, so keys are built from the seeded stream by hand: a
// private scalar for ECDSA, two primes for RSA, a seed for Ed25519.

// keyStream is the byte stream of one key or key family (seeded.Stream).
func keyStream(seed int64, label string) *rand.ChaCha8 {
	return seeded.Stream("ctincident", seed, label)
}

// deriveECDSA reads a key for curve from r.
func deriveECDSA(curve elliptic.Curve, r io.Reader) (*ecdsa.PrivateKey, error) {
	return seeded.ECDSA(curve, r)
}

// deriveRSA builds a bits-long RSA key with e = 65537 from primes read from r.
func deriveRSA(r io.Reader, bits int) (*rsa.PrivateKey, error) {
	e := big.NewInt(65537)
	one := big.NewInt(1)
	for range 16 {
		p, err := derivePrime(r, bits/2, e)
		if err != nil {
			return nil, err
		}
		q, err := derivePrime(r, bits/2, e)
		if err != nil {
			return nil, err
		}
		n := new(big.Int).Mul(p, q)
		if p.Cmp(q) == 0 || n.BitLen() != bits {
			continue
		}
		phi := new(big.Int).Mul(new(big.Int).Sub(p, one), new(big.Int).Sub(q, one))
		d := new(big.Int).ModInverse(e, phi)
		if d == nil {
			continue
		}
		key := &rsa.PrivateKey{PublicKey: rsa.PublicKey{N: n, E: 65537}, D: d, Primes: []*big.Int{p, q}}
		key.Precompute()
		if err := key.Validate(); err != nil {
			return nil, fmt.Errorf("ctincident: derived RSA key: %w", err)
		}
		return key, nil
	}
	return nil, errors.New("ctincident: no RSA key from the stream")
}

// derivePrime returns a bits-long prime p with p mod e != 1 (so that e is
// invertible), its top two bits set so that two of them make a 2·bits-long
// modulus.
func derivePrime(r io.Reader, bits int, e *big.Int) (*big.Int, error) {
	buf := make([]byte, bits/8)
	rem := new(big.Int)
	for {
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, err
		}
		buf[0] |= 0xc0
		buf[len(buf)-1] |= 1
		p := new(big.Int).SetBytes(buf)
		if rem.Mod(p, e).Int64() == 1 {
			continue
		}
		if p.ProbablyPrime(20) {
			return p, nil
		}
	}
}

func deriveEd25519(r io.Reader) (ed25519.PrivateKey, error) {
	seed := make([]byte, ed25519.SeedSize)
	if _, err := io.ReadFull(r, seed); err != nil {
		return nil, err
	}
	return ed25519.NewKeyFromSeed(seed), nil
}
