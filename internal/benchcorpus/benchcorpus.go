// Package benchcorpus writes the corpus of forgehunt's whole-hunt benchmark:
// one large Istio/Envoy JSON access log (plain, gzip or zstd) whose lines
// carry bearer tokens from a pool of distinct tokens, the issuer's ledger of
// the legitimately issued ones, an exposed RSA key (RS256) and a trusted EC
// key (ES256). A few tokens signed with the exposed key have no ledger
// record: the forgeries a hunt must find.
//
// The corpus is what `forgehunt bench` measures and `make bench` runs; it is
// cached in a directory and written again only when its configuration
// changes (signing the pool dominates a small corpus, compressing a large
// one).
package benchcorpus

import (
	"bufio"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// Config sizes the corpus. The zero value is the reference corpus:
// 1M lines, 50k distinct tokens (30% RS256 from the exposed key, the rest
// ES256 from the trusted key), gzip.
type Config struct {
	Lines       int    // access-log lines; default 1,000,000
	Tokens      int    // distinct tokens; default 50,000
	RS256Share  int    // percent of tokens signed with the exposed RSA key; default 30
	Forged      int    // exposed-key tokens with no ledger record; default 20
	Compression string // "gz" (default), "zst" or "none"
	Seed        uint64 // default 1
}

func (c Config) withDefaults() Config {
	if c.Lines <= 0 {
		c.Lines = 1_000_000
	}
	if c.Tokens <= 0 {
		c.Tokens = 50_000
	}
	if c.RS256Share <= 0 || c.RS256Share > 100 {
		c.RS256Share = 30
	}
	if c.Forged <= 0 {
		c.Forged = 20
	}
	if c.Compression == "" {
		c.Compression = "gz"
	}
	if c.Seed == 0 {
		c.Seed = 1
	}
	return c
}

// Corpus is a written corpus.
type Corpus struct {
	Config     Config
	Dir        string
	Log        string // the access log
	Ledger     string // the issuer's ledger (JSON lines)
	ExposedKey string // PEM public key, RSA
	TrustedKey string // PEM public key, EC P-256
	// Forged are the artifact keys ("sha256:<hex>") of the forgeries.
	Forged  []string
	LogSize int64 // bytes on disk
}

// manifest is written last: a corpus directory with a manifest equal to the
// configuration is complete.
type manifest struct {
	Config  Config   `json:"config"`
	Forged  []string `json:"forged"`
	Version int      `json:"version"`
}

const version = 2

// Ensure returns the corpus of cfg in dir, writing it when dir does not
// already hold it.
func Ensure(dir string, cfg Config, progress io.Writer) (*Corpus, error) {
	cfg = cfg.withDefaults()
	c := paths(dir, cfg)
	if b, err := os.ReadFile(filepath.Join(dir, "manifest.json")); err == nil {
		var m manifest
		if json.Unmarshal(b, &m) == nil && m.Config == cfg && m.Version == version {
			if st, err := os.Stat(c.Log); err == nil {
				c.Forged, c.LogSize = m.Forged, st.Size()
				return c, nil
			}
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	os.Remove(filepath.Join(dir, "manifest.json"))
	if err := write(c, progress); err != nil {
		return nil, err
	}
	st, err := os.Stat(c.Log)
	if err != nil {
		return nil, err
	}
	c.LogSize = st.Size()
	b, _ := json.Marshal(manifest{Config: cfg, Forged: c.Forged, Version: version})
	return c, os.WriteFile(filepath.Join(dir, "manifest.json"), b, 0o644)
}

func paths(dir string, cfg Config) *Corpus {
	ext := map[string]string{"gz": ".gz", "zst": ".zst", "none": ""}[cfg.Compression]
	return &Corpus{
		Config: cfg, Dir: dir,
		Log:        filepath.Join(dir, "istio-access.log"+ext),
		Ledger:     filepath.Join(dir, "ledger.jsonl"),
		ExposedKey: filepath.Join(dir, "exposed.pem"),
		TrustedKey: filepath.Join(dir, "trusted.pem"),
	}
}

// t0 is when the corpus's traffic starts.
var t0 = time.Date(2026, 3, 4, 0, 0, 0, 0, time.UTC)

type token struct {
	raw          string
	sub, jti     string
	iat          time.Time
	issued       bool // in the ledger
	artifactHash string
}

func write(c *Corpus, progress io.Writer) error {
	cfg := c.Config
	rng := mrand.New(mrand.NewPCG(cfg.Seed, 42))
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	for _, k := range []struct {
		path string
		pub  any
	}{{c.ExposedKey, &rsaKey.PublicKey}, {c.TrustedKey, &ecKey.PublicKey}} {
		der, err := x509.MarshalPKIXPublicKey(k.pub)
		if err != nil {
			return err
		}
		if err := os.WriteFile(k.path, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644); err != nil {
			return err
		}
	}

	// The token pool, signed on all cores. Tokens are issued over the
	// corpus's hours; each is used from its issue time on.
	span := time.Duration(cfg.Lines) * 10 * time.Millisecond // 100 requests a second
	toks := make([]token, cfg.Tokens)
	nRSA := cfg.Tokens * cfg.RS256Share / 100
	for i := range toks {
		// Forgeries are issued inside the ledger's span (a forged token
		// before the ledger's first record is only "outside" it).
		toks[i] = token{
			sub:    fmt.Sprintf("user-%05d", rng.IntN(cfg.Tokens/4+1)),
			jti:    fmt.Sprintf("%08x-%04x-4%03x-a%03x-%012x", rng.Uint32(), rng.IntN(1<<16), rng.IntN(1<<12), rng.IntN(1<<12), rng.Uint64()&(1<<48-1)),
			iat:    t0.Add(time.Duration(rng.Int64N(int64(span)))).Truncate(time.Second),
			issued: !(i < nRSA && i%(nRSA/cfg.Forged+1) == 0 && i/(nRSA/cfg.Forged+1) < cfg.Forged),
		}
		if !toks[i].issued {
			toks[i].iat = t0.Add(span/10 + time.Duration(rng.Int64N(int64(span*8/10)))).Truncate(time.Second)
		}
	}
	fmt.Fprintf(progress, "benchcorpus: signing %d tokens (%d RS256)\n", cfg.Tokens, nRSA)
	var wg sync.WaitGroup
	var signErr error
	var mu sync.Mutex
	workers := runtime.GOMAXPROCS(0)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(toks); i += workers {
				var err error
				if i < nRSA {
					toks[i].raw, err = signRS256(rsaKey, &toks[i])
				} else {
					toks[i].raw, err = signES256(ecKey, &toks[i])
				}
				if err != nil {
					mu.Lock()
					signErr = err
					mu.Unlock()
					return
				}
				sum := sha256.Sum256([]byte(toks[i].raw))
				toks[i].artifactHash = "sha256:" + fmt.Sprintf("%x", sum)
			}
		}()
	}
	wg.Wait()
	if signErr != nil {
		return signErr
	}
	for _, t := range toks {
		if !t.issued {
			c.Forged = append(c.Forged, t.artifactHash)
		}
	}

	// The ledger: one record per issued token, in issue order.
	lf, err := os.Create(c.Ledger)
	if err != nil {
		return err
	}
	lw := bufio.NewWriterSize(lf, 1<<20)
	for _, t := range toks {
		if !t.issued {
			continue
		}
		fmt.Fprintf(lw, `{"kind":"jwt","issuer":"%s","artifact_id":"%s","subject":"%s","audience":"payments","issued_at":"%s","expires_at":"%s"}`+"\n",
			issuer, t.jti, t.sub, t.iat.Format(time.RFC3339), t.iat.Add(time.Hour).Format(time.RFC3339))
	}
	if err := lw.Flush(); err != nil {
		return err
	}
	if err := lf.Close(); err != nil {
		return err
	}

	// The access log.
	fmt.Fprintf(progress, "benchcorpus: writing %d lines to %s\n", cfg.Lines, c.Log)
	f, err := os.Create(c.Log)
	if err != nil {
		return err
	}
	var out io.WriteCloser = nopCloser{f}
	switch cfg.Compression {
	case "gz":
		out = gzip.NewWriter(f)
	case "zst":
		zw, err := zstd.NewWriter(f)
		if err != nil {
			return err
		}
		out = zw
	}
	bw := bufio.NewWriterSize(out, 1<<20)
	// Tokens sorted by issue time, so that a line picks among those issued
	// before it (recently issued ones most often).
	order := make([]int, len(toks))
	for i := range order {
		order[i] = i
	}
	sortByIat(order, toks)
	var forged []int // in issue order
	for _, i := range order {
		if !toks[i].issued {
			forged = append(forged, i)
		}
	}
	line := make([]byte, 0, 1024)
	next := 0
	for n := range cfg.Lines {
		at := t0.Add(time.Duration(n) * 10 * time.Millisecond)
		for next < len(order) && !toks[order[next]].iat.After(at) {
			next++
		}
		pick := next - 1 - int(float64(next)*rng.ExpFloat64()/20)
		if pick < 0 {
			pick = rng.IntN(len(order))
		}
		t := &toks[order[pick]]
		// Every forgery is used, from just after its issue time.
		for len(forged) > 0 && !toks[forged[0]].iat.After(at) {
			t, forged = &toks[forged[0]], forged[1:]
			if t.iat.Before(at) {
				break
			}
		}
		line = appendLine(line[:0], rng, at, t)
		if _, err := bw.Write(line); err != nil {
			return err
		}
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return f.Close()
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

func sortByIat(order []int, toks []token) {
	slices.SortStableFunc(order, func(a, b int) int { return toks[a].iat.Compare(toks[b].iat) })
}

const issuer = "https://idp.bench.example/realms/acme"

func claimsJSON(t *token) string {
	return fmt.Sprintf(`{"exp":%d,"iat":%d,"jti":"%s","iss":"%s","aud":"payments","sub":"%s","typ":"Bearer","azp":"web","scope":"openid profile email","preferred_username":"%s"}`,
		t.iat.Add(time.Hour).Unix(), t.iat.Unix(), t.jti, issuer, t.sub, t.sub)
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func signRS256(k *rsa.PrivateKey, t *token) (string, error) {
	input := b64(`{"alg":"RS256","typ":"JWT","kid":"bench-exposed"}`) + "." + b64(claimsJSON(t))
	sum := sha256.Sum256([]byte(input))
	sig, err := rsa.SignPKCS1v15(nil, k, crypto.SHA256, sum[:])
	if err != nil {
		return "", err
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}

func signES256(k *ecdsa.PrivateKey, t *token) (string, error) {
	input := b64(`{"alg":"ES256","typ":"JWT","kid":"bench-trusted"}`) + "." + b64(claimsJSON(t))
	sum := sha256.Sum256([]byte(input))
	r, s, err := ecdsa.Sign(rand.Reader, k, sum[:])
	if err != nil {
		return "", err
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return input + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}

var (
	methods = []string{"GET", "GET", "GET", "POST", "PUT"}
	paths_  = []string{"/api/v1/payments", "/api/v1/accounts", "/api/v1/transfers", "/api/v1/balance", "/healthz"}
	agents  = []string{
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36",
		"okhttp/4.12.0", "python-requests/2.32.3", "Go-http-client/2.0",
	}
)

// appendLine writes one Istio JSON access-log line (its default keys plus
// the Authorization header) for a request at at with token t.
func appendLine(b []byte, rng *mrand.Rand, at time.Time, t *token) []byte {
	ip := func(b []byte) []byte {
		b = strconv.AppendInt(b, int64(198), 10)
		b = append(b, ".51."...)
		b = strconv.AppendInt(b, int64(rng.IntN(256)), 10)
		b = append(b, '.')
		return strconv.AppendInt(b, int64(1+rng.IntN(254)), 10)
	}
	b = append(b, `{"start_time":"`...)
	b = at.AppendFormat(b, "2006-01-02T15:04:05.000Z")
	b = append(b, `","method":"`...)
	b = append(b, methods[rng.IntN(len(methods))]...)
	b = append(b, `","path":"`...)
	b = append(b, paths_[rng.IntN(len(paths_))]...)
	b = append(b, `?page=`...)
	b = strconv.AppendInt(b, int64(rng.IntN(50)), 10)
	b = append(b, `","protocol":"HTTP/1.1","response_code":`...)
	code := 200
	if rng.IntN(50) == 0 {
		code = 401
	}
	b = strconv.AppendInt(b, int64(code), 10)
	b = append(b, `,"response_flags":"-","response_code_details":"via_upstream","connection_termination_details":null,"upstream_transport_failure_reason":null,"bytes_received":`...)
	b = strconv.AppendInt(b, int64(rng.IntN(2000)), 10)
	b = append(b, `,"bytes_sent":`...)
	b = strconv.AppendInt(b, int64(rng.IntN(20000)), 10)
	b = append(b, `,"duration":`...)
	b = strconv.AppendInt(b, int64(rng.IntN(300)), 10)
	b = append(b, `,"upstream_service_time":"`...)
	b = strconv.AppendInt(b, int64(rng.IntN(250)), 10)
	b = append(b, `","x_forwarded_for":"`...)
	b = ip(b)
	b = append(b, `","user_agent":"`...)
	b = append(b, agents[rng.IntN(len(agents))]...)
	b = append(b, `","request_id":"`...)
	b = fmt.Appendf(b, "%08x-%04x-4%03x-b%03x-%012x", rng.Uint32(), rng.IntN(1<<16), rng.IntN(1<<12), rng.IntN(1<<12), rng.Uint64()&(1<<48-1))
	b = append(b, `","authority":"payments.bench.example","upstream_host":"10.0.3.14:8080","upstream_cluster":"outbound|8080||payments.prod.svc.cluster.local","upstream_local_address":"10.0.1.5:45678","downstream_local_address":"10.0.1.5:8080","downstream_remote_address":"`...)
	b = ip(b)
	b = append(b, `:51234","requested_server_name":null,"route_name":"default","authorization":"Bearer `...)
	b = append(b, t.raw...)
	return append(b, "\"}\n"...)
}
