// Package analyzer owns the case: the DuckDB database with the normalized
// tables, the keys, signature verification (once per distinct artifact),
// matching against the issuer's ledger, rule execution and findings.
package analyzer

import (
	"context"
	"database/sql"
	"database/sql/driver"
	_ "embed"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/duckdb/duckdb-go/v2"

	"github.com/forgehunt/forgehunt/analyzer/keys"
)

// schemaSQL is the case schema as it was at baseSchemaVersion. It is
// frozen: a change to the schema is a new entry of migrations, so that a
// case written by an earlier forgehunt is upgraded, not refused.
//
//go:embed sql/schema.sql
var schemaSQL string

// baseSchemaVersion is the version schemaSQL creates; older cases cannot be
// upgraded.
const baseSchemaVersion = 3

// migrations upgrade a case one version at a time: migrations[i] takes it
// from baseSchemaVersion+i to baseSchemaVersion+i+1 (new kinds add columns
// and tables). Append only: never edit one that has shipped.
var migrations = []string{
	// 4: whether an issuance's audience is the client it was issued to (a
	// fact the format states; before, matching tested src_format)
	`ALTER TABLE issuances ADD COLUMN audience_client BOOLEAN;
	 UPDATE issuances SET audience_client = (src_format = 'keycloak')`,
	// 5: the second kind (x509): the names an artifact or issuance is for
	// (a certificate's SANs), the key linking artifacts of one logical
	// issuance (a precertificate and its certificate share the TBS hash)
	`ALTER TABLE issuances ADD COLUMN names VARCHAR[];
	 ALTER TABLE artifacts ADD COLUMN names VARCHAR[];
	 ALTER TABLE artifacts ADD COLUMN link_key VARCHAR;
	 ALTER TABLE findings ADD COLUMN names VARCHAR[];
	 ALTER TABLE keys ADD COLUMN subject_dn VARCHAR`,
	// 6: relations between ids that logs state (a service provider's
	// AuthnRequest and the request id it passed to the IdP), which matching
	// follows from an artifact to its issuance
	`CREATE TABLE links (relation VARCHAR, from_kind VARCHAR, from_id VARCHAR, to_kind VARCHAR, to_id VARCHAR,
	     observed_at TIMESTAMP, observer VARCHAR, principal VARCHAR, attrs VARCHAR, src_file VARCHAR, src_line BIGINT,
	     src_format VARCHAR);
	 ALTER TABLE sources ADD COLUMN links BIGINT`,
}

// SchemaVersion is the version of the case schema this forgehunt writes.
func SchemaVersion() int { return baseSchemaVersion + len(migrations) }

// Case is an open case database.
type Case struct {
	DB   *sql.DB
	Path string // "" for an in-memory case
	// Trace, if set, is told how long each stage of an analysis took
	// (forgehunt bench's breakdown); nil records nothing.
	Trace func(stage string, d time.Duration)
	// Verify says which signature checks run; the zero value is
	// VerifyNeeded (trusted keys only where a finding may depend on them).
	Verify VerifyMode
	conn   *duckdb.Connector
	// keys is the key set of the last SetKeys or Ingest: Analyze settles
	// the checks VerifyNeeded deferred with it.
	keys []*keys.Key
	// hashFirst is set by the first Ingest: whether the case held files.
	hashFirst *bool
}

// trace reports a stage that started at start to c.Trace, if set.
func (c *Case) trace(stage string, start time.Time) {
	if c.Trace != nil {
		c.Trace(stage, time.Since(start))
	}
}

// CaseOptions tune the database of a case.
type CaseOptions struct {
	// MemoryLimit bounds the database's memory, in DuckDB's size syntax
	// ("512MB", "2GiB"); "" is DefaultMemoryLimit. Past it, DuckDB spills
	// to TempDir instead of growing.
	MemoryLimit string
	// TempDir is where the database spills. "" is DuckDB's default: next to
	// a case file (<case>.tmp); an in-memory case needs one to spill at all.
	TempDir string
}

// DefaultMemoryLimit is the database's memory bound unless told otherwise:
// a hunt over gigabytes spills rather than exhausting the machine, and the
// whole process (Go's parsing heap besides) stays near 1 GiB.
const DefaultMemoryLimit = "512MB"

// OpenCase opens (creating if needed) the case at path, or an in-memory case
// when path is "", with the default options.
func OpenCase(ctx context.Context, path string) (*Case, error) {
	return OpenCaseWith(ctx, path, CaseOptions{})
}

// OpenCaseWith opens (creating if needed) the case at path, or an in-memory
// case when path is "". A new case file is created with mode 0600: it holds
// tokens.
func OpenCaseWith(ctx context.Context, path string, opts CaseOptions) (*Case, error) {
	dsn := ""
	if path != "" {
		if dir := filepath.Dir(path); dir != "" {
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return nil, fmt.Errorf("case directory: %w", err)
			}
		}
		dsn = path
	}
	connector, err := duckdb.NewConnector(dsn, nil)
	if err != nil {
		return nil, fmt.Errorf("opening case %s: %w", path, err)
	}
	db := sql.OpenDB(connector)
	c := &Case{DB: db, Path: path, conn: connector}
	if err := c.configure(ctx, opts); err != nil {
		c.Close()
		return nil, err
	}
	if path != "" {
		// A case holds tokens: owner only. (The command also sets umask 077,
		// which covers DuckDB's WAL and temporary files.)
		os.Chmod(path, 0o600)
	}
	// One transaction, so that a crash never leaves half a schema.
	if err := c.execTx(ctx, schemaSQL); err != nil {
		c.Close()
		return nil, fmt.Errorf("creating case schema: %w", err)
	}
	if err := c.migrate(ctx); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// migrate brings the case's schema to SchemaVersion: a new case is
// stamped with baseSchemaVersion first, then each migration it lacks runs,
// each in one transaction with the version it reaches.
func (c *Case) migrate(ctx context.Context) error {
	var v sql.NullString
	err := c.DB.QueryRowContext(ctx, `SELECT value FROM meta WHERE name = 'schema_version'`).Scan(&v)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		if _, err := c.DB.ExecContext(ctx, `INSERT INTO meta VALUES ('schema_version', ?)`, strconv.Itoa(baseSchemaVersion)); err != nil {
			return err
		}
		v.String = strconv.Itoa(baseSchemaVersion)
	case err != nil:
		return err
	}
	have, err := strconv.Atoi(v.String)
	switch {
	case err != nil || have < baseSchemaVersion:
		return fmt.Errorf("case %s has schema version %s, older than this forgehunt can upgrade (%d): start a new case file",
			c.Path, v.String, baseSchemaVersion)
	case have > SchemaVersion():
		return fmt.Errorf("case %s has schema version %d, written by a newer forgehunt (this one writes %d)", c.Path, have, SchemaVersion())
	}
	for next := have + 1; next <= SchemaVersion(); next++ {
		q := migrations[next-baseSchemaVersion-1] +
			"\n;UPDATE meta SET value = '" + strconv.Itoa(next) + "' WHERE name = 'schema_version'"
		if err := c.execTx(ctx, q); err != nil {
			return fmt.Errorf("upgrading case %s to schema version %d: %w", c.Path, next, err)
		}
	}
	return nil
}

// execTx runs the statements of q in one transaction on one connection,
// rolled back on that connection when one fails, so that a crash or an
// error never leaves half of them.
func (c *Case) execTx(ctx context.Context, q string) error {
	conn, err := c.DB.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN TRANSACTION;\n"+q+"\n;COMMIT;"); err != nil {
		conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
		return err
	}
	return nil
}

// configure applies opts to the database (DuckDB settings are global: one
// SET covers every connection).
func (c *Case) configure(ctx context.Context, opts CaseOptions) error {
	limit := opts.MemoryLimit
	if limit == "" {
		limit = DefaultMemoryLimit
	}
	if _, err := c.DB.ExecContext(ctx, "SET memory_limit = "+quoteLiteral(limit)); err != nil {
		return fmt.Errorf("memory limit %q: %w", limit, err)
	}
	// Tables are read with ORDER BY wherever order shows; without
	// preserving insertion order DuckDB loads in parallel and buffers less.
	if _, err := c.DB.ExecContext(ctx, "SET preserve_insertion_order = false"); err != nil {
		return err
	}
	if opts.TempDir != "" {
		if _, err := c.DB.ExecContext(ctx, "SET temp_directory = "+quoteLiteral(opts.TempDir)); err != nil {
			return fmt.Errorf("temporary directory: %w", err)
		}
	}
	return nil
}

// quoteLiteral quotes an SQL string literal.
func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// Close closes the database.
func (c *Case) Close() error {
	err := c.DB.Close()
	if c.conn != nil {
		err = errors.Join(err, c.conn.Close())
	}
	return err
}

// loader inserts Arrow record batches into case tables within one
// transaction on its own connection. The batches of one table (the first it
// is given: sightings for an access log, issuances for a ledger) are
// streamed into a single INSERT that runs while the batches are made; the
// other tables' batches wait in pending until finish.
type loader struct {
	conn *sql.Conn
	tx   bool

	stream      *streamReader // nil until the first insert
	streamTable string
	streamDone  chan error
	pending     []pendingBatch
}

type pendingBatch struct {
	table string
	rec   arrow.RecordBatch
}

// viewSeq names Arrow views uniquely across connections.
var viewSeq atomic.Int64

func (c *Case) newLoader(ctx context.Context) (*loader, error) {
	conn, err := c.DB.Conn(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := conn.ExecContext(ctx, "BEGIN TRANSACTION"); err != nil {
		conn.Close()
		return nil, err
	}
	return &loader{conn: conn, tx: true}, nil
}

// add appends rec to table: into the loader's stream when the table is
// the streamed one (starting it with the first batch), else pending until
// finish. It owns rec. Calls must not overlap.
func (l *loader) add(ctx context.Context, table string, rec arrow.RecordBatch) error {
	if l.stream == nil {
		l.stream = newStreamReader(rec.Schema())
		l.streamTable = table
		l.streamDone = make(chan error, 1)
		go func() {
			l.streamDone <- l.insertReader(ctx, table, l.stream)
		}()
	}
	if table != l.streamTable {
		l.pending = append(l.pending, pendingBatch{table, rec})
		return nil
	}
	select {
	case l.stream.ch <- rec:
		return nil
	case err := <-l.streamDone:
		// the INSERT ended early (an error): report it from finish too
		rec.Release()
		l.streamDone <- err
		if err == nil {
			err = errors.New("loading " + table + ": the insert ended early")
		}
		return err
	}
}

// finish ends the stream, waits for its INSERT and inserts what is
// pending; the connection is free again afterwards.
func (l *loader) finish(ctx context.Context) error {
	var err error
	if l.stream != nil {
		close(l.stream.ch)
		err = <-l.streamDone
		l.stream = nil
	}
	for _, p := range l.pending {
		if err != nil {
			p.rec.Release()
			continue
		}
		err = l.insert(ctx, p.table, p.rec)
	}
	l.pending = nil
	return err
}

// insert appends rec to table at once. The Arrow view is materialized at
// once with INSERT ... SELECT * (the only use of duckdb-go's Arrow view that
// is safe).
func (l *loader) insert(ctx context.Context, table string, rec arrow.RecordBatch) error {
	defer rec.Release()
	rdr, err := array.NewRecordReader(rec.Schema(), []arrow.RecordBatch{rec})
	if err != nil {
		return err
	}
	defer rdr.Release()
	return l.insertReader(ctx, table, rdr)
}

// insertReader appends every batch rdr yields to table, in one INSERT.
func (l *loader) insertReader(ctx context.Context, table string, rdr array.RecordReader) error {
	view := fmt.Sprintf("arrow_in_%s_%d", table, viewSeq.Add(1))
	return withArrow(l.conn, func(ar *duckdb.Arrow, dc driver.Conn) error {
		release, err := ar.RegisterView(rdr, view)
		if err != nil {
			return fmt.Errorf("registering arrow batch: %w", err)
		}
		defer release()
		execer := dc.(driver.ExecerContext)
		if _, err := execer.ExecContext(ctx, "INSERT INTO "+table+" SELECT * FROM "+view, nil); err != nil {
			return fmt.Errorf("loading %s: %w", table, err)
		}
		_, err = execer.ExecContext(ctx, "DROP VIEW IF EXISTS "+view, nil)
		return err
	})
}

// streamReader is an array.RecordReader over the batches sent on ch,
// until ch is closed: the source of a streamed INSERT.
type streamReader struct {
	refs   atomic.Int64
	schema *arrow.Schema
	ch     chan arrow.RecordBatch
	cur    arrow.RecordBatch
}

func newStreamReader(schema *arrow.Schema) *streamReader {
	r := &streamReader{schema: schema, ch: make(chan arrow.RecordBatch, 2)}
	r.refs.Store(1)
	return r
}

func (r *streamReader) Retain() { r.refs.Add(1) }

func (r *streamReader) Release() {
	if r.refs.Add(-1) == 0 && r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
}

func (r *streamReader) Schema() *arrow.Schema { return r.schema }

func (r *streamReader) Next() bool {
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
	rec, ok := <-r.ch
	if !ok {
		return false
	}
	r.cur = rec
	return true
}

func (r *streamReader) RecordBatch() arrow.RecordBatch { return r.cur }

// Record is RecordBatch (array.RecordReader still asks for it).
func (r *streamReader) Record() arrow.RecordBatch { return r.cur }

func (r *streamReader) Err() error { return nil }

func (l *loader) exec(ctx context.Context, q string, args ...any) error {
	_, err := l.conn.ExecContext(ctx, q, args...)
	return err
}

func (l *loader) commit(ctx context.Context) error {
	defer l.conn.Close()
	if !l.tx {
		return nil
	}
	l.tx = false
	_, err := l.conn.ExecContext(ctx, "COMMIT")
	return err
}

func (l *loader) rollback() {
	l.finish(context.Background())
	if l.tx {
		l.conn.ExecContext(context.Background(), "ROLLBACK")
		l.tx = false
	}
	l.conn.Close()
}

// quoteIdent quotes an SQL identifier.
func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// OpenCaseReadOnly opens an existing case file so that nothing can write to
// it (forgehunt query).
func OpenCaseReadOnly(ctx context.Context, path string) (*Case, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("case %w", err)
	}
	connector, err := duckdb.NewConnector(path+"?access_mode=READ_ONLY", nil)
	if err != nil {
		return nil, fmt.Errorf("opening case %s: %w", path, err)
	}
	c := &Case{DB: sql.OpenDB(connector), Path: path, conn: connector}
	if err := c.DB.PingContext(ctx); err != nil {
		c.Close()
		return nil, fmt.Errorf("opening case %s: %w", path, err)
	}
	return c, nil
}
