package ledger

import (
	"bytes"
	"encoding/csv"

	"github.com/valyala/fastjson"
)

// nameSet collects the names of a header or object to tell whether they make
// a ledger (see Detection in the package documentation): an artifact field
// and issued_at, at least one of them by its canonical name.
type nameSet struct {
	id, time, canonical bool
}

func (s *nameSet) add(key string) {
	n, ok := lookup(key)
	if !ok {
		return
	}
	switch n.field {
	case fArtifactID, fRawSHA256:
		s.id = true
	case fIssuedAt:
		s.time = true
	default:
		return
	}
	s.canonical = s.canonical || n.rank == 0
}

func (s *nameSet) ledger() bool { return s.id && s.time && s.canonical }

func sniffJSON(sample [][]byte) bool {
	var p fastjson.Parser
	for _, line := range sample {
		line = bytes.TrimSpace(bytes.TrimPrefix(line, bom))
		if len(line) == 0 || line[0] != '{' {
			continue
		}
		v, err := p.ParseBytes(line)
		if err != nil {
			continue
		}
		obj, err := v.Object()
		if err != nil {
			continue
		}
		var s nameSet
		obj.Visit(func(key []byte, _ *fastjson.Value) { s.add(string(key)) })
		if s.ledger() {
			return true
		}
	}
	return false
}

func sniffHeader(line []byte) bool {
	cr := csv.NewReader(bytes.NewReader(line))
	cr.Comma = delimiter(line)
	cr.LazyQuotes = true
	cr.FieldsPerRecord = -1
	rec, err := cr.Read()
	if err != nil {
		return false
	}
	var s nameSet
	for _, h := range rec {
		s.add(h)
	}
	return s.ledger()
}
