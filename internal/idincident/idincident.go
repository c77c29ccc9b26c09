// Package idincident generates a deterministic incident in the platforms'
// own identity logs, the canonical forgeries whose evidence holds token ids
// rather than tokens:
//
//   - a Kubernetes cluster whose service-account signing key leaked: its
//     API servers' audit logs hold the pods' legitimate TokenRequests and
//     requests, and requests with tokens the attacker minted (ids no
//     TokenRequest issued), against several API servers;
//   - the same key used for IRSA: CloudTrail holds the pods' web identity
//     sessions and one the attacker got for a service account that had no
//     token then, and what that session did;
//   - Golden SAML: Entra ID's sign-in logs hold federated sign-ins that a
//     two-server AD FS farm issued (events 1200 with the sign-ins'
//     correlation ids), cloud-only sign-ins, and sign-ins with tokens minted
//     with the stolen token-signing certificate, which no farm server saw;
//   - an Okta org whose authorization server's key leaked: its System Log
//     holds sessions and token grants, and an API gateway's log holds the
//     access tokens it accepted, legitimate and forged.
//
// The ground truth comes with it (truth.json): the artifact key of every
// forged credential, as forgehunt keys them.
package idincident

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/forgehunt/forgehunt/internal/genfiles"
)

// Where Generate writes, relative to its directory.
const (
	K8sKeyFile   = "keys/k8s-sa-signing.pub.pem" // the cluster's service-account signing key (exposed)
	ADFSKeyFile  = "keys/adfs-token-signing.pub.pem"
	OktaKeyFile  = "keys/okta-as-signing.pub.pem"
	K8sDir       = "k8s"        // <apiserver>/audit.log
	CloudTrail   = "cloudtrail" // AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/...json
	EntraDir     = "entra"
	ADFSDir      = "adfs"
	OktaDir      = "okta"
	GatewayLog   = "gateway/orders-api.jsonl"
	TruthFile    = "truth.json"
	Cluster      = "prod-eu"
	AWSAccount   = "111122223333"
	AWSRegion    = "eu-west-1"
	TenantID     = "72f988bf-0000-4000-8000-00000000c0de"
	FederationID = "http://sts.contoso.com/adfs/services/trust"
	OktaOrg      = "acme"
	OktaIssuer   = "https://acme.okta.com/oauth2/aus1default"
)

// Platforms of a forged credential (Forged.Platform).
const (
	PlatformK8s   = "kubernetes"
	PlatformAWS   = "aws"
	PlatformEntra = "entra"
	PlatformOkta  = "okta"
)

// Config sizes the incident; zero fields take their defaults.
type Config struct {
	Seed  int64
	Start time.Time // the logs' start (default 2026-03-04T08:00:00Z); they span Hours
	Hours int       // default 6
	// Forged credentials of each platform (defaults 3, 1, 3, 2).
	ForgedK8s, ForgedAWS, ForgedSAML, ForgedOkta int
}

func (c Config) withDefaults() Config {
	if c.Start.IsZero() {
		c.Start = time.Date(2026, 3, 4, 8, 0, 0, 0, time.UTC)
	}
	c.Start = c.Start.UTC()
	if c.Hours <= 0 {
		c.Hours = 6
	}
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&c.ForgedK8s, 3)
	def(&c.ForgedAWS, 1)
	def(&c.ForgedSAML, 3)
	def(&c.ForgedOkta, 2)
	return c
}

// Forged is one credential the attacker minted and used.
type Forged struct {
	Key      string    `json:"artifact_key"` // as forgehunt keys it
	Platform string    `json:"platform"`
	Subject  string    `json:"subject"`
	Uses     int       `json:"uses"`
	First    time.Time `json:"first_use"`
}

// Truth is what really happened.
type Truth struct {
	Seed        int64     `json:"seed"`
	Start       time.Time `json:"start"`
	ExposedFrom time.Time `json:"exposed_from"`
	KeyFiles    []string  `json:"key_files"`
	Forged      []Forged  `json:"forged"`
	// Derived are the keys (<kind>::<id>) of the credentials issued on the
	// strength of a forged one: the tokens Entra ID issued on forged
	// federated sign-ins.
	Derived []string `json:"derived,omitempty"`
	// Legit counts the legitimate credentials of each platform that were
	// used, so that a test can tell a hunt that found nothing from one
	// that read nothing.
	Legit map[string]int `json:"legit"`
	Files []string       `json:"files"`
}

// ForgedKeys are the forged credentials' artifact keys, sorted.
func (t *Truth) ForgedKeys() []string {
	out := make([]string, len(t.Forged))
	for i, f := range t.Forged {
		out[i] = f.Key
	}
	slices.Sort(out)
	return out
}

// FlaggedKeys are ForgedKeys and the derived credentials, sorted: what a
// hunt must flag.
func (t *Truth) FlaggedKeys() []string {
	out := append(t.ForgedKeys(), t.Derived...)
	slices.Sort(out)
	return out
}

// Generate writes the incident into dir and returns its truth, also
// written to dir/truth.json.
func Generate(dir string, cfg Config) (*Truth, error) {
	cfg = cfg.withDefaults()
	sc, err := plan(cfg)
	if err != nil {
		return nil, err
	}
	w := &genfiles.Files{}
	if err := sc.write(w); err != nil {
		return nil, err
	}
	names, err := w.Write(dir)
	if err != nil {
		return nil, fmt.Errorf("idincident: %w", err)
	}
	t := sc.truth
	t.Files = names
	data, err := json.MarshalIndent(t, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, TruthFile), append(data, '\n'), 0o644); err != nil {
		return nil, fmt.Errorf("idincident: %w", err)
	}
	return &t, nil
}

// ReadTruth reads a truth.json that Generate wrote.
func ReadTruth(p string) (*Truth, error) {
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("idincident: %w", err)
	}
	var t Truth
	if err := json.Unmarshal(data, &t); err != nil {
		return nil, fmt.Errorf("idincident: read %s: %w", p, err)
	}
	return &t, nil
}
