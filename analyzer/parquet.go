package analyzer

import (
	"context"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Shards: a batch of jobs each ingests a share of an archive into Parquet
// (ExportParquet), and one hunt reads every share (ImportParquet) and runs
// the matching and rules over them, with the findings of a single run.

// Shard is share I (0-based) of N.
type Shard struct{ I, N int }

// ParseShard reads "I/N" (0 <= I < N).
func ParseShard(s string) (Shard, error) {
	a, b, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || n < 1 || i < 0 || i >= n {
		return Shard{}, fmt.Errorf("shard %q is not I/N with 0 <= I < N (e.g. 0/4)", s)
	}
	return Shard{i, n}, nil
}

// Owns reports whether the file named rel (its path below the argument it
// was found under: stable whatever the mount point or listing order)
// belongs to the share.
func (s Shard) Owns(rel string) bool {
	if s.N <= 1 {
		return true
	}
	h := fnv.New64a()
	h.Write([]byte(filepath.ToSlash(rel)))
	return h.Sum64()%uint64(s.N) == uint64(s.I)
}

func (s Shard) String() string { return fmt.Sprintf("%d-of-%d", s.I, s.N) }

// ShareTables are the tables a share holds: what ingest writes. The
// derived tables (matches, findings) are rebuilt by the hunt over all
// shares.
var ShareTables = []string{"sources", "sightings", "issuances", "rejects", "links", "sequence_gaps", "sequence_runs",
	"artifacts", "artifact_raw", "keys"}

// ExportParquet writes the case's share tables as Parquet files
// dir/<table>/shard-<I>-of-<N>.parquet (zstd), replacing that share's
// files.
func (c *Case) ExportParquet(ctx context.Context, dir string, s Shard) error {
	for _, t := range ShareTables {
		d := filepath.Join(dir, t)
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
		p := filepath.Join(d, "shard-"+s.String()+".parquet")
		q := fmt.Sprintf(`COPY (SELECT * FROM %s) TO %s (FORMAT parquet, COMPRESSION zstd)`, t, quoteLiteral(p))
		if _, err := c.DB.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("writing %s: %w", p, err)
		}
	}
	return nil
}

// ImportResult is what ImportParquet added.
type ImportResult struct {
	Shares    int // distinct share files of the sources table
	Sources   int // files new to the case
	Artifacts int // distinct artifacts new to the case
}

// ImportParquet adds the shares under dir (as ExportParquet wrote them)
// to the case: each file's rows once (a file, by its sha256, already in
// the case or in two shares is taken once), each artifact once (it was
// verified where it was ingested; the stored raw lets a run with other
// keys verify it again). The keys are taken when the case has none, so
// that SetKeys with other keys verifies again.
func (c *Case) ImportParquet(ctx context.Context, dir string) (*ImportResult, error) {
	dir = strings.TrimSuffix(strings.TrimSuffix(dir, "/**"), "/*")
	read := func(t string) (string, bool, error) {
		pattern := filepath.Join(dir, t, "*.parquet")
		m, err := filepath.Glob(pattern)
		if err != nil {
			return "", false, err
		}
		if len(m) == 0 {
			return "", false, nil
		}
		return fmt.Sprintf("read_parquet(%s, union_by_name = true)", quoteLiteral(pattern)), true, nil
	}
	src, ok, err := read("sources")
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("no shares under %s: want %s (forgehunt ingest --parquet-out DIR writes them)", dir, filepath.Join(dir, "sources", "*.parquet"))
	}
	conn, err := c.DB.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN TRANSACTION"); err != nil {
		return nil, err
	}
	done := false
	defer func() {
		if !done {
			conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
		}
	}()
	res := &ImportResult{}
	if err := conn.QueryRowContext(ctx, `SELECT count(DISTINCT filename) FROM `+strings.Replace(src, "union_by_name = true", "union_by_name = true, filename = true", 1)).Scan(&res.Shares); err != nil {
		return nil, err
	}
	// the files new to the case, each content once
	if _, err := conn.ExecContext(ctx, `CREATE OR REPLACE TEMP TABLE import_sources AS
		SELECT * FROM `+src+` i
		WHERE i.sha256 IS NULL OR i.sha256 NOT IN (SELECT sha256 FROM sources WHERE sha256 IS NOT NULL)
		QUALIFY i.sha256 IS NULL OR row_number() OVER (PARTITION BY i.sha256 ORDER BY i.path) = 1`); err != nil {
		return nil, err
	}
	if err := conn.QueryRowContext(ctx, `SELECT count(*) FROM import_sources`).Scan(&res.Sources); err != nil {
		return nil, err
	}
	if _, err := conn.ExecContext(ctx, `INSERT INTO sources BY NAME SELECT * FROM import_sources`); err != nil {
		return nil, err
	}
	for _, t := range []string{"sightings", "issuances", "rejects", "links", "sequence_gaps", "sequence_runs"} {
		from, ok, err := read(t)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		if _, err := conn.ExecContext(ctx, `INSERT INTO `+t+` BY NAME SELECT * FROM `+from+`
			WHERE src_file IN (SELECT path FROM import_sources)`); err != nil {
			return nil, fmt.Errorf("importing %s: %w", t, err)
		}
	}
	if from, ok, err := read("artifacts"); err != nil {
		return nil, err
	} else if ok {
		// an artifact met by several shares: one row, the same verdict
		// (the same raw against the same keys); the most definite first
		r, err := conn.ExecContext(ctx, `INSERT INTO artifacts BY NAME SELECT * FROM `+from+` a
			WHERE a.artifact_key NOT IN (SELECT artifact_key FROM artifacts)
			QUALIFY row_number() OVER (PARTITION BY a.artifact_key ORDER BY a.sig_status = 'not-checked', a.sig_status) = 1`)
		if err != nil {
			return nil, fmt.Errorf("importing artifacts: %w", err)
		}
		n, _ := r.RowsAffected()
		res.Artifacts = int(n)
	}
	if from, ok, err := read("artifact_raw"); err != nil {
		return nil, err
	} else if ok {
		if _, err := conn.ExecContext(ctx, `INSERT INTO artifact_raw BY NAME SELECT * FROM `+from+` r
			WHERE r.artifact_key NOT IN (SELECT artifact_key FROM artifact_raw)
			QUALIFY row_number() OVER (PARTITION BY r.artifact_key) = 1`); err != nil {
			return nil, fmt.Errorf("importing artifact_raw: %w", err)
		}
	}
	if from, ok, err := read("keys"); err != nil {
		return nil, err
	} else if ok {
		if _, err := conn.ExecContext(ctx, `INSERT INTO keys BY NAME SELECT * FROM `+from+` k
			WHERE NOT EXISTS (SELECT 1 FROM keys)
			QUALIFY row_number() OVER (PARTITION BY k.key_fp) = 1`); err != nil {
			return nil, fmt.Errorf("importing keys: %w", err)
		}
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		return nil, err
	}
	done = true
	if c.hashFirst == nil {
		hf := true
		c.hashFirst = &hf
	}
	return res, nil
}
