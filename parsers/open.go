package parsers

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// Limits on decompression: an input may expand to at most MaxExpandRatio
// times its compressed size, and never past MaxExpandedBytes, whichever is
// larger-sized first. Real logs compress 5-20x; a bomb compresses 1000x.
const (
	MaxExpandRatio   = 200
	MaxExpandedBytes = 64 << 30
	minRatioBudget   = 64 << 20 // small files may always expand to this much
)

// ErrBomb is returned by a reader whose decompressed stream passed the bounds.
var ErrBomb = errors.New("decompressed size passed the bound (possible decompression bomb); the rest of the file was not read")

// Expand turns command-line arguments (files, directories, globs) into a
// sorted, duplicate-free list of regular files. Directories are walked;
// hidden files and directories (".name") inside them are skipped. An argument
// that matches nothing is an error.
func Expand(args []string) ([]string, error) {
	seen := map[string]bool{}
	var out []string
	add := func(p string) {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	for _, arg := range args {
		matches := []string{arg}
		if strings.ContainsAny(arg, "*?[") {
			m, err := filepath.Glob(arg)
			if err != nil {
				return nil, fmt.Errorf("bad glob %q: %w", arg, err)
			}
			if len(m) == 0 {
				return nil, fmt.Errorf("%s: no files match", arg)
			}
			matches = m
		}
		for _, p := range matches {
			st, err := os.Stat(p)
			if err != nil {
				return nil, fmt.Errorf("%w", err)
			}
			if !st.IsDir() {
				add(p)
				continue
			}
			err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				if path != p && strings.HasPrefix(d.Name(), ".") {
					if d.IsDir() {
						return filepath.SkipDir
					}
					return nil
				}
				if d.Type().IsRegular() {
					add(path)
				}
				return nil
			})
			if err != nil {
				return nil, fmt.Errorf("walking %s: %w", p, err)
			}
		}
	}
	sort.Strings(out)
	return out, nil
}

// Compression names what Open found.
type Compression string

const (
	CompressionNone Compression = ""
	CompressionGzip Compression = "gzip"
	CompressionZstd Compression = "zstd"
)

// Opened is a decompressing reader over one file.
type Opened struct {
	io.Reader
	Compression Compression
	closers     []func() error
	file        *os.File
	hash        hash.Hash
	raw         countingReader
}

// RawRead is how many bytes of the file (compressed, as on disk) were
// read so far; safe to call from another goroutine (a progress display).
func (o *Opened) RawRead() int64 { return o.raw.n.Load() }

// countingReader counts what it reads, for another goroutine to see.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// HashRest writes what was not read of the file to the hash given to
// OpenHashing (a reader may stop early: a truncated archive, a format not
// recognised), so that it holds the whole file.
func (o *Opened) HashRest() error {
	if o.hash == nil {
		return nil
	}
	_, err := io.Copy(o.hash, o.file)
	return err
}

// Close releases the file and decompressor.
func (o *Opened) Close() error {
	var errs []error
	for i := len(o.closers) - 1; i >= 0; i-- {
		if err := o.closers[i](); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Open opens path and decompresses it by its magic bytes (not its name):
// gzip (concatenated members too) and zstd. The decompressed stream is bounded
// by MaxExpandRatio and MaxExpandedBytes; past them reads fail with ErrBomb.
func Open(path string) (*Opened, error) { return OpenHashing(path, nil) }

// OpenHashing is Open that also writes the file's bytes, as they are read,
// to h (nil: none), so that a file is hashed in the same pass as it is
// read; HashRest completes the hash.
func OpenHashing(path string, h hash.Hash) (*Opened, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	o := &Opened{closers: []func() error{f.Close}, file: f, hash: h}
	o.raw.r = f
	var raw io.Reader = &o.raw
	if h != nil {
		raw = io.TeeReader(f, h)
	}
	br := bufio.NewReaderSize(raw, 256<<10)
	magic, _ := br.Peek(4)
	budget := st.Size() * MaxExpandRatio
	if budget < minRatioBudget {
		budget = minRatioBudget
	}
	if budget > MaxExpandedBytes {
		budget = MaxExpandedBytes
	}
	switch {
	case len(magic) >= 2 && magic[0] == 0x1f && magic[1] == 0x8b:
		gz, err := gzip.NewReader(br)
		if err != nil {
			o.Close()
			return nil, fmt.Errorf("%s: gzip: %w", path, err)
		}
		o.closers = append(o.closers, gz.Close)
		o.Reader = &boundedReader{r: gz, left: budget}
		o.Compression = CompressionGzip
	case bytes.Equal(magic, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(1<<30))
		if err != nil {
			o.Close()
			return nil, fmt.Errorf("%s: zstd: %w", path, err)
		}
		o.closers = append(o.closers, func() error { zr.Close(); return nil })
		o.Reader = &boundedReader{r: zr, left: budget}
		o.Compression = CompressionZstd
	default:
		o.Reader = br
	}
	return o, nil
}

type boundedReader struct {
	r    io.Reader
	left int64
}

func (b *boundedReader) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, ErrBomb
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.r.Read(p)
	b.left -= int64(n)
	return n, err
}
