package stepca

import (
	"bytes"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/forgehunt/forgehunt/parsers/record"
)

// The fields of a request line that the format reads, by index into
// request.values.
const (
	kTime = iota
	kFieldsTime
	kLevel
	kMethod
	kPath
	kStatus
	kSerial
	kSubject
	kIssuer
	kSans
	kValidFrom
	kValidTo
	kPublicKey
	kCertificate
	kProvisioner
	kRemoteAddress
	kRequestID
	kUserID
	kUserAgent
	kCertificateType
	kPrincipals
	nKeys
)

// keyIndex maps the logged key names to their index.
var keyIndex = map[string]int{
	"time":             kTime,
	"fields.time":      kFieldsTime,
	"level":            kLevel,
	"method":           kMethod,
	"path":             kPath,
	"status":           kStatus,
	"serial":           kSerial,
	"subject":          kSubject,
	"issuer":           kIssuer,
	"sans":             kSans,
	"valid-from":       kValidFrom,
	"valid-to":         kValidTo,
	"public-key":       kPublicKey,
	"certificate":      kCertificate,
	"provisioner":      kProvisioner,
	"remote-address":   kRemoteAddress,
	"request-id":       kRequestID,
	"user-id":          kUserID,
	"user-agent":       kUserAgent,
	"certificate-type": kCertificateType,
	"principals":       kPrincipals,
}

// request is one log line's fields that the format reads; values are the
// logged text (a JSON number or object as its JSON text, except sans).
type request struct {
	values [nKeys]string
	seen   uint32 // bit i: key i was logged
	// names are the SANs read from "sans", canonical.
	names []string
}

func (r *request) has(k int) bool       { return r.seen&(1<<k) != 0 }
func (r *request) get(k int) string     { return r.values[k] }
func (r *request) reset(names []string) { *r = request{names: names[:0]} }

// set records a logged key's value; a key the format reads logged twice
// is an error (which one did step-ca write?).
func (r *request) set(key, value string) error {
	k, ok := keyIndex[key]
	if !ok {
		return nil
	}
	if r.has(k) {
		return fmt.Errorf("%s %s", record.ReasonDuplicateKey, key)
	}
	r.seen |= 1 << k
	r.values[k] = value
	return nil
}

// parseText reads logrus' text format, the key=value pairs of
//
//	time="2026-03-04T10:00:00Z" level=info method=POST path=/1.0/sign serial=1234 subject=a.example.com user-agent="Smallstep CLI/0.28.1 (linux/amd64)"
//
// into r. A value is bare, or a Go-quoted string (logrus quotes any value
// with a byte outside [A-Za-z0-9-._/@^+] with %q).
func parseText(r *request, s string) error {
	for i := 0; i < len(s); {
		if s[i] == ' ' {
			i++
			continue
		}
		eq := strings.IndexByte(s[i:], '=')
		if eq <= 0 || strings.IndexByte(s[i:i+eq], ' ') >= 0 {
			return fmt.Errorf("expected key=value at byte %d", i)
		}
		key := s[i : i+eq]
		i += eq + 1
		var value string
		if i < len(s) && s[i] == '"' {
			end, ok := quotedEnd(s, i)
			if !ok {
				return fmt.Errorf("unterminated quoted value of %s", record.Excerpt(key, 40))
			}
			v, err := strconv.Unquote(s[i : end+1])
			if err != nil {
				return fmt.Errorf("bad quoted value of %s", record.Excerpt(key, 40))
			}
			value = v
			i = end + 1
			if i < len(s) && s[i] != ' ' {
				return fmt.Errorf("no space after the quoted value of %s", record.Excerpt(key, 40))
			}
		} else {
			end := strings.IndexByte(s[i:], ' ')
			if end < 0 {
				end = len(s) - i
			}
			value = s[i : i+end]
			i += end
		}
		if key == "sans" {
			names, err := appendTextSans(r.names, value)
			if err != nil {
				return err
			}
			r.names = names
		}
		if err := r.set(key, value); err != nil {
			return err
		}
	}
	return nil
}

// quotedEnd is the index of the quote that closes the Go string literal
// opened at s[open].
func quotedEnd(s string, open int) (int, bool) {
	for i := open + 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			return i, true
		}
	}
	return 0, false
}

// appendTextSans reads the text form of step-ca's "sans" field, Go's
// printing of a map[string][]string: "map[dns:[a.example.com b.example.com]
// ip:[10.0.0.1] uri:[spiffe://example.com/web]]", keys sorted.
func appendTextSans(dst []string, v string) ([]string, error) {
	inner, ok := strings.CutPrefix(v, "map[")
	if !ok || !strings.HasSuffix(inner, "]") {
		return dst, fmt.Errorf("sans is not a map")
	}
	inner = inner[:len(inner)-1]
	for inner != "" {
		colon := strings.IndexByte(inner, ':')
		if colon <= 0 || colon+1 >= len(inner) || inner[colon+1] != '[' {
			return dst, fmt.Errorf("bad sans entry")
		}
		kind := inner[:colon]
		rest := inner[colon+2:]
		// the list ends at "]" before the next " kind:[" or at the end
		end := -1
		for j := strings.IndexByte(rest, ']'); j >= 0; {
			if j == len(rest)-1 || nextSansKind(rest[j+1:]) {
				end = j
				break
			}
			k := strings.IndexByte(rest[j+1:], ']')
			if k < 0 {
				break
			}
			j += 1 + k
		}
		if end < 0 {
			return dst, fmt.Errorf("unterminated sans list")
		}
		for _, name := range strings.Fields(rest[:end]) {
			dst = append(dst, canonicalSAN(kind, name))
		}
		inner = strings.TrimPrefix(rest[end+1:], " ")
	}
	return dst, nil
}

// nextSansKind reports whether s starts with " kind:[" for a SAN kind
// step-ca logs.
func nextSansKind(s string) bool {
	for _, k := range []string{" dns:[", " email:[", " ip:[", " uri:["} {
		if strings.HasPrefix(s, k) {
			return true
		}
	}
	return false
}

// canonicalSAN is a logged SAN in the form the x509 kind gives the same
// name: DNS names and e-mail addresses canonical, addresses as Go prints
// them, URIs as logged.
func canonicalSAN(kind, name string) string {
	switch kind {
	case "ip":
		if ip := net.ParseIP(name); ip != nil {
			return ip.String()
		}
		return name
	case "uri":
		return name
	}
	return record.CanonicalName(name)
}

// stripEscapes removes the terminal escape sequences (CSI "ESC [ ... final"
// and two-byte "ESC x") that logrus' coloured output puts around levels
// and keys.
func stripEscapes(line []byte) []byte {
	if bytes.IndexByte(line, 0x1b) < 0 {
		return line
	}
	out := make([]byte, 0, len(line))
	for i := 0; i < len(line); i++ {
		c := line[i]
		if c != 0x1b {
			out = append(out, c)
			continue
		}
		if i+1 < len(line) && line[i+1] == '[' {
			j := i + 2
			for j < len(line) && (line[j] < 0x40 || line[j] > 0x7e) {
				j++
			}
			i = j
			continue
		}
		i++ // ESC and the byte after it
	}
	return out
}

// coloredPrefix returns the length of logrus' coloured-output prefix,
// "INFO[0015] " (level cut to four letters, seconds since start), or 0.
func coloredPrefix(s string) int {
	if len(s) < 7 || s[4] != '[' {
		return 0
	}
	switch s[:4] {
	case "INFO", "WARN", "ERRO", "DEBU", "TRAC", "FATA", "PANI":
	default:
		return 0
	}
	i := 5
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 5 || i >= len(s) || s[i] != ']' {
		return 0
	}
	return i + 1
}
