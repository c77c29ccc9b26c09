package har

// The golden inputs, written by TestGolden with -inputs (then run -update
// to rewrite the goldens): what Chrome, Firefox, mitmproxy and Fiddler
// export, built here rather than typed, so that the base64 and DEFLATE of
// the SAML messages are real.

import (
	"bytes"
	"compress/flate"
	"encoding/base64"
	"encoding/json"
	"flag"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var rewriteInputs = flag.Bool("inputs", false, "rewrite the golden inputs (then run -update)")

// obj is a JSON object that keeps its keys in order (Firefox's order).
type obj []any // name, value, name, value...

func (o obj) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i := 0; i < len(o); i += 2 {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(o[i])
		v, err := marshal(o[i+1])
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	e := json.NewEncoder(&b)
	e.SetEscapeHTML(false)
	if err := e.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}

func pretty(v any, indent string) []byte {
	var b bytes.Buffer
	e := json.NewEncoder(&b)
	e.SetEscapeHTML(false)
	e.SetIndent("", indent)
	if err := e.Encode(v); err != nil {
		panic(err)
	}
	return b.Bytes()
}

type m = map[string]any

func pair(name, value string) m { return m{"name": name, "value": value} }

func samlResponse(id, sp, user string) string {
	return `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="` + id + `" Version="2.0" IssueInstant="2026-03-04T10:00:00Z" Destination="https://` + sp + `/saml/acs">` +
		`<saml:Issuer xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">https://idp.example.com/adfs/services/trust</saml:Issuer>` +
		`<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_a` + id[2:] + `" Version="2.0" IssueInstant="2026-03-04T10:00:00Z">` +
		`<saml:Issuer>https://idp.example.com/adfs/services/trust</saml:Issuer>` +
		`<saml:Subject><saml:NameID>` + user + `</saml:NameID></saml:Subject>` +
		`</saml:Assertion></samlp:Response>`
}

func authnRequest(id string) string {
	return `<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="` + id + `" Version="2.0" IssueInstant="2026-03-04T09:59:59Z" AssertionConsumerServiceURL="https://wiki.example.com/saml/acs"><saml:Issuer xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">https://wiki.example.com</saml:Issuer></samlp:AuthnRequest>`
}

func post(xml string) string { return base64.StdEncoding.EncodeToString([]byte(xml)) }

func deflate(xml string) string {
	var b bytes.Buffer
	w, _ := flate.NewWriter(&b, flate.BestCompression)
	w.Write([]byte(xml))
	w.Close()
	return base64.StdEncoding.EncodeToString(b.Bytes())
}

func b64url(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func jwt(sub string) string {
	return b64url(`{"alg":"RS256","kid":"k1","typ":"JWT"}`) + "." + b64url(`{"iss":"https://idp.example.com","sub":"`+sub+`","aud":"api","exp":1772622000}`) + "." + b64url("not a real signature")
}

// form is an application/x-www-form-urlencoded body, as a browser writes it.
func form(kv ...string) string {
	var parts []string
	for i := 0; i < len(kv); i += 2 {
		parts = append(parts, url.QueryEscape(kv[i])+"="+url.QueryEscape(kv[i+1]))
	}
	return strings.Join(parts, "&")
}

const chromeUA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
const firefoxUA = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"

// chromeEntry is an entry as Chrome writes it: keys sorted, HTTP/2 header
// names lower-case, pseudo-headers first.
func chromeEntry(t, method, u string, headers []m, query []m, postData m, status int, ip, body string) m {
	pu, _ := url.Parse(u)
	h := []m{pair(":authority", pu.Host), pair(":method", method), pair(":path", pu.RequestURI()), pair(":scheme", "https")}
	h = append(h, headers...)
	h = append(h, pair("accept-language", "en-GB,en;q=0.9"), pair("user-agent", chromeUA))
	if query == nil {
		query = []m{}
	}
	rq := m{"method": method, "url": u, "httpVersion": "http/2.0", "headers": h, "queryString": query,
		"cookies": []m{}, "headersSize": -1, "bodySize": 0}
	if postData != nil {
		rq["postData"] = postData
		rq["bodySize"] = len(postData["text"].(string))
	}
	rs := m{"status": status, "statusText": "", "httpVersion": "http/2.0", "headers": []m{pair("content-type", "text/html; charset=utf-8")},
		"cookies": []m{}, "content": m{"size": len(body), "mimeType": "text/html", "text": body}, "redirectURL": "",
		"headersSize": -1, "bodySize": -1, "_transferSize": 512, "_error": nil}
	if status == 0 {
		rs["_error"] = "net::ERR_BLOCKED_BY_CLIENT"
		rs["httpVersion"] = ""
	}
	e := m{"_connectionId": "5121", "_initiator": m{"type": "other"}, "_priority": "VeryHigh", "_resourceType": "document",
		"cache": m{}, "connection": "443", "pageref": "page_1", "request": rq, "response": rs,
		"serverIPAddress": ip, "startedDateTime": t, "time": 48.2,
		"timings": m{"blocked": 1.1, "dns": -1, "ssl": -1, "connect": -1, "send": 0.2, "wait": 45.1, "receive": 1.8, "_blocked_queueing": 0.7}}
	return e
}

func write(t *testing.T, dir, name string, b []byte) {
	if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func writeInputs(t *testing.T, dir string) {
	wiki := "wiki.example.com"
	r1 := samlResponse("_r1", wiki, "alice@example.com")

	// Chrome: pretty-printed, params left URL-encoded, HTTP/2 lower-case names
	chrome := m{"log": m{"version": "1.2", "creator": m{"name": "WebInspector", "version": "537.36"},
		"pages": []m{{"startedDateTime": "2026-03-04T10:00:00.000Z", "id": "page_1", "title": "https://wiki.example.com/", "pageTimings": m{"onContentLoad": 120.5, "onLoad": 300.1}}},
		"entries": []m{
			chromeEntry("2026-03-04T09:59:59.500Z", "GET", "https://wiki.example.com/", nil, nil, nil, 200, "[2001:db8::5]", "<html>home</html>"),
			chromeEntry("2026-03-04T10:00:00.123Z", "POST", "https://wiki.example.com/saml/acs",
				[]m{pair("content-type", "application/x-www-form-urlencoded"), pair("origin", "https://idp.example.com")}, nil,
				m{"mimeType": "application/x-www-form-urlencoded",
					"text":   form("SAMLResponse", post(r1), "RelayState", "/wiki/home?tab=1"),
					"params": []m{pair("SAMLResponse", url.QueryEscape(post(r1))), pair("RelayState", url.QueryEscape("/wiki/home?tab=1"))}},
				302, "[2001:db8::5]", ""),
			chromeEntry("2026-03-04T10:00:01.000Z", "GET", "https://api.example.com/v1/me?fields=name",
				[]m{pair("authorization", "Bearer "+jwt("alice"))}, []m{pair("fields", "name")}, nil, 200, "203.0.113.7", `{"name":"alice"}`),
			chromeEntry("2026-03-04T10:00:02.000Z", "GET", "https://api.example.com/v1/teams",
				[]m{pair("authorization", "Bearer gho_0123456789abcdefOPAQUE")}, nil, nil, 200, "203.0.113.7", `[]`),
			chromeEntry("2026-03-04T10:00:03.000Z", "GET", "https://tracker.example.net/collect",
				[]m{pair("authorization", "bearer "+jwt("alice"))}, nil, nil, 0, "", ""),
		}}}
	write(t, dir, "chrome-h2.har", pretty(chrome, "  "))

	// Firefox: its own key order, params decoded, the form body in text;
	// one entry with the body in text only
	r2 := samlResponse("_r2", wiki, "bob@example.com")
	r3 := samlResponse("_r3", "crm.example.com", "carol@example.com")
	ffHeaders := func(host, ct string, more ...m) []m {
		h := []m{pair("Host", host), pair("User-Agent", firefoxUA), pair("Accept", "text/html,application/xhtml+xml")}
		if ct != "" {
			h = append(h, pair("Content-Type", ct))
		}
		return append(h, more...)
	}
	ffEntry := func(t, method, u string, headers []m, query []m, pd any, status int, statusText, ip string) obj {
		if query == nil {
			query = []m{}
		}
		rq := obj{"bodySize", 0, "method", method, "url", u, "httpVersion", "HTTP/1.1", "headers", headers,
			"cookies", []m{}, "queryString", query, "headersSize", 512}
		if pd != nil {
			rq = append(rq, "postData", pd)
		}
		return obj{"pageref", "page_1", "startedDateTime", t, "request", rq,
			"response", obj{"status", status, "statusText", statusText, "httpVersion", "HTTP/1.1", "headers", []m{},
				"cookies", []m{}, "content", obj{"mimeType", "text/html; charset=utf-8", "size", 0, "text", ""},
				"redirectURL", "", "headersSize", 200, "bodySize", 0},
			"cache", m{}, "timings", obj{"blocked", 0, "dns", 0, "connect", 0, "ssl", 0, "send", 0, "wait", 40, "receive", 1},
			"time", 41, "_securityState", "secure", "serverIPAddress", ip, "connection", "443"}
	}
	body2 := form("SAMLResponse", post(r2), "RelayState", "ticket 42")
	body3 := form("RelayState", "/accounts", "SAMLResponse", post(r3))
	firefox := obj{"log", obj{"version", "1.2",
		"creator", obj{"name", "Firefox", "version", "128.0"},
		"browser", obj{"name", "Firefox", "version", "128.0"},
		"pages", []any{obj{"id", "page_1", "pageTimings", obj{"onContentLoad", 90, "onLoad", 200}, "startedDateTime", "2026-03-04T11:00:00.000+01:00", "title", "Sign in"}},
		"entries", []any{
			ffEntry("2026-03-04T11:01:00.250+01:00", "POST", "https://wiki.example.com/saml/acs",
				ffHeaders(wiki, "application/x-www-form-urlencoded"), nil,
				obj{"mimeType", "application/x-www-form-urlencoded",
					"params", []m{pair("SAMLResponse", post(r2)), pair("RelayState", "ticket 42")},
					"text", body2}, 303, "See Other", "192.0.2.10"),
			ffEntry("2026-03-04T11:02:00.000+01:00", "POST", "https://crm.example.com/saml/acs",
				ffHeaders("crm.example.com", "application/x-www-form-urlencoded; charset=UTF-8"), nil,
				obj{"mimeType", "application/x-www-form-urlencoded; charset=UTF-8", "params", []m{}, "text", body3}, 200, "OK", "192.0.2.11"),
			ffEntry("2026-03-04T11:03:00.000+01:00", "GET", "https://api.example.com/v2/orders",
				ffHeaders("api.example.com", "", pair("Authorization", "Bearer "+jwt("bob"))), nil, nil, 401, "Unauthorized", "203.0.113.7"),
		}}}
	write(t, dir, "firefox-form.har", pretty(firefox, "  "))

	// HTTP-Redirect: the response DEFLATEd in the query; an AuthnRequest
	// redirected to the IdP is only a request
	r4 := samlResponse("_r4", "portal.example.org", "dave@example.org")
	v4 := deflate(r4)
	v5 := deflate(samlResponse("_r5", "portal.example.org", "erin@example.org"))
	q4 := form("SAMLResponse", v4, "RelayState", "/inbox", "SigAlg", "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256", "Signature", "c2ln")
	q5 := form("SAMLResponse", v5)
	qReq := form("SAMLRequest", deflate(authnRequest("_q1")), "RelayState", "/inbox")
	redirect := m{"log": m{"version": "1.2", "creator": m{"name": "mitmproxy", "version": "11.0.0"}, "pages": []m{},
		"entries": []m{
			{"startedDateTime": "2026-03-04T12:00:00.000000+00:00", "time": 12,
				"request": m{"method": "GET", "url": "https://idp.example.com/adfs/ls/?" + qReq, "httpVersion": "HTTP/1.1",
					"headers":     []m{pair("Host", "idp.example.com"), pair("User-Agent", chromeUA)},
					"queryString": []m{pair("SAMLRequest", deflate(authnRequest("_q1"))), pair("RelayState", "/inbox")}, "cookies": []m{}, "headersSize": -1, "bodySize": 0},
				"response": m{"status": 200, "statusText": "OK", "httpVersion": "HTTP/1.1", "headers": []m{}, "cookies": []m{},
					"content": m{"size": 0, "mimeType": "text/html"}, "redirectURL": "", "headersSize": -1, "bodySize": 0},
				"cache": m{}, "timings": m{"send": 0, "wait": 10, "receive": 2}, "serverIPAddress": "198.51.100.4"},
			{"startedDateTime": "2026-03-04T12:00:05.000000+00:00", "time": 12,
				"request": m{"method": "GET", "url": "https://portal.example.org/saml/acs?" + q4, "httpVersion": "HTTP/1.1",
					"headers":     []m{pair("Host", "portal.example.org"), pair("User-Agent", chromeUA)},
					"queryString": []m{pair("SAMLResponse", v4), pair("RelayState", "/inbox"), pair("SigAlg", "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"), pair("Signature", "c2ln")},
					"cookies":     []m{}, "headersSize": -1, "bodySize": 0},
				"response": m{"status": 302, "statusText": "Found", "httpVersion": "HTTP/1.1", "headers": []m{}, "cookies": []m{},
					"content": m{"size": 0, "mimeType": ""}, "redirectURL": "/inbox", "headersSize": -1, "bodySize": 0},
				"cache": m{}, "timings": m{"send": 0, "wait": 10, "receive": 2}, "serverIPAddress": "198.51.100.9"},
			{"startedDateTime": "2026-03-04T12:00:09.000000+00:00", "time": 12,
				"request": m{"method": "GET", "url": "https://portal.example.org/saml/acs?" + q5, "httpVersion": "HTTP/1.1",
					"headers": []m{pair("Host", "portal.example.org")}, "cookies": []m{}, "headersSize": -1, "bodySize": 0},
				"response": m{"status": 403, "statusText": "Forbidden", "httpVersion": "HTTP/1.1", "headers": []m{}, "cookies": []m{},
					"content": m{"size": 0, "mimeType": ""}, "redirectURL": "", "headersSize": -1, "bodySize": 0},
				"cache": m{}, "timings": m{"send": 0, "wait": 10, "receive": 2}},
		}}}
	write(t, dir, "redirect.har", pretty(redirect, "    "))

	// broken entries between good ones: one per line, as a compact writer
	// puts them
	lines := []string{
		`{"startedDateTime":"2026-03-04T13:00:00Z","request":{"method":"POST","url":"https://wiki.example.com/saml/acs","headers":[],"postData":{"mimeType":"application/x-www-form-urlencoded","params":[{"name":"SAMLResponse","value":"%%%not-base64%%%"},{"name":"RelayState","value":"x"}]}},"response":{"status":500}}`,
		`{"startedDateTime":"2026-03-04T13:00:01Z","request":{"method":"POST","url":"https://wiki.example.com/saml/acs","headers":[],"postData":{"mimeType":"application/x-www-form-urlencoded","text":"SAMLResponse=` + url.QueryEscape(base64.StdEncoding.EncodeToString([]byte("hello, not XML at all"))) + `"}},"response":{"status":200}}`,
		`{"startedDateTime":"2026-03-04T13:00:02Z","request":{"method":"POST","url":"https://idp.example.com/adfs/ls/","headers":[],"postData":{"mimeType":"application/x-www-form-urlencoded","params":[{"name":"SAMLRequest","value":"` + url.QueryEscape(post(authnRequest("_q2"))) + `"}]}},"response":{"status":200}}`,
		`42`,
		`{"startedDateTime":"2026-03-04T13:00:03Z","response":{"status":200}}`,
		`{"startedDateTime":"2026-03-04T13:00:04Z","request":{"method":"GET" "url":"https://x.example.com/"}}`,
		`{"startedDateTime":"2026-03-04T13:00:05Z","request":{"method":"POST","url":"https://idp.example.com/adfs/ls/?wa=wsignin1.0","headers":[{"name":"User-Agent","value":"curl/8.5"}],"postData":{"mimeType":"application/x-www-form-urlencoded","text":"` +
			form("wa", "wsignin1.0", "wresult", `<t:RequestSecurityTokenResponse xmlns:t="http://schemas.xmlsoap.org/ws/2005/02/trust"><t:RequestedSecurityToken><saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:1.0:assertion" AssertionID="_w1" MajorVersion="1" MinorVersion="1"/></t:RequestedSecurityToken></t:RequestSecurityTokenResponse>`, "wctx", "rm=0&id=passive&ru=/_layouts/Authenticate.aspx") +
			`"}},"response":{"status":"302"},"pageref":"page_7"}`,
		`{"startedDateTime":"not a time","request":{"method":"get","url":"not a url at all %zz","headers":[{"name":"AUTHORIZATION","value":"Bearer ` + jwt("mallory") + `"}]}}`,
	}
	errs := "{\"log\":{\"version\":\"1.2\",\"creator\":{\"name\":\"Fiddler\",\"version\":\"5.0\"},\"entries\":[\n" + strings.Join(lines, ",\n") + ",\n]}}\n"
	write(t, dir, "errors.har", []byte(errs))

	// truncated: a pretty-printed capture cut in its third entry
	full := pretty(chrome, "  ")
	cut := bytes.Index(full, []byte(`"https://api.example.com/v1/teams"`))
	write(t, dir, "truncated-entry.har", full[:cut+20])
}
