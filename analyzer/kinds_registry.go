package analyzer

import (
	"github.com/forgehunt/forgehunt/analyzer/kinds"
	"github.com/forgehunt/forgehunt/analyzer/kinds/jwtkind"
)

// Kinds is the ordered registry of the artifact kinds the analyzer
// verifies (see package kinds): adding a kind is its package and one line
// here.
var Kinds = []kinds.Kind{
	jwtkind.Kind{},
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
