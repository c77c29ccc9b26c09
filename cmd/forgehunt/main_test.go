package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/forgehunt/forgehunt/analyzer"
	"github.com/forgehunt/forgehunt/internal/incident"
	"github.com/forgehunt/forgehunt/rules"
)

var update = flag.Bool("update", false, "rewrite the expected output in testscript files")

func TestMain(m *testing.M) {
	if os.Getenv("FORGEHUNT_TEST_MAIN") == "1" {
		// The real main (umask included), for TestBinaryUmask.
		os.Args = append([]string{"forgehunt"}, strings.Split(os.Getenv("FORGEHUNT_ARGS"), "\x1f")...)
		main()
		os.Exit(0)
	}
	testscript.Main(m, map[string]func(){
		"forgehunt": func() {
			// as main does: Ctrl-C and SIGTERM cancel the run
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
			stop()
			os.Exit(code)
		},
	})
}

// TestScripts runs the CLI scripts in testdata/script. `incident DIR`
// generates the demo incident into DIR; `copies FILE DIR N` writes N
// copies of FILE into DIR, each with its own last line (so its own
// content); `sleep D` waits for the duration D.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:           "testdata/script",
		UpdateScripts: *update,
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"incident": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) != 1 {
					ts.Fatalf("usage: incident DIR")
				}
				cfg := incident.DefaultConfig()
				if _, err := incident.Generate(ts.MkAbs(args[0]), cfg); err != nil {
					ts.Fatalf("generate: %v", err)
				}
			},
			"copies": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) != 3 {
					ts.Fatalf("usage: copies FILE DIR N")
				}
				data, err := os.ReadFile(ts.MkAbs(args[0]))
				ts.Check(err)
				n, err := strconv.Atoi(args[2])
				ts.Check(err)
				dir := ts.MkAbs(args[1])
				ts.Check(os.MkdirAll(dir, 0o755))
				for i := range n {
					name := filepath.Join(dir, fmt.Sprintf("copy-%03d%s", i, filepath.Ext(args[0])))
					ts.Check(os.WriteFile(name, append(slices.Clip(data), fmt.Sprintf("# copy %d\n", i)...), 0o644))
				}
			},
			"sleep": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) != 1 {
					ts.Fatalf("usage: sleep DURATION")
				}
				d, err := time.ParseDuration(args[0])
				ts.Check(err)
				time.Sleep(d)
			},
		},
	})
}

// huntIncident generates the demo incident and hunts it in-process,
// returning the truth and the jsonl findings.
func huntIncident(t *testing.T, cfg incident.Config, extra ...string) (*incident.Truth, []analyzer.Finding, string) {
	t.Helper()
	dir := t.TempDir()
	truth, err := incident.Generate(dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	args := append([]string{"hunt",
		"--key", filepath.Join(dir, "keys", "exposed.pem"),
		"--trusted-key", filepath.Join(dir, "keys", "trusted-jwks.json"),
		"--exposed-from", truth.ExposedFrom.Format("2006-01-02T15:04:05Z"),
		"--revoked-at", truth.RevokedAt.Format("2006-01-02T15:04:05Z"),
		"--format", "jsonl", "--quiet",
	}, extra...)
	args = append(args, filepath.Join(dir, "logs"))
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, nil, &stdout, &stderr)
	if code != exitFindings {
		t.Fatalf("exit %d, want %d; stderr:\n%s", code, exitFindings, stderr.String())
	}
	fs := jsonlFindings(t, stdout.Bytes())
	if len(fs) == 0 {
		t.Fatalf("no jsonl findings; stderr:\n%s", stderr.String())
	}
	return truth, fs, dir
}

// The spine's acceptance test: on the generated incident every forged token
// is found at high or above, and nothing else is.
func TestHuntPrecisionRecall(t *testing.T) {
	for _, seed := range []int64{1, 7} {
		cfg := incident.DefaultConfig()
		cfg.Seed = seed
		truth, fs, _ := huntIncident(t, cfg)
		flagged := map[string]bool{}
		for _, f := range fs {
			if rules.LevelRank(f.Level) >= rules.LevelRank("high") {
				flagged[f.ArtifactKey] = true
			}
		}
		forged := map[string]bool{}
		for _, k := range truth.Forged() {
			forged[k] = true
			if !flagged[k] {
				t.Errorf("seed %d: forged token %s not flagged (missed)", seed, k)
			}
		}
		cat := map[string]string{}
		for _, tok := range truth.Tokens {
			cat[tok.ArtifactKey] = tok.Category
		}
		for k := range flagged {
			if !forged[k] {
				t.Errorf("seed %d: %s (%s) flagged but not forged", seed, k, cat[k])
			}
		}
		if len(forged) == 0 {
			t.Fatal("incident has no forged tokens")
		}
		// Legitimate tokens signed by the exposed key, before the exposure
		// included, get no finding at all.
		for _, f := range fs {
			if c := cat[f.ArtifactKey]; c == incident.CategoryLegit {
				t.Errorf("seed %d: legit token %s has finding %s: %s", seed, f.ArtifactKey, f.RuleID, f.Reason)
			}
		}
		// Each finding carries its evidence.
		for _, f := range fs {
			if len(f.Evidence) == 0 || f.Evidence[0].File == "" || f.Evidence[0].Line < 1 {
				t.Errorf("finding %s on %s has no evidence", f.RuleID, f.ArtifactKey)
			}
		}
	}
}

// The rule example in the README is complete: it loads and its tests pass.
func TestReadmeRuleExample(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(readme)
	start := strings.Index(s, "```yaml\nid: ")
	if start < 0 {
		t.Fatal("README has no rule example")
	}
	end := strings.Index(s[start+8:], "```")
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "example.yml"), []byte(s[start+8:start+8+end]), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"rules", "test", dir}, nil, &stdout, &stderr); code != 0 {
		t.Fatalf("rules test on the README example: exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
	if !strings.Contains(stdout.String(), "2 passed, 0 failed") {
		t.Fatalf("README example tests: %s", stdout.String())
	}
}

// jsonlFindings reads the findings of a hunt's --format jsonl output; a
// line that is not one fails the test.
func jsonlFindings(t testing.TB, out []byte) []analyzer.Finding {
	t.Helper()
	var fs []analyzer.Finding
	if len(bytes.TrimSpace(out)) == 0 {
		return nil
	}
	for _, line := range bytes.Split(bytes.TrimSpace(out), []byte("\n")) {
		var f analyzer.Finding
		if err := json.Unmarshal(line, &f); err != nil {
			t.Fatalf("bad jsonl line %q: %v", line, err)
		}
		fs = append(fs, f)
	}
	return fs
}
