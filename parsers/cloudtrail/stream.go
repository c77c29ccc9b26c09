package cloudtrail

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// errTruncated is the end of the input inside a JSON value.
var errTruncated = errors.New("the file ends inside this value (truncated?)")

// stream reads JSON text from a buffered reader, finding the ends of
// values by their brackets and strings without parsing them (fastjson
// checks each value it captures), counting lines, and capturing the bytes
// of the value being read up to a bound. Strings and nested values are
// scanned in the reader's buffer, structure outside them a byte at a time.
type stream struct {
	r    *bufio.Reader
	line int64 // line of the next byte, 1-based
	err  error // the read error that ended the input (io.EOF at its end)

	capturing bool
	capture   []byte
	capMax    int
	overflow  int64 // bytes of the captured value past capMax
}

func newStream(r *bufio.Reader, capMax int) *stream {
	return &stream{r: r, line: 1, capMax: capMax}
}

// next consumes one byte; ok is false at the end of the input.
func (s *stream) next() (byte, bool) {
	if s.err != nil {
		return 0, false
	}
	c, err := s.r.ReadByte()
	if err != nil {
		s.err = err
		return 0, false
	}
	if c == '\n' {
		s.line++
	}
	if s.capturing {
		if len(s.capture) < s.capMax {
			s.capture = append(s.capture, c)
		} else {
			s.overflow++
		}
	}
	return c, true
}

// peek returns the next byte without consuming it.
func (s *stream) peek() (byte, bool) {
	if s.err != nil {
		return 0, false
	}
	b, err := s.r.Peek(1)
	if err != nil {
		s.err = err
		return 0, false
	}
	return b[0], true
}

// space consumes white space (and a UTF-8 byte order mark) and returns the
// next byte, not consumed.
func (s *stream) space() (byte, bool) {
	for {
		c, ok := s.peek()
		if !ok {
			return 0, false
		}
		switch c {
		case ' ', '\t', '\r', '\n':
			s.next()
		case 0xef:
			if b, err := s.r.Peek(3); err == nil && string(b) == bom {
				s.r.Discard(3)
				continue
			}
			return c, true
		default:
			return c, true
		}
	}
}

// begin starts capturing the bytes consumed from now on.
func (s *stream) begin() {
	s.capturing, s.capture, s.overflow = true, s.capture[:0], 0
}

// end stops capturing and returns what was captured (valid until the next
// begin) and its whole length.
func (s *stream) end() ([]byte, int64) {
	s.capturing = false
	return s.capture, int64(len(s.capture)) + s.overflow
}

// chunk returns the bytes buffered, reading more when there are none;
// nil at the end of the input.
func (s *stream) chunk() []byte {
	if s.r.Buffered() == 0 {
		if _, ok := s.peek(); !ok {
			return nil
		}
	}
	b, _ := s.r.Peek(s.r.Buffered())
	return b
}

// take consumes the next n buffered bytes, as next would one by one.
func (s *stream) take(n int) {
	b, _ := s.r.Peek(n)
	s.line += int64(bytes.Count(b, []byte("\n")))
	if s.capturing {
		room := max(s.capMax-len(s.capture), 0)
		if room >= len(b) {
			s.capture = append(s.capture, b...)
		} else {
			s.capture = append(s.capture, b[:room]...)
			s.overflow += int64(len(b) - room)
		}
	}
	s.r.Discard(n)
}

// str consumes the rest of a string whose opening quote was consumed,
// through its closing quote, and returns its raw content when keep is set
// (escapes left as they are, at most 256 bytes).
func (s *stream) str(keep bool) ([]byte, error) {
	var raw []byte
	for {
		b := s.chunk()
		if b == nil {
			return nil, errTruncated
		}
		i := 0
		for i < len(b) && b[i] != '"' && b[i] != '\\' {
			i++
		}
		if keep && len(raw) < 256 {
			raw = append(raw, b[:min(i, 256-len(raw))]...)
		}
		if i == len(b) {
			s.take(i)
			continue
		}
		s.take(i + 1)
		if b[i] == '"' {
			return raw, nil
		}
		e, ok := s.next() // the escaped byte
		if !ok {
			return nil, errTruncated
		}
		if keep && len(raw) < 255 {
			raw = append(raw, '\\', e)
		}
	}
}

// value consumes one JSON value starting at the next byte (white space
// skipped): a string, an object or array through its closing bracket
// (brackets counted, not matched: the value is checked when parsed), or a
// bare word or number up to the next delimiter.
func (s *stream) value() error {
	c, ok := s.space()
	if !ok {
		return errTruncated
	}
	switch c {
	case '"':
		s.next()
		_, err := s.str(false)
		return err
	case '{', '[':
		return s.nested()
	case '}', ']', ',', ':':
		s.next() // a stray delimiter: one byte, which the parser refuses
		return nil
	}
	for {
		c, ok := s.peek()
		if !ok || isDelim(c) {
			return nil
		}
		s.next()
	}
}

// nested consumes an object or array whose opening bracket is next.
func (s *stream) nested() error {
	depth := 0
	for {
		b := s.chunk()
		if b == nil {
			return errTruncated
		}
		i, quote, closed := 0, false, false
	scan:
		for ; i < len(b); i++ {
			switch b[i] {
			case '"':
				quote = true
				break scan
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					closed = true
					break scan
				}
			}
		}
		switch {
		case closed:
			s.take(i + 1)
			return nil
		case quote:
			s.take(i + 1)
			if _, err := s.str(false); err != nil {
				return err
			}
		default:
			s.take(len(b))
		}
	}
}

// restOfLine consumes the input through the next line feed.
func (s *stream) restOfLine() {
	for {
		b := s.chunk()
		if b == nil {
			return
		}
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			s.take(i + 1)
			return
		}
		s.take(len(b))
	}
}

// readErr is the error that ended the input, nil at its end.
func (s *stream) readErr() error {
	if s.err == io.EOF {
		return nil
	}
	return s.err
}

func isDelim(c byte) bool {
	switch c {
	case ' ', '\t', '\r', '\n', ',', ':', '[', ']', '{', '}', '"':
		return true
	}
	return false
}
