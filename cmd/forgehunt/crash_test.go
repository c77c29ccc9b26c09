package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/forgehunt/forgehunt/internal/incident"
)

// TestHelperProcess is not a test: it is forgehunt itself, run as a child
// by the crash test so that it can be killed.
func TestHelperProcess(t *testing.T) {
	if os.Getenv("FORGEHUNT_HELPER_PROCESS") != "1" {
		t.Skip("helper process")
	}
	args := strings.Split(os.Getenv("FORGEHUNT_ARGS"), "\x1f")
	os.Exit(run(context.Background(), args, os.Stdin, os.Stdout, os.Stderr))
}

// Crash safety: kill -9 during an ingest into a case file, then run again:
// the case is consistent, nothing is duplicated, nothing is missing. Each
// file is loaded in one transaction, so a killed ingest leaves whole files
// or none.
func TestKillDuringIngest(t *testing.T) {
	dir := t.TempDir()
	cfg := incident.DefaultConfig()
	cfg.Requests = 120000
	truth, err := incident.Generate(dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	huntArgs := func(casePath string) []string {
		return []string{"hunt",
			"--key", filepath.Join(dir, "keys", "exposed.pem"),
			"--trusted-key", filepath.Join(dir, "keys", "trusted-jwks.json"),
			"--revoked-at", truth.RevokedAt.Format(time.RFC3339),
			"--case", casePath, "--fail-on", "none", "--quiet", "--format", "jsonl",
			filepath.Join(dir, "logs"),
		}
	}
	// The reference: one clean run.
	ref := filepath.Join(dir, "ref.duckdb")
	var out, errOut bytes.Buffer
	if code := run(context.Background(), huntArgs(ref), nil, &out, &errOut); code != 0 {
		t.Fatalf("reference run: exit %d: %s", code, errOut.String())
	}
	want := caseCounts(t, ref)

	crashed := filepath.Join(dir, "crashed.duckdb")
	for i, delay := range []time.Duration{0, 1 * time.Second, 2500 * time.Millisecond} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
		cmd.Env = append(os.Environ(), "FORGEHUNT_HELPER_PROCESS=1", "FORGEHUNT_ARGS="+strings.Join(huntArgs(crashed), "\x1f"))
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Wait until the child is writing the case (its WAL grows), then
		// give it a little longer and kill it.
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			if st, err := os.Stat(crashed + ".wal"); err == nil && st.Size() > 0 {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		time.Sleep(delay)
		cmd.Process.Signal(syscall.SIGKILL)
		err := cmd.Wait()
		state := "no case file yet"
		if _, serr := os.Stat(crashed); serr == nil {
			if c, err := caseCountsErr(crashed); err != nil {
				state = "an unreadable state (" + err.Error() + ")"
			} else {
				state = fmt.Sprintf("%+v", c)
			}
		}
		t.Logf("kill %d after %v (%v): case holds %s", i+1, delay, err, state)
	}
	// Run again to completion on the crashed case.
	out.Reset()
	errOut.Reset()
	if code := run(context.Background(), huntArgs(crashed), nil, &out, &errOut); code != 0 {
		t.Fatalf("re-run after kill: exit %d: %s", code, errOut.String())
	}
	got := caseCounts(t, crashed)
	if got != want {
		t.Errorf("after kill -9 and re-run the case differs from a clean run:\n got %+v\nwant %+v", got, want)
	}
}

type counts struct {
	Sources, Sightings, Issuances, Rejects, Artifacts, DistinctArtifacts, Findings int
}

func caseCounts(t *testing.T, casePath string) counts {
	t.Helper()
	c, err := caseCountsErr(casePath)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func caseCountsErr(casePath string) (counts, error) {
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"query", "--case", casePath, "--format", "jsonl", `SELECT
		(SELECT count(*) FROM sources WHERE status IN ('complete', 'partial')) AS Sources,
		(SELECT count(*) FROM sightings) AS Sightings,
		(SELECT count(*) FROM issuances) AS Issuances,
		(SELECT count(*) FROM rejects) AS Rejects,
		(SELECT count(*) FROM artifacts) AS Artifacts,
		(SELECT count(DISTINCT artifact_key) FROM artifacts) AS DistinctArtifacts,
		(SELECT count(*) FROM findings) AS Findings`}, nil, &out, &errOut)
	var c counts
	if code != 0 {
		return c, fmt.Errorf("query: %s", strings.TrimSpace(errOut.String()))
	}
	if err := json.Unmarshal(out.Bytes(), &c); err != nil {
		return c, fmt.Errorf("%v: %s", err, out.String())
	}
	return c, nil
}

// The real binary's main sets umask 077 before anything is written: run
// under umask 022, every file it leaves (the case, the --out file, a file
// created under the umask alone) is owner-only.
func TestBinaryUmask(t *testing.T) {
	dir := t.TempDir()
	cfg := incident.DefaultConfig()
	cfg.Requests = 2000
	if _, err := incident.Generate(dir, cfg); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	if err := os.Mkdir(out, 0o755); err != nil {
		t.Fatal(err)
	}
	args := []string{"hunt", "--key", filepath.Join(dir, "keys", "exposed.pem"),
		"--trusted-key", filepath.Join(dir, "keys", "trusted-jwks.json"),
		"--case", filepath.Join(out, "case.duckdb"), "--out", filepath.Join(out, "findings.jsonl"),
		"--format", "jsonl", "--fail-on", "none", "--quiet", filepath.Join(dir, "logs")}
	cmd := exec.Command(os.Args[0])
	// The CPU profile is a file main itself creates with os.Create (0666
	// less the umask), like the files DuckDB writes beside the case (WAL,
	// spill files), which are gone when it exits.
	cmd.Env = append(os.Environ(), "FORGEHUNT_TEST_MAIN=1", "FORGEHUNT_ARGS="+strings.Join(args, "\x1f"),
		"FORGEHUNT_CPUPROFILE="+filepath.Join(out, "cpu.prof"))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	old := syscall.Umask(0o022)
	err := cmd.Run()
	syscall.Umask(old)
	if err != nil {
		t.Fatalf("forgehunt: %v\n%s", err, stderr.String())
	}
	entries, err := os.ReadDir(out)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, e := range entries {
		info, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		seen[e.Name()] = true
		if perm := info.Mode().Perm(); perm&0o077 != 0 {
			t.Errorf("%s has mode %v: readable by others under umask 022", e.Name(), perm)
		}
	}
	if !seen["case.duckdb"] || !seen["findings.jsonl"] || !seen["cpu.prof"] {
		t.Fatalf("expected the case and the findings in %s, found %v", out, seen)
	}
}
