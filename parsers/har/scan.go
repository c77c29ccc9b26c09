package har

import (
	"bytes"
	"errors"
	"io"
)

// errCutOff is the end of the input inside a JSON value.
var errCutOff = errors.New("cut off (truncated file?)")

// scanner reads the elements of log.entries from the byte after its "[".
// It finds where an element ends by its brackets and strings alone (the
// element is checked by encoding/json afterwards), so that it can step
// over an element of any size and go on with the next: it copies at most
// maxKeep bytes of an element, and a string longer than maxString (a
// response body kept in the capture, an upload) is copied as null, so
// that neither is ever held whole.
type scanner struct {
	r         io.Reader
	buf       []byte
	i, n      int
	off       int64 // file offset of buf[i]
	line      int64 // 1-based line of buf[i]
	err       error // what ended the input: io.EOF at its end
	maxKeep   int
	maxString int
	out       []byte // the copy of the last element
}

// element is one array element as scanned.
type element struct {
	raw    []byte // the copy, valid until the next scan: its start when over
	over   bool   // the element is longer than maxKeep once strings are dropped
	size   int64  // bytes of the element in the file
	elided int    // strings copied as null
}

func newScanner(r io.Reader, off, line int64, maxKeep, maxString int) *scanner {
	return &scanner{r: r, buf: make([]byte, 64<<10), off: off, line: line, maxKeep: maxKeep, maxString: maxString}
}

// fill makes buf[i:n] non-empty, reading; false at the end of the input.
func (s *scanner) fill() bool {
	if s.i < s.n {
		return true
	}
	for empty := 0; s.err == nil; empty++ {
		n, err := s.r.Read(s.buf)
		s.i, s.n, s.err = 0, n, err
		if n > 0 {
			return true
		}
		if err == nil && empty == 100 {
			s.err = io.ErrNoProgress
		}
	}
	return false
}

// readErr is why the input ended: errCutOff at its end, else the read
// error.
func (s *scanner) readErr() error {
	if s.err == io.EOF || s.err == nil {
		return errCutOff
	}
	return s.err
}

// skipSpace steps over JSON white space and returns the next byte, not
// consumed; false at the end of the input.
func (s *scanner) skipSpace() (byte, bool) {
	for s.fill() {
		for s.i < s.n {
			switch c := s.buf[s.i]; c {
			case '\n':
				s.line++
				fallthrough
			case ' ', '\t', '\r':
				s.i++
				s.off++
			default:
				return c, true
			}
		}
	}
	return 0, false
}

// skipByte consumes the byte skipSpace returned (never a newline).
func (s *scanner) skipByte() {
	s.i++
	s.off++
}

// element scans the value that starts at the next byte (not white space):
// an object, array or string to its closing byte, any other value up to
// the next delimiter. It returns errCutOff or the read error when the
// input ends first, with what was copied.
func (s *scanner) element() (element, error) {
	s.out = s.out[:0]
	var (
		el       element
		depth    int
		inStr    bool
		esc      bool
		drop     bool  // the current string is being dropped
		strOpen  int64 // file offset of its opening quote
		strStart int   // index of its opening quote in out
		start    = s.off
		hardCap  = s.maxKeep + s.maxString
	)
	if !s.fill() {
		return el, s.readErr()
	}
	c0 := s.buf[s.i]
	scalar := c0 != '{' && c0 != '[' && c0 != '"'
	for {
		if !s.fill() {
			el.raw = s.out
			el.size = s.off - start
			return el, s.readErr()
		}
		chunk := s.buf[s.i:s.n]
		from := 0 // chunk[from:] is still to copy; -1 while dropping
		if drop {
			from = -1
		}
		end := -1
	scan:
		for j := 0; j < len(chunk); j++ {
			c := chunk[j]
			if inStr {
				switch {
				case esc:
					esc = false
				case c == '\\':
					esc = true
				case c == '"':
					inStr = false
					switch {
					case drop:
						drop, from = false, j+1
					case s.off+int64(j)-strOpen-1 > int64(s.maxString) && !el.over:
						s.out = s.copyUpTo(s.out, chunk[from:j+1], hardCap, &el)
						if !el.over {
							s.out = append(s.out[:strStart], "null"...)
							el.elided++
						}
						from = j + 1
					}
					if depth == 0 {
						end = j + 1
						break scan
					}
				}
				continue
			}
			switch c {
			case '"':
				inStr, strOpen = true, s.off+int64(j)
				strStart = len(s.out) + j - from
			case '{', '[':
				if scalar {
					end = j
					break scan
				}
				depth++
			case '}', ']':
				if scalar {
					end = j
					break scan
				}
				depth--
				if depth <= 0 {
					end = j + 1
					break scan
				}
			case ',', ' ', '\t', '\r', '\n':
				if scalar {
					end = j
					break scan
				}
			}
		}
		upto := len(chunk)
		if end >= 0 {
			upto = end
		}
		if from >= 0 && from < upto {
			s.out = s.copyUpTo(s.out, chunk[from:upto], hardCap, &el)
		}
		if inStr && !drop && end < 0 && s.off+int64(upto)-strOpen-1 > int64(s.maxString) && !el.over {
			// a long string: dropped from here to its end
			s.out = append(s.out[:strStart], "null"...)
			el.elided++
			drop = true
		}
		s.line += int64(bytes.Count(chunk[:upto], []byte{'\n'}))
		s.i += upto
		s.off += int64(upto)
		if end >= 0 {
			if len(s.out) > s.maxKeep {
				el.over = true
			}
			el.raw, el.size = s.out, s.off-start
			if el.over && len(el.raw) > 256 {
				el.raw = el.raw[:256]
			}
			return el, nil
		}
	}
}

// copyUpTo appends b to out unless out would grow past limit: then the
// element is over, and nothing more is copied.
func (s *scanner) copyUpTo(out, b []byte, limit int, el *element) []byte {
	if el.over {
		return out
	}
	if len(out)+len(b) > limit {
		el.over = true
		if n := 256 - len(out); n > 0 {
			out = append(out, b[:min(n, len(b))]...)
		}
		return out
	}
	return append(out, b...)
}

// drain reads the rest of the input and returns the read error, if any.
func (s *scanner) drain() error {
	s.i = s.n
	if s.err == nil {
		_, s.err = io.Copy(io.Discard, s.r)
		if s.err == nil {
			return nil
		}
	}
	if s.err == io.EOF {
		return nil
	}
	return s.err
}
