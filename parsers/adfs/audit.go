package adfs

import (
	"encoding/xml"
	"errors"
	"io"
	"strings"
)

// auditBase is the XML document of events 1200-1207 (AppTokenAudit,
// FreshCredentialAudit, ...).
type auditBase struct {
	XMLName     xml.Name
	Type        string           `xml:"type,attr"` // xsi:type
	AuditType   string           `xml:"AuditType"`
	AuditResult string           `xml:"AuditResult"`
	FailureType string           `xml:"FailureType"`
	ErrorCode   string           `xml:"ErrorCode"`
	Components  []auditComponent `xml:"ContextComponents>Component"`

	// merged holds the first value of each field over the components.
	merged auditComponent
}

// auditComponent has the fields of every component type; each type fills
// its own.
type auditComponent struct {
	Type string `xml:"type,attr"`
	// ResourceAuditComponent
	RelyingParty   string
	ClaimsProvider string
	UserId         string
	// AuthNAuditComponent
	PrimaryAuth               string
	DeviceAuth                string
	DeviceId                  string
	MfaPerformed              string
	MfaMethod                 string
	TokenBindingProvidedId    string
	TokenBindingReferredId    string
	SsoBindingValidationLevel string
	// ProtocolAuditComponent
	OAuthClientId string
	OAuthGrant    string
	// RequestAuditComponent
	Server             string
	AuthProtocol       string
	NetworkLocation    string
	IpAddress          string
	ForwardedIpAddress string
	ProxyIpAddress     string
	NetworkIpAddress   string
	ProxyServer        string
	UserAgentString    string
	Endpoint           string
}

// parseAuditBase reads an AuditBase document. AD FS declares it
// encoding="utf-16", but the text is decoded by the time it is read: the
// declaration is not acted on.
func parseAuditBase(doc string) (*auditBase, error) {
	doc = strings.TrimLeft(doc, " \t\r\n\ufeff")
	ab, err := decodeAuditBase(doc)
	if err != nil && strings.ContainsFunc(doc, illegalXMLChar) {
		// a control character in a logged value (a user agent): XML 1.0
		// has no room for it, the rest of the document does not suffer
		if ab, err2 := decodeAuditBase(strings.Map(replaceIllegal, doc)); err2 == nil {
			return ab, nil
		}
	}
	return ab, err
}

// illegalXMLChar reports the C0 controls XML 1.0 does not allow.
func illegalXMLChar(r rune) bool { return r < 0x20 && r != '\t' && r != '\n' && r != '\r' }

func replaceIllegal(r rune) rune {
	if illegalXMLChar(r) {
		return '\ufffd'
	}
	return r
}

func decodeAuditBase(doc string) (*auditBase, error) {
	d := xml.NewDecoder(strings.NewReader(doc))
	d.CharsetReader = func(_ string, r io.Reader) (io.Reader, error) { return r, nil }
	var ab auditBase
	if err := d.Decode(&ab); err != nil {
		var syn *xml.SyntaxError
		if errors.As(err, &syn) {
			return nil, errors.New("malformed: " + syn.Msg)
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, errors.New("cut off")
		}
		return nil, err
	}
	if ab.XMLName.Local != "AuditBase" {
		return nil, errors.New("the document is not an AuditBase")
	}
	ab.AuditResult = strings.TrimSpace(ab.AuditResult)
	m := &ab.merged
	for i := range ab.Components {
		c := &ab.Components[i]
		for _, f := range []struct{ dst, src *string }{
			{&m.RelyingParty, &c.RelyingParty}, {&m.ClaimsProvider, &c.ClaimsProvider}, {&m.UserId, &c.UserId},
			{&m.PrimaryAuth, &c.PrimaryAuth}, {&m.DeviceAuth, &c.DeviceAuth}, {&m.DeviceId, &c.DeviceId},
			{&m.MfaPerformed, &c.MfaPerformed}, {&m.MfaMethod, &c.MfaMethod},
			{&m.OAuthClientId, &c.OAuthClientId}, {&m.OAuthGrant, &c.OAuthGrant},
			{&m.Server, &c.Server}, {&m.AuthProtocol, &c.AuthProtocol}, {&m.NetworkLocation, &c.NetworkLocation},
			{&m.IpAddress, &c.IpAddress}, {&m.ForwardedIpAddress, &c.ForwardedIpAddress},
			{&m.ProxyIpAddress, &c.ProxyIpAddress}, {&m.NetworkIpAddress, &c.NetworkIpAddress},
			{&m.ProxyServer, &c.ProxyServer}, {&m.UserAgentString, &c.UserAgentString}, {&m.Endpoint, &c.Endpoint},
		} {
			if *f.dst == "" {
				*f.dst = strings.TrimSpace(*f.src)
			}
		}
	}
	return &ab, nil
}

// eventDataXML is the <EventData> element of an event, or a Sentinel
// SecurityEvent row's EventData column.
type eventDataXML struct {
	Data []struct {
		Name  string `xml:"Name,attr"`
		Value string `xml:",chardata"`
	} `xml:"Data"`
}

// parseEventData reads a SecurityEvent row's EventData column.
func parseEventData(s string) ([]string, error) {
	var ed eventDataXML
	d := xml.NewDecoder(strings.NewReader(strings.TrimSpace(s)))
	if err := d.Decode(&ed); err != nil {
		var syn *xml.SyntaxError
		if errors.As(err, &syn) {
			return nil, errors.New("EventData: malformed XML: " + syn.Msg)
		}
		return nil, errors.New("EventData: cut off XML")
	}
	out := make([]string, len(ed.Data))
	for i, d := range ed.Data {
		out[i] = d.Value
	}
	return out, nil
}
