package envoy

import (
	"fmt"
	"strings"
	"testing"

	"github.com/valyala/fastjson"
)

type member struct {
	key string
	v   string
}

func scanMembers(line []byte) ([]member, bool) {
	var p lineScanner
	var ms []member
	ok := p.scan(line, func(key []byte, v jval) {
		ms = append(ms, member{string(key), fmt.Sprintf("%d:%q", v.t, v.b)})
	})
	return ms, ok
}

func fastjsonMembers(line []byte) ([]member, bool) {
	var p fastjson.Parser
	v, err := p.ParseBytes(line)
	if err != nil {
		return nil, false
	}
	o, err := v.Object()
	if err != nil {
		return nil, false
	}
	var ms []member
	o.Visit(func(key []byte, v *fastjson.Value) {
		var b []byte
		switch v.Type() {
		case fastjson.TypeString:
			b = v.GetStringBytes()
		case fastjson.TypeNumber:
			b = v.MarshalTo(nil)
		}
		ms = append(ms, member{string(key), fmt.Sprintf("%d:%q", v.Type(), b)})
	})
	return ms, true
}

// What the fast path reads, fastjson reads the same: keys, types, string
// text, numbers as written; the lines it leaves to fastjson are those
// listed in lineScanner's doc.
func TestScanLine(t *testing.T) {
	for _, tc := range []struct {
		line string
		fast bool
	}{
		{`{}`, true},
		{` { "a" : 1 , "b":"x\"y\\u00e9\n" ,"c":[1,{"d":null}],"e":true,"f":false,"g":-0.5e+3} `, true},
		{`{"k\u0041y":"v"}`, true},
		{`{"a":"\ud83d\ude00"}`, false}, // surrogates: fastjson decides
		{"{\"a\":\"tab\there\"}", false},
		{`{"a":01}`, false},
		{`{"a":1.}`, false},
		{`{"a":1,}`, false},
		{`[1]`, false},
		{`{"a":1} x`, false},
		{`{"a":"unterminated}`, false},
		{`{"a":` + strings.Repeat("[", 70) + strings.Repeat("]", 70) + `}`, false},
		{`{"a":"x","a":"y"}`, true},
	} {
		ms, ok := scanMembers([]byte(tc.line))
		if ok != tc.fast {
			t.Errorf("%.50q: fast path %v, want %v", tc.line, ok, tc.fast)
			continue
		}
		if !ok {
			continue
		}
		want, fok := fastjsonMembers([]byte(tc.line))
		if !fok || fmt.Sprint(ms) != fmt.Sprint(want) {
			t.Errorf("%.50q: fast path %v, fastjson %v (%v)", tc.line, ms, want, fok)
		}
	}
}

func FuzzScanLine(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":1,"b":"x\"y\u00e9","c":[1,{"d":null}],"e":true}`, `{"k\u0041":-0.5E-3}`,
		`{"authorization":"Bearer a.b.c","response_code":200,"x":{"y":[]}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		ms, ok := scanMembers(line)
		if !ok {
			return
		}
		want, fok := fastjsonMembers(line)
		if !fok {
			t.Fatalf("%q: the fast path reads it, fastjson refuses it", line)
		}
		if fmt.Sprint(ms) != fmt.Sprint(want) {
			t.Fatalf("%q:\nfast path %v\nfastjson  %v", line, ms, want)
		}
	})
}

func FuzzSpecial(f *testing.F) {
	f.Add([]byte("abcdefgh\x1fijk"))
	f.Add([]byte("\xff\x80\x20\x7f\x00"))
	f.Add([]byte("abcdefghijklmn\\op\x01"))
	f.Add([]byte("\xdc\\\x5b\x5d"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var want byte
		for _, c := range b {
			if c == '\\' {
				want = '\\'
				break
			}
			if c < 0x20 {
				want = 1
				break
			}
		}
		if got := special(b); got != want {
			t.Fatalf("special(%q) = %d, want %d", b, got, want)
		}
	})
}
