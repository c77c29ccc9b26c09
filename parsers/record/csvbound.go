package record

import (
	"bufio"
	"errors"
)

// ErrRecordTooLong is what a CSVBound's Read returns past its limit.
var ErrRecordTooLong = errors.New("record too long")

// CSVBound caps the bytes that encoding/csv may pull for one record:
// csv.Reader buffers a whole record, and one unterminated quote would make
// it buffer the rest of the file. Once Limit bytes have been read since the
// last Mark, Read fails with ErrRecordTooLong; Resync then skips to the end
// of the current line so that reading can go on.
type CSVBound struct {
	R     *bufio.Reader
	Limit int
	used  int
	last  byte // last byte handed out
	// LineAdjust corrects csv.Reader's line count after a Resync.
	LineAdjust int64
}

func (b *CSVBound) Read(p []byte) (int, error) {
	if b.used >= b.Limit {
		return 0, ErrRecordTooLong
	}
	if len(p) > b.Limit-b.used {
		p = p[:b.Limit-b.used]
	}
	n, err := b.R.Read(p)
	b.used += n
	if n > 0 {
		b.last = p[n-1]
	}
	return n, err
}

// Mark starts the count for a new record.
func (b *CSVBound) Mark() { b.used = 0 }

// Resync skips the rest of the line that was cut off. csv.Reader counted
// that line when it got the error; when the cut fell just after a newline
// it counted a line that is not there.
func (b *CSVBound) Resync() {
	b.used = 0
	if b.last == '\n' {
		b.LineAdjust--
		return
	}
	for {
		_, err := b.R.ReadSlice('\n')
		if err != bufio.ErrBufferFull {
			return
		}
	}
}
