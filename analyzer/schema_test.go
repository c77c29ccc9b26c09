package analyzer

import (
	"context"
	"database/sql"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/duckdb/duckdb-go/v2"

	"github.com/forgehunt/forgehunt/parsers"
)

// Arrow batches are loaded with INSERT ... SELECT *, which matches columns
// by position: each Arrow schema must list its table's columns, in order,
// with types that load into them.
func TestArrowSchemasMatchTables(t *testing.T) {
	ctx := context.Background()
	c, err := OpenCase(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for table, schema := range map[string]*arrow.Schema{
		"sightings":    parsers.SightingsSchema,
		"issuances":    parsers.IssuancesSchema,
		"rejects":      parsers.RejectsSchema,
		"artifacts":    artifactsSchema,
		"artifact_raw": artifactRawSchema,
	} {
		rows, err := c.DB.QueryContext(ctx, `SELECT column_name, data_type FROM duckdb_columns()
			WHERE table_name = ? ORDER BY column_index`, table)
		if err != nil {
			t.Fatal(err)
		}
		var cols []string
		for rows.Next() {
			var name, typ string
			if err := rows.Scan(&name, &typ); err != nil {
				t.Fatal(err)
			}
			cols = append(cols, name+" "+typ)
		}
		rows.Close()
		var want []string
		for _, f := range schema.Fields() {
			want = append(want, f.Name+" "+duckType(f.Type))
		}
		if strings.Join(cols, ", ") != strings.Join(want, ", ") {
			t.Errorf("table %s has\n  %s\nits Arrow schema gives\n  %s", table, strings.Join(cols, ", "), strings.Join(want, ", "))
		}
	}
}

// duckType is the DuckDB type an Arrow column loads as.
func duckType(t arrow.DataType) string {
	switch t.ID() {
	case arrow.STRING:
		return "VARCHAR"
	case arrow.INT64:
		return "BIGINT"
	case arrow.BOOL:
		return "BOOLEAN"
	case arrow.TIMESTAMP:
		return "TIMESTAMP"
	case arrow.LIST:
		return duckType(t.(*arrow.ListType).Elem()) + "[]"
	}
	return t.String()
}

// A case written at an earlier version is upgraded in order, its data kept;
// opening it again changes nothing; a case from a newer forgehunt, or older
// than the base schema, is refused.
func TestSchemaMigrations(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "case.duckdb")
	c, err := OpenCase(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.DB.ExecContext(ctx, `INSERT INTO triage VALUES ('r1', 'sha256:a', 'forged', 'kept', now()::TIMESTAMP)`); err != nil {
		t.Fatal(err)
	}
	c.Close()

	saved := migrations
	defer func() { migrations = saved }()
	migrations = append(append([]string{}, saved...),
		`ALTER TABLE artifacts ADD COLUMN test_serial VARCHAR`,
		`CREATE TABLE test_logs (name VARCHAR); INSERT INTO test_logs SELECT note FROM triage`)
	top := baseSchemaVersion + len(migrations)
	version := func(c *Case) string {
		var v string
		if err := c.DB.QueryRowContext(ctx, `SELECT value FROM meta WHERE name = 'schema_version'`).Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	for range 2 {
		c, err = OpenCase(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		var note string
		if err := c.DB.QueryRowContext(ctx, `SELECT name FROM test_logs`).Scan(&note); err != nil || note != "kept" {
			t.Errorf("after the upgrade: %q, %v", note, err)
		}
		if _, err := c.DB.ExecContext(ctx, `SELECT test_serial FROM artifacts`); err != nil {
			t.Error(err)
		}
		if v := version(c); v != strconv.Itoa(top) || SchemaVersion() != top {
			t.Errorf("version %s (SchemaVersion %d), want %d", v, SchemaVersion(), top)
		}
		c.Close()
	}

	// A failing migration leaves the case as it was.
	migrations = append(migrations, `ALTER TABLE artifacts ADD COLUMN broken`, `SELECT 1`)
	if _, err := OpenCase(ctx, path); err == nil || !strings.Contains(err.Error(), "schema version "+strconv.Itoa(top+1)) {
		t.Errorf("a broken migration: %v", err)
	}
	migrations = migrations[:len(migrations)-2]
	c, err = OpenCase(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if v := version(c); v != strconv.Itoa(top) {
		t.Errorf("version %s after a failed upgrade, want %d", v, top)
	}
	c.Close()
	for _, v := range []string{"2", "99", "x"} {
		raw, err := duckdb.NewConnector(path, nil)
		if err != nil {
			t.Fatal(err)
		}
		db := sql.OpenDB(raw)
		if _, err := db.ExecContext(ctx, `UPDATE meta SET value = ? WHERE name = 'schema_version'`, v); err != nil {
			t.Fatal(err)
		}
		db.Close()
		raw.Close()
		if c, err := OpenCase(ctx, path); err == nil {
			c.Close()
			t.Errorf("a case at version %s was opened", v)
		}
	}
}

// Version 4: a case written at version 3 learns which issuances name the
// client (Keycloak's) rather than the audience set.
func TestMigrationAudienceClient(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "case.duckdb")
	c, err := OpenCase(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.DB.ExecContext(ctx, `
		INSERT INTO issuances (kind, artifact_id, audience, src_format) VALUES ('jwt', 'k', 'web', 'keycloak'), ('jwt', 'l', 'a,b', 'ledger');
		ALTER TABLE issuances DROP COLUMN audience_client;
		ALTER TABLE issuances DROP COLUMN names;
		ALTER TABLE artifacts DROP COLUMN names;
		ALTER TABLE artifacts DROP COLUMN link_key;
		ALTER TABLE findings DROP COLUMN names;
		ALTER TABLE keys DROP COLUMN subject_dn;
		DROP TABLE links;
		ALTER TABLE sources DROP COLUMN links;
		UPDATE meta SET value = '3' WHERE name = 'schema_version'`); err != nil {
		t.Fatal(err)
	}
	c.Close()
	if c, err = OpenCase(ctx, path); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var got string
	if err := c.DB.QueryRowContext(ctx, `SELECT string_agg(artifact_id || '=' || audience_client, ',' ORDER BY artifact_id) FROM issuances`).Scan(&got); err != nil {
		t.Fatal(err)
	}
	if got != "k=true,l=false" {
		t.Errorf("after the upgrade: %s", got)
	}
}
