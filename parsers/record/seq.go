package record

import "time"

// Bounds of sequence tracking, per input.
const (
	// MaxSeqGaps is how many holes Stats.SeqGaps keeps; more are counted in
	// Stats.SeqGapsDropped.
	MaxSeqGaps = 10000
	// MaxSeqProcesses is how many numbering processes are tracked; lines of
	// further processes are not (a real log has a handful).
	MaxSeqProcesses = 1024
	// SeqReorderWindow is how far out of order numbered records may be
	// written before a missing number is called lost. Loggers number a record
	// when it is created and write it when they get the handler's lock, so
	// concurrent threads write neighbouring numbers in either order.
	SeqReorderWindow = 64
	// MaxSeq is the highest number tracked (far above any real count, and
	// far enough below the int64 limit that next+window never overflows).
	MaxSeq = 1 << 62
)

// SeqGap is a hole in a log's own record numbering: the numbers After+1 ..
// Before-1 of Process never appeared in the input, so that many records were
// lost (a dropped shipper, a deleted chunk).
type SeqGap struct {
	Kind    string // artifact kind whose ledger the log is (KindJWT for Keycloak)
	Process string // what numbers the records (Keycloak: hostName/processId)
	After   int64  // last number seen before the hole
	Before  int64  // first number seen after it
	Missing int64  // Before - After - 1
	// AfterTime and BeforeTime are the times of the records numbered After
	// and Before; zero when the record's time could not be read.
	AfterTime, BeforeTime time.Time
	Line                  int64 // line of the record numbered Before
}

// SeqRun is the numbering of one process in one input: the lowest number of
// the input's first run and the highest of its last (a restart, a lower
// number, starts a new run), with their times and lines. Holes between the
// runs of consecutive rotated files are found from these.
type SeqRun struct {
	Kind, Process       string
	FirstSeq, FirstLine int64
	FirstTime           time.Time
	LastSeq, LastLine   int64
	LastTime            time.Time
}

// SeqTracker finds holes in the per-process record numbering of one input
// and reports them, and each process's runs, in a Stats. Numbers may arrive
// up to SeqReorderWindow out of order; a number more than that below the
// highest seen and never seen is lost. A number more than the window below
// the lowest unseen one starts a new run (a restart, or another file of the
// same process interleaved): that is not a hole. A nil *SeqTracker does
// nothing. One goroutine per tracker.
type SeqTracker struct {
	stats *Stats
	kind  string
	procs map[string]*seqProc
	order []string
}

type seqMark struct {
	seq, line int64
	t         time.Time
}

type seqProc struct {
	next     int64     // lowest number of the current run not seen yet
	last     seqMark   // the record numbered next-1
	pending  []seqMark // numbers above next seen already, ascending
	max      seqMark   // highest number of the current run
	first    seqMark   // lowest number of the input's first run
	firstRun bool      // the current run is the input's first
}

// NewSeqTracker returns a tracker that reports into stats, or nil when stats
// is nil. kind is the artifact kind whose ledger the input is.
func NewSeqTracker(stats *Stats, kind string) *SeqTracker {
	if stats == nil {
		return nil
	}
	return &SeqTracker{stats: stats, kind: kind, procs: map[string]*seqProc{}}
}

// Observe notes that the record at line, written at t (zero if unknown), is
// numbered seq by process. An empty process, or a number below 0 or above
// MaxSeq, is ignored.
func (tr *SeqTracker) Observe(process string, seq int64, t time.Time, line int64) {
	if tr == nil || process == "" || seq < 0 || seq > MaxSeq {
		return
	}
	m := seqMark{seq: seq, line: line, t: t}
	p := tr.procs[process]
	if p == nil {
		if len(tr.procs) >= MaxSeqProcesses {
			return
		}
		p = &seqProc{firstRun: true}
		p.start(m)
		tr.procs[process] = p
		tr.order = append(tr.order, process)
		return
	}
	switch {
	case seq == p.next:
		p.last = m
		p.next++
		if seq > p.max.seq {
			p.max = m
		}
		p.absorb()
	case seq > p.next:
		i := 0
		for i < len(p.pending) && p.pending[i].seq < seq {
			i++
		}
		if i < len(p.pending) && p.pending[i].seq == seq {
			return // a duplicate
		}
		p.pending = append(p.pending, seqMark{})
		copy(p.pending[i+1:], p.pending[i:])
		p.pending[i] = m
		if seq > p.max.seq {
			p.max = m
		}
		for len(p.pending) > 0 && p.max.seq-p.next > SeqReorderWindow {
			tr.lose(process, p)
		}
	case p.next-seq <= SeqReorderWindow:
		// Late, or a duplicate: not a new run.
		if p.firstRun && seq < p.first.seq {
			p.first = m
		}
	default:
		for len(p.pending) > 0 {
			tr.lose(process, p)
		}
		p.firstRun = false
		p.start(m)
	}
}

func (p *seqProc) start(m seqMark) {
	p.next, p.last, p.max, p.pending = m.seq+1, m, m, p.pending[:0]
	if p.firstRun {
		p.first = m
	}
}

// absorb moves the pending numbers that now follow on into the run.
func (p *seqProc) absorb() {
	n := 0
	for n < len(p.pending) && p.pending[n].seq == p.next {
		p.last = p.pending[n]
		p.next++
		n++
	}
	if n > 0 {
		p.pending = append(p.pending[:0], p.pending[n:]...)
	}
}

// lose reports the numbers below the lowest pending one as lost and moves on
// past them.
func (tr *SeqTracker) lose(process string, p *seqProc) {
	h := p.pending[0]
	gap := SeqGap{Kind: tr.kind, Process: process, After: p.next - 1, Before: h.seq, Missing: h.seq - p.next,
		AfterTime: p.last.t, BeforeTime: h.t, Line: h.line}
	if len(tr.stats.SeqGaps) < MaxSeqGaps {
		tr.stats.SeqGaps = append(tr.stats.SeqGaps, gap)
	} else {
		tr.stats.SeqGapsDropped++
	}
	p.next = h.seq
	p.absorb()
}

// Finish reports the holes still pending at the end of the input (numbers
// never seen before the last ones) and every process's run, in the order
// the processes first appeared. Call it once, after the last Observe.
func (tr *SeqTracker) Finish() {
	if tr == nil {
		return
	}
	for _, process := range tr.order {
		p := tr.procs[process]
		for len(p.pending) > 0 {
			tr.lose(process, p)
		}
		tr.stats.SeqRuns = append(tr.stats.SeqRuns, SeqRun{Kind: tr.kind, Process: process,
			FirstSeq: p.first.seq, FirstLine: p.first.line, FirstTime: p.first.t,
			LastSeq: p.max.seq, LastLine: p.max.line, LastTime: p.max.t})
	}
	tr.order, tr.procs = nil, nil
}
