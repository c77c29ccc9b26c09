package main

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/forgehunt/forgehunt/internal/ciincident"
	"github.com/forgehunt/forgehunt/internal/ctincident"
	"github.com/forgehunt/forgehunt/internal/derivincident"
	"github.com/forgehunt/forgehunt/internal/idincident"
	"github.com/forgehunt/forgehunt/internal/incident"
	"github.com/forgehunt/forgehunt/internal/samlincident"
	"github.com/forgehunt/forgehunt/rules"
)

const demoHelp = `Usage: forgehunt demo [--scenario NAME] [--dir DIR] [--seed N] [--format FMT]

Generate a sample incident and hunt it, so you can see the whole job in one
command, and score what forgehunt found against the incident's ground
truth. Scenarios:

  tokens        (default) an issuer (Keycloak) with two signing keys, one of
                them leaked; access logs of an Istio gateway, an nginx
                service and an application audit log; forged tokens minted
                with the leaked key among the legitimate ones
  certificates  a leaked intermediate CA key; a Certificate Transparency log
                as static-ct tiles with the CA's step-ca log and issuance
                export; forged certificates and precertificates among the
                CA's own and other CAs'
  signatures    a leaked cosign key; Rekor log entries, the builds' SLSA
                provenance and a release ledger; signatures over digests no
                build produced among the builds' own and other projects'
  identity      the platforms' own logs, which hold token ids: a cluster's
                leaked service-account key (Kubernetes audit logs of three
                API servers, CloudTrail web identity sessions), Golden SAML
                (Entra sign-ins, a two-server AD FS farm's audit events) and
                an Okta org's leaked key (System Log, an API gateway's log)
  derived       forged tokens followed downstream: an agent's token
                exchanges (Keycloak TOKEN_EXCHANGE), AWS STS sessions and
                their uses, the key revoked and a verifier still trusting
                it; then 'forgehunt worklist' lists what to invalidate
  saml          Golden SAML with the assertions themselves: a stolen AD FS
                token-signing certificate; the farm's 1200 events, two
                service providers' logs, their proxies' logged form bodies
                and a browser's HAR; assertions forged with the key among
                the farm's own, a signature-wrapping replay and a self-made
                key that copies the certificate's name

Flags:
  --scenario NAME  tokens, certificates, signatures, identity, saml or
                   derived (default tokens)
  --dir DIR        where to write the incident and its case file
                   (default: forgehunt-demo in the system's temp directory)
  --seed N         random seed of the incident (default 1)
  --format FMT     findings as table, jsonl, json, csv, sarif or markdown
                   (default table)

Afterwards, triage the case:
  forgehunt tui --case DIR/case.duckdb
`

// demoScenario is a generated incident and how to hunt it.
type demoScenario struct {
	config *huntConfig
	forged []string // artifact keys of the forgeries
	what   string   // "token", "certificate", "signature"
	// floor is the lowest level a finding on a forgery must have to count
	// as found (a certificate outside the CA's records is low by design).
	floor string
	// derived: the forged list holds derived credentials as <kind>::<id>,
	// scored by their findings' artifact ids.
	derived bool
}

func generateDemo(name, dir string, seed int64) (*demoScenario, error) {
	switch name {
	case "tokens", "jwt":
		cfg := incident.DefaultConfig()
		cfg.Seed = seed
		truth, err := incident.Generate(dir, cfg)
		if err != nil {
			return nil, err
		}
		return &demoScenario{config: &huntConfig{
			exposed:     stringList{filepath.Join(dir, "keys", "exposed.pem")},
			trusted:     stringList{filepath.Join(dir, "keys", "trusted-jwks.json")},
			exposedFrom: truth.ExposedFrom, revokedAt: truth.RevokedAt,
			paths: []string{filepath.Join(dir, "logs")},
		}, forged: truth.Forged(), what: "token", floor: "high"}, nil
	case "certificates", "ct", "x509":
		cfg := ctincident.DefaultConfig()
		cfg.Seed = seed
		truth, err := ctincident.Generate(dir, cfg)
		if err != nil {
			return nil, err
		}
		p := func(rel string) string { return filepath.Join(dir, filepath.FromSlash(rel)) }
		forged := truth.Forged()
		for _, cc := range truth.ChainCerts {
			if cc.Forged { // a Precertificate Signing Certificate the attacker made
				forged = append(forged, cc.ArtifactKey)
			}
		}
		return &demoScenario{config: &huntConfig{
			exposed:     stringList{p(ctincident.ExposedKeyFile)},
			exposedFrom: truth.ExposedFrom, revokedAt: truth.RevokedAt,
			paths: []string{p(ctincident.TilesDir), p(ctincident.LedgerFile), p(ctincident.StepCAFile)},
		}, forged: forged, what: "certificate", floor: "low"}, nil
	case "signatures", "ci", "signature":
		truth, err := ciincident.Generate(dir, ciincident.Config{Seed: seed, Form: ciincident.FormRekor})
		if err != nil {
			return nil, err
		}
		p := func(rel string) string { return filepath.Join(dir, filepath.FromSlash(rel)) }
		return &demoScenario{config: &huntConfig{
			exposed:     stringList{p(ciincident.ExposedKeyFile)},
			exposedFrom: truth.ExposedFrom,
			paths:       []string{p(ciincident.RekorDir), p(ciincident.ProvenanceDir), p(ciincident.LedgerFile)},
		}, forged: truth.Forged(), what: "signature", floor: "low"}, nil
	case "identity", "platforms", "idp":
		truth, err := idincident.Generate(dir, idincident.Config{Seed: seed})
		if err != nil {
			return nil, err
		}
		p := func(rel string) string { return filepath.Join(dir, filepath.FromSlash(rel)) }
		var keys stringList
		for _, k := range truth.KeyFiles {
			keys = append(keys, p(k))
		}
		return &demoScenario{config: &huntConfig{
			exposed: keys, exposedFrom: truth.ExposedFrom,
			paths: []string{p(idincident.K8sDir), p(idincident.CloudTrail), p(idincident.EntraDir), p(idincident.ADFSDir),
				p(idincident.OktaDir), p(path.Dir(idincident.GatewayLog))},
		}, forged: truth.FlaggedKeys(), what: "credential", floor: "high"}, nil
	case "derived", "downstream", "worklist":
		truth, err := derivincident.Generate(dir, seed)
		if err != nil {
			return nil, err
		}
		p := func(rel string) string { return filepath.Join(dir, filepath.FromSlash(rel)) }
		forged := append([]string{}, truth.Forged...)
		for _, d := range truth.Derived {
			forged = append(forged, d.Kind+"::"+d.ID)
		}
		return &demoScenario{config: &huntConfig{
			exposed: stringList{p(derivincident.KeyFile)}, trusted: stringList{p(derivincident.NewKeyFile)},
			exposedFrom: truth.ExposedFrom, revokedAt: truth.RevokedAt,
			paths: []string{p("keycloak"), p("agent"), p("orders"), p(derivincident.CloudTrailDir)},
		}, forged: forged, what: "credential", floor: "high", derived: true}, nil
	case "saml", "golden-saml", "assertions":
		truth, err := samlincident.Generate(dir, samlincident.Config{Seed: seed})
		if err != nil {
			return nil, err
		}
		p := func(rel string) string { return filepath.Join(dir, filepath.FromSlash(rel)) }
		return &demoScenario{config: &huntConfig{
			exposed: stringList{p(samlincident.KeyFile)}, exposedFrom: truth.ExposedFrom,
			nginxFormat: samlincident.NginxFormat,
			paths:       []string{p(samlincident.ADFSDir), p(samlincident.SPDir), p(samlincident.ProxyDir), p(samlincident.HARFile)},
		}, forged: truth.ForgedKeys(), what: "assertion", floor: "high"}, nil
	}
	return nil, usagef("unknown scenario %q (want tokens, certificates, signatures, identity, saml or derived)", name)
}

func cmdDemo(ctx context.Context, env *env, args []string) (int, error) {
	fs := newFlagSet(env, "demo", demoHelp)
	dir := fs.String("dir", filepath.Join(os.TempDir(), "forgehunt-demo"), "")
	seed := fs.Int64("seed", 1, "")
	format := fs.String("format", "table", "")
	scenario := fs.String("scenario", "tokens", "")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return exitError, handleFlagErr(env, err, demoHelp)
	}
	if len(rest) > 0 {
		return exitError, usagef("unexpected argument %q", rest[0])
	}
	if err := checkFormat(*format, findingFormats...); err != nil {
		return exitError, err
	}
	sc, err := generateDemo(*scenario, *dir, *seed)
	if err != nil {
		return exitError, err
	}
	casePath := filepath.Join(*dir, "case.duckdb")
	os.Remove(casePath)
	os.Remove(casePath + ".wal")
	fmt.Fprintf(env.stderr, "forgehunt demo: generated a %s incident in %s (%d forged %ss among the legitimate ones)\n",
		*scenario, *dir, len(sc.forged), sc.what)
	c := sc.config
	c.casePath, c.format, c.minLevel, c.failOn = casePath, *format, "informational", "none"
	cmd := "forgehunt hunt"
	for _, k := range c.exposed {
		cmd += " --key " + k
	}
	for _, k := range c.trusted {
		cmd += " --trusted-key " + k
	}
	if !c.exposedFrom.IsZero() {
		cmd += " --exposed-from " + strconv.Quote(c.exposedFrom.Format("2006-01-02T15:04:05Z"))
	}
	if !c.revokedAt.IsZero() {
		cmd += " --revoked-at " + strconv.Quote(c.revokedAt.Format("2006-01-02T15:04:05Z"))
	}
	if c.nginxFormat != "" {
		cmd += " --nginx-format '" + c.nginxFormat + "'"
	}
	cmd += " --case " + casePath + " " + strings.Join(c.paths, " ")
	fmt.Fprintf(env.stderr, "forgehunt demo: the same as\n  %s\n\n", cmd)
	res, err := hunt(ctx, env, c)
	if err != nil {
		return exitError, err
	}
	if err := writeFindings(env.stdout, *format, res.findings, isTerminal(env.stdout), nil, ranRules(res.runs)); err != nil {
		return exitError, err
	}
	writeSummary(env.stderr, res, casePath)

	// Score against the ground truth: forged = a finding at the
	// scenario's floor or above.
	found := map[string]bool{}
	for _, f := range res.findings {
		if rules.LevelRank(f.Level) >= rules.LevelRank(sc.floor) {
			k := f.ArtifactKey
			if sc.derived && f.RuleID == "derived-credential-of-forgery" {
				k = f.Kind + "::" + f.ArtifactID
			}
			found[k] = true
		}
	}
	tp := 0
	for _, k := range sc.forged {
		if found[k] {
			tp++
		}
	}
	precision, recall := 1.0, 1.0
	if len(found) > 0 {
		precision = float64(tp) / float64(len(found))
	}
	if len(sc.forged) > 0 {
		recall = float64(tp) / float64(len(sc.forged))
	}
	fmt.Fprintf(env.stderr, "\nground truth (%s): %d forged %s(s); forgehunt flagged %d at %s or above: precision %.2f, recall %.2f\n",
		filepath.Join(*dir, "truth.json"), len(sc.forged), sc.what, len(found), sc.floor, precision, recall)
	fmt.Fprintf(env.stderr, "\nnext:\n  forgehunt tui --case %s\n  forgehunt report --case %s --format html --out %s\n",
		casePath, casePath, filepath.Join(*dir, "report.html"))
	if sc.derived {
		fmt.Fprintf(env.stderr, "  forgehunt worklist --case %s\n", casePath)
	}
	return exitOK, nil
}
