package parsers

import (
	"bytes"
	"errors"
	"io"
)

// Chunk is a run of whole lines of an input.
type Chunk struct {
	Data      []byte
	FirstLine int64 // number of its first line in the input
}

// SplitLines reads r and calls emit with consecutive chunks of about size
// bytes, each cut after a newline, numbered by their first line. A line
// longer than maxLine is cut inside its chunk (so that the line reader
// rejects it as too long) and the rest of it is skipped without being
// buffered (it keeps maxLine+3 bytes: past what the line reader
// accepts with a line ending). It returns the read error that stopped it, nil at EOF, or
// the first error emit returns.
func SplitLines(r io.Reader, size, maxLine int, emit func(Chunk) error) error {
	return SplitLinesAt(r, size, maxLine, nil, emit)
}

// SplitLinesAt is SplitLines that cuts only after a line for which cutAfter
// returns true (nil: any line); a container runtime's partial line must stay
// with the rest of its record.
func SplitLinesAt(r io.Reader, size, maxLine int, cutAfter func(line []byte) bool, emit func(Chunk) error) error {
	line := int64(1)
	buf := make([]byte, 0, size+maxLine+2)
	var readErr error
	skipping := false // inside an over-long line, discarding until its end
	tmp := make([]byte, 256<<10)
	for readErr == nil {
		n, err := r.Read(tmp)
		data := tmp[:n]
		if err != nil {
			readErr = err
		}
		for len(data) > 0 {
			if skipping {
				i := bytes.IndexByte(data, '\n')
				if i < 0 {
					data = nil
					break
				}
				buf = append(buf, '\n')
				data = data[i+1:]
				skipping = false
				continue
			}
			// Bytes since the last newline in buf: the line in progress.
			last := bytes.LastIndexByte(buf, '\n')
			open := len(buf) - last - 1
			room := maxLine + 3 - open // past the line reader's bound, line ending included
			i := bytes.IndexByte(data, '\n')
			switch {
			case i >= 0 && i < room:
				buf = append(buf, data[:i+1]...)
				data = data[i+1:]
			case i < 0 && len(data) < room:
				buf = append(buf, data...)
				data = nil
			default: // the line passes maxLine: keep maxLine+1 bytes of it
				buf = append(buf, data[:room]...)
				data = data[room:]
				skipping = true
			}
			if len(buf) >= size && !skipping {
				cut := bytes.LastIndexByte(buf, '\n') + 1
				for cut > 0 && cutAfter != nil {
					start := bytes.LastIndexByte(buf[:cut-1], '\n') + 1
					if cutAfter(buf[start : cut-1]) {
						break
					}
					cut = start
				}
				if cut > 0 {
					chunk := Chunk{Data: append([]byte(nil), buf[:cut]...), FirstLine: line}
					line += int64(bytes.Count(chunk.Data, []byte{'\n'}))
					if err := emit(chunk); err != nil {
						return err
					}
					buf = append(buf[:0], buf[cut:]...)
				}
			}
		}
	}
	if len(buf) > 0 {
		if err := emit(Chunk{Data: append([]byte(nil), buf...), FirstLine: line}); err != nil {
			return err
		}
	}
	if errors.Is(readErr, io.EOF) {
		return nil
	}
	return readErr
}
