package idincident

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/forgehunt/forgehunt/internal/seeded"
	"github.com/forgehunt/forgehunt/parsers/record"
)

// The estate.
var (
	apiServers = []string{"apiserver-1", "apiserver-2", "apiserver-3"}
	// service accounts and the pods that run as them; the IRSA ones get
	// web identity tokens for STS besides their API tokens
	workloads = []workload{
		{ns: "payments", sa: "api", pods: 2, irsa: "arn:aws:iam::" + AWSAccount + ":role/payments-api"},
		{ns: "monitoring", sa: "prometheus", pods: 1},
		{ns: "kube-system", sa: "coredns", pods: 2},
		{ns: "ci", sa: "runner", pods: 1},
	}
	// a deploy job: its pod ran once, early, with a web identity token
	deployer = workload{ns: "ci", sa: "deployer", pods: 1, irsa: "arn:aws:iam::" + AWSAccount + ":role/deployer"}
	// what the attacker's minted tokens claim to be
	forgedSAs  = []string{"kube-system:clusterrole-aggregation-controller", "kube-system:default", "ci:runner"}
	feders     = []string{"alice", "bob", "carol", "dave", "erin", "frank"}
	cloudUsers = []string{"ops-admin", "breakglass"}
	adfsFarm   = []string{"adfs01.contoso.com", "adfs02.contoso.com"}
	oktaUsers  = []string{"ana", "ben", "chen", "dina"}
	attackerIP = "203.0.113.66"
)

type workload struct {
	ns, sa string
	pods   int
	irsa   string // the IAM role it assumes, "" for none
}

func (w workload) subject() string { return "system:serviceaccount:" + w.ns + ":" + w.sa }

// The planned records of each platform, in time order within a file.
type k8sTokenReq struct {
	server                    string
	auditID, jti, ns, sa, pod string
	podUID, node              string
	audiences                 []string
	at, exp                   time.Time
}

type k8sReq struct {
	server, auditID, jti, user, pod, podUID, node, ip, ua, verb, uri, resource, ns, name string
	code                                                                                 int
	at                                                                                   time.Time
}

type ctSession struct { // AssumeRoleWithWebIdentity
	eventID, roleArn, session, subject, keyID, roleID, ip string
	at, exp                                               time.Time
}

type ctCall struct {
	eventID, keyID, arn, source, name, ip, errorCode string
	created, at                                      time.Time
}

type signIn struct {
	id, correlation, uti, upn, userID, app, appID, resource, resourceID, ip, ua, issuerType, issuerName, incoming string
	errorCode                                                                                                     int
	interactive                                                                                                   bool
	at                                                                                                            time.Time
}

type adfsEvent struct {
	id                                        int
	activity, server, user, rp, ip, ua, proto string
	record                                    int64
	at                                        time.Time
}

type gatewayHit struct {
	token, user, ip, path string
	status                int
	at                    time.Time
}

type scenario struct {
	cfg                   Config
	r                     *rand.Rand
	k8sKey, adfsKey, okta *ecdsa.PrivateKey
	tokenReqs             []k8sTokenReq
	reqs                  []k8sReq
	sessions              []ctSession
	calls                 []ctCall
	signIns               []signIn
	adfs                  []adfsEvent
	oktaEvents            []OktaEvent
	gateway               []gatewayHit
	truth                 Truth
}

func plan(cfg Config) (*scenario, error) {
	sc := &scenario{cfg: cfg, r: rand.New(seeded.Stream("idincident", cfg.Seed, "scenario"))}
	var err error
	if sc.k8sKey, err = seeded.ECDSA(elliptic.P256(), seeded.Stream("idincident", cfg.Seed, "k8s")); err != nil {
		return nil, err
	}
	if sc.adfsKey, err = seeded.ECDSA(elliptic.P256(), seeded.Stream("idincident", cfg.Seed, "adfs")); err != nil {
		return nil, err
	}
	if sc.okta, err = seeded.ECDSA(elliptic.P256(), seeded.Stream("idincident", cfg.Seed, "okta")); err != nil {
		return nil, err
	}
	start := cfg.Start
	end := start.Add(time.Duration(cfg.Hours) * time.Hour)
	exposed := start.Add(time.Duration(cfg.Hours) * time.Hour / 3)
	sc.truth = Truth{Seed: cfg.Seed, Start: start, ExposedFrom: exposed, Legit: map[string]int{},
		KeyFiles: []string{K8sKeyFile, ADFSKeyFile, OktaKeyFile}}
	sc.planK8s(start, end, exposed)
	sc.planSAML(start, end, exposed)
	sc.planOkta(start, end, exposed)
	slices.SortStableFunc(sc.truth.Forged, func(a, b Forged) int { return a.First.Compare(b.First) })
	return sc, nil
}

// uuid is a random version-4 UUID from the scenario's stream.
func (sc *scenario) uuid() string {
	a, b := sc.r.Uint64(), sc.r.Uint64()
	return fmt.Sprintf("%08x-%04x-4%03x-%04x-%012x", a>>32, (a>>16)&0xffff, a&0xfff, 0x8000|(b>>48)&0x3fff, b&0xffffffffffff)
}

func (sc *scenario) hex(n int) string { return seeded.Hex(sc.r, n) }

func (sc *scenario) upperAlnum(n int) string {
	const digits = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	b := make([]byte, n)
	for i := range b {
		b[i] = digits[sc.r.IntN(len(digits))]
	}
	return string(b)
}

func (sc *scenario) jitter(t time.Time, max time.Duration) time.Time {
	return t.Add(time.Duration(sc.r.Int64N(int64(max))))
}

func (sc *scenario) server() string { return apiServers[sc.r.IntN(len(apiServers))] }

var k8sCalls = []struct{ verb, resource, uri string }{
	{"get", "configmaps", "/api/v1/namespaces/%s/configmaps/app-config"},
	{"list", "pods", "/api/v1/namespaces/%s/pods?limit=500"},
	{"watch", "endpoints", "/api/v1/namespaces/%s/endpoints?watch=true"},
	{"get", "secrets", "/api/v1/namespaces/%s/secrets/db-credentials"},
}

// planK8s: every pod's kubelet requests a token for it each hour (one with
// STS's audience too for IRSA workloads) and the pod uses it; the
// attacker, from exposed on, presents tokens it minted.
func (sc *scenario) planK8s(start, end, exposed time.Time) {
	podIP := 10
	plant := func(w workload, from, to time.Time, refresh time.Duration) {
		for p := range w.pods {
			pod := fmt.Sprintf("%s-%s-%d", w.sa, sc.hex(5), p)
			podUID, node := sc.uuid(), fmt.Sprintf("node-%d", sc.r.IntN(4)+1)
			ip := fmt.Sprintf("10.244.%d.%d", podIP/250, podIP%250+2)
			podIP++
			for t := sc.jitter(from, 5*time.Minute); t.Before(to); t = t.Add(refresh) {
				tr := k8sTokenReq{server: sc.server(), auditID: sc.uuid(), jti: sc.uuid(), ns: w.ns, sa: w.sa, pod: pod,
					podUID: podUID, node: node, audiences: []string{"https://kubernetes.default.svc"}, at: t, exp: t.Add(time.Hour)}
				sc.tokenReqs = append(sc.tokenReqs, tr)
				sc.truth.Legit[PlatformK8s]++
				for u := range 3 + sc.r.IntN(4) {
					c := k8sCalls[(u+p)%3] // pods do not read secrets
					at := sc.jitter(t.Add(time.Duration(u)*10*time.Minute+time.Second), 9*time.Minute)
					if !at.Before(to) || !at.Before(end) {
						break
					}
					sc.reqs = append(sc.reqs, k8sReq{server: sc.server(), auditID: sc.uuid(), jti: tr.jti, user: w.subject(),
						pod: pod, podUID: podUID, node: node, ip: ip, ua: "app/v1.4.2 (linux/amd64) kubernetes/client-go",
						verb: c.verb, uri: fmt.Sprintf(c.uri, w.ns), resource: c.resource, ns: w.ns, code: 200, at: at})
				}
				if w.irsa != "" {
					sts := tr
					sts.auditID, sts.jti, sts.audiences, sts.server = sc.uuid(), sc.uuid(), []string{"sts.amazonaws.com"}, sc.server()
					sts.at = t.Add(2 * time.Second)
					sts.exp = sts.at.Add(time.Hour)
					sc.tokenReqs = append(sc.tokenReqs, sts)
					at := sts.at.Add(time.Duration(5+sc.r.IntN(20)) * time.Second)
					s := sc.session(w.irsa, pod, w.subject(), ip, at)
					sc.truth.Legit[PlatformAWS]++
					for u := range 2 + sc.r.IntN(3) {
						sc.call(s, ip, "s3.amazonaws.com", []string{"GetObject", "PutObject", "ListBucket"}[u%3], "", at.Add(time.Duration(u+1)*time.Minute))
					}
				}
			}
		}
	}
	for _, w := range workloads {
		plant(w, start, end, time.Hour)
	}
	// the deploy job: one pod, early, for twenty minutes
	plant(deployer, start.Add(5*time.Minute), start.Add(25*time.Minute), time.Hour)

	for i := range sc.cfg.ForgedK8s {
		sa := forgedSAs[i%len(forgedSAs)]
		jti := sc.uuid()
		user := "system:serviceaccount:" + sa
		first := sc.jitter(exposed.Add(time.Duration(i)*20*time.Minute), 10*time.Minute)
		uses := 0
		for u := range 4 {
			at := first.Add(time.Duration(u) * 7 * time.Minute)
			if !at.Before(end) {
				break
			}
			c := k8sCalls[3-u%2] // secrets and watches
			ns := "kube-system"
			code := 200
			if u == 3 {
				code = 403 // authenticated, not authorized: still an accepted token
			}
			sc.reqs = append(sc.reqs, k8sReq{server: apiServers[(i+u)%len(apiServers)], auditID: sc.uuid(), jti: jti, user: user,
				ip: attackerIP, ua: "kubectl/v1.31.2 (linux/amd64) kubernetes/5864a46", verb: c.verb, uri: fmt.Sprintf(c.uri, ns),
				resource: c.resource, ns: ns, code: code, at: at})
			uses++
		}
		sc.truth.Forged = append(sc.truth.Forged, Forged{Key: "jwt::" + jti, Platform: PlatformK8s, Subject: user, Uses: uses, First: first})
	}
	// the attacker's web identity sessions: a token it minted for the
	// deploy job's account, long after the job's own token expired
	for i := range sc.cfg.ForgedAWS {
		at := sc.jitter(exposed.Add(time.Duration(30+40*i)*time.Minute), 10*time.Minute)
		s := sc.session(deployer.irsa, "forged", deployer.subject(), attackerIP, at)
		uses := 0
		for u, name := range []string{"ListBuckets", "GetObject", "CreateAccessKey"} {
			src, code := "s3.amazonaws.com", ""
			if name == "CreateAccessKey" {
				src, code = "iam.amazonaws.com", "AccessDenied"
			}
			sc.call(s, attackerIP, src, name, code, at.Add(time.Duration(u+1)*3*time.Minute))
			uses++
		}
		sc.truth.Forged = append(sc.truth.Forged, Forged{Key: "aws-session::" + s.keyID, Platform: PlatformAWS,
			Subject: deployer.subject(), Uses: uses, First: at})
	}
	slices.SortStableFunc(sc.tokenReqs, func(a, b k8sTokenReq) int { return a.at.Compare(b.at) })
	slices.SortStableFunc(sc.reqs, func(a, b k8sReq) int { return a.at.Compare(b.at) })
	slices.SortStableFunc(sc.calls, func(a, b ctCall) int { return a.at.Compare(b.at) })
}

func (sc *scenario) session(role, name, subject, ip string, at time.Time) ctSession {
	s := ctSession{eventID: sc.uuid(), roleArn: role, session: "botocore-session-" + fmt.Sprint(at.Unix()), subject: subject,
		keyID: "ASIA" + sc.upperAlnum(16), roleID: "AROA" + sc.upperAlnum(17), ip: ip, at: at, exp: at.Add(time.Hour)}
	sc.sessions = append(sc.sessions, s)
	return s
}

func (sc *scenario) call(s ctSession, ip, source, name, code string, at time.Time) {
	roleName := s.roleArn[len("arn:aws:iam::"+AWSAccount+":role/"):]
	sc.calls = append(sc.calls, ctCall{eventID: sc.uuid(), keyID: s.keyID,
		arn:    "arn:aws:sts::" + AWSAccount + ":assumed-role/" + roleName + "/" + s.session,
		source: source, name: name, ip: ip, errorCode: code, created: s.at, at: at})
}

var apps = []struct{ name, id, resource, resourceID string }{
	{"Office 365 Exchange Online", "00000002-0000-0ff1-ce00-000000000000", "Office 365 Exchange Online", "00000002-0000-0ff1-ce00-000000000000"},
	{"Microsoft Teams", "1fec8e78-bce4-4aaf-ab1b-5451cc387264", "Microsoft Teams Services", "cc15fd57-2c6c-4117-a88c-83b1d56b4bbe"},
	{"Azure Portal", "c44b4083-3bb0-49c1-b47d-974e53cbdf3c", "Windows Azure Service Management API", "797f4846-ba00-4fd7-ba43-dac1f8f63013"},
}

// planSAML: federated users sign in through the farm (1202 then 1200 on
// one server, then Entra's sign-in with the activity id as its
// correlation id); cloud-only admins sign in to Entra itself; the attacker
// presents SAML tokens it signed with the farm's certificate.
func (sc *scenario) planSAML(start, end, exposed time.Time) {
	var rec [2]int64
	rec[0], rec[1] = 4_800_000, 7_200_000
	ua := "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/128.0.0.0 Safari/537.36 Edg/128.0.0.0"
	for t := start.Add(time.Minute); t.Before(end.Add(-time.Minute)); t = t.Add(12 * time.Minute) {
		for i, u := range feders {
			if sc.r.IntN(3) != 0 && t.After(start.Add(time.Minute)) && t.Before(end.Add(-15*time.Minute)) {
				continue
			}
			at := sc.jitter(t, 10*time.Minute)
			srv := (i + int(at.Unix()/60)) % 2
			act := sc.uuid()
			upn := u + "@contoso.com"
			ip := fmt.Sprintf("198.51.100.%d", 10+i)
			rec[srv]++
			sc.adfs = append(sc.adfs, adfsEvent{id: 1202, activity: act, server: adfsFarm[srv], user: "CONTOSO\\" + u, rp: "",
				ip: ip, ua: ua, proto: "WSFederation", record: rec[srv], at: at})
			rec[srv]++
			sc.adfs = append(sc.adfs, adfsEvent{id: 1200, activity: act, server: adfsFarm[srv], user: upn, rp: "urn:federation:MicrosoftOnline",
				ip: ip, ua: ua, proto: "WSFederation", record: rec[srv], at: at.Add(300 * time.Millisecond)})
			app := apps[sc.r.IntN(len(apps))]
			sc.signIns = append(sc.signIns, signIn{id: sc.uuid(), correlation: act, uti: sc.uti(), upn: upn, userID: sc.uuid(),
				app: app.name, appID: app.id, resource: app.resource, resourceID: app.resourceID, ip: ip, ua: ua,
				issuerType: "ADFederationServices", issuerName: FederationID, incoming: "saml11", interactive: true,
				at: at.Add(2*time.Second + time.Duration(sc.r.IntN(900))*time.Millisecond)})
			sc.truth.Legit[PlatformEntra]++
		}
		if sc.r.IntN(2) == 0 {
			u := cloudUsers[sc.r.IntN(len(cloudUsers))]
			app := apps[2]
			sc.signIns = append(sc.signIns, signIn{id: sc.uuid(), correlation: sc.uuid(), uti: sc.uti(), upn: u + "@contoso.onmicrosoft.com",
				userID: sc.uuid(), app: app.name, appID: app.id, resource: app.resource, resourceID: app.resourceID,
				ip: "192.0.2.40", ua: ua, issuerType: "AzureAD", incoming: "none", interactive: true, at: sc.jitter(t, 10*time.Minute)})
		}
	}
	for i := range sc.cfg.ForgedSAML {
		at := sc.jitter(exposed.Add(time.Duration(i)*25*time.Minute), 20*time.Minute)
		corr := sc.uuid()
		upn := []string{"ceo", "alice", "globaladmin"}[i%3] + "@contoso.com"
		app := apps[(i+1)%len(apps)]
		sc.signIns = append(sc.signIns, signIn{id: sc.uuid(), correlation: corr, uti: sc.uti(), upn: upn, userID: sc.uuid(),
			app: app.name, appID: app.id, resource: app.resource, resourceID: app.resourceID, ip: attackerIP,
			ua: "python-requests/2.32.3", issuerType: "ADFederationServices", issuerName: FederationID, incoming: "saml11",
			interactive: true, at: at})
		sc.truth.Forged = append(sc.truth.Forged, Forged{Key: "saml::" + corr, Platform: PlatformEntra, Subject: upn, Uses: 1, First: at})
		// the token Entra issued on the forged sign-in acts in its name
		sc.truth.Derived = append(sc.truth.Derived, "jwt::"+sc.signIns[len(sc.signIns)-1].uti)
	}
	slices.SortStableFunc(sc.signIns, func(a, b signIn) int { return a.at.Compare(b.at) })
	slices.SortStableFunc(sc.adfs, func(a, b adfsEvent) int { return a.at.Compare(b.at) })
}

func (sc *scenario) uti() string {
	const digits = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	b := make([]byte, 22)
	for i := range b {
		b[i] = digits[sc.r.IntN(len(digits))]
	}
	return string(b)
}

// planOkta: users start sessions, single-sign-on to the orders app, and
// the app gets access tokens the gateway then accepts; the attacker's
// tokens, signed with the authorization server's leaked key, are accepted
// by the gateway too.
func (sc *scenario) planOkta(start, end, exposed time.Time) {
	const appID, appName = "0oa8orders1ClientId", "Orders Portal"
	ua := "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Safari/605.1.15"
	for i, u := range oktaUsers {
		login := u + "@acme.com"
		uid := "00u" + sc.upperAlnum(17)
		ip := fmt.Sprintf("198.51.100.%d", 120+i)
		for t := sc.jitter(start, 30*time.Minute); t.Before(end.Add(-time.Hour)); t = t.Add(2 * time.Hour) {
			sid := "102" + sc.upperAlnum(22)
			sc.oktaEvents = append(sc.oktaEvents,
				OktaEvent{EventType: OktaSessionStart, ActorID: uid, ActorLogin: login, ClientIP: ip, UserAgent: ua, SessionID: sid, At: t},
				OktaEvent{EventType: OktaSSO, ActorID: uid, ActorLogin: login, ClientIP: ip, UserAgent: ua, SessionID: sid,
					AppID: appID, AppName: appName, At: t.Add(3 * time.Second)})
			for k := range 2 {
				iat := t.Add(time.Duration(5+k*40) * time.Minute)
				jti := "AT." + sc.upperAlnum(6) + "-" + sc.hex(32)
				tok, err := sc.oktaToken(jti, login, uid, appID, iat)
				if err != nil {
					panic(err) // a P-256 key always signs
				}
				sc.oktaEvents = append(sc.oktaEvents, OktaEvent{EventType: OktaAccessToken, ActorID: uid, ActorLogin: login,
					ClientIP: ip, UserAgent: ua, SessionID: sid, AppID: appID, AppName: appName, TokenID: jti,
					Expires: iat.Add(time.Hour), RawToken: tok, AuthServerID: "aus1default", Scopes: "openid, orders.read", At: iat})
				sc.truth.Legit[PlatformOkta]++
				for h := range 3 {
					sc.gateway = append(sc.gateway, gatewayHit{token: tok, user: login, ip: ip, path: "/v1/orders", status: 200,
						at: iat.Add(time.Duration(h*7+1) * time.Minute)})
				}
			}
		}
	}
	for i := range sc.cfg.ForgedOkta {
		iat := sc.jitter(exposed.Add(time.Duration(i)*35*time.Minute), 15*time.Minute)
		login := "dina@acme.com"
		jti := "AT." + sc.upperAlnum(6) + "-" + sc.hex(32)
		tok, err := sc.oktaToken(jti, login, "00u"+sc.upperAlnum(17), appID, iat)
		if err != nil {
			panic(err)
		}
		for h := range 3 {
			sc.gateway = append(sc.gateway, gatewayHit{token: tok, user: login, ip: attackerIP, path: "/v1/orders/export", status: 200,
				at: iat.Add(time.Duration(h*4+1) * time.Minute)})
		}
		sc.truth.Forged = append(sc.truth.Forged, Forged{Key: record.ArtifactKey(tok), Platform: PlatformOkta, Subject: login, Uses: 3,
			First: iat.Add(time.Minute)})
	}
	slices.SortStableFunc(sc.oktaEvents, func(a, b OktaEvent) int { return a.At.Compare(b.At) })
	slices.SortStableFunc(sc.gateway, func(a, b gatewayHit) int { return a.at.Compare(b.at) })
}

// oktaToken is an access token of the org's authorization server, as Okta
// mints them (jti "AT.…", cid the client, uid the user).
func (sc *scenario) oktaToken(jti, login, uid, client string, iat time.Time) (string, error) {
	return signES256(sc.okta, "okta-as-2026", map[string]any{
		"ver": 1, "jti": jti, "iss": OktaIssuer, "aud": "api://orders", "iat": iat.Unix(), "exp": iat.Add(time.Hour).Unix(),
		"cid": client, "uid": uid, "scp": []string{"openid", "orders.read"}, "auth_time": iat.Unix(), "sub": login,
	})
}
