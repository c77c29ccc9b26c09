package envoytext

import (
	"bytes"
	"fmt"
	"sort"
)

// span is where an operator's value lies in a line; start is -1 when the
// operator was not matched.
type span struct{ start, end int }

// matchBudget bounds the candidate ends tried for one line and layout: a
// line whose values repeat the separators that many times is rejected, not
// searched.
const matchBudget = 1 << 15

// matcher splits a line along a layout. Every operator's value ends where its
// literal follows. Where that literal occurs several times, a value may
// swallow some occurrences: the split kept is the one in which values swallow
// the fewest (Envoy writes every field, so a separator inside a value is the
// exception), and among those the one each operator prefers (the longest
// value for greedy operators, the shortest for the others). The other
// preferences take the first split found trying every operator's longest,
// or shortest, value first. The search remembers the result of every
// (operator, position) state, so no state is searched twice.
//
// A matcher is reused from line to line; it is not safe for concurrent use.
type matcher struct {
	line []byte

	// Per line: the positions of spaces and quotes, and of quotes alone.
	breaks, quotes []int
	haveBreaks     bool

	// Per line and layout: the positions of each literal (by layout.litIDs).
	occLayout *layout
	occ       [][]int
	haveOcc   []bool

	// Per run.
	l         *layout
	mode      preference
	spans     []span // the values being tried, then the split found
	tail      int    // start of the trailing quoted fields, -1 for none
	memo      map[int]state
	steps     int
	exhausted bool
	deepest   int      // the furthest operator a candidate failed at
	failure   failKind // what failed there
	failPos   int      // where its value started
	best      []span   // the values matched before it, for salvage
}

// failKind is what stopped a match; the reason is worded only when asked.
type failKind uint8

const (
	failPrefix     failKind = iota // the line does not start with the prefix
	failTrailing                   // text follows the last operator's value
	failNoEnd                      // no value of the operator ends in its literal
	failNotAddress                 // the operator's candidate values are no addresses
)

// state is the result of matching ops[i:] from a position: the least cost
// (separators swallowed), -1 for no match, and the end of ops[i]'s value.
type state struct{ cost, end int32 }

// why says what failed where the last run went furthest.
func (m *matcher) why() string {
	l, i := m.l, m.deepest
	switch m.failure {
	case failPrefix:
		return fmt.Sprintf("line does not start with %q", l.prefix)
	case failTrailing:
		return "unexpected text after " + l.ops[i-1].text
	case failNotAddress:
		return l.ops[i].text + " is not an address"
	}
	return m.noEnd(&l.ops[i], l.lits[i], m.failPos)
}

// setLine starts a new line.
func (m *matcher) setLine(line []byte) {
	m.line = line
	m.haveBreaks = false
	m.occLayout = nil
}

// preference says which split of a line a run keeps.
type preference uint8

const (
	fewestSwallowed preference = iota // the least-cost split, ties going to each operator's preference
	allLongest                        // the first split found trying the longest values first
	allShortest                       // the first split found trying the shortest values first
)

// runDirect matches the whole line against l if no value need hold its
// literal (see direct); it records no failure.
func (m *matcher) runDirect(l *layout, spans []span) bool {
	m.l, m.tail = l, -1
	return bytes.HasPrefix(m.line, []byte(l.prefix)) && m.direct(spans)
}

// run matches the whole line against l, filling spans (len(l.ops) long). On
// failure, m.why says what failed at m.deepest, m.best holds the values
// matched before it, and m.exhausted is set when the budget ran out.
func (m *matcher) run(l *layout, mode preference, spans []span) bool {
	if m.occLayout != l {
		m.occLayout = l
		if cap(m.occ) < l.numLits {
			m.occ = make([][]int, l.numLits)
			m.haveOcc = make([]bool, l.numLits)
		}
		m.occ, m.haveOcc = m.occ[:l.numLits], m.haveOcc[:l.numLits]
		clear(m.haveOcc)
	}
	m.l, m.mode, m.spans, m.tail = l, mode, spans, -1
	for i := range spans {
		spans[i] = span{-1, -1}
	}
	m.steps, m.exhausted, m.deepest = 0, false, -1
	m.best = m.best[:0]
	if len(m.memo) > 4096 {
		m.memo = nil // do not pay for clearing a map a long line grew
	}
	clear(m.memo)
	if m.memo == nil {
		m.memo = make(map[int]state)
	}
	if !bytes.HasPrefix(m.line, []byte(l.prefix)) {
		m.fail(0, failPrefix, 0)
		return false
	}
	if m.solve(0, len(l.prefix)) < 0 {
		return false
	}
	pos := len(l.prefix)
	for i := range l.ops {
		e := int(m.memo[m.key(i, pos)].end)
		spans[i] = span{pos, e}
		pos = e + len(l.lits[i])
	}
	if pos < len(m.line) {
		m.tail = pos
	}
	return true
}

// direct tries the split in which no value holds its literal, each ending
// at the first occurrence of its literal: when there is one, it is the
// least-cost split, found without searching.
func (m *matcher) direct(spans []span) bool {
	l := m.l
	pos := len(l.prefix)
	for i := range l.ops {
		op, lit := &l.ops[i], l.lits[i]
		lo, hi := m.extent(op, pos)
		e := hi
		switch {
		case lit != "":
			k := bytes.Index(m.line[pos:], []byte(lit))
			if k < 0 {
				return false
			}
			e = pos + k
		case op.class == classText && l.trailing:
			return false // the longest or the shortest value: leave it to solve
		}
		if e < lo || e > hi || op.class == classAddress && !isAddress(m.line[pos:e]) {
			return false
		}
		spans[i] = span{pos, e}
		pos = e + len(lit)
	}
	if rest := m.line[pos:]; len(rest) > 0 {
		if !l.trailing || !validTail(rest) {
			return false
		}
		m.tail = pos
	}
	return true
}

func (m *matcher) key(i, pos int) int { return i*(len(m.line)+1) + pos }

// solve returns the least cost of matching ops[i:] from pos, or -1.
func (m *matcher) solve(i, pos int) int {
	l := m.l
	if i == len(l.ops) {
		rest := m.line[pos:]
		if len(rest) == 0 || l.trailing && validTail(rest) {
			return 0
		}
		m.fail(i, failTrailing, pos)
		return -1
	}
	key := m.key(i, pos)
	if st, done := m.memo[key]; done {
		return int(st.cost)
	}
	op := &l.ops[i]
	lit := l.lits[i]
	lo, hi := m.extent(op, pos)

	// The candidate ends are occ[a:b] and, for the last operator, the end of
	// the line; all ascending.
	var occ []int
	atEnd := false
	switch {
	case lit != "":
		occ = m.occurrences(l.litIDs[i], lit)
	case l.trailing:
		occ = m.occurrences(0, trailingSep)
		fallthrough
	default:
		atEnd = lo <= hi && hi == len(m.line)
	}
	a := sort.SearchInts(occ, lo)
	b := sort.SearchInts(occ, hi+1)
	if lo > hi {
		b = a
	}
	n := b - a
	total := n
	if atEnd {
		total++
	}
	if total == 0 {
		m.fail(i, failNoEnd, pos)
	}
	longest := m.mode == allLongest || m.mode == fewestSwallowed && op.greedy
	first := sort.SearchInts(occ, pos) // occurrences a value from pos may swallow start here
	best := state{-1, -1}
	tried := false
	for k := 0; k < total; k++ {
		idx := k
		if longest {
			idx = total - 1 - k
		}
		e := len(m.line)
		if idx < n {
			e = occ[a+idx]
		}
		if op.class == classAddress && !isAddress(m.line[pos:e]) {
			continue
		}
		tried = true
		if m.steps++; m.steps > matchBudget {
			m.exhausted = true
			return -1
		}
		m.spans[i] = span{pos, e}
		rest := m.solve(i+1, e+len(lit))
		if m.exhausted {
			return -1
		}
		if rest < 0 {
			continue
		}
		cost := rest
		if m.mode == fewestSwallowed && lit != "" {
			// The occurrences of lit inside the value: at pos or after,
			// and wholly before e.
			cost += sort.SearchInts(occ, e-len(lit)+1) - first
		}
		if best.cost < 0 || cost < int(best.cost) {
			best = state{int32(cost), int32(e)}
		}
		if best.cost == 0 || m.mode != fewestSwallowed {
			break
		}
	}
	if total > 0 && !tried {
		m.fail(i, failNotAddress, pos)
	}
	m.spans[i] = span{-1, -1}
	m.memo[key] = best
	return int(best.cost)
}

// extent returns the bounds lo <= e <= hi of the ends of a value of op's
// class that starts at pos; lo > hi when there is none.
func (m *matcher) extent(op *operator, pos int) (lo, hi int) {
	line := m.line
	switch op.class {
	case classNumber:
		if pos < len(line) && line[pos] == '-' {
			return pos + 1, pos + 1
		}
		end := pos
		for end < len(line) && end-pos < 19 && line[end] >= '0' && line[end] <= '9' {
			end++
		}
		return pos + 1, end
	case classToken, classAddress:
		return pos + 1, m.next(m.breakList(), pos)
	case classNoQuote:
		m.breakList()
		return pos, m.next(m.quotes, pos)
	}
	return pos, len(line)
}

// next is the first position in list at or after pos, or the line's length.
func (m *matcher) next(list []int, pos int) int {
	if k := sort.SearchInts(list, pos); k < len(list) {
		return list[k]
	}
	return len(m.line)
}

// breakList returns the positions of spaces and quotes, and fills m.quotes.
func (m *matcher) breakList() []int {
	if !m.haveBreaks {
		m.breaks, m.quotes = m.breaks[:0], m.quotes[:0]
		for i, c := range m.line {
			switch c {
			case '"':
				m.quotes = append(m.quotes, i)
				m.breaks = append(m.breaks, i)
			case ' ':
				m.breaks = append(m.breaks, i)
			}
		}
		m.haveBreaks = true
	}
	return m.breaks
}

// occurrences returns the positions of lit (overlapping ones included) in
// the line, computed once per line and layout.
func (m *matcher) occurrences(id int, lit string) []int {
	if m.haveOcc[id] {
		return m.occ[id]
	}
	list := m.occ[id][:0]
	for from := 0; from <= len(m.line)-len(lit); {
		k := bytes.Index(m.line[from:], []byte(lit))
		if k < 0 {
			break
		}
		list = append(list, from+k)
		from += k + 1
	}
	m.occ[id], m.haveOcc[id] = list, true
	return list
}

// noEnd says why no value of op, followed by lit, starts at pos.
func (m *matcher) noEnd(op *operator, lit string, pos int) string {
	if lit == "" {
		return "unexpected text after " + op.text
	}
	lo, hi := m.extent(op, pos)
	switch {
	case lo > hi && op.class == classNumber:
		return op.text + " is not a number"
	case lo > hi:
		return op.text + " is missing"
	case !bytes.Contains(m.line[lo:], []byte(lit)):
		return fmt.Sprintf("no %q after %s", lit, op.text)
	case op.class == classNumber:
		return op.text + " is not a number"
	case op.class == classNoQuote:
		return op.text + " holds a quote"
	}
	return op.text + " holds a space or a quote"
}

// fail records that op i found no way on from pos, if no later operator
// did.
func (m *matcher) fail(i int, kind failKind, pos int) {
	if i <= m.deepest {
		return
	}
	m.deepest, m.failure, m.failPos = i, kind, pos
	m.best = append(m.best[:0], m.spans...)
	for k := i; k < len(m.best); k++ {
		m.best[k] = span{-1, -1}
	}
}

// isAddress reports whether v can be an address Envoy writes: "-", or a
// token with ":", "/" or "@" (ip:port, [v6]:port, tcp://..., a pipe path).
// A JWT is none, so it cannot pass for one.
func isAddress(v []byte) bool {
	return len(v) == 1 && v[0] == '-' || bytes.ContainsAny(v, ":/@")
}

// validTail reports whether rest is one or more quoted fields, each after a
// space: ` "a" "b"`.
func validTail(rest []byte) bool {
	return len(rest) >= 3 && rest[0] == ' ' && rest[1] == '"' && rest[len(rest)-1] == '"'
}

// suspicious reports whether another split of the line may read it
// differently: a value holds the literal that follows it, or more than one
// quoted field trails the line.
func suspicious(sp *split) bool {
	for i, s := range sp.spans {
		if lit := sp.l.lits[i]; lit != "" && s.start >= 0 && bytes.Contains(sp.line[s.start:s.end], []byte(lit)) {
			return true
		}
	}
	return sp.tail >= 0 && bytes.Contains(sp.line[sp.tail:], []byte(`" "`))
}
