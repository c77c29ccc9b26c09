package parsers

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/klauspost/compress/zstd"
)

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func gz(data []byte) []byte {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write(data)
	w.Close()
	return b.Bytes()
}

// Compression is detected by magic bytes, whatever the name says.
func TestOpenDetectsCompressionByContent(t *testing.T) {
	dir := t.TempDir()
	plain := []byte("line one\nline two\n")
	var zs bytes.Buffer
	zw, _ := zstd.NewWriter(&zs)
	zw.Write(plain)
	zw.Close()
	cases := map[string][]byte{
		"plain.log":          plain,
		"gzip-named.log":     gz(plain),
		"rotated.log.1":      gz(plain),
		"zstd.log.gz":        zs.Bytes(), // misnamed on purpose
		"concatenated.gz":    append(gz(plain[:9]), gz(plain[9:])...),
		"empty.log":          nil,
		"short-gzip-magic.x": {0x1f},
	}
	for name, data := range cases {
		writeFile(t, filepath.Join(dir, name), data)
		o, err := Open(filepath.Join(dir, name))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got, err := io.ReadAll(o)
		o.Close()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		want := plain
		if name == "empty.log" {
			want = nil
		}
		if name == "short-gzip-magic.x" {
			want = []byte{0x1f}
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: read %q", name, got)
		}
	}
}

// A decompression bomb is refused past the ratio bound, with ErrBomb.
func TestOpenRefusesDecompressionBomb(t *testing.T) {
	dir := t.TempDir()
	bomb := gz(make([]byte, 200<<20)) // 200 MiB of zeros, ~200 KiB compressed
	writeFile(t, filepath.Join(dir, "bomb.log.gz"), bomb)
	o, err := Open(filepath.Join(dir, "bomb.log.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	n, err := io.Copy(io.Discard, o)
	if !errors.Is(err, ErrBomb) {
		t.Fatalf("read %d bytes, err %v; want ErrBomb", n, err)
	}
	if n > minRatioBudget {
		t.Errorf("read %d bytes before refusing, bound is %d", n, minRatioBudget)
	}
}

func TestOpenTruncatedGzip(t *testing.T) {
	dir := t.TempDir()
	data := gz(bytes.Repeat([]byte("some log line\n"), 10000))
	writeFile(t, filepath.Join(dir, "cut.gz"), data[:len(data)/2])
	o, err := Open(filepath.Join(dir, "cut.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	if _, err := io.Copy(io.Discard, o); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("err = %v, want unexpected EOF", err)
	}
}

func TestExpand(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{"a/x.log", "a/b/y.log.gz", "a/.hidden/z.log", "a/.dot.log", "c.log"} {
		writeFile(t, filepath.Join(dir, p), []byte("x\n"))
	}
	got, err := Expand([]string{filepath.Join(dir, "a"), filepath.Join(dir, "*.log"), filepath.Join(dir, "a", "x.log")})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(dir, "a/b/y.log.gz"), filepath.Join(dir, "a/x.log"), filepath.Join(dir, "c.log")}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
	if _, err := Expand([]string{filepath.Join(dir, "nothing-*.log")}); err == nil {
		t.Error("a glob matching nothing is not an error")
	}
	if _, err := Expand([]string{filepath.Join(dir, "missing")}); err == nil {
		t.Error("a missing path is not an error")
	}
}

// Detection picks the specific format before the generic one, and leaves
// unknown content undetected.
func TestDetect(t *testing.T) {
	cases := map[string]string{
		`{"start_time":"2026-03-04T10:00:00.000Z","method":"GET","path":"/","response_code":200,"authority":"a.example","authorization":"Bearer a.b.c"}`:    "envoy-json",
		`10.0.0.1 - - [04/Mar/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 1 "-" "curl/8" "Bearer a.b.c"`:                                                      "nginx",
		`2026-03-04 10:00:00,123 INFO  [org.keycloak.events] (executor-thread-1) type="CODE_TO_TOKEN", realmId="r", clientId="c", userId="u", token_id="t"`: "keycloak",
		"kind,issuer,artifact_id,raw_sha256,subject,audience,issued_at,expires_at\njwt,iss,j1,,alice,aud,2026-03-04T10:00:00Z,":                             "ledger",
		`{"ts":"2026-03-04T10:00:00Z","service":"api","bearer_token":"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln"}`:                                          "json-bearer",
		"just some text\nthat is no log we know\n": "",
	}
	for in, want := range cases {
		f, _, err := Detect(bytes.NewReader([]byte(in)))
		if err != nil {
			t.Fatal(err)
		}
		got := ""
		if f != nil {
			got = f.Name()
		}
		if got != want {
			t.Errorf("detected %q, want %q for %.60s", got, want, in)
		}
	}
}

func TestIPNetwork(t *testing.T) {
	for _, c := range []struct{ ip, net, hex string }{
		{"10.1.2.3", "10.1.2.0/24", "00000000000000000000ffff0a010203"},
		{"::ffff:10.1.2.3", "10.1.2.0/24", "00000000000000000000ffff0a010203"},
		{"2001:db8::1", "2001:db8::/64", "20010db8000000000000000000000001"},
		{"fe80::1%eth0", "fe80::/64", "fe800000000000000000000000000001"},
		{"not-an-ip", "", ""},
		{"", "", ""},
	} {
		n, h := IPNetwork(c.ip)
		if n != c.net || h != c.hex {
			t.Errorf("IPNetwork(%q) = %q, %q; want %q, %q", c.ip, n, h, c.net, c.hex)
		}
	}
}
