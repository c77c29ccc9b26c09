package ledger

import (
	"go/parser"
	"go/token"
	"os"
	"strings"
	"testing"
)

// FORMAT.md and the package documentation both document every name the
// parser reads, and have the same sections.
func TestFormatDocsCoverNames(t *testing.T) {
	md, err := os.ReadFile("FORMAT.md")
	if err != nil {
		t.Fatal(err)
	}
	f, err := parser.ParseFile(token.NewFileSet(), "ledger.go", nil, parser.ParseComments|parser.PackageClauseOnly)
	if err != nil {
		t.Fatal(err)
	}
	docs := map[string]string{"FORMAT.md": string(md), "package comment": f.Doc.Text()}
	for where, text := range docs {
		for name := range names {
			if !strings.Contains(text, name) {
				t.Errorf("%s does not document %q", where, name)
			}
		}
		for _, flag := range []string{"--input-format ledger", "forgehunt hunt --ledger FILE"} {
			if !strings.Contains(text, flag) {
				t.Errorf("%s does not mention %q", where, flag)
			}
		}
		if strings.Contains(text, "--format ledger") {
			t.Errorf("%s names the output flag --format for the input format", where)
		}
		if !strings.Contains(text, "not proof of issuance") {
			t.Errorf("%s does not say why a ledger of claim names is not detected", where)
		}
		for _, section := range []string{"Files", "Fields", "Rows that are rejected", "Example", "Detection"} {
			if !strings.Contains(text, "# "+section+"\n") {
				t.Errorf("%s has no section %q", where, section)
			}
		}
	}
}
