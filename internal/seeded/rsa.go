package seeded

import (
	"crypto/rsa"
	"errors"
	"io"
	"math/big"
)

// RSA builds an RSA key of bits from r: two primes drawn from the stream
// (rsa.GenerateKey, like ecdsa's, ignores the reader it is given). The
// primes are probable primes by Miller–Rabin with 20 rounds and a
// Baillie–PSW test (big.Int.ProbablyPrime), as crypto/rand.Prime draws
// them. For generated test incidents only.
func RSA(r io.Reader, bits int) (*rsa.PrivateKey, error) {
	e := big.NewInt(65537)
	one := big.NewInt(1)
	for range 16 {
		p, err := prime(r, bits/2)
		if err != nil {
			return nil, err
		}
		q, err := prime(r, bits-bits/2)
		if err != nil {
			return nil, err
		}
		if p.Cmp(q) == 0 {
			continue
		}
		n := new(big.Int).Mul(p, q)
		if n.BitLen() != bits {
			continue
		}
		phi := new(big.Int).Mul(new(big.Int).Sub(p, one), new(big.Int).Sub(q, one))
		d := new(big.Int).ModInverse(e, phi)
		if d == nil {
			continue
		}
		k := &rsa.PrivateKey{PublicKey: rsa.PublicKey{N: n, E: 65537}, D: d, Primes: []*big.Int{p, q}}
		if err := k.Validate(); err != nil {
			continue
		}
		k.Precompute()
		return k, nil
	}
	return nil, errors.New("seeded: no RSA key from the stream")
}

// prime reads bits-bit odd candidates with the top two bits set from r
// until one is prime.
func prime(r io.Reader, bits int) (*big.Int, error) {
	buf := make([]byte, (bits+7)/8)
	for range 1 << 16 {
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, err
		}
		if extra := len(buf)*8 - bits; extra > 0 {
			buf[0] &= 0xff >> extra
		}
		p := new(big.Int).SetBytes(buf)
		p.SetBit(p, bits-1, 1)
		p.SetBit(p, bits-2, 1)
		p.SetBit(p, 0, 1)
		if p.ProbablyPrime(20) {
			return p, nil
		}
	}
	return nil, errors.New("seeded: no prime in the stream")
}
