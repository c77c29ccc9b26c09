package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/forgehunt/forgehunt/analyzer"
	"github.com/forgehunt/forgehunt/parsers/record"
)

// progressLine shows an ingest's progress on one terminal line, redrawn
// every refresh: files, bytes, rate, rejects and the time left estimated
// from the files' sizes.
type progressLine struct {
	w    io.Writer
	live *analyzer.Progress
	stop chan struct{}
	wg   sync.WaitGroup
	mu   sync.Mutex // the line and per-file lines (--verbose) share the terminal
}

const progressRefresh = 250 * time.Millisecond

func startProgress(w io.Writer, live *analyzer.Progress) *progressLine {
	p := &progressLine{w: w, live: live, stop: make(chan struct{})}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		t := time.NewTicker(progressRefresh)
		defer t.Stop()
		for {
			select {
			case <-p.stop:
				return
			case now := <-t.C:
				p.mu.Lock()
				fmt.Fprint(p.w, "\r\033[K"+progressText(p.live, now))
				p.mu.Unlock()
			}
		}
	}()
	return p
}

// println prints a line above the progress line.
func (p *progressLine) println(s string) {
	if p == nil {
		return
	}
	p.mu.Lock()
	fmt.Fprint(p.w, "\r\033[K"+s+"\n")
	p.mu.Unlock()
}

// end stops the display and clears its line.
func (p *progressLine) end() {
	if p == nil {
		return
	}
	close(p.stop)
	p.wg.Wait()
	fmt.Fprint(p.w, "\r\033[K")
}

// progressText is the progress line at now.
func progressText(l *analyzer.Progress, now time.Time) string {
	read, total := l.BytesRead(), l.BytesTotal.Load()
	elapsed := now.Sub(l.Started).Seconds()
	var b strings.Builder
	fmt.Fprintf(&b, "  files %d/%d  %s of %s", l.FilesDone.Load(), l.FilesTotal.Load(), byteSize(read), byteSize(total))
	if elapsed > 0 {
		fmt.Fprintf(&b, "  %s/s", byteSize(int64(float64(read)/elapsed)))
		if r := l.Records.Load(); r > 0 {
			fmt.Fprintf(&b, "  %s records/s", count(int64(float64(r)/elapsed)))
		}
	}
	if n := l.Rejects.Load(); n > 0 {
		fmt.Fprintf(&b, "  %s rejects", count(n))
	}
	if eta := l.ETA(now); eta > 0 {
		fmt.Fprintf(&b, "  ETA %s", eta.Round(time.Second))
	}
	return b.String()
}

func byteSize(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.0f KB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

func count(n int64) string {
	switch {
	case n >= 1_000_000:
		return fmt.Sprintf("%.1fM", float64(n)/1e6)
	case n >= 10_000:
		return fmt.Sprintf("%.0fk", float64(n)/1e3)
	}
	return fmt.Sprint(n)
}

// fileLine is a finished file, as --verbose prints it.
func fileLine(r analyzer.SourceResult) string {
	if r.Skipped != "" {
		return fmt.Sprintf("  skipped %s: %s", record.Escape(r.Path), record.Escape(r.Skipped))
	}
	s := fmt.Sprintf("  read %s: %s, %d records, %d rejects (%s)", record.Escape(r.Path), r.Format, r.RecordsRead, r.Rejects,
		r.Duration.Round(time.Millisecond))
	if r.ReadErr != nil {
		s += "; stopped: " + record.Escape(r.ReadErr.Error())
	}
	return s
}

// interruptedError is a run stopped by Ctrl-C (or SIGTERM), with what it
// kept.
type interruptedError struct{ msg string }

func (e interruptedError) Error() string { return e.msg }

// interrupted describes what an ingest stopped by ctx kept.
func interrupted(sum *analyzer.IngestSummary, casePath string) error {
	kept, total := 0, 0
	if sum != nil {
		total = len(sum.Sources)
		for _, s := range sum.Sources {
			if s.Path != "" && s.Skipped == "" && s.ReadErr == nil && s.RecordsRead > 0 {
				kept++
			}
		}
	}
	if casePath == "" {
		return interruptedError{fmt.Sprintf("interrupted after reading %d file(s); nothing was kept (no --case)", kept)}
	}
	return interruptedError{fmt.Sprintf("interrupted: %d file(s) ingested and kept in %s; the file(s) being read were not kept (each file is one transaction)."+
		" Run the same command again to go on: files already ingested are skipped%s", kept, casePath, remaining(total, kept))}
}

func remaining(total, kept int) string {
	if total > kept {
		return fmt.Sprintf(" (%d of the %d file(s) listed were not read)", total-kept, total)
	}
	return ""
}

func isInterrupt(ctx context.Context, err error) bool {
	return ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, ctx.Err()))
}

func inCase(casePath string) string {
	if casePath == "" {
		return " (in memory: nothing is kept without --case)"
	}
	return " in " + casePath + "; run 'forgehunt hunt --case " + casePath + "' to run the rules"
}
