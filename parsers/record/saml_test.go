package record

import (
	"bytes"
	"compress/flate"
	"encoding/base64"
	"net/url"
	"strings"
	"testing"
)

func TestDecodeSAMLMessage(t *testing.T) {
	xml := `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_r+/="/>`
	b64 := base64.StdEncoding.EncodeToString([]byte(xml))
	var def bytes.Buffer
	w, _ := flate.NewWriter(&def, 9)
	w.Write([]byte(xml))
	w.Close()
	red := base64.StdEncoding.EncodeToString(def.Bytes())
	for _, tt := range []struct {
		name, in, binding string
	}{
		{"post", b64, BindingPOST},
		{"url-encoded", url.QueryEscape(b64), BindingPOST},
		{"plus as space", strings.ReplaceAll(b64, "+", " "), BindingPOST},
		{"unpadded url-safe", strings.TrimRight(base64.URLEncoding.EncodeToString([]byte(xml)), "="), BindingPOST},
		{"wrapped", b64[:10] + "\r\n" + b64[10:], BindingPOST},
		{"redirect", url.QueryEscape(red), BindingRedirect},
		{"wresult", url.QueryEscape(xml), BindingWSFed},
	} {
		got, binding, err := DecodeSAMLMessage(tt.in)
		if err != nil || string(got) != xml || binding != tt.binding {
			t.Errorf("%s: %q %s %v", tt.name, got, binding, err)
		}
	}
	for _, bad := range []string{"", "-", "!!!", base64.StdEncoding.EncodeToString([]byte("not xml")), strings.Repeat("A", 3*MaxSAMLBytes)} {
		if _, _, err := DecodeSAMLMessage(bad); err == nil {
			t.Errorf("%.20q decoded", bad)
		}
	}
	// a DEFLATE bomb stops at the bound
	var bomb bytes.Buffer
	w, _ = flate.NewWriter(&bomb, 9)
	w.Write([]byte("<"))
	w.Write(bytes.Repeat([]byte("a"), 4*MaxSAMLBytes))
	w.Close()
	if _, _, err := DecodeSAMLMessage(base64.StdEncoding.EncodeToString(bomb.Bytes())); err == nil {
		t.Error("inflation past the bound")
	}
}

func TestSAMLParam(t *testing.T) {
	if n, v, ok := SAMLParam("RelayState=x&SAMLResponse=abc%2B&y=1"); !ok || n != "SAMLResponse" || v != "abc%2B" {
		t.Errorf("%s %s %v", n, v, ok)
	}
	if n, _, ok := SAMLParam("wa=wsignin1.0&wresult=%3Cx%2F%3E"); !ok || n != "wresult" {
		t.Errorf("wresult: %s", n)
	}
	if _, _, ok := SAMLParam("a=b"); ok {
		t.Error("no SAML param")
	}
}
