package ciincident

import (
	"cmp"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/forgehunt/forgehunt/parsers/record"
)

const (
	project     = "example/widget"
	projectRepo = "https://github.com/" + project
	workflow    = ".github/workflows/release.yml"
	repoID      = "55512345"
	ownerID     = "7654321"

	generatorV02 = "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_generic_slsa3.yml@refs/tags/v1.10.0"
	generatorV1  = "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_generic_slsa3.yml@refs/tags/v2.0.0"
	runnerV1     = "https://github.com/actions/runner/github-hosted"
	// the builder the forged provenance claims; no real provenance names it
	fakeBuilder = "https://github.com/example-widget-ci/release-builder/.github/workflows/build.yml@refs/heads/main"

	genericBuildType = "https://github.com/slsa-framework/slsa-github-generator/generic@v1"
	v1BuildTypeGen   = "https://slsa-framework.github.io/github-actions-buildtypes/workflow/v1"
	v1BuildTypeGH    = "https://actions.github.io/buildtypes/workflow/v1"

	statementV01  = "https://in-toto.io/Statement/v0.1"
	statementV1   = "https://in-toto.io/Statement/v1"
	provenanceV02 = "https://slsa.dev/provenance/v0.2"
	provenanceV1  = "https://slsa.dev/provenance/v1"
	inTotoPayload = "application/vnd.in-toto+json"
)

// The scenario's start, and when the key leaked (the attacker signs from
// then on).
var (
	startAt     = time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	exposedFrom = startAt.Add(60 * time.Hour)
	endAt       = startAt.Add(96 * time.Hour)
)

// Rekor entry kinds.
const (
	kindHashedRekord = "hashedrekord"
	kindIntoto       = "intoto"
	kindDSSE         = "dsse"
)

type signer struct {
	kind string // SignerExposed, SignerKey, SignerFulcio
	key  *ecdsa.PrivateKey
	cert []byte // a Fulcio leaf's DER
	ca   []byte // its CA's DER
}

// material is what a Rekor entry names as the verifier: the PEM public
// key, or the PEM certificate.
func (s *signer) material() []byte {
	if s.cert != nil {
		return certPEM(s.cert)
	}
	return publicPEM(s.key)
}

// sig is one distinct signature.
type sig struct {
	typ      string // record.SigMessage or record.SigDSSE
	digest   []byte // a message signature's sha256
	payload  []byte // a DSSE statement
	envelope []byte // the DSSE envelope JSON as uploaded
	sigBytes []byte
	signer   *signer
	class    string
	reason   string
	build    *Build
	digests  []string
	at       int64    // integrated time of its first entry, Unix seconds
	kind     string   // Rekor entry kind
	shards   []int    // one entry per shard listed (the duplicate: two)
	entries  []*entry // built
	bundleV  string   // bundle version for Form bundle: "0.1", "0.2", "0.3"
	wrapper  string   // "", "npm", "github": written inside an attestation API response
}

func (s *sig) signed() string {
	if s.typ == record.SigDSSE {
		return record.SHA256Digest(s.payload)
	}
	return "sha256:" + hex.EncodeToString(s.digest)
}

func (s *sig) key() string { return record.SigKey(s.sigBytes, s.signed()) }

type scenario struct {
	cfg     Config
	rng     *rand.Rand
	exposed *signer
	foreign []*signer
	fulcio  *fulcio
	leaves  *rand.ChaCha8
	logs    []*tlogShard
	builds  []*Build
	bprov   map[*Build]*statement // the provenance statement of each build that has one
	sigs    []*sig
	dup     *sig
}

func plan(cfg Config) (*scenario, error) {
	sc := &scenario{cfg: cfg, rng: rand.New(keyStream(cfg.Seed, "scenario")), bprov: map[*Build]*statement{}}
	k, err := deriveECDSA(keyStream(cfg.Seed, "exposed"))
	if err != nil {
		return nil, err
	}
	sc.exposed = &signer{kind: SignerExposed, key: k}
	fk := keyStream(cfg.Seed, "foreign")
	for range 3 {
		k, err := deriveECDSA(fk)
		if err != nil {
			return nil, err
		}
		sc.foreign = append(sc.foreign, &signer{kind: SignerKey, key: k})
	}
	caKey, err := deriveECDSA(keyStream(cfg.Seed, "fulcio-ca"))
	if err != nil {
		return nil, err
	}
	if sc.fulcio, err = newFulcio(caKey, startAt.AddDate(-1, 0, 0)); err != nil {
		return nil, err
	}
	sc.leaves = keyStream(cfg.Seed, "fulcio-leaves")
	lk := keyStream(cfg.Seed, "logs")
	for i, tree := range []int64{1193050959916656506, 3904496407287907110} {
		k, err := deriveECDSA(lk)
		if err != nil {
			return nil, err
		}
		sh := &tlogShard{key: k, treeID: tree, offset: []int64{100_000_000, 4_000_000}[i]}
		if i == 0 {
			sh.logID = PublicLogID
		} else {
			sum := sha256.Sum256(spki(k))
			sh.logID = hex.EncodeToString(sum[:])
		}
		sc.logs = append(sc.logs, sh)
	}
	if err := sc.planBuilds(); err != nil {
		return nil, err
	}
	if err := sc.planForged(); err != nil {
		return nil, err
	}
	if err := sc.planForeign(); err != nil {
		return nil, err
	}
	slices.SortStableFunc(sc.sigs, func(a, b *sig) int { return cmp.Compare(a.at, b.at) })
	for i, s := range sc.sigs {
		s.bundleV = []string{"0.1", "0.2", "0.3"}[i%3]
	}
	if err := sc.buildLog(); err != nil {
		return nil, err
	}
	return sc, nil
}

func (sc *scenario) between(from, to time.Time) time.Time {
	d := to.Sub(from)
	return from.Add(time.Duration(sc.rng.Int64N(int64(d/time.Second))) * time.Second)
}

func (sc *scenario) randomDigest() []byte {
	var b [32]byte
	for i := 0; i < 32; i += 8 {
		v := sc.rng.Uint64()
		for j := range 8 {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	return b[:]
}

func canonical(d []byte) string { return "sha256:" + hex.EncodeToString(d) }

// planBuilds makes the legitimate builds, their provenance and their
// signatures.
func (sc *scenario) planBuilds() error {
	n := sc.cfg.Builds
	step := endAt.Sub(startAt) / time.Duration(n)
	missing := map[int]bool{n - 3: true, n - 6: true} // provenance lost; the ledger records them
	for i := range n {
		start := startAt.Add(time.Duration(i) * step).Add(time.Duration(sc.rng.IntN(20*60)) * time.Second)
		finish := start.Add(time.Duration(180+sc.rng.IntN(720)) * time.Second)
		runID := 8812340000 + int64(i)*37
		b := &Build{
			Name:       fmt.Sprintf("widget-v1.%d.0", i),
			StartedOn:  start,
			FinishedOn: finish,
		}
		if i%2 == 0 {
			b.Predicate, b.BuilderID = provenanceV02, generatorV02
			b.InvocationID = fmt.Sprintf("%d-1", runID)
		} else {
			b.Predicate, b.BuilderID = provenanceV1, generatorV1
			if i%4 == 3 {
				b.BuilderID = runnerV1
			}
			b.InvocationID = fmt.Sprintf("%s/actions/runs/%d/attempts/1", projectRepo, runID)
		}
		names := []string{b.Name + "-linux-amd64.tar.gz"}
		if i%5 == 1 {
			names = append(names, b.Name+"-darwin-arm64.tar.gz")
		}
		for _, name := range names {
			b.Subjects = append(b.Subjects, Subject{Name: name, Digest: canonical(sc.randomDigest())})
		}
		b.Enveloped = (i/2)%2 == 0
		if missing[i] {
			b.InLedger, b.Enveloped = true, false
		} else {
			st := provenanceStatement(b, projectRepo, runID, sc.rng)
			sc.bprov[b] = st
			if b.Enveloped {
				b.Provenance = ProvenanceDir + "/" + b.Name + ".intoto.jsonl"
			} else {
				b.Provenance = ProvenanceDir + "/" + b.Name + ".provenance.json"
			}
		}
		sc.builds = append(sc.builds, b)
		// cosign sign-blob of each subject after the build
		for j, s := range b.Subjects {
			d, _ := hex.DecodeString(s.Digest[len("sha256:"):])
			at := finish.Add(time.Duration(20+sc.rng.IntN(70)+j) * time.Second)
			ms, err := sc.messageSig(sc.exposed, d, at.Unix())
			if err != nil {
				return err
			}
			ms.class, ms.build = ClassLegit, b
			b.BlobSignature = append(b.BlobSignature, ms.key())
			if i == 3 && j == 0 {
				ms.reason, ms.shards = ReasonDuplicate, []int{0, 1}
				sc.dup = ms
			}
		}
		if b.Enveloped {
			at := finish.Add(time.Duration(30+sc.rng.IntN(90)) * time.Second)
			kind := kindIntoto
			if i%8 == 4 {
				kind = kindDSSE
			}
			ds, err := sc.dsseSig(sc.exposed, sc.bprov[b].payload, at.Unix(), kind)
			if err != nil {
				return err
			}
			ds.class, ds.build = ClassLegit, b
			b.Attestation = ds.key()
		}
	}
	// Attestation API responses carry four of the attestations.
	w := 0
	for _, s := range sc.sigs {
		if s.typ == record.SigDSSE && s.class == ClassLegit && w < 4 {
			s.wrapper = []string{"npm", "npm", "github", "github"}[w]
			w++
		}
	}
	return nil
}

func (sc *scenario) messageSig(sg *signer, digest []byte, at int64) (*sig, error) {
	b, err := signDigest(sg.key, digest)
	if err != nil {
		return nil, err
	}
	s := &sig{typ: record.SigMessage, digest: digest, sigBytes: b, signer: sg, at: at, kind: kindHashedRekord,
		shards: []int{0}, digests: []string{canonical(digest)}}
	sc.sigs = append(sc.sigs, s)
	return s, nil
}

func (sc *scenario) dsseSig(sg *signer, payload []byte, at int64, kind string) (*sig, error) {
	b, err := signMessage(sg.key, record.DSSEPAE(inTotoPayload, payload))
	if err != nil {
		return nil, err
	}
	env, err := json.Marshal(dsseEnvelope{PayloadType: inTotoPayload, Payload: base64.StdEncoding.EncodeToString(payload),
		Signatures: []dsseSignature{{KeyID: "", Sig: base64.StdEncoding.EncodeToString(b)}}})
	if err != nil {
		return nil, err
	}
	var st struct {
		Subject []struct {
			Digest map[string]string `json:"digest"`
		} `json:"subject"`
	}
	if err := json.Unmarshal(payload, &st); err != nil {
		return nil, err
	}
	s := &sig{typ: record.SigDSSE, payload: payload, envelope: env, sigBytes: b, signer: sg, at: at, kind: kind, shards: []int{0}}
	for _, sub := range st.Subject {
		s.digests = append(s.digests, "sha256:"+sub.Digest["sha256"])
	}
	sc.sigs = append(sc.sigs, s)
	return s, nil
}

// planForged makes the attacker's signatures: message signatures over
// random digests, and one DSSE provenance of a builder the project never
// used.
func (sc *scenario) planForged() error {
	for i := range sc.cfg.Forged {
		at := sc.between(exposedFrom, endAt).Unix()
		d := sc.randomDigest()
		if i == sc.cfg.Forged-1 {
			b := &Build{
				Name: "widget-v1.99.0", Predicate: provenanceV1, BuilderID: fakeBuilder,
				InvocationID: projectRepo + "/actions/runs/9999999999/attempts/1",
				StartedOn:    time.Unix(at-400, 0).UTC(), FinishedOn: time.Unix(at-60, 0).UTC(),
				Subjects: []Subject{{Name: "widget-v1.99.0-linux-amd64.tar.gz", Digest: canonical(d)}},
			}
			st := provenanceStatement(b, projectRepo, 9999999999, sc.rng)
			s, err := sc.dsseSig(sc.exposed, st.payload, at, kindIntoto)
			if err != nil {
				return err
			}
			s.class, s.reason = ClassForged, ReasonFakeProvenance
			continue
		}
		s, err := sc.messageSig(sc.exposed, d, at)
		if err != nil {
			return err
		}
		s.class, s.reason = ClassForged, ReasonRandomDigest
	}
	return nil
}

// planForeign makes other projects' entries: other keys and Fulcio
// certificates; three of them sign a digest a legit build produced.
func (sc *scenario) planForeign() error {
	repos := []string{"acme/rocket", "octo-org/octo-lib", "example-mirror/widget-redist"}
	for i := range sc.cfg.Foreign {
		at := sc.between(startAt, endAt)
		var sg *signer
		if i%3 == 2 {
			leaf, err := deriveECDSA(sc.leaves)
			if err != nil {
				return err
			}
			repo := repos[i%len(repos)]
			cert, err := sc.fulcio.issue(leaf, repo, workflow, fmt.Sprintf("refs/tags/v%d.%d.0", 2+i%3, i), hex.EncodeToString(sc.randomDigest()[:20]), at.Add(-20*time.Second))
			if err != nil {
				return err
			}
			sg = &signer{kind: SignerFulcio, key: leaf, cert: cert, ca: sc.fulcio.der}
		} else {
			sg = sc.foreign[i%len(sc.foreign)]
		}
		d, reason := sc.randomDigest(), ""
		if i < 3 {
			// same digest, another signer (a mirror re-signing the release)
			b := sc.builds[1+4*i]
			d, _ = hex.DecodeString(b.Subjects[0].Digest[len("sha256:"):])
			if b.FinishedOn.Unix() > at.Unix() {
				at = b.FinishedOn.Add(time.Duration(3600+sc.rng.IntN(3600)) * time.Second)
			}
			reason = ReasonSameDigest
		}
		var s *sig
		var err error
		if i%7 == 6 {
			b := &Build{
				Name: fmt.Sprintf("rocket-v%d", i), Predicate: provenanceV1, BuilderID: runnerV1,
				InvocationID: fmt.Sprintf("https://github.com/acme/rocket/actions/runs/%d/attempts/1", 7000000000+i),
				StartedOn:    at.Add(-10 * time.Minute), FinishedOn: at.Add(-time.Minute),
				Subjects: []Subject{{Name: fmt.Sprintf("rocket-v%d.tgz", i), Digest: canonical(d)}},
			}
			st := provenanceStatement(b, "https://github.com/acme/rocket", 7000000000+int64(i), sc.rng)
			s, err = sc.dsseSig(sg, st.payload, at.Unix(), kindIntoto)
		} else {
			s, err = sc.messageSig(sg, d, at.Unix())
		}
		if err != nil {
			return err
		}
		s.class, s.reason = ClassForeign, reason
		if i%10 == 5 {
			s.shards = []int{1}
		}
	}
	return nil
}

func (sc *scenario) truth() *Truth {
	t := &Truth{
		Seed: sc.cfg.Seed, Form: sc.cfg.Form, ExposedKeyFile: ExposedKeyFile,
		ExposedPublicKey: base64.StdEncoding.EncodeToString(spki(sc.exposed.key)),
		ExposedFrom:      exposedFrom,
		Duplicate:        sc.dup.key(),
	}
	for _, l := range sc.logs {
		t.LogIDs = append(t.LogIDs, l.logID)
		t.LogPublicKeys = append(t.LogPublicKeys, base64.StdEncoding.EncodeToString(spki(l.key)))
	}
	for _, b := range sc.builds {
		t.Builds = append(t.Builds, *b)
	}
	for _, s := range sc.sigs {
		ts := Signature{Key: s.key(), Type: s.typ, Signed: s.signed(), Digests: s.digests, Class: s.class,
			Signer: s.signer.kind, Reason: s.reason, SignedAt: s.at,
			PublicKey: base64.StdEncoding.EncodeToString(spki(s.signer.key))}
		if s.build != nil {
			ts.Build = s.build.Name
		}
		for _, e := range s.entries {
			ts.Entries = append(ts.Entries, Entry{File: e.file, UUID: e.uuid, LogID: e.shard.logID, LogIndex: e.logIndex, Kind: s.kind, Version: kindVersion(s.kind)})
		}
		t.Signatures = append(t.Signatures, ts)
	}
	return t
}

func kindVersion(kind string) string {
	switch kind {
	case kindIntoto:
		return "0.0.2"
	default:
		return "0.0.1"
	}
}
