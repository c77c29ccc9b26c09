package vaultpki_test

import (
	"os"
	"testing"

	"github.com/forgehunt/forgehunt/parsers"
	"github.com/forgehunt/forgehunt/parsers/vaultpki"
)

// Detection picks vault-pki for Vault audit logs, as they are and inside the
// syslog device's envelope, ahead of every other registered format.
func TestDetect(t *testing.T) {
	for _, tt := range []struct{ file, envelope string }{
		{"testdata/hmac-default.log", ""},
		{"testdata/clear-cert.log", ""},
		{"testdata/clear-serial.log", ""},
		{"testdata/escapes.log", ""},
		{"testdata/envelope/syslog/vault.log", "syslog"},
	} {
		f, err := os.Open(tt.file)
		if err != nil {
			t.Fatal(err)
		}
		format, env, _, err := parsers.DetectFile(tt.file, f, nil)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		envName := ""
		if env != nil {
			envName = env.Name
		}
		if format != vaultpki.Format || envName != tt.envelope {
			name := "none"
			if format != nil {
				name = format.Name()
			}
			t.Errorf("%s: detected %s in envelope %q, want vault-pki in %q", tt.file, name, envName, tt.envelope)
		}
	}
}
