package entra

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/valyala/fastjson"
)

// Fields of a sign-in record, by the names of all its forms.
const (
	fID = iota
	fCreated
	fTimeGenerated
	fCorrelation
	fUTI
	fIssuerType
	fIssuerName
	fIncoming
	fUPN
	fUserID
	fUserType
	fAppID
	fAppName
	fResourceIdentity
	fResourceID
	fResourceName
	fIP
	fUserAgent
	fResultType
	fAuthReq
	fCAStatus
	fType
	fCategory
	fTenantID
	fAADTenantID
	fSPID
	fSPName
	fSourceSystem
	fInteractive
	fEventTypes
	fStatus // the Status / status value; read into errorCode and failureReason
	fMfa    // mfaDetail; read into mfaMethod
	numFields
)

// keys maps the lower-case key of every form to its field.
var keys = map[string]int{
	"id":                        fID,
	"createddatetime":           fCreated,
	"timegenerated":             fTimeGenerated,
	"correlationid":             fCorrelation,
	"uniquetokenidentifier":     fUTI,
	"tokenissuertype":           fIssuerType,
	"tokenissuername":           fIssuerName,
	"incomingtokentype":         fIncoming,
	"userprincipalname":         fUPN,
	"userid":                    fUserID,
	"usertype":                  fUserType,
	"appid":                     fAppID,
	"appdisplayname":            fAppName,
	"resourceidentity":          fResourceIdentity,
	"resourceid":                fResourceID,
	"resourcedisplayname":       fResourceName,
	"ipaddress":                 fIP,
	"useragent":                 fUserAgent,
	"resulttype":                fResultType,
	"authenticationrequirement": fAuthReq,
	"conditionalaccessstatus":   fCAStatus,
	"type":                      fType,
	"category":                  fCategory,
	"tenantid":                  fTenantID,
	"aadtenantid":               fAADTenantID,
	"serviceprincipalid":        fSPID,
	"serviceprincipalname":      fSPName,
	"sourcesystem":              fSourceSystem,
	"isinteractive":             fInteractive,
	"signineventtypes":          fEventTypes,
	"status":                    fStatus,
	"mfadetail":                 fMfa,
}

// names are the fields' names in reasons (the Graph spelling).
var names = [numFields]string{
	fID: "id", fCreated: "createdDateTime", fTimeGenerated: "TimeGenerated", fCorrelation: "correlationId",
	fUTI: "uniqueTokenIdentifier", fIssuerType: "tokenIssuerType", fIssuerName: "tokenIssuerName",
	fIncoming: "incomingTokenType", fUPN: "userPrincipalName", fUserID: "userId", fUserType: "userType",
	fAppID: "appId", fAppName: "appDisplayName", fResourceIdentity: "ResourceIdentity", fResourceID: "resourceId",
	fResourceName: "resourceDisplayName", fIP: "ipAddress", fUserAgent: "userAgent", fResultType: "ResultType",
	fAuthReq: "authenticationRequirement", fCAStatus: "conditionalAccessStatus", fType: "Type",
	fCategory: "category", fTenantID: "tenantId", fAADTenantID: "AADTenantId", fSPID: "servicePrincipalId",
	fSPName: "servicePrincipalName", fSourceSystem: "SourceSystem", fInteractive: "isInteractive",
	fEventTypes: "signInEventTypes", fStatus: "status", fMfa: "mfaDetail",
}

// Forms of a record.
const (
	formFlat         = iota // a Graph signIn or a PowerShell SDK object
	formLogAnalytics        // a Log Analytics row (JSON or CSV)
	formDiagnostic          // a diagnostic settings record, signIn in properties
)

// signIn is one sign-in record's fields, as text.
type signIn struct {
	form int
	v    [numFields]string
	has  [numFields]bool

	// the diagnostic envelope's own fields
	envTime, envTenant, envCategory, envResultType, envCallerIP, envCorrelation string

	errorCode     string // status.errorCode
	failureReason string
	mfaMethod     string
}

func (s *signIn) reset() { *s = signIn{} }

// get is a field's value.
func (s *signIn) get(f int) string { return s.v[f] }

// lookupKey finds a key's field without regard to case and without
// allocating.
func lookupKey(key []byte) (int, bool) {
	var buf [40]byte
	if len(key) > len(buf) {
		return 0, false
	}
	for i, c := range key {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	f, ok := keys[string(buf[:len(key)])]
	return f, ok
}

// fieldError is a reject reason naming the field.
func fieldError(key []byte, format string, a ...any) error {
	return fmt.Errorf("%s: %s", key, fmt.Sprintf(format, a...))
}

// fillObject reads the mapped keys of a flat record or of a diagnostic
// record's properties. sub parses the JSON text of dynamic columns; it
// must not be the parser o came from.
func (s *signIn) fillObject(o *fastjson.Object, sub *fastjson.Parser) error {
	var err error
	o.Visit(func(key []byte, v *fastjson.Value) {
		if err != nil {
			return
		}
		f, ok := lookupKey(key)
		if !ok {
			return
		}
		if s.has[f] {
			err = fieldError(key, "duplicate key")
			return
		}
		s.has[f] = true
		err = s.set(f, key, v, sub)
	})
	return err
}

// set reads one field's value, checking its JSON type.
func (s *signIn) set(f int, key []byte, v *fastjson.Value, sub *fastjson.Parser) error {
	t := v.Type()
	if t == fastjson.TypeNull {
		return nil
	}
	switch f {
	case fStatus:
		return s.setStatus(key, v, sub)
	case fMfa:
		return s.setMfa(key, v, sub)
	case fInteractive:
		switch t {
		case fastjson.TypeTrue:
			s.v[f] = "true"
		case fastjson.TypeFalse:
			s.v[f] = "false"
		case fastjson.TypeString:
			s.v[f] = string(v.GetStringBytes())
		default:
			return fieldError(key, "a JSON %s, want a boolean", t)
		}
		return nil
	case fEventTypes:
		switch t {
		case fastjson.TypeString:
			s.v[f] = string(v.GetStringBytes())
		case fastjson.TypeArray:
			var parts []string
			for _, e := range v.GetArray() {
				if e.Type() != fastjson.TypeString {
					return fieldError(key, "an array of %s, want strings", e.Type())
				}
				parts = append(parts, string(e.GetStringBytes()))
			}
			s.v[f] = strings.Join(parts, ",")
		default:
			return fieldError(key, "a JSON %s, want an array", t)
		}
		return nil
	case fResultType:
		if t == fastjson.TypeNumber {
			s.v[f] = v.String()
			return nil
		}
	}
	if t != fastjson.TypeString {
		return fieldError(key, "a JSON %s, want a string", t)
	}
	s.v[f] = string(v.GetStringBytes())
	return nil
}

// dynamic returns a dynamic column's object: v itself, or the object its
// JSON text holds (the az CLI and CSV exports write such columns as text).
// nil, nil for empty text.
func dynamic(key []byte, v *fastjson.Value, sub *fastjson.Parser) (*fastjson.Object, error) {
	switch v.Type() {
	case fastjson.TypeObject:
		return v.GetObject(), nil
	case fastjson.TypeString:
		return dynamicText(key, string(v.GetStringBytes()), sub)
	}
	return nil, fieldError(key, "a JSON %s, want an object", v.Type())
}

// dynamicText parses a dynamic column's JSON text.
func dynamicText(key []byte, text string, sub *fastjson.Parser) (*fastjson.Object, error) {
	text = strings.TrimSpace(text)
	if text == "" {
		return nil, nil
	}
	dv, err := sub.Parse(text)
	if err != nil {
		return nil, fieldError(key, "not JSON")
	}
	o, err := dv.Object()
	if err != nil {
		return nil, fieldError(key, "JSON %s, want an object", dv.Type())
	}
	return o, nil
}

// setStatus reads status{errorCode, failureReason}.
func (s *signIn) setStatus(key []byte, v *fastjson.Value, sub *fastjson.Parser) error {
	o, err := dynamic(key, v, sub)
	if err != nil || o == nil {
		return err
	}
	return s.statusObject(key, o)
}

func (s *signIn) statusObject(key []byte, o *fastjson.Object) error {
	var err error
	var code, reason bool
	o.Visit(func(k []byte, v *fastjson.Value) {
		if err != nil {
			return
		}
		switch strings.ToLower(string(k)) {
		case "errorcode":
			if code {
				err = fieldError(key, "duplicate errorCode")
				return
			}
			code = true
			switch v.Type() {
			case fastjson.TypeNumber:
				s.errorCode = v.String()
			case fastjson.TypeString:
				s.errorCode = strings.TrimSpace(string(v.GetStringBytes()))
			case fastjson.TypeNull:
			default:
				err = fieldError(key, "errorCode is a JSON %s, want a number", v.Type())
				return
			}
			if s.errorCode != "" {
				if _, perr := strconv.ParseInt(s.errorCode, 10, 64); perr != nil {
					err = fieldError(key, "errorCode %q is not an integer", truncate(s.errorCode, 40))
				}
			}
		case "failurereason":
			if reason {
				err = fieldError(key, "duplicate failureReason")
				return
			}
			reason = true
			switch v.Type() {
			case fastjson.TypeString:
				s.failureReason = string(v.GetStringBytes())
			case fastjson.TypeNull:
			default:
				err = fieldError(key, "failureReason is a JSON %s, want a string", v.Type())
			}
		}
	})
	return err
}

// setMfa reads mfaDetail{authMethod}.
func (s *signIn) setMfa(key []byte, v *fastjson.Value, sub *fastjson.Parser) error {
	o, err := dynamic(key, v, sub)
	if err != nil || o == nil {
		return err
	}
	s.mfaObject(o)
	return nil
}

func (s *signIn) mfaObject(o *fastjson.Object) {
	o.Visit(func(k []byte, v *fastjson.Value) {
		if strings.EqualFold(string(k), "authMethod") && v.Type() == fastjson.TypeString {
			s.mfaMethod = string(v.GetStringBytes())
		}
	})
}

// fillEnvelope reads a diagnostic record's own keys.
func (s *signIn) fillEnvelope(o *fastjson.Object) error {
	var err error
	o.Visit(func(key []byte, v *fastjson.Value) {
		if err != nil {
			return
		}
		var dst *string
		switch strings.ToLower(string(key)) {
		case "time":
			dst = &s.envTime
		case "tenantid":
			dst = &s.envTenant
		case "category":
			dst = &s.envCategory
		case "resulttype":
			dst = &s.envResultType
			if v.Type() == fastjson.TypeNumber {
				s.envResultType = v.String()
				return
			}
		case "calleripaddress":
			dst = &s.envCallerIP
		case "correlationid":
			dst = &s.envCorrelation
		default:
			return
		}
		switch v.Type() {
		case fastjson.TypeString:
			*dst = string(v.GetStringBytes())
		case fastjson.TypeNull:
		default:
			err = fieldError(key, "a JSON %s, want a string", v.Type())
		}
	})
	return err
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
