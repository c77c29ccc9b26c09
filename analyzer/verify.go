package analyzer

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"runtime"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/forgehunt/forgehunt/analyzer/keys"
	"github.com/forgehunt/forgehunt/analyzer/kinds"
	"github.com/forgehunt/forgehunt/parsers/record"
)

// Signature statuses of an artifact.
const (
	SigValid        = kinds.StatusValid
	SigInvalid      = kinds.StatusInvalid
	SigUnknownKey   = kinds.StatusUnknownKey
	SigUnverifiable = kinds.StatusUnverifiable
	SigMalformed    = kinds.StatusMalformed
	// SigNotChecked: no exposed key verifies it and the trusted keys that
	// could were not tried, since no finding depended on them (see
	// VerifyNeeded).
	SigNotChecked = kinds.StatusNotChecked
)

// VerifyMode says which signature checks a hunt runs.
type VerifyMode int

const (
	// VerifyNeeded checks each artifact against the exposed keys when it is
	// ingested, and against the trusted keys only where a finding may
	// depend on the answer: artifacts the ledger does not account for (no
	// raw or consistent id match), those sharing an id with an exposed-key
	// artifact, and any a rule hits. The others stay SigNotChecked. The
	// findings are those of VerifyAll.
	VerifyNeeded VerifyMode = iota
	// VerifyAll checks every artifact against every key at ingest.
	VerifyAll
)

// ArtifactRow is one row of the artifacts table.
type ArtifactRow struct {
	ArtifactKey, Kind, RawSHA256, ArtifactID, Issuer, Subject, Audience, AZP string
	KID, Alg                                                                 string
	IssuedAt, NotBefore, ExpiresAt                                           time.Time
	Header, Claims                                                           string
	SigStatus, SignerFP, VerifyNote                                          string
	// SigFlags are facts for rules (jwtcheck.Flag*: payload-not-json,
	// padded-base64, alg-none, hmac-with-public-key, ...).
	SigFlags []string
	// Names and LinkKey: see kinds.Verdict (schema version 5).
	Names   []string
	LinkKey string
	raw     string
}

var artifactsSchema = arrow.NewSchema([]arrow.Field{
	strField("artifact_key"), strField("kind"), strField("raw_sha256"), strField("artifact_id"),
	strField("issuer"), strField("subject"), strField("audience"), strField("azp"), strField("kid"),
	strField("alg"), tsField("issued_at"), tsField("not_before"), tsField("expires_at"),
	strField("header"), strField("claims"), strField("sig_status"), strField("signer_fp"),
	strField("verify_note"),
	{Name: "sig_flags", Type: arrow.ListOf(arrow.BinaryTypes.String), Nullable: true},
	{Name: "names", Type: arrow.ListOf(arrow.BinaryTypes.String), Nullable: true}, // schema version 5
	strField("link_key"),
}, nil)

var artifactRawSchema = arrow.NewSchema([]arrow.Field{strField("artifact_key"), strField("raw")}, nil)

func strField(n string) arrow.Field {
	return arrow.Field{Name: n, Type: arrow.BinaryTypes.String, Nullable: true}
}
func tsField(n string) arrow.Field {
	return arrow.Field{Name: n, Type: &arrow.TimestampType{Unit: arrow.Microsecond}, Nullable: true}
}

// VerifyArtifact decodes a raw artifact without trusting it and verifies it
// against the key set, with its kind from Kinds; a kind without a verifier
// comes back unverifiable.
func VerifyArtifact(key, kind, raw string, set []*keys.Key) ArtifactRow {
	return verifyArtifact(key, kind, raw, set, VerifyAll)
}

func verifyArtifact(key, kind, raw string, set []*keys.Key, mode VerifyMode) ArtifactRow {
	row := ArtifactRow{ArtifactKey: key, Kind: kind, raw: raw}
	k := LookupKind(kind)
	if k == nil {
		sum := sha256.Sum256([]byte(raw))
		row.RawSHA256 = hex.EncodeToString(sum[:])
		row.SigStatus = SigUnverifiable
		row.VerifyNote = "no verifier for kind " + record.Escape(kind)
		return row
	}
	v := k.Verify(raw, set, kinds.Options{DeferTrusted: mode == VerifyNeeded})
	row.ArtifactID, row.Issuer, row.Subject, row.Audience = v.ID, v.Issuer, v.Subject, v.Audience
	row.AZP, row.KID, row.Alg, row.Header, row.Claims = v.AZP, v.KID, v.Alg, v.Header, v.Claims
	row.IssuedAt, row.NotBefore, row.ExpiresAt = v.IssuedAt, v.NotBefore, v.ExpiresAt
	row.SigStatus, row.SignerFP, row.VerifyNote, row.SigFlags = v.Status, v.SignerFP, v.Note, v.Flags
	row.Names, row.LinkKey = v.Names, v.LinkKey
	row.RawSHA256 = v.RawSHA256
	if row.RawSHA256 == "" {
		sum := sha256.Sum256([]byte(raw))
		row.RawSHA256 = hex.EncodeToString(sum[:])
	}
	return row
}

// idOnlyArtifact is the row of an artifact known only by its id. What the
// log said of it, at its first sighting, stands for its claims: the
// principal the platform took the caller to be is its subject, and the
// sighting's attributes (the service account's pod, the sign-in's app and
// resource) are its claims JSON.
func idOnlyArtifact(key string, s *record.Sighting) ArtifactRow {
	row := ArtifactRow{
		ArtifactKey: key, Kind: s.Kind, ArtifactID: record.Escape(s.ArtifactID), Issuer: record.Escape(s.Issuer),
		Subject:   record.Escape(s.Principal),
		SigStatus: SigUnverifiable, VerifyNote: "the log holds only the id; the verifier's acceptance is the evidence",
	}
	if s.Attrs != "" && json.Valid([]byte(s.Attrs)) {
		row.Claims = s.Attrs
	}
	return row
}

type verifyJob struct {
	key, kind, raw string
	out            *artifactCollector
}

// verifierPool verifies artifacts on all cores.
type verifierPool struct {
	keys []*keys.Key
	mode VerifyMode
	jobs chan verifyJob
	wg   sync.WaitGroup
}

func newVerifierPool(set []*keys.Key, mode VerifyMode, workers int) *verifierPool {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	p := &verifierPool{keys: set, mode: mode, jobs: make(chan verifyJob, 4*workers)}
	for range workers {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			for j := range p.jobs {
				j.out.add(verifyArtifact(j.key, j.kind, j.raw, p.keys, p.mode))
			}
		}()
	}
	return p
}

func (p *verifierPool) submit(j verifyJob) {
	j.out.pending.Add(1)
	p.jobs <- j
}

func (p *verifierPool) close() {
	close(p.jobs)
	p.wg.Wait()
}

// artifactCollector gathers verified artifacts. With flush set, it hands
// them on in groups of artifactFlushRows as they come (an input file's
// artifacts are streamed into the case, never all held), else it keeps
// them for wait.
type artifactCollector struct {
	pending sync.WaitGroup
	// flush, if set, takes the rows gathered; its first error is kept and
	// later rows are dropped.
	flush func([]ArtifactRow) error

	mu   sync.Mutex
	rows []ArtifactRow
	n    int
	err  error
}

const artifactFlushRows = 4096

func (c *artifactCollector) add(r ArtifactRow) {
	c.addNow(r)
	c.pending.Done()
}

func (c *artifactCollector) addNow(r ArtifactRow) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rows = append(c.rows, r)
	c.n++
	if c.flush != nil && len(c.rows) >= artifactFlushRows {
		c.flushLocked()
	}
}

func (c *artifactCollector) flushLocked() {
	if c.err == nil && len(c.rows) > 0 {
		c.err = c.flush(c.rows)
	}
	c.rows = nil
}

// wait waits for every submitted verification and flushes the rest; it
// returns how many artifacts were gathered and the first flush error.
func (c *artifactCollector) wait() (int, error) {
	c.pending.Wait()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.flush != nil {
		c.flushLocked()
	}
	return c.n, c.err
}

// all waits for every submitted verification and returns the rows (a
// collector without flush).
func (c *artifactCollector) all() []ArtifactRow {
	c.pending.Wait()
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rows
}

// artifactBatch builds the artifacts batch of rows.
func artifactBatch(rows []ArtifactRow) arrow.RecordBatch {
	ab := array.NewRecordBuilder(memory.DefaultAllocator, artifactsSchema)
	defer ab.Release()
	f := ab.Fields()
	for i := range rows {
		r := &rows[i]
		for j, v := range []string{r.ArtifactKey, r.Kind, r.RawSHA256, r.ArtifactID, r.Issuer, r.Subject, r.Audience, r.AZP, r.KID, r.Alg} {
			appendStr(f[j], v)
		}
		appendTime(f[10], r.IssuedAt)
		appendTime(f[11], r.NotBefore)
		appendTime(f[12], r.ExpiresAt)
		for j, v := range []string{r.Header, r.Claims, r.SigStatus, r.SignerFP, r.VerifyNote} {
			appendStr(f[13+j], v)
		}
		flags := f[18].(*array.ListBuilder)
		if len(r.SigFlags) == 0 {
			flags.AppendNull()
		} else {
			flags.Append(true)
			for _, fl := range r.SigFlags {
				flags.ValueBuilder().(*array.StringBuilder).Append(fl)
			}
		}
		names := f[19].(*array.ListBuilder)
		if len(r.Names) == 0 {
			names.AppendNull()
		} else {
			names.Append(true)
			for _, n := range r.Names {
				names.ValueBuilder().(*array.StringBuilder).Append(n)
			}
		}
		appendStr(f[20], r.LinkKey)
	}
	return ab.NewRecordBatch()
}

// rawBatch builds the artifact_raw batch of the rows that hold their raw
// artifact.
func rawBatch(rows []ArtifactRow) arrow.RecordBatch {
	rb := array.NewRecordBuilder(memory.DefaultAllocator, artifactRawSchema)
	defer rb.Release()
	for i := range rows {
		if r := &rows[i]; r.raw != "" {
			appendStr(rb.Field(0), r.ArtifactKey)
			appendStr(rb.Field(1), r.raw)
		}
	}
	return rb.NewRecordBatch()
}

func appendStr(b array.Builder, v string) {
	sb := b.(*array.StringBuilder)
	if v == "" {
		sb.AppendNull()
		return
	}
	sb.Append(v)
}

func appendTime(b array.Builder, t time.Time) {
	tb := b.(*array.TimestampBuilder)
	if t.IsZero() {
		tb.AppendNull()
		return
	}
	tb.Append(arrow.Timestamp(t.UnixMicro()))
}
