package record

import (
	"encoding/binary"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
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

func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"plain text of more than eight bytes", `q"uote\back and more`, "tab\tnl\ncr\r", "\x00\x1b[31mxxxxxxxx", "caf\xe9 au lait", "日本語のテキスト", "\u2028\u2029abcdefgh"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, s []byte) {
		out := appendJSONString(nil, s)
		var got string
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("%q gives %s: %v", s, out, err)
		}
		var want strings.Builder // each invalid byte replaced
		for i := 0; i < len(s); {
			r, size := utf8.DecodeRune(s[i:])
			want.WriteRune(r) // RuneError for an invalid byte
			i += size
		}
		if got != want.String() {
			t.Fatalf("%q gives %s, read back %q", s, out, got)
		}
		for i := 0; i+8 <= len(s); i++ {
			want := true
			for _, c := range s[i : i+8] {
				want = want && c >= 0x20 && c < 0x80 && c != '"' && c != '\\'
			}
			if plain8(binary.LittleEndian.Uint64(s[i:])) != want {
				t.Fatalf("plain8(%q) != %v", s[i:i+8], want)
			}
		}
	})
}
