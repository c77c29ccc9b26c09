package analyzer

import (
	"context"
	"database/sql"

	"github.com/forgehunt/forgehunt/analyzer/kinds"
	"github.com/forgehunt/forgehunt/analyzer/kinds/idkind"
	"github.com/forgehunt/forgehunt/analyzer/kinds/jwtkind"
	"github.com/forgehunt/forgehunt/analyzer/kinds/samlkind"
	"github.com/forgehunt/forgehunt/analyzer/kinds/sigkind"
	"github.com/forgehunt/forgehunt/analyzer/kinds/x509kind"
)

// Kinds is the ordered registry of the artifact kinds the analyzer
// verifies (see package kinds): adding a kind is its package and one line
// here.
var Kinds = []kinds.Kind{
	jwtkind.Kind{},
	x509kind.Kind{},
	sigkind.Kind{},
	// SAML assertions, and the federated sign-ins Entra ID logs by the
	// AD FS activity id
	samlkind.Kind{},
	// id-only credentials of platform logs
	idkind.New(idkind.OktaSession, "session id"),
	idkind.NewSession(idkind.AWSSession, "access key id"),
}

// LookupKind returns the registered kind named name, or nil.
func LookupKind(name string) kinds.Kind {
	for _, k := range Kinds {
		if k.Name() == name {
			return k
		}
	}
	return nil
}

// KindNames are the registered kinds' names, in order.
func KindNames() []string {
	names := make([]string, len(Kinds))
	for i, k := range Kinds {
		names[i] = k.Name()
	}
	return names
}

// writeKindsTable fills artifact_kinds, what matching and rules know of
// each registered kind: its id label, and whether an issuance record
// without the artifact's id may account for it (kinds.Kind.WeakMatch). A
// kind not registered matches as before kinds were: weakly.
func writeKindsTable(ctx context.Context, conn *sql.Conn) error {
	if _, err := conn.ExecContext(ctx, `CREATE OR REPLACE TABLE artifact_kinds (kind VARCHAR, id_label VARCHAR, weak_match BOOLEAN,
		principal_is_subject BOOLEAN)`); err != nil {
		return err
	}
	for _, k := range Kinds {
		if _, err := conn.ExecContext(ctx, `INSERT INTO artifact_kinds VALUES (?, ?, ?, ?)`, k.Name(), k.IDLabel(), k.WeakMatch(),
			kinds.PrincipalIsSubject(k)); err != nil {
			return err
		}
	}
	return nil
}
