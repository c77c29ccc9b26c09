package record

import (
	"encoding/json"
	"testing"
)

func TestAttrsMatchesAttrsJSON(t *testing.T) {
	values := []string{"plain", "", "-", `q"uote\back`, "tab\tnl\ncr\r", "\x00\x1b[31m", "caf\xe9", "日本", "\u2028\u2029", "<&>"}
	for _, v := range values {
		var a Attrs
		a.Add("a", "x")
		a.Add("b", v)
		got := a.String()
		want := AttrsJSON(map[string]string{"a": "x", "b": v})
		var gm, wm map[string]string
		if err := json.Unmarshal([]byte(got), &gm); err != nil {
			t.Fatalf("Attrs(%q) = %s: %v", v, got, err)
		}
		if err := json.Unmarshal([]byte(want), &wm); err != nil {
			t.Fatal(err)
		}
		if len(gm) != len(wm) || gm["b"] != wm["b"] {
			t.Errorf("Attrs(%q) = %s, AttrsJSON = %s", v, got, want)
		}
	}
	var a Attrs
	if a.String() != "" {
		t.Error("empty Attrs is not empty")
	}
	a.Add("k", "-")
	if a.String() != "" {
		t.Error(`Attrs kept "-"`)
	}
}
