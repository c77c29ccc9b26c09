package analyzer

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/forgehunt/forgehunt/parsers"
)

// Progress counts an ingest as it runs, for a display that polls it from
// another goroutine: the files and bytes to read (known once the paths are
// expanded), those finished, the bytes of the files being read, and the
// records and rejects of the finished files.
type Progress struct {
	FilesTotal, BytesTotal atomic.Int64
	FilesDone, BytesDone   atomic.Int64
	Records, Rejects       atomic.Int64
	Started                time.Time

	mu   sync.Mutex
	open map[*parsers.Opened]struct{}
}

// BytesRead is the bytes of the finished files and what was read of the
// open ones.
func (p *Progress) BytesRead() int64 {
	n := p.BytesDone.Load()
	p.mu.Lock()
	for o := range p.open {
		n += o.RawRead()
	}
	p.mu.Unlock()
	return n
}

func (p *Progress) track(o *parsers.Opened) {
	if p == nil {
		return
	}
	p.mu.Lock()
	if p.open == nil {
		p.open = map[*parsers.Opened]struct{}{}
	}
	p.open[o] = struct{}{}
	p.mu.Unlock()
}

func (p *Progress) untrack(o *parsers.Opened) {
	if p == nil {
		return
	}
	p.mu.Lock()
	delete(p.open, o)
	p.mu.Unlock()
}

// done counts a finished file.
func (p *Progress) done(r SourceResult) {
	if p == nil {
		return
	}
	p.FilesDone.Add(1)
	p.BytesDone.Add(r.Size)
	p.Records.Add(r.RecordsRead)
	p.Rejects.Add(r.Rejects)
}

// ETA estimates the time left from the bytes read so far; 0 when it cannot
// be told yet.
func (p *Progress) ETA(now time.Time) time.Duration {
	read, total := p.BytesRead(), p.BytesTotal.Load()
	elapsed := now.Sub(p.Started)
	if read <= 0 || total <= read || elapsed <= 0 {
		return 0
	}
	return time.Duration(float64(elapsed) * float64(total-read) / float64(read))
}
