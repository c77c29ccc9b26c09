package record

import (
	"strings"
	"testing"
)

func TestSigRawRoundTripAndKey(t *testing.T) {
	r := &SigRaw{Type: SigDSSE, Sig: []byte{1, 2, 3}, PayloadType: "application/vnd.in-toto+json", Payload: []byte(`{"a":1}`), PublicKey: []byte{9}}
	enc := r.Encode()
	got, err := DecodeSigRaw(enc)
	if err != nil {
		t.Fatal(err)
	}
	if got.Encode() != enc {
		t.Fatalf("round trip: %s != %s", got.Encode(), enc)
	}
	// The same signature known only by its payload hash (a Rekor dsse entry)
	// is the same artifact, whatever signer material comes with it.
	hashOnly := &SigRaw{Type: SigDSSE, Sig: []byte{1, 2, 3}, PayloadHash: SHA256Digest([]byte(`{"a":1}`)), Certs: [][]byte{{7}}}
	if hashOnly.Key() != r.Key() {
		t.Fatal("payload and payload hash give different keys")
	}
	other := &SigRaw{Type: SigDSSE, Sig: []byte{1, 2, 4}, Payload: []byte(`{"a":1}`)}
	if other.Key() == r.Key() {
		t.Fatal("another signature, same key")
	}
	for _, bad := range []string{"", "{}", `{"t":"x","sig":"AQ=="}`, `{"t":"message","sig":"AQ=="}`, `{"t":"dsse","sig":""}`, enc + "x", `{"t":"message","sig":"AQ==","digest":"sha256:00","extra":1}`} {
		if _, err := DecodeSigRaw(bad); err == nil {
			t.Errorf("%q decoded", bad)
		}
	}
}

func TestCanonicalDigest(t *testing.T) {
	h := strings.Repeat("ab", 32)
	for _, c := range [][2]string{{"", "sha256:" + strings.ToUpper(h)}, {"SHA2_256", h}, {"sha256", " " + h}, {"SHA-256", h}} {
		got, err := CanonicalDigest(c[0], c[1])
		if err != nil || got != "sha256:"+h {
			t.Errorf("CanonicalDigest(%q, %q) = %q, %v", c[0], c[1], got, err)
		}
	}
	for _, c := range [][2]string{{"", h}, {"sha256", "abc"}, {"sha256", strings.Repeat("zz", 32)}, {"sha256", ""}} {
		if got, err := CanonicalDigest(c[0], c[1]); err == nil {
			t.Errorf("CanonicalDigest(%q, %q) = %q", c[0], c[1], got)
		}
	}
}

func TestDSSEPAE(t *testing.T) {
	// The example of the DSSE v1 protocol document.
	got := string(DSSEPAE("http://example.com/HelloWorld", []byte("hello world")))
	want := "DSSEv1 29 http://example.com/HelloWorld 11 hello world"
	if got != want {
		t.Fatalf("%q != %q", got, want)
	}
}
