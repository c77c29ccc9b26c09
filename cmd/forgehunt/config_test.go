package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/forgehunt/forgehunt/internal/incident"
)

// The documented example config is complete and runs as it says: over the
// demo incident beside it, with every kind of setting it shows.
func TestExampleConfig(t *testing.T) {
	root := t.TempDir()
	if _, err := incident.Generate(filepath.Join(root, "demo"), incident.DefaultConfig()); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join("..", "..", "docs", "forgehunt.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(root, "docs", "forgehunt.example.yaml")
	if err := os.MkdirAll(filepath.Dir(cfg), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg, data, 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"hunt", "--config", cfg, "--format", "jsonl"}, nil, &stdout, &stderr)
	if code != exitOK {
		t.Fatalf("exit %d\n%s", code, stderr.String())
	}
	for _, want := range []string{"read 6 file(s)", "case saved to " + filepath.Join(root, "demo", "config-case.duckdb")} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
		}
	}
	if !strings.Contains(stdout.String(), `"rule_id":"jwt-no-issuance"`) || strings.Contains(stdout.String(), `"rule_id":"ledger-gap"`) {
		t.Errorf("findings:\n%.2000s", stdout.String())
	}
}
