package ctincident

import (
	"cmp"
	"crypto"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"fmt"
	"math/big"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"filippo.io/sunlight"
	ct "github.com/google/certificate-transparency-go"
	cttls "github.com/google/certificate-transparency-go/tls"
	ctx509 "github.com/google/certificate-transparency-go/x509"
)

const (
	hour = int64(3600 * 1000)
	day  = 24 * hour
)

// artifact is one distinct certificate or precertificate in the log.
type artifact struct {
	precert, viaPSC, forged, lookalike bool
	ca, reason                         string
	names                              []string
	serial                             *big.Int
	notBefore, notAfter                time.Time
	loggedAt                           int64      // ms of its first entry
	issuer                             *authority // the signer; its chain is logged with it
	precertOf                          *artifact  // a final certificate's precertificate: its SCT
	finalOf                            *artifact  // a precertificate's final certificate
	provisioned                        bool       // issued by step-ca, which names its provisioner
	leafKey                            *ecdsa.PrivateKey

	// The exposed CA's own certificates: where they are recorded.
	ledger, ledgerRaw, stepCA bool
	requestAt                 int64 // ms of the step-ca request

	// Built.
	der           []byte
	tbs           []byte // a precertificate's PreCert.tbs_certificate
	issuerKeyHash [32]byte
	fingerprints  [][32]byte
	extraData     []byte // the get-entries extra_data
	key           string
	indexes       []int64
}

type entry struct {
	ms  int64
	seq int
	art *artifact
}

type scenario struct {
	cfg       Config
	pki       *pkiSet
	rng       *rand.Rand
	artifacts []*artifact // a precertificate before its final certificate
	entries   []entry     // by leaf index
	serials   map[string]bool
}

func (sc *scenario) between(lo, hi int64) int64 {
	if hi <= lo {
		return lo
	}
	return lo + sc.rng.Int64N(hi-lo)
}

// newSerial returns a serial no other certificate of the scenario has.
func (sc *scenario) newSerial() *big.Int {
	for {
		s := sc.pki.serial(sc.pki.caSerials)
		if !sc.serials[s.Text(16)] {
			sc.serials[s.Text(16)] = true
			return s
		}
	}
}

func notBeforeAt(msec int64) time.Time { return utc(msec).Truncate(time.Second) }

var legitHosts = []string{
	"app", "auth", "cdn", "status", "docs", "git", "ci", "grafana", "vault", "shop", "blog",
	"intranet", "metrics", "search", "static", "assets", "wiki", "jira", "support", "partners",
}

func (sc *scenario) legitNames(i int) []string {
	switch {
	case i == 0:
		return []string{"www.example.com", "example.com"}
	case i == 1:
		return []string{"api.example.com"}
	case sc.rng.IntN(3) == 0:
		return []string{fmt.Sprintf("host-%04d.int.example.com", sc.rng.IntN(10000))}
	}
	h := legitHosts[sc.rng.IntN(len(legitHosts))]
	if sc.rng.IntN(2) == 0 {
		h += "-" + strconv.Itoa(1+sc.rng.IntN(9))
	}
	names := []string{h + ".example.com"}
	if sc.rng.IntN(4) == 0 {
		names = append(names, h+"-eu.example.com")
	}
	return names
}

// legit plans the certificates the exposed CA issued: each a precertificate
// logged during issuance, then the final certificate with its SCT.
func (sc *scenario) legit(n int) error {
	p := sc.pki
	var finals []*artifact
	for i := range n {
		requestAt := sc.between(windowFrom+hour, revokedAt-6*hour)
		// step-ca backdates notBefore by a minute.
		nb := notBeforeAt(requestAt).Add(-time.Minute)
		key, err := p.leafKey()
		if err != nil {
			return err
		}
		pre := &artifact{
			precert: true, ca: CAExposed, names: sc.legitNames(i), serial: sc.newSerial(),
			notBefore: nb, notAfter: nb.AddDate(0, 0, 90),
			loggedAt: requestAt + 150 + sc.rng.Int64N(750), issuer: p.exposed,
			provisioned: true, leafKey: key, ledger: true, requestAt: requestAt,
		}
		final := *pre
		final.precert, final.precertOf = false, pre
		final.loggedAt = pre.loggedAt + 500 + sc.rng.Int64N(4000)
		pre.finalOf = &final
		sc.artifacts = append(sc.artifacts, pre, &final)
		finals = append(finals, &final)
	}
	// Half the ledger rows carry the DER's hash; 60% of the certificates
	// are in the step-ca log (the rest went to a rotated-away file).
	for k, i := range sc.rng.Perm(n) {
		finals[i].ledgerRaw = k < n/2
	}
	for k, i := range sc.rng.Perm(n) {
		finals[i].stepCA = k < (n*6+5)/10
		finals[i].precertOf.stepCA = finals[i].stepCA
	}
	return nil
}

type forgedSpec struct {
	names          []string
	precert, psc   bool
	validity       int // days
	reason         string
	afterRevoked   bool
	reusesSerialOf bool
}

var forgedSpecs = []forgedSpec{
	{names: []string{"login.example.com"}, validity: 90, reason: ReasonNoIssuance},
	{names: []string{"mail.example.com"}, validity: 90, reason: ReasonReusedSerial, reusesSerialOf: true},
	{names: []string{"*.example.com", "example.com"}, validity: 398, reason: ReasonNoIssuance},
	{names: []string{"pay.example.com"}, precert: true, validity: 90, reason: ReasonNoIssuance},
	{names: []string{"billing.example.com", "pay-api.example.com"}, precert: true, validity: 90, reason: ReasonNoIssuance},
	{names: []string{"sso.example.com"}, precert: true, psc: true, validity: 90, reason: ReasonNoIssuance},
	{names: []string{"admin.example.com"}, validity: 90, reason: ReasonAfterRevocation, afterRevoked: true},
}

// numForged is the number of forged log entries (one each).
var numForged = len(forgedSpecs)

// forged plans what the attacker signed with the exposed key and logged.
func (sc *scenario) forged() error {
	p := sc.pki
	for _, s := range forgedSpecs {
		// After the PSC's notBefore, which the attacker made first.
		logged := sc.between(exposedFrom+30*hour, revokedAt-hour)
		nb := notBeforeAt(logged - sc.rng.Int64N(2*hour))
		if s.afterRevoked {
			logged = sc.between(revokedAt+12*hour, windowTo-12*hour)
			nb = notBeforeAt(revokedAt - 3*day) // backdated to look issued before the revocation
		}
		key, err := p.leafKey()
		if err != nil {
			return err
		}
		a := &artifact{
			precert: s.precert, viaPSC: s.psc, forged: true, ca: CAExposed, reason: s.reason,
			names: s.names, notBefore: nb, notAfter: nb.AddDate(0, 0, s.validity),
			loggedAt: logged, issuer: p.exposed, leafKey: key,
		}
		if s.psc {
			a.issuer = p.psc
		}
		if s.reusesSerialOf {
			orig := sc.legitFinalBefore(logged, s.names[0])
			if orig == nil {
				return fmt.Errorf("ctincident: no legitimate certificate logged before %v to reuse the serial of", utc(logged))
			}
			a.serial = orig.serial
		} else {
			a.serial = sc.newSerial()
		}
		sc.artifacts = append(sc.artifacts, a)
	}
	return nil
}

// legitFinalBefore picks a legitimate final certificate logged before t
// whose first name is not name.
func (sc *scenario) legitFinalBefore(t int64, name string) *artifact {
	var pool []*artifact
	for _, a := range sc.artifacts {
		if a.ca == CAExposed && !a.forged && !a.precert && a.loggedAt < t && a.names[0] != name {
			pool = append(pool, a)
		}
	}
	if len(pool) == 0 {
		return nil
	}
	return pool[sc.rng.IntN(len(pool))]
}

var (
	foreignExampleHosts = []string{"www", "shop", "login", "promo", "status", "news", "events"}
	foreignHosts        = []string{"www", "mail", "shop", "cdn", "blog", "news", "api", "app", "portal", "static"}
	foreignDomains      = []string{"example.net", "example.org", "example.edu", "contoso.example", "fabrikam.example"}
)

// foreign plans the other CA's certificates, a third of them for
// example.com names; half are logged as a precertificate first.
func (sc *scenario) foreign(n int) error {
	p := sc.pki
	for i := range n {
		var names []string
		if i%3 == 0 {
			names = []string{foreignExampleHosts[sc.rng.IntN(len(foreignExampleHosts))] + ".example.com"}
		} else {
			d := foreignDomains[sc.rng.IntN(len(foreignDomains))]
			names = []string{foreignHosts[sc.rng.IntN(len(foreignHosts))] + "." + d, d}
		}
		logged := sc.between(windowFrom, windowTo-2*hour)
		nb := notBeforeAt(logged - sc.rng.Int64N(hour)).Truncate(time.Hour)
		key, err := p.leafKey()
		if err != nil {
			return err
		}
		a := &artifact{
			ca: CAForeign, names: names, serial: sc.newSerial(),
			notBefore: nb, notAfter: nb.AddDate(0, 0, 90), loggedAt: logged,
			issuer: p.foreign, leafKey: key,
		}
		if i%2 == 0 {
			pre := *a
			pre.precert = true
			a.precertOf, pre.finalOf = &pre, a
			a.loggedAt += 1000 + sc.rng.Int64N(10000)
			sc.artifacts = append(sc.artifacts, &pre)
		}
		sc.artifacts = append(sc.artifacts, a)
	}
	// A certificate naming the exposed CA as its issuer, signed by another key.
	key, err := p.leafKey()
	if err != nil {
		return err
	}
	logged := sc.between(exposedFrom, revokedAt)
	nb := notBeforeAt(logged - hour)
	sc.artifacts = append(sc.artifacts, &artifact{
		ca: CAForeign, lookalike: true, names: []string{"portal.example.com"}, serial: sc.newSerial(),
		notBefore: nb, notAfter: nb.AddDate(0, 0, 90), loggedAt: logged, issuer: p.look, leafKey: key,
	})
	return nil
}

// plan decides every artifact and log entry; build makes the bytes.
func plan(cfg Config, p *pkiSet) (*scenario, error) {
	sc := &scenario{
		cfg:     cfg,
		pki:     p,
		rng:     rand.New(rand.NewPCG(uint64(cfg.Seed), 0x9e3779b97f4a7c15)),
		serials: map[string]bool{},
	}
	if err := sc.legit(cfg.Legit); err != nil {
		return nil, err
	}
	if err := sc.forged(); err != nil {
		return nil, err
	}
	if err := sc.foreign(cfg.Foreign); err != nil {
		return nil, err
	}
	if cfg.Entries < len(sc.artifacts) {
		return nil, fmt.Errorf("ctincident: %d entries cannot hold the %d distinct artifacts; raise Entries or lower Legit and Foreign", cfg.Entries, len(sc.artifacts))
	}
	var filler []*artifact
	for i, a := range sc.artifacts {
		sc.entries = append(sc.entries, entry{ms: a.loggedAt, seq: i, art: a})
		if a.ca == CAForeign {
			filler = append(filler, a)
		}
	}
	// The rest of the log repeats foreign certificates, each after its
	// first logging: signing 100k distinct ones would take too long.
	for len(sc.entries) < cfg.Entries {
		a := filler[sc.rng.IntN(len(filler))]
		sc.entries = append(sc.entries, entry{ms: sc.between(a.loggedAt+1, windowTo), seq: len(sc.entries), art: a})
	}
	slices.SortFunc(sc.entries, func(a, b entry) int { return cmp.Or(cmp.Compare(a.ms, b.ms), cmp.Compare(a.seq, b.seq)) })
	for i, e := range sc.entries {
		e.art.indexes = append(e.art.indexes, int64(i))
	}
	return sc, nil
}

// build signs every artifact, in plan order: a precertificate's leaf
// exists before its final certificate's SCT signs it.
func (sc *scenario) build() error {
	p := sc.pki
	for _, a := range sc.artifacts {
		tmpl := &x509.Certificate{
			SerialNumber:          a.serial,
			Subject:               pkix.Name{CommonName: a.names[0]},
			NotBefore:             a.notBefore,
			NotAfter:              a.notAfter,
			KeyUsage:              x509.KeyUsageDigitalSignature,
			ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
			BasicConstraintsValid: true,
			DNSNames:              a.names,
			SubjectKeyId:          subjectKeyID(&a.leafKey.PublicKey),
			Policies:              []x509.OID{oidDVPolicy},
		}
		if a.provisioned {
			ext, err := p.provisionerExtension()
			if err != nil {
				return fmt.Errorf("ctincident: %w", err)
			}
			tmpl.ExtraExtensions = append(tmpl.ExtraExtensions, ext)
		}
		switch {
		case a.precert:
			tmpl.ExtraExtensions = append(tmpl.ExtraExtensions, pkix.Extension{Id: oidCTPoison, Critical: true, Value: asn1.NullBytes})
		case a.precertOf != nil:
			ext, err := sc.sctListExtension(a.precertOf)
			if err != nil {
				return err
			}
			tmpl.ExtraExtensions = append(tmpl.ExtraExtensions, ext)
		}
		der, err := x509.CreateCertificate(nil, tmpl, a.issuer.cert, a.leafKey.Public(), a.issuer.key)
		if err != nil {
			return fmt.Errorf("ctincident: certificate for %s: %w", a.names[0], err)
		}
		a.der = der
		sum := sha256.Sum256(der)
		a.key = "sha256:" + hex.EncodeToString(sum[:])
		for _, c := range a.issuer.chain {
			a.fingerprints = append(a.fingerprints, sha256.Sum256(c))
		}
		chain := make([]ct.ASN1Cert, len(a.issuer.chain))
		for i, c := range a.issuer.chain {
			chain[i] = ct.ASN1Cert{Data: c}
		}
		if a.precert {
			cert, err := x509.ParseCertificate(der)
			if err != nil {
				return fmt.Errorf("ctincident: precertificate for %s: %w", a.names[0], err)
			}
			var preIssuer *ctx509.Certificate
			caCert := a.issuer.cert
			if a.viaPSC {
				// The TBS names the CA above the PSC, and so does the key hash.
				preIssuer, caCert = p.pscCT, p.exposed.cert
			}
			if a.tbs, err = ctx509.BuildPrecertTBS(cert.RawTBSCertificate, preIssuer); err != nil {
				return fmt.Errorf("ctincident: precertificate for %s: %w", a.names[0], err)
			}
			a.issuerKeyHash = sha256.Sum256(caCert.RawSubjectPublicKeyInfo)
			a.extraData, err = cttls.Marshal(ct.PrecertChainEntry{PreCertificate: ct.ASN1Cert{Data: der}, CertificateChain: chain})
		} else {
			a.extraData, err = cttls.Marshal(ct.CertificateChain{Entries: chain})
		}
		if err != nil {
			return fmt.Errorf("ctincident: extra_data for %s: %w", a.names[0], err)
		}
	}
	return nil
}

// tileEntry is entry i as a static-ct-api log holds it.
func (sc *scenario) tileEntry(i int) *sunlight.LogEntry {
	e := sc.entries[i]
	le := &sunlight.LogEntry{
		Certificate:       e.art.der,
		ChainFingerprints: e.art.fingerprints,
		LeafIndex:         int64(i),
		Timestamp:         e.ms,
	}
	if e.art.precert {
		le.Certificate, le.IsPrecert, le.IssuerKeyHash, le.PreCertificate = e.art.tbs, true, e.art.issuerKeyHash, e.art.der
	}
	return le
}

// merkleTreeLeaf is entry i's RFC 6962 leaf with the given CT extensions.
func (sc *scenario) merkleTreeLeaf(i int, extensions []byte) ct.MerkleTreeLeaf {
	e := sc.entries[i]
	te := &ct.TimestampedEntry{Timestamp: uint64(e.ms), Extensions: extensions}
	if e.art.precert {
		te.EntryType = ct.PrecertLogEntryType
		te.PrecertEntry = &ct.PreCert{IssuerKeyHash: e.art.issuerKeyHash, TBSCertificate: e.art.tbs}
	} else {
		te.EntryType = ct.X509LogEntryType
		te.X509Entry = &ct.ASN1Cert{Data: e.art.der}
	}
	return ct.MerkleTreeLeaf{Version: ct.V1, LeafType: ct.TimestampedEntryLeafType, TimestampedEntry: te}
}

// sctListExtension is the SCT list the log returned for pre's first entry,
// as static-ct-api SCTs are: with the leaf_index extension.
func (sc *scenario) sctListExtension(pre *artifact) (pkix.Extension, error) {
	p := sc.pki
	index := pre.indexes[0]
	ext, err := sunlight.MarshalExtensions(sunlight.Extensions{LeafIndex: index})
	if err != nil {
		return pkix.Extension{}, fmt.Errorf("ctincident: %w", err)
	}
	sct := ct.SignedCertificateTimestamp{
		SCTVersion: ct.V1,
		LogID:      ct.LogID{KeyID: p.logID},
		Timestamp:  uint64(sc.entries[index].ms),
		Extensions: ext,
	}
	input, err := ct.SerializeSCTSignatureInput(sct, ct.LogEntry{Leaf: sc.merkleTreeLeaf(int(index), ext)})
	if err != nil {
		return pkix.Extension{}, fmt.Errorf("ctincident: sct: %w", err)
	}
	digest := sha256.Sum256(input)
	sig, err := p.logKey.Sign(nil, digest[:], crypto.SHA256) // nil: RFC 6979
	if err != nil {
		return pkix.Extension{}, fmt.Errorf("ctincident: sct: %w", err)
	}
	sct.Signature = ct.DigitallySigned{
		Algorithm: cttls.SignatureAndHashAlgorithm{Hash: cttls.SHA256, Signature: cttls.ECDSA},
		Signature: sig,
	}
	serialized, err := cttls.Marshal(sct)
	if err != nil {
		return pkix.Extension{}, fmt.Errorf("ctincident: sct: %w", err)
	}
	list, err := cttls.Marshal(ctx509.SignedCertificateTimestampList{SCTList: []ctx509.SerializedSCT{{Val: serialized}}})
	if err != nil {
		return pkix.Extension{}, fmt.Errorf("ctincident: sct list: %w", err)
	}
	value, err := asn1.Marshal(list) // an OCTET STRING around the TLS list
	if err != nil {
		return pkix.Extension{}, fmt.Errorf("ctincident: sct list: %w", err)
	}
	return pkix.Extension{Id: oidCTSCTList, Value: value}, nil
}

func (sc *scenario) chainCerts() []ChainCert {
	p := sc.pki
	var out []ChainCert
	for _, a := range []*authority{p.root, p.exposed, p.psc, p.foreignRoot, p.foreign, p.look} {
		sum := sha256.Sum256(a.der)
		out = append(out, ChainCert{
			ArtifactKey: "sha256:" + hex.EncodeToString(sum[:]),
			Role:        a.role,
			Subject:     oneLine(a.cert.Subject),
			CA:          a.ca,
			Forged:      a.forged,
		})
	}
	return out
}

func (sc *scenario) truthArtifacts() []Artifact {
	arts := slices.Clone(sc.artifacts)
	slices.SortFunc(arts, func(a, b *artifact) int { return cmp.Compare(a.indexes[0], b.indexes[0]) })
	out := make([]Artifact, 0, len(arts))
	for _, a := range arts {
		out = append(out, Artifact{
			ArtifactKey: a.key,
			Kind:        "x509",
			Serial:      a.serial.Text(16),
			Precert:     a.precert,
			ViaPSC:      a.viaPSC,
			CA:          a.ca,
			Lookalike:   a.lookalike,
			Forged:      a.forged,
			Reason:      a.reason,
			Subject:     a.names[0],
			Names:       a.names,
			NotBefore:   a.notBefore,
			NotAfter:    a.notAfter,
			LoggedAt:    utc(sc.entries[a.indexes[0]].ms),
			InLedger:    a.ledger,
			InStepCA:    a.stepCA,
			LeafIndexes: a.indexes,
		})
	}
	return out
}
