package parsers

import (
	"bytes"
	"errors"
	"io"
	"sync"
)

// Chunk is a run of whole lines of an input.
type Chunk struct {
	Data      []byte
	FirstLine int64 // number of its first line in the input
	buf       []byte
}

// chunkBufs are the buffers of released chunks, for the next ones.
var chunkBufs sync.Pool

// Release gives c's memory back for the chunks to come: nothing may hold
// c.Data (or anything made from it without a copy) afterwards.
func (c Chunk) Release() {
	if c.buf != nil {
		chunkBufs.Put(c.buf[:0])
	}
}

// newChunkBuf is a released buffer of at least n bytes, or a new one.
func newChunkBuf(n int) []byte {
	if b, ok := chunkBufs.Get().([]byte); ok && cap(b) >= n {
		return b[:0]
	}
	return make([]byte, 0, n)
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
//
// It reads into the chunk being built and hands that buffer on, so that the
// bytes are not copied on the way (only the unfinished tail of a chunk is).
func SplitLinesAt(r io.Reader, size, maxLine int, cutAfter func(line []byte) bool, emit func(Chunk) error) error {
	readLen := min(256<<10, max(size, 1))
	bufCap := size + readLen + maxLine + 3
	line := int64(1)
	buf := newChunkBuf(bufCap)
	open := 0         // bytes of buf since its last newline: the line in progress
	lines := 0        // newlines in buf
	skipping := false // inside an over-long line, discarding until its end
	var readErr error
	for readErr == nil {
		if cap(buf)-len(buf) < readLen {
			// no cut was allowed (partial lines): grow
			buf = append(make([]byte, 0, 2*cap(buf)), buf...)
		}
		w := len(buf)
		n, err := r.Read(buf[w : w+readLen])
		if err != nil {
			readErr = err
		}
		// The new bytes buf[w:w+n], checked line by line in place; the
		// rest of an over-long line is dropped (what follows it is moved
		// down over it).
		end := w + n
		buf = buf[:end]
		for pos := w; pos < end; {
			if skipping {
				i := bytes.IndexByte(buf[pos:end], '\n')
				if i < 0 {
					break
				}
				buf[w] = '\n'
				w++
				pos += i + 1
				skipping, open = false, 0
				lines++
				continue
			}
			room := maxLine + 3 - open // past the line reader's bound, line ending included
			i := bytes.IndexByte(buf[pos:end], '\n')
			take := 0
			switch {
			case i >= 0 && i < room:
				take, open = i+1, 0
				lines++
			case i < 0 && end-pos < room:
				take = end - pos
				open += take
			default: // the line passes maxLine: keep maxLine+1 bytes of it
				take, skipping = room, true
			}
			if w != pos {
				copy(buf[w:], buf[pos:pos+take])
			}
			w += take
			pos += take
		}
		buf = buf[:w]
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
				chunk := Chunk{Data: buf[:cut:cut], FirstLine: line, buf: buf}
				n := lines // every newline of buf is in the chunk, unless cutAfter moved the cut back
				if cutAfter != nil {
					n = bytes.Count(chunk.Data, []byte{'\n'})
				}
				line += int64(n)
				lines -= n
				buf = append(newChunkBuf(bufCap), buf[cut:]...)
				if err := emit(chunk); err != nil {
					return err
				}
			}
		}
	}
	if len(buf) > 0 {
		if err := emit(Chunk{Data: buf, FirstLine: line, buf: buf}); err != nil {
			return err
		}
	}
	if errors.Is(readErr, io.EOF) {
		return nil
	}
	return readErr
}
