package incident

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"strconv"
)

// sink is a service whose access log records presentations.
type sink uint8

const (
	sinkPayments sink = iota // Istio ingress, payments.acme.example
	sinkReports              // Istio ingress, reports.acme.example
	sinkAPI                  // Istio ingress, api.acme.example
	sinkBilling              // nginx in front of billing
	sinkAudit                // the reports-api application's audit log
	numSinks
)

func (s sink) istio() bool { return s <= sinkAPI }

// persona is who sends a request: an address and a user agent.
type persona struct {
	ip, ua  string
	browser bool
}

type user struct {
	id, name   string
	browser    int32 // persona index
	cli        int32 // same address, command-line user agent
	isAccount  bool  // a service account
	keycloakIP string
}

const (
	kindBrowser = iota
	kindCLI
	kindService
)

type client struct {
	id, aud, scope, redirect string
	kind                     int
	sinks                    []sink
	weight                   int
}

var clients = []*client{
	{id: "payments-web", aud: "payments-api", scope: "openid profile email", redirect: "https://payments.acme.example/callback", kind: kindBrowser, sinks: []sink{sinkPayments}, weight: 30},
	{id: "reports-ui", aud: "account", scope: "openid profile email", redirect: "https://reports.acme.example/oidc/callback", kind: kindBrowser, sinks: []sink{sinkReports, sinkAudit}, weight: 25},
	{id: "billing-portal", aud: "billing-api", scope: "openid profile email", redirect: "https://billing.acme.example/auth/callback", kind: kindBrowser, sinks: []sink{sinkBilling}, weight: 15},
	{id: "billing-cli", aud: "billing-api", scope: "openid profile billing", redirect: "http://127.0.0.1:38111/callback", kind: kindCLI, sinks: []sink{sinkBilling}, weight: 12},
	{id: "admin-console", aud: "account", scope: "openid profile email roles", redirect: "https://admin.acme.example/callback", kind: kindBrowser, sinks: []sink{sinkAPI, sinkAudit}, weight: 6},
	{id: "ci-deployer", aud: "deploy-api", scope: "profile email", kind: kindService, sinks: []sink{sinkAPI}, weight: 12},
}

var userNames = []string{
	"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy",
	"kevin", "laura", "mike", "nina", "oscar", "peggy", "quinn", "rachel", "steve", "trent",
	"uma", "victor", "wendy", "xavier", "yara", "zoe", "amir", "bea", "chen", "diego",
	"emma", "farah", "gus", "hana", "igor", "jun", "kai", "lena", "mateo", "noor",
}

var browserUAs = []string{
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36",
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.3 Safari/605.1.15",
	"Mozilla/5.0 (X11; Linux x86_64; rv:123.0) Gecko/20100101 Firefox/123.0",
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36",
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36 Edg/122.0.0.0",
}

// bearer is one distinct bearer value presented downstream.
type bearer struct {
	raw                               string
	category                          string // "" for a value that is not a JWT
	jti, sub, username, kid, signedBy string
	iat, exp                          int64 // seconds; for non-JWTs the window in which it is used
	claims                            claims
	client                            *client
	actor                             int32
	attacker                          bool
	want                              int // presentations to generate
	presentations                     int
	tamperOf                          int // index of the legit bearer a tampered one derives from
}

// event is one access-log line.
type event struct {
	ms       int64
	seq      int32 // creation order, to break ties in time
	bearer   int32 // -1: a health check without credentials
	actor    int32
	sink     sink
	accepted bool
}

type kcLine struct {
	ms   int64
	text []byte
}

type scenario struct {
	seed      int64
	rng       *rand.Rand
	realmUUID string
	personas  []persona
	users     []*user // userNames, then admin, then the ci-deployer service account
	admin     *user
	service   *user
	attackers []int32
	dev       int32
	bearers   []*bearer
	nLegit    int
	events    []event
	keycloak  []kcLine
}

func newRNG(seed int64, stream uint64) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(seed), 0x9e3779b97f4a7c15^stream))
}

func (sc *scenario) uuid() string {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], sc.rng.Uint64())
	binary.LittleEndian.PutUint64(b[8:], sc.rng.Uint64())
	return formatUUID(b)
}

func formatUUID(b [16]byte) string {
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return string(s[:])
}

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

func (sc *scenario) word(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = base62[sc.rng.IntN(len(base62))]
	}
	return string(b)
}

func (sc *scenario) persona(p persona) int32 {
	sc.personas = append(sc.personas, p)
	return int32(len(sc.personas) - 1)
}

func (sc *scenario) between(lo, hi int64) int64 {
	if hi <= lo {
		return lo
	}
	return lo + sc.rng.Int64N(hi-lo)
}

// sessionSecond picks when a session starts: mostly office hours, never in
// the ledger gap or in the 20 minutes before it (so gap tokens are exactly
// those of the sessions placed in it).
func (sc *scenario) sessionSecond() int64 {
	lo, hi := weekStart/1000+60, weekEnd/1000-1200
	for {
		t := sc.between(lo, hi)
		if t*1000 >= gapFrom-1200*1000 && t*1000 < gapTo {
			continue
		}
		h := (t / 3600) % 24
		if h >= 7 && h < 19 || sc.rng.IntN(5) == 0 {
			return t
		}
	}
}

func buildScenario(cfg Config, keys *keySet) (*scenario, error) {
	sc := &scenario{seed: cfg.Seed, rng: newRNG(cfg.Seed, 0)}
	sc.realmUUID = sc.uuid()
	sc.setupPeople()

	var jobs []*signJob
	jobs = append(jobs, sc.legitSessions(cfg.LegitTokens, keys)...)
	sc.keycloakNoise(cfg.LegitTokens)
	jobs = append(jobs, sc.forgedTokens(cfg.Forged, keys)...)
	noise := 1 + cfg.LegitTokens/200
	jobs = append(jobs, sc.noiseTokens(noise, keys)...)
	if err := signAll(jobs); err != nil {
		return nil, err
	}
	for _, b := range sc.bearers {
		if b.category != CategoryTampered {
			continue
		}
		raw, err := tamper(sc.bearers[b.tamperOf].raw, b.claims)
		if err != nil {
			return nil, err
		}
		b.raw = raw
	}
	if err := sc.present(cfg.Requests); err != nil {
		return nil, err
	}
	return sc, nil
}

func (sc *scenario) setupPeople() {
	addUser := func(name string) *user {
		ip := fmt.Sprintf("10.20.%d.%d", 1+sc.rng.IntN(8), 10+sc.rng.IntN(240))
		ua := browserUAs[sc.rng.IntN(len(browserUAs))]
		u := &user{id: sc.uuid(), name: name, keycloakIP: ip}
		u.browser = sc.persona(persona{ip: ip, ua: ua, browser: true})
		u.cli = sc.persona(persona{ip: ip, ua: "billing-cli/2.4.1 (linux; amd64)"})
		sc.users = append(sc.users, u)
		return u
	}
	for _, name := range userNames {
		addUser(name)
	}
	sc.admin = addUser("admin")
	sc.service = &user{id: sc.uuid(), name: "service-account-ci-deployer", isAccount: true, keycloakIP: "10.30.0.15"}
	sc.service.browser = sc.persona(persona{ip: "10.30.0.15", ua: "deployer/1.8.0"})
	sc.service.cli = sc.service.browser
	sc.users = append(sc.users, sc.service)
	for _, p := range []persona{
		{ip: "203.0.113.7", ua: "python-requests/2.31.0"},
		{ip: "203.0.113.45", ua: "curl/8.4.0"},
		{ip: "198.51.100.23", ua: "python-requests/2.31.0"},
		{ip: "198.51.100.77", ua: "Go-http-client/2.0"},
	} {
		sc.attackers = append(sc.attackers, sc.persona(p))
	}
	sc.dev = sc.persona(persona{ip: "10.20.9.14", ua: "curl/8.5.0"})
}

func (sc *scenario) pickClient() *client {
	total := 0
	for _, c := range clients {
		total += c.weight
	}
	n := sc.rng.IntN(total)
	for _, c := range clients {
		if n < c.weight {
			return c
		}
		n -= c.weight
	}
	return clients[0]
}

// legitSessions issues n tokens in login sessions (a code flow, then
// refreshes), logging each issuance in the Keycloak event log.
func (sc *scenario) legitSessions(n int, keys *keySet) []*signJob {
	var jobs []*signJob
	gapSessions := max(1, n/80)
	if n < 10 {
		gapSessions = 0 // too few tokens to spare one for the gap
	}
	for sc.nLegit < n {
		c := sc.pickClient()
		u := sc.users[sc.rng.IntN(len(userNames))]
		switch {
		case c.kind == kindService:
			u = sc.service
		case c.id == "admin-console" && sc.rng.IntN(3) == 0:
			u = sc.admin
		}
		var start int64
		if gapSessions > 0 {
			start = sc.between(gapFrom/1000, gapTo/1000-1200)
			gapSessions--
		} else {
			start = sc.sessionSecond()
		}
		count := 1
		if c.kind != kindService {
			count = 1 + sc.rng.IntN(4)
		}
		sid := sc.uuid()
		actor := u.browser
		if c.kind != kindBrowser {
			actor = u.cli
		}
		if c.kind != kindService {
			sc.kcEvent(start*1000-300-sc.rng.Int64N(2500), true, "LOGIN",
				"clientId", c.id, "userId", u.id, "sessionId", sid, "ipAddress", u.keycloakIP,
				"auth_method", "openid-connect", "auth_type", "code", "response_type", "code",
				"redirect_uri", c.redirect, "consent", "no_consent_required", "code_id", sid,
				"username", u.name, "response_mode", "query",
				"authSessionParentId", sid, "authSessionTabId", sc.word(11))
		}
		refreshID := sc.uuid()
		iat := start
		for k := 0; k < count && sc.nLegit < n; k++ {
			if k > 0 {
				iat += 240 + sc.rng.Int64N(55)
			}
			b := &bearer{
				jti: sc.uuid(), sub: u.id, username: u.name,
				kid: ExposedKID, signedBy: SignedByExposed,
				iat: iat, exp: iat + 300, client: c, actor: actor,
				category: CategoryLegit,
			}
			key := keys.exposed
			if iat*1000 >= rotatedAt {
				b.kid, b.signedBy, key = TrustedKID, SignedByTrusted, keys.trusted
			}
			if iat*1000 >= gapFrom && iat*1000 < gapTo {
				b.category = CategoryLegitGap
			}
			b.claims = claims{
				Exp: b.exp, Iat: iat, AuthTime: start, JTI: b.jti, Iss: Issuer, Aud: c.aud,
				Sub: u.id, Typ: "Bearer", Azp: c.id, Sid: sid, Acr: "1", Scope: c.scope,
				PreferredUsername: u.name,
			}
			logMs := iat*1000 + sc.rng.Int64N(900)
			switch {
			case c.kind == kindService:
				b.claims.AuthTime, b.claims.Sid, b.claims.ClientID = 0, "", c.id
				sc.kcEvent(logMs, true, "CLIENT_LOGIN",
					"clientId", c.id, "userId", u.id, "ipAddress", u.keycloakIP, "token_id", b.jti,
					"grant_type", "client_credentials", "scope", c.scope,
					"client_auth_method", "client-secret", "username", u.name)
			case k == 0:
				sc.kcEvent(logMs, true, "CODE_TO_TOKEN",
					"clientId", c.id, "userId", u.id, "sessionId", sid, "ipAddress", u.keycloakIP,
					"token_id", b.jti, "grant_type", "authorization_code", "refresh_token_type", "Refresh",
					"scope", c.scope, "refresh_token_id", refreshID, "code_id", sid,
					"client_auth_method", "client-secret")
			default:
				next := sc.uuid()
				sc.kcEvent(logMs, true, "REFRESH_TOKEN",
					"clientId", c.id, "userId", u.id, "sessionId", sid, "ipAddress", u.keycloakIP,
					"token_id", b.jti, "grant_type", "refresh_token", "refresh_token_type", "Refresh",
					"scope", c.scope, "refresh_token_id", refreshID, "updated_refresh_token_id", next,
					"client_auth_method", "client-secret")
				refreshID = next
			}
			jobs = append(jobs, &signJob{alg: algRS256, kid: b.kid, rsaKey: key, claims: b.claims, out: &b.raw})
			sc.bearers = append(sc.bearers, b)
			sc.nLegit++
		}
		if c.kind == kindBrowser && sc.rng.IntN(4) == 0 {
			sc.kcEvent((iat+60+sc.rng.Int64N(540))*1000+sc.rng.Int64N(1000), true, "LOGOUT",
				"clientId", c.id, "userId", u.id, "sessionId", sid, "ipAddress", u.keycloakIP,
				"redirect_uri", c.redirect)
		}
	}
	return jobs
}

// keycloakNoise adds the lines of the issuer's log that issue nothing:
// failed logins and code exchanges, start-ups, cluster chatter.
func (sc *scenario) keycloakNoise(n int) {
	for range max(2, n/25) {
		c := clients[sc.rng.IntN(len(clients)-1)]
		u := sc.users[sc.rng.IntN(len(userNames))]
		name, reason := u.name, "invalid_user_credentials"
		if sc.rng.IntN(3) == 0 {
			name, reason = u.name+"x", "user_not_found"
		}
		sc.kcEvent(sc.sessionSecond()*1000+sc.rng.Int64N(1000), false, "LOGIN_ERROR",
			"clientId", c.id, "userId", "null", "ipAddress", u.keycloakIP, "error", reason,
			"auth_method", "openid-connect", "auth_type", "code", "redirect_uri", c.redirect,
			"code_id", sc.uuid(), "username", name)
	}
	for range max(1, n/50) {
		c := clients[sc.rng.IntN(len(clients)-1)]
		u := sc.users[sc.rng.IntN(len(userNames))]
		sc.kcEvent(sc.sessionSecond()*1000+sc.rng.Int64N(1000), false, "CODE_TO_TOKEN_ERROR",
			"clientId", c.id, "userId", "null", "ipAddress", u.keycloakIP, "error", "invalid_code",
			"grant_type", "authorization_code", "code_id", sc.uuid(), "client_auth_method", "client-secret")
	}
	// Someone tried the admin password from outside before the key leaked.
	for i := range 3 {
		at := exposedFrom - 26*3600*1000 + int64(i)*4100 + sc.rng.Int64N(900)
		sc.kcEvent(at, false, "LOGIN_ERROR",
			"clientId", "admin-console", "userId", "null", "ipAddress", "203.0.113.7",
			"error", "invalid_user_credentials", "auth_method", "openid-connect", "auth_type", "code",
			"redirect_uri", "https://admin.acme.example/callback", "code_id", sc.uuid(), "username", "admin")
	}
	startup := func(at int64, version, quarkus string) {
		sc.kcRaw(at, "INFO", "org.infinispan.CONTAINER", "keycloak-cache-init",
			"ISPN000556: Starting user marshaller 'org.infinispan.jboss.marshalling.core.JBossUserMarshaller'")
		sc.kcRaw(at+2100, "INFO", "io.quarkus", "main",
			"Keycloak "+version+" on JVM (powered by Quarkus "+quarkus+") started in 9.1s. Listening on: http://0.0.0.0:8080")
		sc.kcRaw(at+2102, "INFO", "io.quarkus", "main", "Profile prod activated.")
		sc.kcRaw(at+2103, "INFO", "io.quarkus", "main",
			"Installed features: [agroal, cdi, hibernate-orm, jdbc-postgresql, keycloak, logging-gelf, narayana-jta, reactive-routes, resteasy-reactive, resteasy-reactive-jackson, smallrye-context-propagation, vertx]")
	}
	startup(weekStart+1400, "20.0.5", "2.13.7.Final")
	startup(gapTo+3200, "20.0.5", "2.13.7.Final") // back after the logging outage
	sc.kcRaw(keycloakSplit-2500, "INFO", "io.quarkus", "Shutdown thread", "Keycloak stopped in 0.088s")
	startup(keycloakSplit+1200, "26.0.5", "3.15.1")
	for day := weekStart + 13*3600*1000; day < weekEnd; day += 24 * 3600 * 1000 {
		sc.kcRaw(day+sc.rng.Int64N(3600*1000), "INFO", "org.infinispan.CLUSTER", "jgroups-7,keycloak-0",
			"ISPN000094: Received new cluster view for channel ISPN: [keycloak-0|4] (2) [keycloak-0, keycloak-1]")
	}
}

// forgedTokens mints what the attacker signed with the leaked key.
func (sc *scenario) forgedTokens(n int, keys *keySet) []*signJob {
	var jobs []*signJob
	for i := range n {
		category := CategoryForged
		switch i % 6 {
		case 0, 3:
			category = CategoryForgedReusedJTI
		case 2:
			category = CategoryForgedAfterRevocation
		}
		var iat int64
		if category == CategoryForgedAfterRevocation {
			iat = sc.between(revokedAt/1000, weekEnd/1000-3600)
		} else {
			iat = sc.between(exposedFrom/1000, revokedAt/1000)
		}
		life := int64(300)
		if i%4 == 1 {
			life = 86400
		}
		c := clients[sc.rng.IntN(len(clients)-1)]
		target := sc.admin
		if sc.rng.IntN(2) == 0 {
			target = sc.users[sc.rng.IntN(len(userNames))]
		}
		b := &bearer{
			category: category, jti: sc.uuid(), kid: ExposedKID, signedBy: SignedByExposed,
			iat: iat, exp: iat + life, client: c, attacker: true,
			actor: sc.attackers[sc.rng.IntN(len(sc.attackers))],
		}
		if i%5 == 4 {
			b.kid = TrustedKID // the attacker picks the kid
		}
		b.claims = claims{
			AuthTime: iat, Iss: Issuer, Aud: c.aud, Typ: "Bearer", Azp: c.id,
			Sid: sc.uuid(), Acr: "1", Scope: c.scope,
		}
		if category == CategoryForgedReusedJTI {
			orig := sc.legitBefore(iat)
			if orig == nil {
				b.category = CategoryForged
			} else {
				b.jti, b.claims = orig.jti, orig.claims
				b.client = orig.client
				if orig.sub == sc.admin.id {
					target = sc.users[sc.rng.IntN(len(userNames))]
				} else {
					target = sc.admin
				}
			}
		}
		b.sub, b.username = target.id, target.name
		b.claims.Exp, b.claims.Iat, b.claims.JTI = b.exp, iat, b.jti
		b.claims.Sub, b.claims.PreferredUsername = target.id, target.name
		jobs = append(jobs, &signJob{alg: algRS256, kid: b.kid, rsaKey: keys.exposed, claims: b.claims, out: &b.raw})
		sc.bearers = append(sc.bearers, b)
	}
	return jobs
}

// legitBefore picks a logged legit token issued before t, or nil.
func (sc *scenario) legitBefore(t int64) *bearer {
	for range 64 {
		b := sc.bearers[sc.rng.IntN(sc.nLegit)]
		if b.category == CategoryLegit && b.iat < t {
			return b
		}
	}
	for _, b := range sc.bearers[:sc.nLegit] {
		if b.category == CategoryLegit && b.iat < t {
			return b
		}
	}
	return nil
}

// noiseTokens mints bearers that must NOT be found forged: signed by an
// unknown key, tampered, alg none, and values that are not JWTs at all.
func (sc *scenario) noiseTokens(n int, keys *keySet) []*signJob {
	var jobs []*signJob
	randomUser := func() *user { return sc.users[sc.rng.IntN(len(userNames))] }
	for i := range n {
		u, c := randomUser(), clients[sc.rng.IntN(len(clients)-1)]
		iat := sc.sessionSecond()
		b := &bearer{
			category: CategoryUnknownKey, jti: sc.uuid(), sub: u.id, username: u.name,
			kid: "dev-ed25519", signedBy: SignedByUnknown, iat: iat, exp: iat + 3600,
			client: c, actor: sc.dev,
		}
		if i == 0 {
			b.kid = ExposedKID // claims the exposed kid, signed by another key
		}
		b.claims = claims{Exp: b.exp, Iat: iat, JTI: b.jti, Iss: Issuer, Aud: c.aud, Sub: u.id,
			Typ: "Bearer", Azp: c.id, Scope: c.scope, PreferredUsername: u.name}
		jobs = append(jobs, &signJob{alg: algEdDSA, kid: b.kid, edKey: keys.unknown, claims: b.claims, out: &b.raw})
		sc.bearers = append(sc.bearers, b)
	}
	for range n {
		idx := sc.rng.IntN(sc.nLegit)
		for k := 0; k < sc.nLegit && sc.bearers[idx].category != CategoryLegit; k++ {
			idx = (idx + 1) % sc.nLegit
		}
		orig := sc.bearers[idx]
		target := sc.admin
		if orig.sub == sc.admin.id {
			target = randomUser()
		}
		b := &bearer{
			category: CategoryTampered, jti: orig.jti, sub: target.id, username: target.name,
			kid: orig.kid, signedBy: SignedByNone, iat: orig.iat, exp: orig.exp,
			client: orig.client, attacker: true, tamperOf: idx,
			actor: sc.attackers[sc.rng.IntN(len(sc.attackers))],
		}
		b.claims = orig.claims
		b.claims.Sub, b.claims.PreferredUsername = target.id, target.name
		sc.bearers = append(sc.bearers, b)
	}
	for i := range n {
		c := clients[sc.rng.IntN(len(clients)-1)]
		iat := sc.between(exposedFrom/1000, weekEnd/1000-3600)
		b := &bearer{
			category: CategoryAlgNone, jti: sc.uuid(), sub: sc.admin.id, username: sc.admin.name,
			signedBy: SignedByNone, iat: iat, exp: iat + 3600, client: c, attacker: true,
			actor: sc.attackers[sc.rng.IntN(len(sc.attackers))],
		}
		if i == 0 {
			b.kid = ExposedKID
		}
		b.claims = claims{Exp: b.exp, Iat: iat, JTI: b.jti, Iss: Issuer, Aud: c.aud, Sub: b.sub,
			Typ: "Bearer", Azp: c.id, Scope: c.scope, PreferredUsername: b.username}
		jobs = append(jobs, &signJob{alg: algNone, kid: b.kid, claims: b.claims, out: &b.raw})
		sc.bearers = append(sc.bearers, b)
	}
	for i := range n + 1 {
		iat := sc.sessionSecond()
		raw := "gho_" + sc.word(36)
		if i == n {
			raw = strconv.FormatUint(sc.rng.Uint64(), 16) + strconv.FormatUint(sc.rng.Uint64(), 16)
		}
		sc.bearers = append(sc.bearers, &bearer{raw: raw, iat: iat, exp: iat + 3600, actor: sc.dev})
	}
	return jobs
}

// present spreads exactly requests access-log lines over the bearers (each
// presented at least once) and health checks.
func (sc *scenario) present(requests int) error {
	health := requests / 50
	need := health
	for _, b := range sc.bearers {
		switch {
		case b.category == CategoryLegit || b.category == CategoryLegitGap:
			b.want = 1
		case IsForged(b.category) && b.exp-b.iat > 3600:
			b.want = 4 + sc.rng.IntN(10)
		case IsForged(b.category):
			b.want = 2 + sc.rng.IntN(7)
		default:
			b.want = 1 + sc.rng.IntN(3)
		}
		need += b.want
	}
	if need > requests {
		health, need = 0, len(sc.bearers)
		for _, b := range sc.bearers {
			b.want = 1
		}
	}
	if need > requests {
		return fmt.Errorf("incident: %d requests cannot present %d distinct tokens once each", requests, need)
	}
	for range requests - need {
		sc.bearers[sc.rng.IntN(sc.nLegit)].want++
	}
	sc.events = make([]event, 0, requests)
	for i, b := range sc.bearers {
		lo, hi := b.iat*1000, min(b.exp*1000, weekEnd)
		if !b.attacker && b.category != "" {
			lo += 1000 // a legit client uses its token after receiving it
		}
		for range b.want {
			ev := event{ms: sc.between(lo, hi), bearer: int32(i), actor: b.actor}
			switch {
			case b.category == CategoryLegit || b.category == CategoryLegitGap:
				ev.sink = b.client.sinks[sc.rng.IntN(len(b.client.sinks))]
				ev.accepted = true
			case b.attacker:
				ev.sink = sc.attackSink()
				if sc.rng.IntN(5) == 0 {
					ev.actor = sc.attackers[sc.rng.IntN(len(sc.attackers))]
				}
				// The gateway looks keys up by kid and refreshed its JWKS at
				// revocation; the others kept trusting a cached exposed key.
				ev.accepted = IsForged(b.category) &&
					(!ev.sink.istio() || b.kid == ExposedKID && ev.ms < revokedAt)
			default:
				ev.sink = sink(sc.rng.IntN(int(numSinks)))
			}
			b.presentations++
			ev.seq = int32(len(sc.events))
			sc.events = append(sc.events, ev)
		}
	}
	for range health {
		s := sinkBilling
		if sc.rng.IntN(5) < 3 {
			s = sinkPayments
		}
		sc.events = append(sc.events, event{ms: sc.between(weekStart, weekEnd), seq: int32(len(sc.events)), bearer: -1, actor: -1, sink: s, accepted: true})
	}
	return nil
}

func (sc *scenario) attackSink() sink {
	switch n := sc.rng.IntN(100); {
	case n < 35:
		return sinkBilling
	case n < 70:
		return sinkAudit
	default:
		return sink(n % 3)
	}
}

// kcEvent records a Keycloak event line unless it falls in the logging gap:
// before keycloakSplit in the older unquoted style at DEBUG, after it quoted
// at INFO; errors at WARN in both. kv are key, value pairs after type and realm.
func (sc *scenario) kcEvent(at int64, success bool, typ string, kv ...string) {
	if at >= gapFrom && at < gapTo || at < weekStart || at >= weekEnd {
		return
	}
	quoted := at >= keycloakSplit
	level := "WARN"
	if success {
		level = "DEBUG"
		if quoted {
			level = "INFO"
		}
	}
	b := appendKeycloakPrefix(nil, at, level, "org.keycloak.events", "executor-thread-"+strconv.Itoa(1+sc.rng.IntN(48)))
	field := func(k, v string) {
		b = append(b, k...)
		b = append(b, '=')
		if quoted {
			b = append(b, '"')
			b = append(b, v...)
			b = append(b, '"')
		} else {
			b = append(b, v...)
		}
	}
	field("type", typ)
	b = append(b, ", "...)
	if quoted {
		field("realmId", sc.realmUUID)
		b = append(b, ", "...)
		field("realmName", Realm)
	} else {
		field("realmId", Realm)
	}
	for i := 0; i+1 < len(kv); i += 2 {
		b = append(b, ", "...)
		field(kv[i], kv[i+1])
	}
	sc.keycloak = append(sc.keycloak, kcLine{ms: at, text: append(b, '\n')})
}

// kcRaw records a line of another Keycloak logger.
func (sc *scenario) kcRaw(at int64, level, logger, thread, msg string) {
	if at >= gapFrom && at < gapTo {
		return
	}
	b := appendKeycloakPrefix(nil, at, level, logger, thread)
	b = append(b, msg...)
	sc.keycloak = append(sc.keycloak, kcLine{ms: at, text: append(b, '\n')})
}

// appendKeycloakPrefix appends "2026-03-04 10:00:00,123 INFO  [logger] (thread) ".
func appendKeycloakPrefix(b []byte, at int64, level, logger, thread string) []byte {
	t := utc(at)
	b = t.AppendFormat(b, "2006-01-02 15:04:05")
	b = append(b, ',')
	b = appendMillis(b, at)
	b = append(b, ' ')
	b = append(b, level...)
	for i := len(level); i < 6; i++ {
		b = append(b, ' ')
	}
	b = append(b, '[')
	b = append(b, logger...)
	b = append(b, "] ("...)
	b = append(b, thread...)
	return append(b, ") "...)
}

func appendMillis(b []byte, at int64) []byte {
	m := at % 1000
	return append(b, byte('0'+m/100), byte('0'+m/10%10), byte('0'+m%10))
}
