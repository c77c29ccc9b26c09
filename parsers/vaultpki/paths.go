package vaultpki

import "strings"

// pkiPath is what a path inside a PKI mount does.
type pkiPath struct {
	issues bool // the request issues a certificate
	// selfIssued: root/sign-self-issued re-signs a self-issued
	// certificate, whose issuer is not issuing_ca's subject.
	selfIssued bool
	role       string
	issuerRef  string
}

// classify reads a path relative to its PKI mount (builtin/logical/pki:
// path_issue_sign.go, path_root.go):
//
//	issue/<role>             sign/<role>             sign-verbatim[/<role>]
//	issuer/<ref>/issue/<role>  issuer/<ref>/sign/<role>  issuer/<ref>/sign-verbatim[/<role>]
//	root/generate/<type>     root/rotate/<type>      issuers/generate/root/<type>
//	root/sign-intermediate   issuer/<ref>/sign-intermediate
//	root/sign-self-issued    issuer/<ref>/sign-self-issued
//
// intermediate/generate and issuers/generate/intermediate return a CSR and
// issue nothing; intermediate/set-signed and issuers/import import
// certificates issued elsewhere.
func classify(segs []string) (p pkiPath, ok bool) {
	if len(segs) >= 2 && segs[0] == "issuer" {
		p.issuerRef, segs = segs[1], segs[2:]
		switch {
		case len(segs) == 1 && segs[0] == "sign-intermediate":
			return pkiPath{issues: true, issuerRef: p.issuerRef}, true
		case len(segs) == 1 && segs[0] == "sign-self-issued":
			return pkiPath{issues: true, selfIssued: true, issuerRef: p.issuerRef}, true
		}
		leaf, ok := classifyLeaf(segs)
		leaf.issuerRef = p.issuerRef
		return leaf, ok
	}
	switch {
	case len(segs) == 3 && segs[0] == "root" && (segs[1] == "generate" || segs[1] == "rotate"):
		return pkiPath{issues: true}, true
	case len(segs) == 4 && segs[0] == "issuers" && segs[1] == "generate" && segs[2] == "root":
		return pkiPath{issues: true}, true
	case len(segs) == 2 && segs[0] == "root" && segs[1] == "sign-intermediate":
		return pkiPath{issues: true}, true
	case len(segs) == 2 && segs[0] == "root" && segs[1] == "sign-self-issued":
		return pkiPath{issues: true, selfIssued: true}, true
	}
	return classifyLeaf(segs)
}

// classifyLeaf reads issue/<role>, sign/<role> and sign-verbatim[/<role>].
func classifyLeaf(segs []string) (pkiPath, bool) {
	switch {
	case len(segs) == 2 && (segs[0] == "issue" || segs[0] == "sign") && segs[1] != "":
		return pkiPath{issues: true, role: segs[1]}, true
	case len(segs) == 1 && segs[0] == "sign-verbatim":
		return pkiPath{issues: true}, true
	case len(segs) == 2 && segs[0] == "sign-verbatim":
		return pkiPath{issues: true, role: segs[1]}, true
	}
	return pkiPath{}, false
}

// locate finds the PKI path of a request: the part of path after the mount
// point when the entry names it, else the first tail of path (after at
// least one segment, the mount) that classify takes.
func locate(path, mountPoint string) (pkiPath, bool) {
	path = strings.Trim(path, "/")
	if mountPoint != "" {
		rest, ok := strings.CutPrefix(path, strings.Trim(mountPoint, "/"))
		if ok && (rest == "" || rest[0] == '/') {
			return classify(strings.Split(strings.Trim(rest, "/"), "/"))
		}
	}
	segs := strings.Split(path, "/")
	for i := 1; i < len(segs); i++ {
		if p, ok := classify(segs[i:]); ok {
			return p, true
		}
	}
	return pkiPath{}, false
}

// protocolPath reports whether a PKI path serves one of the enrolment
// protocols (ACME, EST, SCEP, CMPv2), whose audit entries hold a raw HTTP
// body, not the certificate's fields.
func protocolPath(path string) bool {
	for seg := range strings.SplitSeq(path, "/") {
		switch seg {
		case "acme", "est", "scep", "cmpv2", "cmp":
			return true
		}
	}
	return false
}
