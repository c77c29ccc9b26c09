package main

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/forgehunt/forgehunt/internal/idincident"
	"github.com/forgehunt/forgehunt/internal/samlincident"
)

// A sharded hunt gives the findings of a single one: the identity and
// SAML incidents ingested by four jobs, each a share of the files, into
// Parquet, then one hunt over the shares, print exactly what one hunt over
// all the files prints (an artifact met by several shares is one
// artifact; the issuances of one share match the uses of another).
func TestShardedHuntEqualsSingle(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	idTruth, err := idincident.Generate(filepath.Join(dir, "id"), idincident.Config{})
	if err != nil {
		t.Fatal(err)
	}
	samlTruth, err := samlincident.Generate(filepath.Join(dir, "saml"), samlincident.Config{})
	if err != nil {
		t.Fatal(err)
	}
	keys := []string{"--key", filepath.Join(dir, "saml", samlincident.KeyFile)}
	for _, k := range idTruth.KeyFiles {
		keys = append(keys, "--key", filepath.Join(dir, "id", k))
	}
	common := append(keys, "--exposed-from", samlTruth.ExposedFrom.Add(-24*time.Hour).Format(time.RFC3339),
		"--nginx-format", samlincident.NginxFormat)
	hunt := func(extra ...string) []string {
		t.Helper()
		args := append(append([]string{"hunt", "--format", "jsonl", "--min-level", "informational", "--fail-on", "none", "--quiet"}, common...), extra...)
		var stdout, stderr bytes.Buffer
		if code := run(ctx, args, nil, &stdout, &stderr); code != exitOK {
			t.Fatalf("%v: exit %d\n%s", args, code, stderr.String())
		}
		lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
		slices.Sort(lines)
		return lines
	}
	inputs := []string{filepath.Join(dir, "id"), filepath.Join(dir, "saml")}
	single := hunt(inputs...)
	if len(single) < 20 {
		t.Fatalf("the single hunt found only %d", len(single))
	}
	shares := filepath.Join(t.TempDir(), "shares")
	for i := range 4 {
		args := append(append([]string{"ingest", "--quiet", "--shard", fmt.Sprintf("%d/4", i), "--parquet-out", shares}, common...), inputs...)
		var stderr bytes.Buffer
		if code := run(ctx, args, nil, nil, &stderr); code != exitOK {
			t.Fatalf("share %d: exit %d\n%s", i, code, stderr.String())
		}
	}
	sharded := hunt("--from-parquet", shares)
	if !slices.Equal(single, sharded) {
		for _, l := range single {
			if !slices.Contains(sharded, l) {
				t.Errorf("only in the single hunt: %.300s", l)
			}
		}
		for _, l := range sharded {
			if !slices.Contains(single, l) {
				t.Errorf("only in the sharded hunt: %.300s", l)
			}
		}
	}
	// reading the shares again adds nothing
	var stderr bytes.Buffer
	casePath := filepath.Join(t.TempDir(), "case.duckdb")
	for range 2 {
		args := append(append([]string{"hunt", "--quiet", "--fail-on", "none", "--case", casePath, "--format", "jsonl"}, common...), "--from-parquet", shares)
		if code := run(ctx, args, nil, &bytes.Buffer{}, &stderr); code != exitOK {
			t.Fatalf("exit %d\n%s", code, stderr.String())
		}
	}
	var out bytes.Buffer
	if code := run(ctx, []string{"query", "--case", casePath, "--format", "csv", "SELECT count(*) = count(DISTINCT sha256) FROM sources"}, nil, &out, &stderr); code != exitOK || !strings.Contains(out.String(), "true") {
		t.Errorf("sources twice after two imports: %s %s", out.String(), stderr.String())
	}
}
