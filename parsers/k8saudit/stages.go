package k8saudit

import "container/list"

// Bounds of the stage tracker.
const (
	// MaxPending bounds the early stages held for their request's
	// completion; past it the oldest is emitted as it is.
	MaxPending = 64 << 10
	// maxPendingBytes bounds the text they hold.
	maxPendingBytes = 256 << 20
	// maxDone bounds the requests remembered as emitted.
	maxDone = 64 << 10
)

// stageKey is the sha256 of what identifies a request (parser.requestKey).
type stageKey [32]byte

type held struct {
	key  stageKey
	out  outcome
	size int
}

// stages turns the stage events of one request into one record: it holds
// early stages until a later one comes and remembers the requests already
// emitted.
type stages struct {
	pending map[stageKey]*list.Element
	order   list.List // of *held, oldest first
	bytes   int

	done     map[stageKey]struct{}
	doneRing []stageKey
	doneNext int
}

func newStages() stages {
	return stages{pending: map[stageKey]*list.Element{}, done: map[stageKey]struct{}{}}
}

// add takes out, one stage of the request key; final says it is the
// request's last stage. Every outcome it takes is delivered exactly once,
// as it is or as IgnoreStage.
func (s *stages) add(key stageKey, final bool, out outcome, deliver func(outcome)) {
	if _, ok := s.done[key]; ok {
		deliver(outcome{pos: out.pos, ignore: IgnoreStage})
		return
	}
	if e, ok := s.pending[key]; ok {
		h := s.remove(e)
		deliver(outcome{pos: h.out.pos, ignore: IgnoreStage}) // superseded
	}
	if final {
		s.markDone(key)
		deliver(out)
		return
	}
	h := &held{key: key, out: out, size: size(out)}
	s.pending[key] = s.order.PushBack(h)
	s.bytes += h.size
	for len(s.pending) > MaxPending || s.bytes > maxPendingBytes && len(s.pending) > 1 {
		oldest := s.remove(s.order.Front())
		s.markDone(oldest.key)
		deliver(oldest.out)
	}
}

// flush delivers the held stages, oldest first.
func (s *stages) flush(deliver func(outcome)) {
	for s.order.Len() > 0 {
		deliver(s.remove(s.order.Front()).out)
	}
}

func (s *stages) remove(e *list.Element) *held {
	h := s.order.Remove(e).(*held)
	delete(s.pending, h.key)
	s.bytes -= h.size
	return h
}

func (s *stages) markDone(key stageKey) {
	if len(s.doneRing) < maxDone {
		s.doneRing = append(s.doneRing, key)
	} else {
		delete(s.done, s.doneRing[s.doneNext])
		s.doneRing[s.doneNext] = key
		s.doneNext = (s.doneNext + 1) % maxDone
	}
	s.done[key] = struct{}{}
}

// size is roughly the bytes an outcome holds.
func size(out outcome) int {
	n := 256
	if x := out.s; x != nil {
		n += len(x.ArtifactID) + len(x.Observer) + len(x.Principal) + len(x.ClientIP) + len(x.UserAgent) + len(x.Action) + len(x.Attrs)
	}
	if x := out.i; x != nil {
		n += len(x.ArtifactID) + len(x.Subject) + len(x.Audience) + len(x.RawSHA256) + len(x.Attrs)
	}
	return n
}
