package entra

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/forgehunt/forgehunt/parsers/record"
)

type csvFormat struct{}

func (csvFormat) Name() string { return "entra-signin-csv" }

func (csvFormat) Description() string {
	return "Microsoft Entra ID sign-in logs exported from Log Analytics as CSV (SigninLogs and the AAD*SignInLogs tables): AD FS tokens accepted, Entra tokens issued"
}

// IssuerLog is false: see Format.
func (csvFormat) IssuerLog() bool { return false }

// Sniff accepts a header line of sign-in log columns.
func (csvFormat) Sniff(sample [][]byte) bool {
	for _, l := range sample {
		l = bytes.TrimPrefix(l, bom)
		if len(bytes.TrimSpace(l)) == 0 {
			continue
		}
		if t := bytes.TrimSpace(l); t[0] == '{' || t[0] == '[' {
			return false
		}
		cols, _, err := headerNames(l)
		if err != nil {
			return false
		}
		has := map[string]bool{}
		for _, c := range cols {
			has[c] = true
		}
		return has["correlationid"] && (has["timegenerated"] || has["createddatetime"]) &&
			(has["uniquetokenidentifier"] || has["tokenissuertype"] ||
				has["appdisplayname"] && has["resulttype"] && has["userprincipalname"])
	}
	return false
}

// headerNames reads a header line: the lower-case column names without
// their zone suffix (" [UTC]"), and whether a suffix names another zone.
func headerNames(line []byte) ([]string, bool, error) {
	cr := csv.NewReader(bytes.NewReader(line))
	cr.Comma = delimiter(line)
	cr.LazyQuotes = true
	rec, err := cr.Read()
	if err != nil {
		return nil, false, err
	}
	local := false
	for i, h := range rec {
		var zone string
		rec[i], zone = columnName(h)
		if zone != "" && !strings.EqualFold(zone, "UTC") {
			local = true
		}
	}
	return rec, local, nil
}

// columnName splits "TimeGenerated [UTC]" into "timegenerated" and "UTC".
func columnName(h string) (name, zone string) {
	h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
	if i := strings.LastIndexByte(h, '['); i > 0 && strings.HasSuffix(h, "]") {
		h, zone = strings.TrimSpace(h[:i]), strings.TrimSpace(h[i+1:len(h)-1])
	}
	return strings.ToLower(h), zone
}

// delimiter picks the separator that splits the header into the most
// fields: comma, or the semicolon or tab of a spreadsheet's re-save.
func delimiter(header []byte) rune {
	best, most := ',', 0
	for _, d := range []rune{',', ';', '\t'} {
		if n := bytes.Count(header, []byte(string(d))); n > most {
			best, most = d, n
		}
	}
	return best
}

func (f csvFormat) Parse(ctx context.Context, in *record.Input, sink record.Sink) error {
	limit := in.Options.MaxLineBytes
	if limit <= 0 {
		limit = record.DefaultMaxLineBytes
	}
	br := bufio.NewReaderSize(in.R, 64<<10)
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

	p := newParser(in, sink, f.Name())
	var (
		columns []int // field of each column, or -1
		loc     *time.Location
	)
	for n := 0; ; n++ {
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
			return fmt.Errorf("read %s: %w", in.Name, err)
		}
		in.CountRecord()
		line := int64(1)
		switch {
		case len(rec) > 0 && err == nil:
			l, _ := cr.FieldPos(0)
			line = int64(l) + bounded.LineAdjust
		case perr != nil:
			line = int64(perr.StartLine) + bounded.LineAdjust
		}
		pos := p.pos(max(line, 1))
		excerpt := []byte(joinExcerpt(rec))
		switch {
		case errors.Is(err, record.ErrRecordTooLong):
			p.reject(pos, fmt.Sprintf("%s (limit %d bytes)", record.ReasonLineTooLong, limit), excerpt)
			bounded.Resync()
			continue
		case err != nil:
			p.reject(pos, "bad CSV: "+perr.Err.Error(), excerpt)
			continue
		case !validUTF8(rec):
			p.reject(pos, "invalid UTF-8", excerpt)
			continue
		}
		if columns == nil {
			var reason string
			columns, loc, reason = header(rec, in.Options.Loc())
			if reason != "" {
				p.reject(pos, reason, excerpt)
				return nil
			}
			sink.Ignore(pos, record.IgnoreHeader)
			continue
		}
		s := &p.s
		s.reset()
		s.form = formLogAnalytics
		if reason := p.fillRow(columns, rec); reason != "" {
			p.reject(pos, reason, excerpt)
			continue
		}
		p.emitIn(pos, excerpt, loc)
	}
}

// header maps the columns of the header row to fields, and says the zone
// of times without one.
func header(rec []string, local *time.Location) ([]int, *time.Location, string) {
	columns := make([]int, len(rec))
	seen := [numFields]bool{}
	loc := time.UTC
	correlation := false
	for i, h := range rec {
		name, zone := columnName(h)
		columns[i] = -1
		if zone != "" && !strings.EqualFold(zone, "UTC") {
			loc = local
		}
		f, ok := keys[name]
		if !ok || seen[f] {
			continue
		}
		seen[f] = true
		columns[i] = f
		correlation = correlation || f == fCorrelation || f == fUTI
	}
	if !correlation {
		return nil, nil, "header row names no CorrelationId or UniqueTokenIdentifier column (not an Entra sign-in log export)"
	}
	return columns, loc, ""
}

// fillRow reads one row's cells into p.s; a reason when one is malformed.
func (p *parser) fillRow(columns []int, rec []string) string {
	s := &p.s
	for i, v := range rec {
		if i >= len(columns) || columns[i] < 0 {
			continue
		}
		f := columns[i]
		s.has[f] = true
		switch f {
		case fStatus:
			o, err := dynamicText([]byte("Status"), v, &p.sub)
			if err == nil && o != nil {
				err = s.statusObject([]byte("Status"), o)
			}
			if err != nil {
				return err.Error()
			}
		case fMfa:
			o, err := dynamicText([]byte("MfaDetail"), v, &p.sub)
			if err != nil {
				return err.Error()
			}
			if o != nil {
				s.mfaObject(o)
			}
		default:
			s.v[f] = v
		}
	}
	return ""
}

func validUTF8(rec []string) bool {
	for _, v := range rec {
		if !utf8.ValidString(v) {
			return false
		}
	}
	return true
}

// joinExcerpt rebuilds a row for a reject, bounded.
func joinExcerpt(rec []string) string {
	var b strings.Builder
	for i, v := range rec {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(truncate(v, max(0, 1024-b.Len())))
		if b.Len() >= 1024 {
			break
		}
	}
	return b.String()
}
