package parsers

import (
	"bytes"
	"strings"
	"testing"
)

// Envoy's and Istio's text access logs are detected as envoy-text, as they
// come and with the credential appended, bare or inside a container
// runtime's envelope; nginx combined and Envoy JSON lines keep their formats.
func TestDetectEnvoyText(t *testing.T) {
	const jwt = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJhbGljZSJ9.c2ln"
	envoyLine := `[2016-04-15T20:17:00.310Z] "POST /api/v1/locations HTTP/2" 204 - 154 0 226 100 "10.0.35.28" "nsq2http" "cc21d9b0-cf5c-432b-8c7e-98aeb7988cd2" "locations" "tcp://10.0.2.1:80"`
	istioLine := `[2020-11-25T21:26:18.409Z] "GET /status/418 HTTP/1.1" 418 - via_upstream - "-" 0 135 4 4 "-" "curl/7.73.0-DEV" "84961386-6d84-929d-98bd-c5aee93b5c88" "httpbin:8000" "10.44.1.27:80" outbound|8000||httpbin.foo.svc.cluster.local 10.44.1.23:37652 10.0.45.184:8000 10.44.1.23:46520 - default`
	istioTCP := `[2020-11-25T21:26:19.000Z] "- - -" 0 - - - "-" 1234 567 89 - "-" "-" "-" "-" "10.44.1.28:5432" outbound|5432||db.foo.svc.cluster.local 10.44.1.23:37653 10.0.45.185:5432 10.44.1.23:46521 - -`
	nginxLine := `203.0.113.7 - - [04/Mar/2026:10:00:00 +0000] "GET /api HTTP/1.1" 200 5 "-" "curl/8" "Bearer ` + jwt + `"`
	envoyJSON := `{"start_time":"2026-03-04T10:00:00.123Z","method":"GET","path":"/","response_code":200,"authority":"a.example.com","authorization":"Bearer ` + jwt + `"}`
	auth := ` "Bearer ` + jwt + `"`
	cases := []struct {
		name, data, format, envelope string
	}{
		{"envoy default", envoyLine + "\n" + envoyLine + "\n", "envoy-text", ""},
		{"envoy default with authorization", envoyLine + auth + "\n", "envoy-text", ""},
		{"istio default", istioLine + "\n" + istioTCP + "\n", "envoy-text", ""},
		{"istio default with authorization", istioLine + auth + "\n" + istioTCP + "\n", "envoy-text", ""},
		{"istio in a pod log", "2026-03-04T10:00:00.1Z stdout F " + istioLine + auth + "\n", "envoy-text", "cri"},
		{"nginx combined", strings.Repeat(nginxLine+"\n", 3), "nginx", ""},
		{"envoy json", envoyJSON + "\n", "envoy-json", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, env, _, err := DetectEnvelope(bytes.NewReader([]byte(c.data)), nil)
			if err != nil {
				t.Fatal(err)
			}
			if f == nil || f.Name() != c.format {
				t.Fatalf("format %v, want %s", f, c.format)
			}
			got := ""
			if env != nil {
				got = env.Name
			}
			if got != c.envelope {
				t.Errorf("envelope %q, want %q", got, c.envelope)
			}
		})
	}
	// Nor does nginx claim Envoy's lines when it is asked first.
	nginx, err := Lookup("nginx")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{envoyLine, envoyLine + auth, istioLine, istioTCP} {
		if nginx.Sniff([][]byte{[]byte(line)}) {
			t.Errorf("nginx claims %q", line)
		}
	}
}
