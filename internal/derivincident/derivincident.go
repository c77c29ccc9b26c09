// Package derivincident generates a deterministic incident in which
// forged tokens are turned into other credentials, and the key is then
// revoked:
//
//   - a Keycloak realm whose signing key leaked issues users' tokens to a
//     web app (CODE_TO_TOKEN) and to the AWS console client (audience
//     sts.amazonaws.com), and a batch service account's long-lived token;
//   - an agent service receives users' tokens and exchanges them (OAuth
//     2.0 token exchange, Keycloak TOKEN_EXCHANGE events with
//     subject_token_client_id) for delegated tokens (an act claim naming
//     the agent) that it uses at an orders API;
//   - AWS STS exchanges the console tokens for sessions
//     (AssumeRoleWithWebIdentity) that then call AWS;
//   - the attacker presents forged tokens to the agent, which exchanges
//     them like any other (delegated tokens, one used, one not), and to STS
//     (a session, used);
//   - the key is revoked; the agent rotated its trust and refuses a forged
//     token afterwards, the orders API did not and accepts one (stale
//     trust).
//
// The truth (truth.json) lists the forged tokens, every credential derived
// from them with its uses, and the invalidation worklist.
package derivincident

import (
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/forgehunt/forgehunt/internal/genfiles"
	"github.com/forgehunt/forgehunt/internal/idincident"
	"github.com/forgehunt/forgehunt/internal/seeded"
	"github.com/forgehunt/forgehunt/parsers/record"
)

// Where Generate writes, relative to its directory.
const (
	KeyFile       = "keys/realm-signing.pem" // the realm's leaked signing key (public)
	NewKeyFile    = "keys/realm-signing-2.pem"
	KeycloakFile  = "keycloak/events.json" // the admin events API's pages
	AgentLog      = "agent/access.jsonl"
	OrdersLog     = "orders/access.jsonl"
	CloudTrailDir = "cloudtrail"
	TruthFile     = "truth.json"

	Issuer  = "https://sso.acme.example/realms/acme"
	Account = "111122223333"
	Region  = "eu-west-1"
)

// Derived is a credential derived from a forged token.
type Derived struct {
	Kind     string `json:"kind"` // jwt or aws-session
	ID       string `json:"id"`
	Parent   string `json:"parent_key"` // the forged token's artifact key
	Relation string `json:"relation"`   // token-exchange, sts-web-identity
	Uses     int    `json:"uses"`
}

// WorkItem is one line of the invalidation worklist.
type WorkItem struct {
	Item string `json:"item"` // artifact, derived, verifier
	Kind string `json:"kind"`
	ID   string `json:"id"`
}

// Truth is what really happened.
type Truth struct {
	Seed        int64      `json:"seed"`
	Start       time.Time  `json:"start"`
	ExposedFrom time.Time  `json:"exposed_from"`
	RevokedAt   time.Time  `json:"revoked_at"`
	Forged      []string   `json:"forged"` // artifact keys
	Derived     []Derived  `json:"derived"`
	LegitExch   int        `json:"legitimate_exchanges"`
	LegitSTS    int        `json:"legitimate_sessions"`
	Worklist    []WorkItem `json:"worklist"`
	Files       []string   `json:"files"`
}

type gen struct {
	rnd     *rand.Rand
	key     *rsa.PrivateKey // leaked
	newKey  *rsa.PrivateKey // after the rotation
	files   genfiles.Files
	events  []kcEvent
	trail   []any
	truth   Truth
	start   time.Time
	revoked time.Time
}

func (g *gen) out(rel string) io.Writer { return g.files.Out(rel) }

func (g *gen) uuid() string { return seeded.GUID(g.rnd) }

func (g *gen) akid() string {
	const d = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	b := []byte("ASIA")
	for range 16 {
		b = append(b, d[g.rnd.IntN(len(d))])
	}
	return string(b)
}

var users = map[string]string{
	"alice": "1a1a1a1a-0000-4000-8000-00000000a11c", "bob": "2b2b2b2b-0000-4000-8000-000000000b0b",
	"carol": "3c3c3c3c-0000-4000-8000-0000000ca201", "dave": "4d4d4d4d-0000-4000-8000-00000000da5e",
	"admin": "9f9f9f9f-0000-4000-8000-0000000ad111", "service-account-batch": "5e5e5e5e-0000-4000-8000-00000000ba7c",
}

// token is a JWT the realm signs (or the attacker, with the same key).
type token struct {
	jti, user, azp string
	aud            []string
	iat, exp       time.Time
	act            string
	key            *rsa.PrivateKey
	kid            string // "" for the leaked key's
}

func (t token) sign() string {
	c := jwt.MapClaims{"iss": Issuer, "sub": users[t.user], "aud": t.aud, "azp": t.azp, "jti": t.jti,
		"iat": t.iat.Unix(), "exp": t.exp.Unix(), "preferred_username": t.user, "typ": "Bearer"}
	if t.act != "" {
		c["act"] = map[string]string{"sub": t.act}
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, c)
	kid := t.kid
	if kid == "" {
		kid = "acme-2025"
	}
	tok.Header["kid"] = kid
	s, err := tok.SignedString(t.key)
	if err != nil {
		panic(err) // an RSA key always signs
	}
	return s
}

type kcEvent struct {
	ID        string            `json:"id"`
	Time      int64             `json:"time"`
	Type      string            `json:"type"`
	RealmID   string            `json:"realmId"`
	ClientID  string            `json:"clientId"`
	UserID    string            `json:"userId"`
	SessionID string            `json:"sessionId,omitempty"`
	IPAddress string            `json:"ipAddress"`
	Details   map[string]string `json:"details"`
}

type accessLine struct {
	Time          string `json:"time"`
	Service       string `json:"service"`
	Method        string `json:"method"`
	Path          string `json:"path"`
	Status        int    `json:"status"`
	ClientIP      string `json:"client_ip"`
	Authorization string `json:"authorization"`
}

func (g *gen) access(rel, service, path, ip string, at time.Time, raw string, status int) {
	b, _ := json.Marshal(accessLine{Time: at.UTC().Format(time.RFC3339Nano), Service: service, Method: "POST", Path: path,
		Status: status, ClientIP: ip, Authorization: "Bearer " + raw})
	g.out(rel).Write(append(b, '\n'))
}

func (g *gen) issue(t token, typ string, details map[string]string) {
	d := map[string]string{"token_id": t.jti, "grant_type": "authorization_code", "scope": "openid profile"}
	for k, v := range details {
		d[k] = v
	}
	g.events = append(g.events, kcEvent{ID: g.uuid(), Time: t.iat.UnixMilli(), Type: typ, RealmID: "acme", ClientID: t.azp,
		UserID: users[t.user], IPAddress: "10.1.2.3", Details: d})
}

func key(raw string) string { return record.ArtifactKey(raw) }

// Generate writes the incident into dir and returns its truth.
func Generate(dir string, seed int64) (*Truth, error) {
	k, err := seeded.RSA(seeded.Stream("derivincident", seed, "realm"), 2048)
	if err != nil {
		return nil, err
	}
	k2, err := seeded.RSA(seeded.Stream("derivincident", seed, "realm-2"), 2048)
	if err != nil {
		return nil, err
	}
	start := time.Date(2026, 3, 4, 8, 0, 0, 0, time.UTC)
	g := &gen{rnd: rand.New(seeded.Stream("derivincident", seed, "scenario")), key: k, newKey: k2,
		start: start, revoked: start.Add(6 * time.Hour)}
	g.truth = Truth{Seed: seed, Start: start, ExposedFrom: start.Add(2 * time.Hour), RevokedAt: g.revoked}
	for _, kk := range []struct {
		rel string
		k   *rsa.PrivateKey
	}{{KeyFile, k}, {NewKeyFile, k2}} {
		g.out(kk.rel).Write(seeded.PublicKeyPEM(&kk.k.PublicKey))
	}
	g.scenario()
	if err := g.write(); err != nil {
		return nil, err
	}
	names, err := g.files.Write(dir)
	if err != nil {
		return nil, err
	}
	g.truth.Files = names
	slices.Sort(g.truth.Forged)
	data, err := json.MarshalIndent(g.truth, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, TruthFile), append(data, '\n'), 0o644); err != nil {
		return nil, err
	}
	t := g.truth
	return &t, nil
}

// exchange is the agent's token exchange of subject (presented to it
// just before) for a delegated token used n times at the orders API.
func (g *gen) exchange(subject token, raw string, at time.Time, uses int) (token, string) {
	g.access(AgentLog, "agent-svc", "/v1/tasks", "10.2.0.5", at, raw, 200)
	x := token{jti: g.uuid(), user: subject.user, azp: "agent-svc", aud: []string{"orders-api"}, iat: at.Add(time.Second),
		exp: at.Add(5 * time.Minute), act: "agent-svc", key: g.key}
	g.issue(x, "TOKEN_EXCHANGE", map[string]string{"grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
		"subject_token_client_id": subject.azp, "audience": "orders-api",
		"requested_token_type": "urn:ietf:params:oauth:token-type:access_token"})
	xraw := x.sign()
	for i := range uses {
		g.access(OrdersLog, "orders-api", "/v1/orders", "10.2.0.5", at.Add(time.Duration(2+i*20)*time.Second), xraw, 200)
	}
	return x, xraw
}

// session is STS's exchange of a console token for a session used n
// times.
func (g *gen) session(subject token, at time.Time, ip string, uses int) string {
	id := g.akid()
	role := "arn:aws:iam::" + Account + ":role/acme-console"
	g.trail = append(g.trail, &idincident.CTWebIdentity{EventID: g.uuid(), RequestID: g.uuid(), Account: Account, Region: Region,
		Provider: strings.TrimPrefix(Issuer, "https://"), Audience: "sts.amazonaws.com", Subject: users[subject.user],
		RoleArn: role, RoleSessionName: subject.user, AccessKeyID: id, AssumedRoleID: "AROAACMECONSOLE0000001",
		SourceIP: ip, UserAgent: "aws-sdk-go-v2/1.30.0", At: at, Expires: at.Add(time.Hour)})
	for i := range uses {
		g.trail = append(g.trail, &idincident.CTCall{EventID: g.uuid(), Account: Account, Region: Region,
			EventSource: "s3.amazonaws.com", EventName: "ListBuckets", AccessKeyID: id,
			Arn:         "arn:aws:sts::" + Account + ":assumed-role/acme-console/" + subject.user,
			PrincipalID: "AROAACMECONSOLE0000001:" + subject.user, SessionIssuerArn: role,
			SourceIP: ip, UserAgent: "aws-cli/2.17.0", SessionCreated: at, At: at.Add(time.Duration(30+i*60) * time.Second)})
	}
	return id
}

func (g *gen) scenario() {
	names := []string{"alice", "bob", "carol", "dave"}
	// the batch service account's long-lived token, used before and still
	// valid at the revocation
	batch := token{jti: g.uuid(), user: "service-account-batch", azp: "batch", aud: []string{"orders-api"},
		iat: g.start.Add(5 * time.Hour), exp: g.start.Add(17 * time.Hour), key: g.key}
	g.issue(batch, "CLIENT_LOGIN", map[string]string{"grant_type": "client_credentials"})
	braw := batch.sign()
	g.access(OrdersLog, "orders-api", "/v1/orders", "10.3.0.9", batch.iat.Add(time.Minute), braw, 200)
	g.truth.Worklist = append(g.truth.Worklist, WorkItem{"artifact", "jwt", batch.jti})

	// legitimate work, until 90 minutes before the revocation
	for i := range 16 {
		at := g.start.Add(time.Duration(10+i*17) * time.Minute)
		u := names[i%len(names)]
		t := token{jti: g.uuid(), user: u, azp: "web-app", aud: []string{"agent-api"}, iat: at, exp: at.Add(15 * time.Minute), key: g.key}
		g.issue(t, "CODE_TO_TOKEN", nil)
		g.exchange(t, t.sign(), at.Add(5*time.Second), 2)
		g.truth.LegitExch++
		if i%4 == 0 {
			c := token{jti: g.uuid(), user: u, azp: "aws-console", aud: []string{"sts.amazonaws.com"}, iat: at.Add(time.Minute),
				exp: at.Add(16 * time.Minute), key: g.key}
			g.issue(c, "CODE_TO_TOKEN", nil)
			// the console presents it to STS, which is the only place it is
			// seen: the access log of the console is not given
			g.session(c, c.iat.Add(3*time.Second), "203.0.113.10", 2)
			g.truth.LegitSTS++
		}
	}

	// the attacker, with the leaked key
	f := g.truth.ExposedFrom.Add(25 * time.Minute)
	forge := func(user, azp string, aud string, at time.Time) (token, string) {
		t := token{jti: g.uuid(), user: user, azp: azp, aud: []string{aud}, iat: at, exp: at.Add(24 * time.Hour), key: g.key}
		raw := t.sign()
		g.truth.Forged = append(g.truth.Forged, key(raw))
		g.truth.Worklist = append(g.truth.Worklist, WorkItem{"artifact", "jwt", t.jti})
		return t, raw
	}
	// F1: exchanged by the agent; the delegated token is used 3 times
	t1, r1 := forge("admin", "web-app", "agent-api", f)
	x1, _ := g.exchange(t1, r1, f.Add(10*time.Second), 3)
	g.truth.Derived = append(g.truth.Derived, Derived{Kind: "jwt", ID: x1.jti, Parent: key(r1), Relation: "token-exchange", Uses: 3})
	g.truth.Worklist = append(g.truth.Worklist, WorkItem{"derived", "jwt", x1.jti})
	// F2: to STS; the session is used 4 times
	t2, r2 := forge("admin", "aws-console", "sts.amazonaws.com", f.Add(40*time.Minute))
	// tried at the orders API first (authenticated, not authorized)
	g.access(OrdersLog, "orders-api", "/v1/orders", "198.51.100.77", t2.iat.Add(5*time.Second), r2, 403)
	s2 := g.session(t2, t2.iat.Add(20*time.Second), "198.51.100.77", 4)
	g.truth.Derived = append(g.truth.Derived, Derived{Kind: "aws-session", ID: s2, Parent: key(r2), Relation: "sts-web-identity", Uses: 4})
	g.truth.Worklist = append(g.truth.Worklist, WorkItem{"derived", "aws-session", s2})
	// F3: exchanged, the delegated token never used
	t3, r3 := forge("carol", "web-app", "agent-api", f.Add(70*time.Minute))
	x3, _ := g.exchange(t3, r3, t3.iat.Add(8*time.Second), 0)
	g.truth.Derived = append(g.truth.Derived, Derived{Kind: "jwt", ID: x3.jti, Parent: key(r3), Relation: "token-exchange", Uses: 0})
	g.truth.Worklist = append(g.truth.Worklist, WorkItem{"derived", "jwt", x3.jti})
	// F4: after the revocation, the agent refuses it; the orders API,
	// still trusting the old key, accepts it
	t4, r4 := forge("admin", "web-app", "orders-api", g.revoked.Add(30*time.Minute))
	g.access(AgentLog, "agent-svc", "/v1/tasks", "198.51.100.77", t4.iat.Add(5*time.Second), r4, 401)
	g.access(OrdersLog, "orders-api", "/v1/orders", "198.51.100.77", t4.iat.Add(9*time.Second), r4, 200)
	g.access(OrdersLog, "orders-api", "/v1/orders", "198.51.100.77", t4.iat.Add(50*time.Second), r4, 200)
	g.truth.Worklist = append(g.truth.Worklist, WorkItem{"verifier", "", "orders-api"})

	// after the rotation, the realm signs with its new key
	for i := range 3 {
		at := g.revoked.Add(time.Duration(40+i*10) * time.Minute)
		t := token{jti: g.uuid(), user: names[i], azp: "web-app", aud: []string{"agent-api"}, iat: at, exp: at.Add(15 * time.Minute),
			key: g.newKey, kid: "acme-2026"}
		g.issue(t, "CODE_TO_TOKEN", nil)
		g.access(AgentLog, "agent-svc", "/v1/tasks", "10.2.0.5", at.Add(5*time.Second), t.sign(), 200)
	}
}

func (g *gen) write() error {
	slices.SortStableFunc(g.events, func(a, b kcEvent) int { return int(a.Time - b.Time) })
	b, err := json.MarshalIndent(g.events, "", "  ")
	if err != nil {
		return err
	}
	g.out(KeycloakFile).Write(append(b, '\n'))
	// CloudTrail: one file per hour, as delivered
	byHour := map[string][]any{}
	var hours []string
	for _, e := range g.trail {
		var at time.Time
		switch e := e.(type) {
		case *idincident.CTWebIdentity:
			at = e.At
		case *idincident.CTCall:
			at = e.At
		}
		h := at.UTC().Format("2006/01/02/20060102T15")
		if _, ok := byHour[h]; !ok {
			hours = append(hours, h)
		}
		byHour[h] = append(byHour[h], e)
	}
	for _, h := range hours {
		rel := fmt.Sprintf("%s/AWSLogs/%s/CloudTrail/%s/%s_%s_CloudTrail_%s_%sZ.json", CloudTrailDir, Account, Region, h[:10], Account, Region, h[11:])
		if err := idincident.WriteCloudTrailRecords(g.out(rel), byHour[h]); err != nil {
			return err
		}
	}
	// the access logs in time order
	for _, rel := range []string{AgentLog, OrdersLog} {
		b := g.files.Content(rel)
		if b == nil {
			continue
		}
		lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
		slices.Sort(lines) // each line starts with its time
		g.files.Replace(rel, []byte(strings.Join(lines, "\n")+"\n"))
	}
	return nil
}
