package ledger

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/forgehunt/forgehunt/parsers/record"
)

// column says where a CSV column goes: a field, or attrs under its header.
type column struct {
	name   name
	field  bool // name is set
	header string
}

func parseCSV(ctx context.Context, in *record.Input, format string, sink record.Sink) error {
	limit := in.Options.MaxLineBytes
	if limit <= 0 {
		limit = record.DefaultMaxLineBytes
	}
	br, _ := in.R.(*bufio.Reader)
	if br == nil {
		br = bufio.NewReader(in.R)
	}
	head, _ := br.Peek(64 << 10)
	if i := bytes.IndexByte(head, '\n'); i >= 0 {
		head = head[:i]
	}
	bounded := &record.CSVBound{R: br, Limit: limit}
	cr := csv.NewReader(bounded)
	cr.Comma = delimiter(head)
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	cr.ReuseRecord = true

	var (
		columns []column
		loc     = in.Options.Loc()
		n       int
	)
	for ; ; n++ {
		if n&0x3ff == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		rec, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		bounded.Mark()
		var perr *csv.ParseError
		if err != nil && !errors.Is(err, record.ErrRecordTooLong) && !errors.As(err, &perr) {
			return fmt.Errorf("read ledger: %w", err)
		}
		in.CountRecord()
		line := int64(1)
		switch {
		case len(rec) > 0:
			l, _ := cr.FieldPos(0)
			line = int64(l) + bounded.LineAdjust
		case perr != nil:
			line = int64(perr.StartLine) + bounded.LineAdjust
		}
		pos := record.Position{File: in.Name, Line: line, Format: format}
		if err != nil {
			if errors.Is(err, record.ErrRecordTooLong) {
				sink.Reject(&record.Reject{Pos: pos, Reason: fmt.Sprintf("%s (limit %d bytes)", record.ReasonLineTooLong, limit), Excerpt: excerpt(rec)})
				bounded.Resync()
				continue
			}
			sink.Reject(&record.Reject{Pos: pos, Reason: "bad CSV: " + perr.Err.Error(), Excerpt: excerpt(rec)})
			continue
		}
		if columns == nil {
			if columns, err = header(rec); err != nil {
				sink.Reject(&record.Reject{Pos: pos, Reason: err.Error(), Excerpt: excerpt(rec)})
				return nil
			}
			sink.Ignore(pos, record.IgnoreHeader)
			continue
		}
		if !validRecord(rec) {
			sink.Reject(&record.Reject{Pos: pos, Reason: "invalid UTF-8", Excerpt: excerpt(rec)})
			continue
		}
		var r row
		for i, v := range rec {
			switch {
			case i >= len(columns):
				r.addAttr(fmt.Sprintf("column_%d", i+1), v)
			case columns[i].field:
				r.set(columns[i].header, columns[i].name, v)
			default:
				r.addAttr(columns[i].header, v)
			}
		}
		var iss record.Issuance
		if err := r.issuance(&iss, loc); err != nil {
			sink.Reject(&record.Reject{Pos: pos, Reason: err.Error(), Excerpt: excerpt(rec)})
			continue
		}
		iss.Pos = pos
		sink.Issuance(&iss)
	}
}

// header maps the columns of a header row.
func header(rec []string) ([]column, error) {
	if len(rec) > 0 {
		rec[0] = strings.TrimPrefix(rec[0], "\ufeff")
	}
	if !validRecord(rec) {
		return nil, errors.New("invalid UTF-8 in header row")
	}
	columns := make([]column, len(rec))
	var has [numFields]bool
	for i, h := range rec {
		h = strings.TrimSpace(h)
		n, ok := lookup(h)
		columns[i] = column{name: n, field: ok, header: h}
		has[n.field] = has[n.field] || ok
	}
	if !has[fArtifactID] && !has[fRawSHA256] && !has[fSubject] {
		return nil, errors.New("header row names no artifact_id, raw_sha256 or subject column (a ledger CSV needs a header row; see the ledger format)")
	}
	return columns, nil
}

func validRecord(rec []string) bool {
	for _, v := range rec {
		if !utf8.ValidString(v) {
			return false
		}
	}
	return true
}

// excerpt rebuilds a record for a reject, bounded.
func excerpt(rec []string) string {
	var b strings.Builder
	for i, v := range rec {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(truncate(v, 512-b.Len()))
		if b.Len() >= 512 {
			break
		}
	}
	return b.String()
}

// delimiters are the separators ledgers are exported with: comma, and the
// semicolon of spreadsheets in locales whose decimal mark is a comma, tab
// and pipe.
var delimiters = []rune{',', ';', '\t', '|'}

// delimiter picks the separator that splits the header line into the most
// fields (comma on a tie).
func delimiter(header []byte) rune {
	best, most := ',', 0
	for _, d := range delimiters {
		if n := bytes.Count(header, []byte(string(d))); n > most {
			best, most = d, n
		}
	}
	return best
}
