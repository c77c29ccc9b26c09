package adfs

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

// CSV reads AD FS audit events exported as CSV from Log Analytics
// (SecurityEvent) or PowerShell (Get-WinEvent | Export-Csv). See the
// package documentation.
var CSV record.Format = csvFormat{}

type csvFormat struct{}

func (csvFormat) Name() string { return "adfs-csv" }

func (csvFormat) Description() string {
	return "AD FS audit events 1200/299 as CSV (Sentinel/Log Analytics SecurityEvent export, Get-WinEvent | Export-Csv): issued SAML tokens by activity id, user and relying party"
}

// IssuerLog reports that AD FS's audits are the issuer's own records.
func (csvFormat) IssuerLog() bool { return true }

// csvColumns maps the exporters' column names to the event's fields.
var csvColumns = map[string]int{
	"eventsourcename": colProvider, "providername": colProvider,
	"eventid": colEventID, "id": colEventID,
	"timegenerated": colTime, "timecreated": colTime,
	"computer": colComputer, "machinename": colComputer,
	"eventrecordid": colRecordID, "recordid": colRecordID,
	"activityid": colCorrelation,
	"eventdata":  colEventData,
	"message":    colMessage,
}

const (
	colNone = iota
	colProvider
	colEventID
	colTime
	colComputer
	colRecordID
	colCorrelation
	colEventData
	colMessage
)

// Sniff accepts a CSV file whose header has an event's provider and id
// columns and whose rows name the AD FS Auditing provider or hold AD FS's
// message or AuditBase (Export-Csv puts the many-line message first).
func (csvFormat) Sniff(sample [][]byte) bool {
	sample = decodedSample(sample)
	for len(sample) > 0 && bytes.HasPrefix(sample[0], []byte("#TYPE")) {
		sample = sample[1:]
	}
	if len(sample) == 0 {
		return false
	}
	rows := bytes.Join(sample[1:], []byte("\n"))
	if !bytes.Contains(rows, []byte(ProviderName)) && !bytes.Contains(rows, []byte("<AuditBase")) &&
		!bytes.Contains(rows, []byte("The Federation Service")) {
		return false
	}
	rec, err := csv.NewReader(bytes.NewReader(sample[0])).Read()
	if err != nil {
		return false
	}
	cols, _ := csvHeader(rec)
	has := map[int]bool{}
	for _, c := range cols {
		has[c.field] = true
	}
	return has[colProvider] && has[colEventID] && (has[colEventData] || has[colMessage])
}

type csvColumn struct {
	field int
	utc   bool // "TimeGenerated [UTC]"
}

// csvHeader maps a header row; ok when it names a provider column.
func csvHeader(rec []string) ([]csvColumn, bool) {
	cols := make([]csvColumn, len(rec))
	ok := false
	for i, h := range rec {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		name, zone, _ := strings.Cut(h, " [")
		cols[i] = csvColumn{field: csvColumns[strings.ToLower(strings.TrimSpace(name))], utc: strings.HasPrefix(zone, "UTC")}
		ok = ok || cols[i].field == colProvider
	}
	return cols, ok
}

// Parse reads the CSV records of in. The file is bounded to
// MaxFileBytes: encoding/csv buffers a whole record, and a quote left
// open would make one record of the rest of the file.
func (f csvFormat) Parse(ctx context.Context, in *record.Input, sink record.Sink) error {
	limited := &io.LimitedReader{R: decoded(in.R), N: MaxFileBytes}
	cr := csv.NewReader(bufio.NewReaderSize(limited, 64<<10))
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	cr.ReuseRecord = true
	max := in.Options.MaxLineBytes
	if max <= 0 {
		max = record.DefaultMaxLineBytes
	}
	var cols []csvColumn
	var lastLine int64
	for n := 0; ; n++ {
		if n&0x3ff == 0x3ff {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		rec, err := cr.Read()
		if err == io.EOF {
			if limited.N <= 0 {
				in.CountRecord()
				sink.Reject(&record.Reject{Pos: record.Position{File: in.Name, Line: lastLine + 1, Format: f.Name()},
					Reason: fmt.Sprintf("CSV file over %d bytes: the rest is not read", MaxFileBytes)})
			}
			return nil
		}
		var perr *csv.ParseError
		if err != nil && !errors.As(err, &perr) {
			return fmt.Errorf("read CSV: %w", err)
		}
		in.CountRecord()
		line := int64(1)
		if perr != nil {
			line = int64(perr.StartLine)
		} else if len(rec) > 0 {
			if l, _ := cr.FieldPos(0); l > 0 {
				line = int64(l)
			}
		}
		lastLine = line
		pos := record.Position{File: in.Name, Line: line, Format: f.Name()}
		switch {
		case perr != nil:
			sink.Reject(&record.Reject{Pos: pos, Reason: "bad CSV: " + perr.Err.Error(), Excerpt: csvExcerpt(rec)})
		case csvSize(rec) > max:
			sink.Reject(&record.Reject{Pos: pos, Reason: fmt.Sprintf("%s (record over %d bytes)", record.ReasonLineTooLong, max), Excerpt: csvExcerpt(rec)})
		case cols == nil && len(rec) > 0 && strings.HasPrefix(strings.TrimPrefix(rec[0], "\ufeff"), "#TYPE"):
			sink.Ignore(pos, record.IgnoreHeader) // Export-Csv's type line
		case cols == nil:
			var ok bool
			if cols, ok = csvHeader(rec); !ok {
				sink.Reject(&record.Reject{Pos: pos, Reason: "header row names no EventSourceName or ProviderName column", Excerpt: csvExcerpt(rec)})
				return nil
			}
			sink.Ignore(pos, record.IgnoreHeader)
		default:
			csvRecord(rec, cols, pos, in.Options.Loc(), sink)
		}
	}
}

// csvRecord maps one data row.
func csvRecord(rec []string, cols []csvColumn, pos record.Position, loc *time.Location, sink record.Sink) {
	for _, v := range rec {
		if !utf8.ValidString(v) {
			sink.Reject(&record.Reject{Pos: pos, Reason: "invalid UTF-8", Excerpt: csvExcerpt(rec)})
			return
		}
	}
	var e event
	var eventData string
	timeLoc := loc
	for i, v := range rec {
		if i >= len(cols) {
			break
		}
		switch cols[i].field {
		case colProvider:
			e.provider = v
		case colEventID:
			e.eventID = v
		case colTime:
			e.time = v
			if cols[i].utc {
				timeLoc = time.UTC
			}
		case colComputer:
			e.computer = v
		case colRecordID:
			e.recordID = v
		case colCorrelation:
			e.correlation = v
		case colEventData:
			eventData = v
		case colMessage:
			e.message = v
		}
	}
	if err := e.setEventData(eventData); err != nil {
		sink.Reject(&record.Reject{Pos: pos, Reason: err.Error(), Excerpt: csvExcerpt(rec)})
		return
	}
	emit(sink, pos, &e, timeLoc, csvExcerpt(rec))
}

func csvSize(rec []string) int {
	n := 0
	for _, v := range rec {
		n += len(v) + 1
	}
	return n
}

// csvExcerpt rebuilds a record for a reject, bounded.
func csvExcerpt(rec []string) string {
	var b strings.Builder
	for i, v := range rec {
		if i > 0 {
			b.WriteByte(',')
		}
		room := 1024 - b.Len()
		if room <= 0 {
			break
		}
		b.WriteString(v[:min(len(v), room)])
	}
	return b.String()
}
