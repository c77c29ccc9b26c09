package record

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// DefaultMaxLineBytes bounds one log line. Real access-log lines with a bearer
// token are a few KiB; a line past this is rejected, not buffered.
const DefaultMaxLineBytes = 1 << 20

// ReasonLineTooLong is the reject reason for a line over the bound.
const ReasonLineTooLong = "line too long"

// EachLine calls fn for every line of in.R (without the line ending), with its
// 1-based number. Empty lines (blank or white space only) are skipped. A line
// longer than the bound is not passed to fn: it is rejected to sink with its
// position and its first 256 bytes, and skipped; no more than the bound is
// ever buffered. Every line passed to fn or
// rejected is counted in in.Stats; fn must end each line it gets in exactly
// one Sink call (a row, a Reject or an Ignore). Lines that are not valid UTF-8 are passed on; the format
// decides what to do with them (see ValidUTF8).
//
// EachLine returns the read error that stopped it (nil at EOF), or ctx.Err().
func EachLine(ctx context.Context, in *Input, format string, sink Sink, fn func(lineNo int64, line []byte)) error {
	max := in.Options.MaxLineBytes
	if max <= 0 {
		max = DefaultMaxLineBytes
	}
	var br *bufio.Reader
	if in.Data == nil {
		br = bufio.NewReaderSize(in.R, 64<<10)
	}
	first := in.FirstLine
	if first < 1 {
		first = 1
	}
	var (
		lineNo      int64
		buf         []byte
		pending     []byte // joined CRI/Docker partial lines
		pendingLine int64
		dataPos     int    // in in.Data
		long        []byte // the start of an over-long line of in.Data
	)
	lineNo = first - 1
	for {
		if lineNo&0x3ff == 0x3ff {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		lineNo++
		buf = buf[:0]
		tooLong := false
		var total int64
		var readErr error
		if in.Data != nil {
			// the whole input in memory: lines are read in place
			rest := in.Data[dataPos:]
			chunk := rest
			if i := bytes.IndexByte(rest, '\n'); i >= 0 {
				chunk = rest[:i+1]
			} else {
				readErr = io.EOF
			}
			dataPos += len(chunk)
			total = int64(len(chunk))
			if len(chunk) > max+2 { // +2 for the line ending
				tooLong = true
				long = append(long[:0], chunk[:min(len(chunk), 256)]...)
				buf = long
			} else {
				buf = chunk
			}
		}
		for in.Data == nil {
			chunk, err := br.ReadSlice('\n')
			total += int64(len(chunk))
			if !tooLong {
				if len(buf)+len(chunk) > max+2 { // +2 for the line ending
					tooLong = true
					if len(buf) < 256 {
						buf = append(buf, chunk[:min(len(chunk), 256-len(buf))]...)
					}
				} else {
					buf = append(buf, chunk...)
				}
			}
			if err == nil {
				break
			}
			if errors.Is(err, bufio.ErrBufferFull) {
				continue
			}
			readErr = err
			break
		}
		if tooLong {
			in.CountRecord()
			sink.Reject(&Reject{
				Pos:     Position{File: in.Name, Line: lineNo, Format: format},
				Reason:  fmt.Sprintf("%s (%d bytes, limit %d)", ReasonLineTooLong, total, max),
				Excerpt: string(buf[:min(len(buf), 256)]),
			})
		} else {
			line := bytes.TrimRight(buf, "\r\n")
			recordLine := lineNo
			emit := len(bytes.TrimSpace(line)) > 0
			if env := in.Options.Envelope; env != nil && emit {
				// Unwrap the shipper's envelope; a CRI or Docker partial line
				// waits for its rest and the record takes the first line's number.
				inner, t, partial, ok := env.Unwrap(line)
				in.lineTime = t
				switch {
				case ok && partial:
					if pending == nil {
						pendingLine = lineNo
					}
					pending = append(pending, inner...)
					if len(pending) > max {
						line, pending, emit = pending, nil, true
						recordLine = pendingLine
						in.CountRecord()
						sink.Reject(&Reject{
							Pos:     Position{File: in.Name, Line: recordLine, Format: format},
							Reason:  fmt.Sprintf("%s (partial lines joined past limit %d)", ReasonLineTooLong, max),
							Excerpt: string(line[:min(len(line), 256)]),
						})
						emit = false
					} else {
						emit = false
					}
				case ok:
					if pending != nil {
						inner = append(pending, inner...)
						recordLine, pending = pendingLine, nil
					}
					line = inner
					emit = len(bytes.TrimSpace(line)) > 0
				}
			}
			if emit {
				in.CountRecord()
				fn(recordLine, line)
			}
		}
		if readErr != nil {
			if pending != nil {
				in.CountRecord()
				fn(pendingLine, pending)
			}
			if readErr == io.EOF {
				return nil
			}
			return readErr
		}
	}
}

// ValidUTF8 reports whether line is valid UTF-8 and, if not, rejects it.
func ValidUTF8(line []byte, pos Position, sink Sink) bool {
	if utf8.Valid(line) {
		return true
	}
	sink.Reject(&Reject{Pos: pos, Reason: "invalid UTF-8", Excerpt: string(line)})
	return false
}

// Excerpt truncates s to at most n bytes and escapes control characters,
// invalid UTF-8 and terminal escape sequences, so that text read from a log can
// be shown on a terminal or stored safely.
func Excerpt(s string, n int) string {
	truncated := false
	if len(s) > n {
		s = s[:n]
		truncated = true
	}
	out := Escape(s)
	if truncated {
		out += "…"
	}
	return out
}

// Escape makes untrusted text safe for a terminal: control characters (C0,
// DEL, C1), and invalid UTF-8 bytes are written as Go-style escapes; printable
// text, including non-ASCII letters, is kept.
func Escape(s string) string {
	// printable ASCII, the common case, needs no rune decoding
	i := 0
	for i < len(s) && s[i] >= 0x20 && s[i] < 0x7f {
		i++
	}
	if i == len(s) {
		return s
	}
	clean := true
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size <= 1 || isControl(r) {
			clean = false
			break
		}
		i += size
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case isControl(r):
			if r < 0x100 {
				fmt.Fprintf(&b, `\x%02x`, r)
			} else {
				fmt.Fprintf(&b, `\u%04x`, r)
			}
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

func isControl(r rune) bool {
	return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) ||
		r == 0x2028 || r == 0x2029 || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) // line separators, bidi overrides
}
