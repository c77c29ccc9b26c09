package analyzer

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/forgehunt/forgehunt/analyzer/kinds"
)

// Artifact is one stored artifact as front ends show it: the shared
// columns, and its kind's labelled fields (kinds.Kind.Fields), so that a
// detail view draws a token, a certificate or any later kind without
// knowing it.
type Artifact struct {
	Key, Kind, IDLabel              string
	ID, Issuer, Subject, Audience   string
	IssuedAt, NotBefore, ExpiresAt  time.Time // zero when absent
	Names                           []string
	Header, Claims                  string // the kind's decoded header and claims JSON, "" when it has none
	SigStatus, SignerFP, VerifyNote string
	Flags                           []string
	Fields                          []kinds.Field // the kind's own terms, in its order; empty values left out
}

// artifactColumns are what artifactFrom scans, in order.
const artifactColumns = `artifact_key, kind, artifact_id, issuer, subject, audience, azp, kid, alg, issued_at, not_before, expires_at,
	header, claims, sig_status, signer_fp, verify_note, coalesce(sig_flags, []), coalesce(names, []), link_key`

// Artifact reads the artifact stored under key; nil (and no error) when
// the case has none.
func (c *Case) Artifact(ctx context.Context, key string) (*Artifact, error) {
	a, err := artifactFrom(c.DB.QueryRowContext(ctx, `SELECT `+artifactColumns+` FROM artifacts WHERE artifact_key = ? LIMIT 1`, key))
	if err == sql.ErrNoRows {
		return nil, nil
	}
	return a, err
}

// findingArtifacts reads every artifact that has a finding, by key, in one
// scan of the artifacts.
func (c *Case) findingArtifacts(ctx context.Context) (map[string]*Artifact, error) {
	rows, err := c.DB.QueryContext(ctx, `SELECT `+artifactColumns+` FROM artifacts WHERE artifact_key IN (SELECT artifact_key FROM findings)`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]*Artifact{}
	for rows.Next() {
		a, err := artifactFrom(rows)
		if err != nil {
			return nil, err
		}
		out[a.Key] = a
	}
	return out, rows.Err()
}

// artifactFrom scans one row of artifactColumns.
func artifactFrom(row interface{ Scan(...any) error }) (*Artifact, error) {
	var key, kind, id, iss, sub, aud, azp, kid, alg, hdr, cl, sig, fp, note, link sql.NullString
	var iat, nbf, exp sql.NullTime
	var flags, names any
	err := row.Scan(&key, &kind, &id, &iss, &sub, &aud, &azp, &kid, &alg, &iat, &nbf, &exp, &hdr, &cl, &sig, &fp, &note, &flags, &names, &link)
	if err == sql.ErrNoRows {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("reading artifact: %w", err)
	}
	t := func(n sql.NullTime) time.Time {
		if n.Valid {
			return n.Time.UTC()
		}
		return time.Time{}
	}
	a := &Artifact{
		Key: key.String, Kind: kind.String, ID: id.String, Issuer: iss.String, Subject: sub.String, Audience: aud.String,
		IssuedAt: t(iat), NotBefore: t(nbf), ExpiresAt: t(exp), Names: stringList(names),
		Header: hdr.String, Claims: cl.String, SigStatus: sig.String, SignerFP: fp.String, VerifyNote: note.String,
		Flags: stringList(flags),
	}
	if k := LookupKind(a.Kind); k != nil {
		a.IDLabel = k.IDLabel()
		v := kinds.Verdict{
			ID: a.ID, Issuer: a.Issuer, Subject: a.Subject, Audience: a.Audience,
			IssuedAt: a.IssuedAt, NotBefore: a.NotBefore, ExpiresAt: a.ExpiresAt,
			AZP: azp.String, KID: kid.String, Alg: alg.String, Header: a.Header, Claims: a.Claims,
			Status: a.SigStatus, SignerFP: a.SignerFP, Note: a.VerifyNote, Flags: a.Flags,
			Names: a.Names, LinkKey: link.String,
		}
		for _, f := range k.Fields(v) {
			if f.Value != "" {
				a.Fields = append(a.Fields, f)
			}
		}
	}
	return a, nil
}
