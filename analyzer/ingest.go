package analyzer

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/forgehunt/forgehunt/analyzer/keys"
	"github.com/forgehunt/forgehunt/parsers"
	"github.com/forgehunt/forgehunt/parsers/record"
)

// IngestOptions tune an ingest.
type IngestOptions struct {
	// Format forces every input to one format; "" detects per file.
	Format string
	// Record is passed to the formats.
	Record record.Options
	// Workers parse files in parallel; 0 means GOMAXPROCS.
	Workers int
	// Progress, if set, is called after each file (from several goroutines,
	// one call at a time).
	Progress func(SourceResult)
	// Live, if set, is counted as the ingest runs (see Progress).
	Live *Progress
}

// SourceResult is what happened to one input file.
type SourceResult struct {
	Path        string
	Format      string
	Compression string
	Envelope    string // the line envelope unwrapped (journald, cri, ...), "" for none
	Size        int64
	SHA256      string
	Sightings   int64
	Issuances   int64
	Rejects     int64
	Links       int64 // relations between ids (a service provider's AuthnRequest and its IdP request id)
	// Salvaged counts the sightings salvaged from rejected records (a
	// token in a line with a NUL byte, in a duplicated key); they are not
	// in Sightings, since their records are counted in Rejects.
	// SalvagedLines is how many rejected records gave at least one.
	Salvaged, SalvagedLines int64
	// RecordsRead is what the reader counted, independently of the format;
	// it must equal Sightings + Issuances + Rejects + Links + Ignored.
	RecordsRead int64
	// Ignored counts records that carry nothing to hunt (a line without a
	// token, a Keycloak event that issues nothing), by reason in
	// IgnoredReasons.
	Ignored        int64
	IgnoredReasons map[string]int64
	// Mismatch is "accounting mismatch: read N, accounted M" when the
	// records read and the records accounted for differ (a format bug:
	// records were lost or counted twice); "" when they agree.
	Mismatch  string
	Artifacts int64 // new distinct artifacts first seen in this file
	// SequenceGaps counts the holes found in the file's own record
	// numbering (Keycloak JSON logging), stored in sequence_gaps or, past
	// record.MaxSeqGaps, only counted.
	SequenceGaps int64
	First, Last  time.Time
	// Skipped says why nothing was read ("already ingested", "format not
	// recognised"); empty when the file was read. Duplicate is set when the
	// case already holds the same content.
	Skipped   string
	Duplicate bool
	// ReadErr is the error that stopped reading early (a truncated archive);
	// what was read before it is kept.
	ReadErr  error
	Duration time.Duration
}

// Records is rows plus rejects.
func (r SourceResult) Records() int64 { return r.Sightings + r.Issuances + r.Links + r.Rejects }

// IngestSummary sums an ingest.
type IngestSummary struct {
	Sources  []SourceResult
	Duration time.Duration
}

// Ingest reads every file under paths into the case, verifying each distinct
// artifact once against set. Files are parsed in parallel, each in its own
// transaction, so a crash leaves no half-loaded file behind; a file whose
// content (sha256) is already in the case is skipped. Per-file problems
// (unknown format, truncated archive) are reported in the summary and do not
// stop the ingest; an error is returned only when the case cannot be written
// or ctx is done.
func (c *Case) Ingest(ctx context.Context, paths []string, set []*keys.Key, opts IngestOptions) (*IngestSummary, error) {
	start := time.Now()
	files, err := parsers.Expand(paths)
	if err != nil {
		return nil, err
	}
	if opts.Live != nil {
		if opts.Live.Started.IsZero() {
			opts.Live.Started = start
		}
		opts.Live.FilesTotal.Add(int64(len(files)))
		for _, f := range files {
			if st, err := os.Stat(f); err == nil {
				opts.Live.BytesTotal.Add(st.Size())
			}
		}
	}
	var forced record.Format
	if opts.Format != "" {
		if forced, err = parsers.Lookup(opts.Format); err != nil {
			return nil, err
		}
	}
	known, err := c.knownArtifacts(ctx)
	if err != nil {
		return nil, err
	}
	ingested, err := c.ingestedSources(ctx)
	if err != nil {
		return nil, err
	}
	// The files of a case that held none before this process are hashed
	// as they are read (see ingestFile).
	if c.hashFirst == nil {
		hf := len(ingested) > 0
		c.hashFirst = &hf
	}
	hashFirst := *c.hashFirst
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	c.keys = set
	pool := newVerifierPool(set, c.Verify, 0)

	results := make([]SourceResult, len(files))
	errs := make([]error, len(files))
	idx := make(chan int)
	var wg sync.WaitGroup
	var progressMu sync.Mutex
	var claimMu sync.Mutex // serialises the sha256 claim of identical files
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range idx {
				res, err := c.ingestFile(ctx, files[i], forced, opts.Record, pool, known, ingested, hashFirst, &claimMu, opts.Live)
				results[i], errs[i] = res, err
				opts.Live.done(res)
				if opts.Progress != nil {
					progressMu.Lock()
					opts.Progress(res)
					progressMu.Unlock()
				}
			}
		}()
	}
	for i := range files {
		if ctx.Err() != nil {
			break
		}
		idx <- i
	}
	close(idx)
	wg.Wait()
	pool.close()
	// What parsing allocated is garbage now, and the database phase that
	// follows allocates too little in Go for a collection to run: give it
	// back to the system, or it stays in the process's peak.
	debug.FreeOSMemory()
	sum := &IngestSummary{Sources: results, Duration: time.Since(start)}
	if err := errors.Join(errs...); err != nil {
		return sum, err
	}
	return sum, ctx.Err()
}

func (c *Case) knownArtifacts(ctx context.Context) (*keySet, error) {
	known := &keySet{}
	rows, err := c.DB.QueryContext(ctx, `SELECT artifact_key FROM artifacts`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, err
		}
		known.add(k)
	}
	return known, rows.Err()
}

func (c *Case) ingestedSources(ctx context.Context) (map[string]bool, error) {
	m := map[string]bool{}
	rows, err := c.DB.QueryContext(ctx, `SELECT sha256 FROM sources WHERE status IN ('complete', 'partial')`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var s sql.NullString
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		m[s.String] = true
	}
	return m, rows.Err()
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func (c *Case) ingestFile(ctx context.Context, path string, forced record.Format, ropts record.Options,
	pool *verifierPool, known *keySet, ingested map[string]bool, hashFirst bool, claimMu *sync.Mutex, live *Progress) (res SourceResult, err error) {
	start := time.Now()
	res = SourceResult{Path: path}
	defer func() { res.Duration = time.Since(start) }()
	st, err := os.Stat(path)
	if err != nil {
		res.Skipped = err.Error()
		return res, nil
	}
	res.Size = st.Size()
	// claim marks the file's content as ingested; false when it already was.
	claim := func(sum string) bool {
		claimMu.Lock()
		defer claimMu.Unlock()
		dup := ingested[sum]
		ingested[sum] = true
		return !dup
	}
	const dupReason = "already ingested (same content)"
	// A case that holds files already (a hunt run again on it): the file is
	// hashed first, and skipped unread when its content is known. A new
	// case: it is hashed as it is read, and a copy met in this run is
	// dropped afterwards (its transaction rolled back), sparing a pass
	// over every file.
	var hashing hash.Hash
	if hashFirst {
		sum, err := fileSHA256(path)
		if err != nil {
			res.Skipped = err.Error()
			return res, nil
		}
		res.SHA256 = sum
		if !claim(sum) {
			res.Duplicate, res.Skipped = true, dupReason
			return res, nil
		}
	} else {
		hashing = sha256.New()
	}
	opened, err := parsers.OpenHashing(path, hashing)
	if err != nil {
		res.Skipped = err.Error()
		if hashing != nil {
			if res.SHA256, err = fileSHA256(path); err != nil {
				return res, nil
			}
			if !claim(res.SHA256) {
				res.Duplicate, res.Skipped = true, dupReason
				return res, nil
			}
		}
		return res, c.recordSource(ctx, nil, &res, "unreadable")
	}
	defer opened.Close()
	live.track(opened)
	defer live.untrack(opened)
	// finishHash completes the hash of a file hashed while read and claims
	// its content; false: a copy of a file already read in this run.
	finishHash := func() (bool, error) {
		if hashing == nil {
			return true, nil
		}
		if err := opened.HashRest(); err != nil {
			return false, err
		}
		res.SHA256 = hex.EncodeToString(hashing.Sum(nil))
		hashing = nil
		if !claim(res.SHA256) {
			res = SourceResult{Path: res.Path, Size: res.Size, SHA256: res.SHA256, Duplicate: true, Skipped: dupReason}
			return false, nil
		}
		return true, nil
	}
	res.Compression = string(opened.Compression)
	format, envelope, r, err := parsers.DetectFile(path, opened, forced)
	if err != nil {
		res.ReadErr = err
	}
	if envelope != nil {
		ropts.Envelope = envelope
		res.Envelope = envelope.Name
	}
	if format == nil {
		res.Skipped = "format not recognised (force one with --input-format; see `forgehunt formats`)"
		if fresh, err := finishHash(); err != nil || !fresh {
			return res, err
		}
		return res, c.recordSource(ctx, nil, &res, "unrecognised")
	}
	res.Format = format.Name()

	// Three loaders, each its own connection and transaction: the file's
	// records (and its sources row, last), its new artifacts and their raw
	// bytes, each table streamed into one INSERT while the file is read.
	// They commit raw, artifacts, records: a crash in between leaves
	// artifacts without their file, which is read again next time (its
	// sources row is missing) and finds them known.
	var loaders []*loader
	committed := false
	defer func() {
		if !committed {
			for _, l := range loaders {
				l.rollback()
			}
		}
	}()
	for range 3 {
		l, err := c.newLoader(ctx)
		if err != nil {
			return res, err
		}
		loaders = append(loaders, l)
	}
	ld, artLd, rawLd := loaders[0], loaders[1], loaders[2]
	coll := &artifactCollector{flush: func(rows []ArtifactRow) error {
		if err := artLd.add(ctx, "artifacts", artifactBatch(rows)); err != nil {
			return err
		}
		raws := rawBatch(rows)
		if raws.NumRows() == 0 {
			raws.Release()
			return nil
		}
		return rawLd.add(ctx, "artifact_raw", raws)
	}}
	var ldMu sync.Mutex // the loader's connection is used by one batcher at a time
	newBatcher := func() *parsers.Batcher {
		b := parsers.NewBatcher(func(t parsers.Table, rec arrow.RecordBatch) error {
			ldMu.Lock()
			defer ldMu.Unlock()
			return ld.add(ctx, string(t), rec)
		})
		b.NewArtifact = func(key string, s *record.Sighting) {
			if !known.add(key) {
				return
			}
			if s.Raw == "" {
				coll.addNow(idOnlyArtifact(key, s))
				return
			}
			pool.submit(verifyJob{key: key, kind: s.Kind, raw: s.Raw, out: coll})
		}
		return b
	}
	batcher := newBatcher()
	batchers := []*parsers.Batcher{batcher}
	var stats record.Stats
	var readErr error
	if splittable(format, ropts) {
		var more []*parsers.Batcher
		more, readErr = parseInParts(ctx, format, path, r, ropts, &stats, newBatcher)
		batchers = append(batchers, more...)
	} else {
		readErr = safeParse(ctx, format, &record.Input{Name: path, R: r, Options: ropts, Stats: &stats}, batcher)
	}
	if readErr != nil && ctx.Err() == nil {
		res.ReadErr = readErr
		// The unreadable rest of the stream is one record read and rejected,
		// so that the accounting still adds up.
		var lastLine int64
		for _, b := range batchers {
			lastLine = max(lastLine, b.Counts().LastLine)
		}
		stats.Records++
		batcher.Reject(&record.Reject{
			Pos:    record.Position{File: path, Line: lastLine + 1, Format: format.Name()},
			Reason: "read stopped: " + readErr.Error(),
		})
	}
	nArtifacts, err := coll.wait()
	if err != nil {
		return res, fmt.Errorf("%s: %w", path, err)
	}
	var counts parsers.Counts
	for _, b := range batchers {
		if err := b.Close(); err != nil {
			return res, fmt.Errorf("%s: %w", path, err)
		}
		counts.Merge(b.Counts())
	}
	for _, l := range loaders {
		if err := l.finish(ctx); err != nil {
			return res, fmt.Errorf("%s: %w", path, err)
		}
	}
	if ctx.Err() != nil {
		return res, ctx.Err()
	}
	res.Sightings, res.Issuances, res.Rejects, res.Links = counts.Sightings, counts.Issuances, counts.Rejects, counts.Links
	res.Salvaged, res.SalvagedLines = counts.Salvaged, counts.SalvagedLines
	res.Ignored, res.IgnoredReasons, res.RecordsRead = counts.Ignored, counts.IgnoredReasons, stats.Records
	if accounted := counts.Accounted(); accounted != stats.Records {
		res.Mismatch = fmt.Sprintf("accounting mismatch: read %d, accounted %d", stats.Records, accounted)
	}
	res.First, res.Last = counts.First, counts.Last
	res.Artifacts = int64(nArtifacts)
	res.SequenceGaps = int64(len(stats.SeqGaps)) + stats.SeqGapsDropped
	if fresh, err := finishHash(); err != nil {
		return res, fmt.Errorf("%s: %w", path, err)
	} else if !fresh {
		// A copy of a file read in this run: its records are dropped (the
		// deferred rollback), its artifacts kept, since the known set
		// counts them as stored and the other copy's sightings name them.
		for _, l := range []*loader{rawLd, artLd} {
			if err := l.commit(ctx); err != nil {
				return res, fmt.Errorf("%s: committing: %w", path, err)
			}
		}
		return res, nil
	}
	if err := insertSequences(ctx, ld, path, &stats); err != nil {
		return res, fmt.Errorf("%s: %w", path, err)
	}
	status := "complete"
	if res.ReadErr != nil {
		status = "partial"
	}
	if err := c.recordSource(ctx, ld, &res, status); err != nil {
		return res, err
	}
	for _, l := range []*loader{rawLd, artLd, ld} {
		if err := l.commit(ctx); err != nil {
			return res, fmt.Errorf("%s: committing: %w", path, err)
		}
	}
	committed = true
	return res, nil
}

// insertSequences writes the holes in the file's record numbering and its
// per-process runs, in ld's transaction, a few hundred rows per statement.
func insertSequences(ctx context.Context, ld *loader, path string, st *record.Stats) error {
	const chunk = 500
	for i := 0; i < len(st.SeqGaps); i += chunk {
		gaps := st.SeqGaps[i:min(i+chunk, len(st.SeqGaps))]
		args := make([]any, 0, 9*len(gaps))
		for _, g := range gaps {
			args = append(args, g.Kind, path, g.Line, g.Process, g.After, g.Before, g.Missing,
				nullTime(g.AfterTime), nullTime(g.BeforeTime))
		}
		q := `INSERT INTO sequence_gaps (kind, src_file, src_line, process, after_seq, before_seq, missing, from_t, to_t) VALUES ` +
			valueMarks(len(gaps), 9)
		if err := ld.exec(ctx, q, args...); err != nil {
			return fmt.Errorf("writing sequence gaps: %w", err)
		}
	}
	for i := 0; i < len(st.SeqRuns); i += chunk {
		runs := st.SeqRuns[i:min(i+chunk, len(st.SeqRuns))]
		args := make([]any, 0, 9*len(runs))
		for _, r := range runs {
			args = append(args, r.Kind, path, r.Process, r.FirstSeq, nullTime(r.FirstTime), r.FirstLine,
				r.LastSeq, nullTime(r.LastTime), r.LastLine)
		}
		q := `INSERT INTO sequence_runs (kind, src_file, process, first_seq, first_t, first_line, last_seq, last_t, last_line) VALUES ` +
			valueMarks(len(runs), 9)
		if err := ld.exec(ctx, q, args...); err != nil {
			return fmt.Errorf("writing sequence runs: %w", err)
		}
	}
	return nil
}

// valueMarks is "(?, ?), (?, ?)" for rows rows of cols placeholders.
func valueMarks(rows, cols int) string {
	row := "(" + strings.TrimSuffix(strings.Repeat("?, ", cols), ", ") + ")"
	return strings.TrimSuffix(strings.Repeat(row+", ", rows), ", ")
}

// safeParse runs a format's Parse and turns a panic into an error, so that a
// format bug on hostile input costs one file, not the run. Every format's
// rejects are salvaged (record.SalvageSink): a token in a line the format
// could not read is still hunted.
func safeParse(ctx context.Context, f record.Format, in *record.Input, sink record.Sink) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("parser %s failed: %v", f.Name(), p)
		}
	}()
	return f.Parse(ctx, in, record.SalvageSink(sink, f, in.Options))
}

// recordSource writes the sources row, in ld's transaction when given. An
// accounting mismatch is written to the error column (after a read error,
// if any); the status stays what reading made it.
func (c *Case) recordSource(ctx context.Context, ld *loader, r *SourceResult, status string) error {
	var problems []string
	if r.ReadErr != nil {
		problems = append(problems, r.ReadErr.Error())
	} else if r.Skipped != "" {
		problems = append(problems, r.Skipped)
	}
	if r.Mismatch != "" {
		problems = append(problems, r.Mismatch)
	}
	var errText any
	if len(problems) > 0 {
		errText = strings.Join(problems, "; ")
	}
	reasons, err := json.Marshal(r.IgnoredReasons)
	if err != nil {
		return err
	}
	if r.IgnoredReasons == nil {
		reasons = []byte("{}")
	}
	q := `INSERT INTO sources (path, size, sha256, format, compression, records, sightings, issuances, rejects,
		first_time, last_time, status, error, ingested_at, records_read, ignored, ignored_reasons, sequence_gaps, envelope,
		salvaged, salvaged_lines, links)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, now()::TIMESTAMP, ?, ?, ?, ?, ?, ?, ?, ?)`
	args := []any{r.Path, r.Size, r.SHA256, nullStr(r.Format), nullStr(r.Compression), r.Records(),
		r.Sightings, r.Issuances, r.Rejects, nullTime(r.First), nullTime(r.Last), status, errText,
		r.RecordsRead, r.Ignored, string(reasons), r.SequenceGaps, nullStr(r.Envelope), r.Salvaged, r.SalvagedLines, r.Links}
	if ld != nil {
		return ld.exec(ctx, q, args...)
	}
	_, err = c.DB.ExecContext(ctx, q, args...)
	return err
}

func nullStr(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC()
}

// Parts of a large input read in parallel.
const (
	partBytes = 4 << 20
	partQueue = 4
)

// splittable reports whether an input in format may be read in parts: the
// format says its lines are independent and there is more than one core.
// Parts end only where a record ends (see endsRecord).
func splittable(f record.Format, o record.Options) bool {
	li, ok := f.(record.LineIndependent)
	return ok && li.LineIndependent() && runtime.GOMAXPROCS(0) > 1
}

// endsRecord reports whether a line ends its record under the envelope (a
// CRI or Docker partial line does not), so that a part may end after it.
func endsRecord(env *record.Envelope) func([]byte) bool {
	if env == nil {
		return nil
	}
	return func(line []byte) bool {
		_, _, partial, ok := env.Unwrap(bytes.TrimRight(line, "\r"))
		return !ok || !partial
	}
}

// parseInParts cuts r into parts of whole lines and parses them on all
// cores, each part into its own batcher (all in the file's transaction).
// It returns the batchers used and the read error that stopped the input.
func parseInParts(ctx context.Context, format record.Format, path string, r io.Reader, ropts record.Options,
	stats *record.Stats, newBatcher func() *parsers.Batcher) ([]*parsers.Batcher, error) {
	workers := runtime.GOMAXPROCS(0)
	parts := make(chan parsers.Chunk, partQueue)
	batchers := make([]*parsers.Batcher, workers)
	partStats := make([]record.Stats, workers)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	bearers := &record.BearerCache{} // shared by the workers, across the parts
	for w := range workers {
		batchers[w] = newBatcher()
		wg.Add(1)
		go func() {
			defer wg.Done()
			for part := range parts {
				if errs[w] != nil {
					continue // drain
				}
				in := &record.Input{Name: path, R: bytes.NewReader(part.Data), Data: part.Data, Options: ropts,
					Stats: &partStats[w], FirstLine: part.FirstLine, Bearers: bearers}
				errs[w] = safeParse(ctx, format, in, batchers[w])
				// Records hold copies of what they read (strings), never
				// the line's bytes: the part's memory serves the next one.
				part.Release()
			}
		}()
	}
	maxLine := ropts.MaxLineBytes
	if maxLine <= 0 {
		maxLine = record.DefaultMaxLineBytes
	}
	readErr := parsers.SplitLinesAt(r, partBytes, maxLine, endsRecord(ropts.Envelope), func(c parsers.Chunk) error {
		select {
		case parts <- c:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	close(parts)
	wg.Wait()
	for w := range workers {
		stats.Records += partStats[w].Records
		if readErr == nil && errs[w] != nil {
			readErr = errs[w]
		}
	}
	return batchers, readErr
}
