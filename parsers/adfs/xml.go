package adfs

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"

	"github.com/forgehunt/forgehunt/parsers/record"
)

// XML reads AD FS audit events in Windows event XML. See the package
// documentation.
var XML record.Format = xmlFormat{}

type xmlFormat struct{}

func (xmlFormat) Name() string { return "adfs-evtx-xml" }

func (xmlFormat) Description() string {
	return "AD FS audit events 1200/299 in Windows event XML (wevtutil qe, Get-WinEvent ToXml, <Events> exports): issued SAML tokens by activity id, user and relying party"
}

// IssuerLog reports that AD FS's audits are the issuer's own records.
func (xmlFormat) IssuerLog() bool { return true }

// EntryPositions reports that several events may start on one line.
func (xmlFormat) EntryPositions() bool { return true }

// eventNamespace is the namespace of Windows event XML.
const eventNamespace = "http://schemas.microsoft.com/win/2004/08/events/event"

// Sniff accepts Windows event XML whose sample names the AD FS Auditing
// provider.
func (xmlFormat) Sniff(sample [][]byte) bool {
	sample = decodedSample(sample)
	if len(sample) == 0 {
		return false
	}
	first := bytes.TrimSpace(sample[0])
	if len(first) == 0 || first[0] != '<' {
		return false
	}
	joined := bytes.Join(sample, []byte("\n"))
	return bytes.Contains(joined, []byte("<Event")) && bytes.Contains(joined, []byte(eventNamespace)) &&
		bytes.Contains(joined, []byte(ProviderName))
}

// xmlEvent is the part of an <Event> element that is read.
type xmlEvent struct {
	XMLName xml.Name
	System  struct {
		Provider struct {
			Name            string `xml:"Name,attr"`
			EventSourceName string `xml:"EventSourceName,attr"`
		}
		EventID     string
		TimeCreated struct {
			SystemTime string `xml:"SystemTime,attr"`
		}
		EventRecordID string
		Correlation   struct {
			ActivityID string `xml:"ActivityID,attr"`
		}
		Computer string
	}
	EventData     *eventDataXML
	RenderingInfo struct {
		Message string
	}
}

// Parse streams the <Event> elements of in into sink.
func (f xmlFormat) Parse(ctx context.Context, in *record.Input, sink record.Sink) error {
	max := in.Options.MaxLineBytes
	if max <= 0 {
		max = record.DefaultMaxLineBytes
	}
	sc := &eventScanner{r: decoded(in.R), max: max, line: 1}
	var pos positions
	for n := 0; ; n++ {
		if n&0x3ff == 0x3ff {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		chunk, line, status := sc.next()
		if status == scanDone {
			return sc.err
		}
		in.CountRecord()
		p := record.Position{File: in.Name, Line: pos.at(line), Format: f.Name()}
		switch status {
		case scanTooLong:
			sink.Reject(&record.Reject{Pos: p, Reason: fmt.Sprintf("%s (event over %d bytes)", record.ReasonLineTooLong, max), Excerpt: string(chunk)})
		case scanOpen:
			sink.Reject(&record.Reject{Pos: p, Reason: "event not closed (truncated file?)", Excerpt: string(chunk)})
		default:
			readEvent(chunk, line, p, in, sink)
		}
	}
}

// readEvent maps one complete <Event> element.
func readEvent(chunk []byte, line int64, p record.Position, in *record.Input, sink record.Sink) {
	var x xmlEvent
	if err := xml.NewDecoder(bytes.NewReader(chunk)).Decode(&x); err != nil {
		reason := "malformed event XML"
		var syn *xml.SyntaxError
		if errors.As(err, &syn) {
			reason = fmt.Sprintf("malformed event XML at line %d: %s", line+int64(syn.Line)-1, syn.Msg)
		}
		sink.Reject(&record.Reject{Pos: p, Reason: reason, Excerpt: string(chunk)})
		return
	}
	s := &x.System
	e := event{provider: s.Provider.Name, eventID: s.EventID, time: s.TimeCreated.SystemTime,
		computer: s.Computer, recordID: s.EventRecordID, correlation: s.Correlation.ActivityID,
		message: x.RenderingInfo.Message}
	if e.provider == "" {
		e.provider = s.Provider.EventSourceName
	}
	if x.EventData != nil {
		for _, d := range x.EventData.Data {
			e.data = append(e.data, d.Value)
		}
		e.hasData = len(e.data) > 0
	}
	emit(sink, p, &e, in.Options.Loc(), string(chunk))
}

// Scan results.
const (
	scanEvent   = iota // a complete <Event> element
	scanOpen           // an element cut off by the next one or the end of the file
	scanTooLong        // the start of an element over the bound
	scanDone
)

// eventScanner splits a stream into its <Event> elements without parsing
// it: the tags of the event schema are the only place "<Event" and
// "</Event>" can occur unescaped, so an element cut off or broken is
// rejected alone and the next one is found. No more than max bytes of an
// element are buffered.
type eventScanner struct {
	r    io.Reader
	max  int
	buf  []byte
	off  int   // buf[off:] is unread
	line int64 // line of buf[off]
	eof  bool
	err  error
}

var (
	startTag = []byte("<Event")
	endTag   = []byte("</Event")
)

// fill reads more of the stream; false at its end.
func (s *eventScanner) fill() bool {
	if s.eof {
		return false
	}
	if s.off > 0 && s.off >= len(s.buf)/2 {
		s.buf = s.buf[:copy(s.buf, s.buf[s.off:])]
		s.off = 0
	}
	if cap(s.buf)-len(s.buf) < 32<<10 {
		nb := make([]byte, len(s.buf), 2*cap(s.buf)+64<<10)
		copy(nb, s.buf)
		s.buf = nb
	}
	n, err := s.r.Read(s.buf[len(s.buf):cap(s.buf)])
	s.buf = s.buf[:len(s.buf)+n]
	if err != nil {
		s.eof = true
		if err != io.EOF {
			s.err = err
		}
	}
	return true
}

// discard drops n unread bytes, counting their lines.
func (s *eventScanner) discard(n int) {
	s.line += int64(bytes.Count(s.buf[s.off:s.off+n], []byte{'\n'}))
	s.off += n
}

// find returns the offset in b of the first start tag of an Event
// element at or after from (for end, the offset just past the first end
// tag), -1 when there is none, and whether b ends in a tag's name before
// it can tell. A tag may also begin in b's last bytes: callers keep them.
func find(b []byte, from int, tag []byte, end bool) (int, bool) {
	for from < len(b) {
		i := bytes.Index(b[from:], tag)
		if i < 0 {
			return -1, false
		}
		i += from
		j := i + len(tag)
		if end {
			for j < len(b) && (b[j] == ' ' || b[j] == '\t' || b[j] == '\r' || b[j] == '\n') {
				j++
			}
			if j >= len(b) {
				return -1, true
			}
			if b[j] == '>' {
				return j + 1, false
			}
		} else {
			if j >= len(b) {
				return -1, true
			}
			switch b[j] {
			case ' ', '\t', '\r', '\n', '>', '/':
				return i, false
			}
		}
		from = i + 1
	}
	return -1, false
}

// next returns the next element (or its start), the line it starts on and
// what it is.
func (s *eventScanner) next() ([]byte, int64, int) {
	for {
		view := s.buf[s.off:]
		i, _ := find(view, 0, startTag, false)
		if i < 0 {
			// keep the last bytes: a tag may begin there
			s.discard(len(view) - min(len(view), len(startTag)+16))
			if !s.fill() {
				s.discard(len(s.buf) - s.off)
				return nil, 0, scanDone
			}
			continue
		}
		s.discard(i)
		return s.element()
	}
}

// element reads the element that starts at s.off.
func (s *eventScanner) element() ([]byte, int64, int) {
	line := s.line
	for {
		view := s.buf[s.off:]
		end, _ := find(view, len(startTag), endTag, true)
		next, _ := find(view, 1, startTag, false)
		switch {
		case next >= 0 && (end < 0 || next < end) && next <= s.max:
			chunk := view[:next]
			s.discard(next)
			return chunk, line, scanOpen
		case end >= 0 && end <= s.max:
			chunk := view[:end]
			s.discard(end)
			return chunk, line, scanEvent
		case next >= 0 || end >= 0 || len(view) > s.max:
			chunk := append([]byte(nil), view[:256]...)
			s.skip()
			return chunk, line, scanTooLong
		}
		if !s.fill() {
			chunk := view
			s.discard(len(view))
			return chunk, line, scanOpen
		}
	}
}

// skip drops the rest of an over-long element: up to its end tag or the
// next element's start.
func (s *eventScanner) skip() {
	s.discard(len(startTag))
	for {
		view := s.buf[s.off:]
		end, _ := find(view, 0, endTag, true)
		next, _ := find(view, 0, startTag, false)
		switch {
		case next >= 0 && (end < 0 || next < end):
			s.discard(next)
			return
		case end >= 0:
			s.discard(end)
			return
		}
		s.discard(len(view) - min(len(view), len(endTag)+16))
		if !s.fill() {
			s.discard(len(s.buf) - s.off)
			return
		}
	}
}
