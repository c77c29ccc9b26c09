package stepca_test

import (
	"os"
	"testing"

	"github.com/forgehunt/forgehunt/parsers"
	"github.com/forgehunt/forgehunt/parsers/stepca"
)

// Detection picks step-ca for its logs, as they are and inside the
// journal's envelope, ahead of every other registered format.
func TestDetect(t *testing.T) {
	for _, tt := range []struct{ file, envelope string }{
		{"testdata/json.log", ""},
		{"testdata/text.log", ""},
		{"testdata/colored.log", ""},
		{"testdata/fields-only.log", ""},
		{"testdata/envelope/journald/step-ca.log", "syslog"},
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
		if format != stepca.Format || envName != tt.envelope {
			name := "none"
			if format != nil {
				name = format.Name()
			}
			t.Errorf("%s: detected %s in envelope %q, want stepca in %q", tt.file, name, envName, tt.envelope)
		}
	}
}
