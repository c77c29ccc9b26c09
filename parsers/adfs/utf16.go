package adfs

import (
	"bufio"
	"bytes"
	"io"
	"unicode/utf16"
	"unicode/utf8"
)

var (
	bomUTF8    = []byte("\xef\xbb\xbf")
	bomUTF16LE = []byte("\xff\xfe")
	bomUTF16BE = []byte("\xfe\xff")
)

// decoded returns r as UTF-8 text: a UTF-16 stream (with its byte order
// mark: what PowerShell 5's > and Out-File write) is transcoded, and a
// UTF-8 byte order mark is dropped.
func decoded(r io.Reader) io.Reader {
	br := bufio.NewReaderSize(r, 64<<10)
	head, _ := br.Peek(3)
	switch {
	case bytes.HasPrefix(head, bomUTF8):
		br.Discard(3)
	case bytes.HasPrefix(head, bomUTF16LE):
		br.Discard(2)
		return &utf16Reader{r: br, pending: -1}
	case bytes.HasPrefix(head, bomUTF16BE):
		br.Discard(2)
		return &utf16Reader{r: br, bigEndian: true, pending: -1}
	}
	return br
}

// decodedSample returns the sample lines as UTF-8: lines split from a
// UTF-16 file are joined and transcoded again.
func decodedSample(sample [][]byte) [][]byte {
	if len(sample) == 0 {
		return sample
	}
	first := sample[0]
	if !bytes.HasPrefix(first, bomUTF16LE) && !bytes.HasPrefix(first, bomUTF16BE) {
		if bytes.HasPrefix(first, bomUTF8) {
			out := append([][]byte{first[3:]}, sample[1:]...)
			return out
		}
		return sample
	}
	text, _ := io.ReadAll(decoded(bytes.NewReader(bytes.Join(sample, []byte("\n")))))
	var out [][]byte
	for _, l := range bytes.Split(text, []byte("\n")) {
		if len(bytes.TrimSpace(l)) > 0 {
			out = append(out, l)
		}
	}
	return out
}

// utf16Reader transcodes UTF-16 to UTF-8; unpaired surrogates and an odd
// last byte become U+FFFD.
type utf16Reader struct {
	r         *bufio.Reader
	bigEndian bool
	out       []byte
	pending   rune // a code unit read ahead, or -1
}

func (u *utf16Reader) unit() (rune, error) {
	if u.pending >= 0 {
		r := u.pending
		u.pending = -1
		return r, nil
	}
	var b [2]byte
	n, err := io.ReadFull(u.r, b[:])
	switch {
	case n == 1:
		return utf8.RuneError, nil
	case err != nil:
		return 0, io.EOF
	}
	if u.bigEndian {
		return rune(b[0])<<8 | rune(b[1]), nil
	}
	return rune(b[1])<<8 | rune(b[0]), nil
}

func (u *utf16Reader) Read(p []byte) (int, error) {
	for len(u.out) < len(p) && len(u.out) < 4096 {
		r, err := u.unit()
		if err != nil {
			if len(u.out) == 0 {
				return 0, err
			}
			break
		}
		if utf16.IsSurrogate(r) {
			r2, err := u.unit()
			switch {
			case err != nil:
				r = utf8.RuneError
			case r < 0xdc00 && r2 >= 0xdc00 && r2 <= 0xdfff:
				r = utf16.DecodeRune(r, r2)
			default:
				r, u.pending = utf8.RuneError, r2
			}
		}
		u.out = utf8.AppendRune(u.out, r)
	}
	n := copy(p, u.out)
	u.out = u.out[:copy(u.out, u.out[n:])]
	return n, nil
}
