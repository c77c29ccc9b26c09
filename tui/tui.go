// Package tui is forgehunt's terminal front end for triaging a case: the
// findings table, one artifact's detail and sightings timeline, the blast
// radius and a summary of the case, with triage marks written back to the
// case. It never blocks: every query runs in a tea.Cmd and comes back as a
// message, and everything read from the case is escaped before it is drawn.
package tui

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"github.com/forgehunt/forgehunt/analyzer"
	"github.com/forgehunt/forgehunt/rules"
)

// Run shows the case in the terminal (alternate screen) until the analyst
// quits or ctx is done.
func Run(ctx context.Context, c *analyzer.Case, in io.Reader, out io.Writer) error {
	p := tea.NewProgram(New(ctx, c), tea.WithContext(ctx), tea.WithInput(in), tea.WithOutput(out))
	if _, err := p.Run(); err != nil {
		return fmt.Errorf("tui: %w", err)
	}
	return nil
}

type viewID int

const (
	viewFindings viewID = iota
	viewBlast
	viewSummary
	viewDetail
	viewTimeline
)

// topViews are the views tab cycles through.
var topViews = []viewID{viewFindings, viewBlast, viewSummary}

var viewNames = map[viewID]string{
	viewFindings: "Findings", viewBlast: "Blast radius", viewSummary: "Summary",
	viewDetail: "Detail", viewTimeline: "Timeline",
}

type inputMode int

const (
	inputNone inputMode = iota
	inputFilter
	inputNote
)

// Sort columns of the findings table.
const (
	sortLevel = iota
	sortRule
	sortSubject
	sortFirst
	sortLast
	sortSightings
	sortAccepted
	sortStatus
	numSorts
)

var sortNames = [numSorts]string{"level", "rule", "subject", "first seen", "last seen", "sightings", "accepted", "status"}

// sortDescDefault is each column's natural direction: most severe, most
// seen and latest first; text and first seen ascending.
var sortDescDefault = [numSorts]bool{true, false, false, false, true, true, true, false}

// Model is the root tea.Model of the triage screen. Create it with New.
type Model struct {
	ctx    context.Context
	c      *analyzer.Case
	st     styles
	keys   keyMap
	help   help.Model
	width  int
	height int

	view     viewID
	back     viewID // where esc goes from the timeline
	showHelp bool

	// Findings table.
	all             []analyzer.Finding
	haystack        []string // lower-case searchable text per finding
	rows            []int    // indices into all, filtered and sorted
	cursor, offset  int
	sortCol         int
	sortDesc        bool
	filter          string
	statusFilter    string
	findingsLoading bool
	findingsErr     string

	input      textinput.Model
	inputMode  inputMode
	prevFilter string     // restored when a filter edit is cancelled
	noteFor    *findingID // the finding a note is being written for

	// Detail of one finding.
	detailFinding analyzer.Finding
	detail        *detailData
	detailLoading bool
	detailErr     string
	detailScroll  int
	derivedCursor int // the selected node of the detail's derived tree

	// Timeline of one artifact.
	timelineKey        string
	timeline           []sightingRow
	timelineLoading    bool
	timelineErr        string
	tlCursor, tlOffset int

	blast        *blastData
	blastLoading bool
	blastStale   bool
	blastErr     string
	blastScroll  int

	summary        *summaryData
	summaryLoading bool
	summaryErr     string
	summaryScroll  int

	message string
	msgErr  bool
}

// New returns the root model over c; queries run with ctx. Drive it with
// tea.NewProgram (as Run does) or, in tests, with Update and View.
func New(ctx context.Context, c *analyzer.Case) Model {
	return newModel(ctx, c, true)
}

func newModel(ctx context.Context, c *analyzer.Case, color bool) Model {
	st := newStyles(color)
	m := Model{
		ctx: ctx, c: c, st: st, keys: newKeyMap(), help: newHelp(st), input: newInput(st),
		width: 80, height: 24,
		sortCol: sortLevel, sortDesc: true,
		findingsLoading: true,
	}
	m.help.SetWidth(m.width)
	return m
}

// Init loads the findings.
func (m Model) Init() tea.Cmd { return loadFindings(m.ctx, m.c) }

// Update handles one message.
func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = max(msg.Width, 20), max(msg.Height, 6)
		m.help.SetWidth(m.width)
		m.sizeInput()
		m.clampAll()
		return m, nil
	case findingsMsg:
		m.findingsLoading = false
		if msg.err != nil {
			m.findingsErr = msg.err.Error()
			m.setErr(msg.err)
			return m, nil
		}
		m.findingsErr = ""
		m.setFindings(msg.findings)
		return m, nil
	case triageMsg:
		if msg.err != nil {
			m.setErr(msg.err)
			return m, nil
		}
		m.applyTriage(msg.id, msg.status, msg.note)
		m.blastStale = true
		m.setMsg(msg.what)
		m.findingsLoading = true
		return m, loadFindings(m.ctx, m.c)
	case detailMsg:
		if msg.id != idOf(m.detailFinding) {
			return m, nil // the analyst moved on
		}
		m.detailLoading = false
		if msg.err != nil {
			m.detailErr = msg.err.Error()
			m.setErr(msg.err)
			return m, nil
		}
		m.detail = msg.detail
		return m, nil
	case timelineMsg:
		if msg.key != m.timelineKey {
			return m, nil
		}
		m.timelineLoading = false
		if msg.err != nil {
			m.timelineErr = msg.err.Error()
			m.setErr(msg.err)
			return m, nil
		}
		m.timeline = msg.rows
		m.clampTimeline()
		return m, nil
	case blastMsg:
		m.blastLoading = false
		if msg.err != nil {
			m.blastErr = msg.err.Error()
			m.setErr(msg.err)
			return m, nil
		}
		m.blast, m.blastErr, m.blastStale = msg.blast, "", false
		return m, nil
	case summaryMsg:
		m.summaryLoading = false
		if msg.err != nil {
			m.summaryErr = msg.err.Error()
			m.setErr(msg.err)
			return m, nil
		}
		m.summary, m.summaryErr = msg.summary, ""
		return m, nil
	case tea.PasteMsg:
		if m.inputMode != inputNone {
			return m.updateInput(msg)
		}
		return m, nil
	case tea.KeyPressMsg:
		return m.handleKey(msg)
	}
	return m, nil
}

func (m *Model) setErr(err error) {
	m.message, m.msgErr = clean(err.Error()), true
}

func (m *Model) setMsg(s string) {
	m.message, m.msgErr = s, false
}

func (m Model) handleKey(k tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	km := m.keys
	if key.Matches(k, km.ForceQuit) {
		return m, tea.Quit
	}
	if m.inputMode != inputNone {
		return m.updateInput(k)
	}
	if m.showHelp {
		switch {
		case key.Matches(k, km.Quit):
			return m, tea.Quit
		case key.Matches(k, km.Help, km.Back, km.Open):
			m.showHelp = false
		}
		return m, nil
	}
	switch {
	case key.Matches(k, km.Quit):
		return m, tea.Quit
	case key.Matches(k, km.Help):
		m.showHelp = true
		return m, nil
	case key.Matches(k, km.NextView):
		return m.switchTo(m.cycle(1))
	case key.Matches(k, km.PrevView):
		return m.switchTo(m.cycle(-1))
	case key.Matches(k, km.Blast):
		return m.switchTo(viewBlast)
	case key.Matches(k, km.Reload):
		return m.reload()
	}
	switch m.view {
	case viewFindings:
		return m.findingsKey(k)
	case viewDetail:
		return m.detailKey(k)
	case viewTimeline:
		return m.timelinePress(k)
	case viewBlast:
		if key.Matches(k, km.Back) {
			return m.switchTo(viewFindings)
		}
		m.blastScroll = km.scroll(k, m.blastScroll, len(m.blastLines()), m.bodyHeight())
	case viewSummary:
		if key.Matches(k, km.Back) {
			return m.switchTo(viewFindings)
		}
		m.summaryScroll = km.scroll(k, m.summaryScroll, len(m.summaryLines()), m.bodyHeight())
	}
	return m, nil
}

// cycle returns the top-level view d steps from the current one; the detail
// and timeline belong to the findings.
func (m Model) cycle(d int) viewID {
	cur := m.view
	if cur == viewDetail || cur == viewTimeline {
		cur = viewFindings
	}
	i := slices.Index(topViews, cur)
	return topViews[(i+d+len(topViews))%len(topViews)]
}

// switchTo shows view v, loading its data when it has none yet.
func (m Model) switchTo(v viewID) (tea.Model, tea.Cmd) {
	m.view = v
	switch v {
	case viewBlast:
		if (m.blast == nil || m.blastStale) && !m.blastLoading {
			m.blastLoading = true
			return m, loadBlast(m.ctx, m.c)
		}
	case viewSummary:
		if m.summary == nil && !m.summaryLoading {
			m.summaryLoading = true
			return m, loadSummary(m.ctx, m.c)
		}
	}
	return m, nil
}

// reload reads the current view's data again.
func (m Model) reload() (tea.Model, tea.Cmd) {
	m.setMsg("reloading…")
	cmds := []tea.Cmd{}
	if !m.findingsLoading {
		m.findingsLoading = true
		cmds = append(cmds, loadFindings(m.ctx, m.c))
	}
	switch m.view {
	case viewBlast:
		m.blastLoading = true
		cmds = append(cmds, loadBlast(m.ctx, m.c))
	case viewSummary:
		m.summaryLoading = true
		cmds = append(cmds, loadSummary(m.ctx, m.c))
	case viewDetail:
		m.detailLoading = true
		cmds = append(cmds, loadDetail(m.ctx, m.c, idOf(m.detailFinding)))
	case viewTimeline:
		m.timelineLoading = true
		cmds = append(cmds, loadTimeline(m.ctx, m.c, m.timelineKey))
	}
	return m, tea.Batch(cmds...)
}

func (m Model) findingsKey(k tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	km := m.keys
	if pos, ok := km.move(k, m.cursor, len(m.rows), m.tableRows()); ok {
		m.cursor = pos
		m.clampTable()
		return m, nil
	}
	if status, ok := match(k, km.Statuses); ok {
		m.statusFilter = status
		m.refilter()
		return m, nil
	}
	if status, ok := match(k, km.Marks); ok {
		if f, ok := m.selected(); ok {
			return m, setTriage(m.ctx, m.c, idOf(f), status, f.Note, markWhat(f, status))
		}
		return m, nil
	}
	switch {
	case key.Matches(k, km.Open):
		if f, ok := m.selected(); ok {
			return m.openDetail(f)
		}
	case key.Matches(k, km.Timeline):
		if f, ok := m.selected(); ok {
			m.detailFinding = f
			return m.openTimeline(f.ArtifactKey, viewFindings)
		}
	case key.Matches(k, km.Filter):
		m.prevFilter = m.filter
		return m, m.openInput(inputFilter, "/", "rule, subject, observer, reason, ip…", m.filter)
	case key.Matches(k, km.Back):
		if m.filter != "" {
			m.filter = ""
			m.refilter()
			m.setMsg("filter cleared")
		}
	case key.Matches(k, km.Sort):
		m.sortCol = (m.sortCol + 1) % numSorts
		m.sortDesc = sortDescDefault[m.sortCol]
		m.refilter()
		m.setMsg("sorted by " + sortNames[m.sortCol])
	case key.Matches(k, km.SortReverse):
		m.sortDesc = !m.sortDesc
		m.refilter()
		m.setMsg("sort reversed")
	case key.Matches(k, km.Note):
		if f, ok := m.selected(); ok {
			return m.startNote(f)
		}
	}
	return m, nil
}

func (m Model) detailKey(k tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	km := m.keys
	switch {
	case key.Matches(k, km.Back):
		m.view = viewFindings
		return m, nil
	case key.Matches(k, km.Timeline):
		return m.openTimeline(m.detailFinding.ArtifactKey, viewDetail)
	case key.Matches(k, km.Note):
		return m.startNote(m.detailFinding)
	case key.Matches(k, km.NextDerived) && m.detail != nil && len(m.detail.derived) > 0:
		m.derivedCursor = (m.derivedCursor + 1) % len(m.detail.derived)
		return m, nil
	case key.Matches(k, km.PrevDerived) && m.detail != nil && len(m.detail.derived) > 0:
		m.derivedCursor = (m.derivedCursor + len(m.detail.derived) - 1) % len(m.detail.derived)
		return m, nil
	case key.Matches(k, km.OpenDerived) && m.detail != nil && m.derivedCursor < len(m.detail.derived):
		node := m.detail.derived[m.derivedCursor]
		for _, f := range m.all {
			if f.ArtifactKey == node.key {
				return m.openDetail(f)
			}
		}
		m.message = "no finding on " + node.kind + " " + node.id + " (a legitimate derivation)"
		return m, nil
	}
	if status, ok := match(k, km.Marks); ok {
		f := m.detailFinding
		return m, setTriage(m.ctx, m.c, idOf(f), status, f.Note, markWhat(f, status))
	}
	m.detailScroll = km.scroll(k, m.detailScroll, len(m.detailLines()), m.bodyHeight())
	return m, nil
}

func (m Model) timelinePress(k tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	km := m.keys
	switch {
	case key.Matches(k, km.Back):
		m.view = m.back
		return m, nil
	case key.Matches(k, km.Open):
		if m.back != viewDetail {
			return m.openDetail(m.detailFinding)
		}
		m.view = viewDetail
		return m, nil
	}
	m.tlCursor, _ = km.move(k, m.tlCursor, len(m.timeline), m.timelineRows())
	m.clampTimeline()
	return m, nil
}

func (m Model) openDetail(f analyzer.Finding) (tea.Model, tea.Cmd) {
	m.view = viewDetail
	m.detailScroll = 0
	if idOf(f) == idOf(m.detailFinding) && m.detail != nil {
		m.detailFinding = f
		return m, nil
	}
	m.detailFinding, m.detail, m.detailErr, m.detailLoading = f, nil, "", true
	m.derivedCursor = 0
	return m, loadDetail(m.ctx, m.c, idOf(f))
}

func (m Model) openTimeline(key string, back viewID) (tea.Model, tea.Cmd) {
	m.view, m.back = viewTimeline, back
	if key == m.timelineKey && m.timeline != nil {
		return m, nil
	}
	m.timelineKey, m.timeline, m.timelineErr, m.timelineLoading = key, nil, "", true
	m.tlCursor, m.tlOffset = 0, 0
	return m, loadTimeline(m.ctx, m.c, key)
}

func (m Model) startNote(f analyzer.Finding) (tea.Model, tea.Cmd) {
	id := idOf(f)
	m.noteFor = &id
	return m, m.openInput(inputNote, "note: ", "why (enter saves, esc cancels)", f.Note)
}

// updateInput feeds a key or paste to the open text input.
func (m Model) updateInput(msg tea.Msg) (tea.Model, tea.Cmd) {
	if k, ok := msg.(tea.KeyPressMsg); ok {
		switch {
		case key.Matches(k, m.keys.Accept):
			mode := m.inputMode
			m.closeInput()
			if mode == inputNote && m.noteFor != nil {
				id := *m.noteFor
				m.noteFor = nil
				status := "open"
				if f, ok := m.findByID(id); ok {
					status = f.Status
				}
				return m, setTriage(m.ctx, m.c, id, status, strings.TrimSpace(m.input.Value()), "note saved")
			}
			m.filter = strings.TrimSpace(m.input.Value())
			m.refilter()
			if m.filter != "" {
				m.setMsg(fmt.Sprintf("filter: %d match", len(m.rows)))
			}
			return m, nil
		case key.Matches(k, m.keys.Cancel):
			mode := m.inputMode
			m.closeInput()
			if mode == inputFilter {
				m.filter = ""
				m.refilter()
				m.setMsg("filter cleared")
			} else {
				m.noteFor = nil
				m.setMsg("note not saved")
			}
			return m, nil
		}
	}
	cmd := m.editInput(msg)
	if m.inputMode == inputFilter {
		// Filter as the analyst types.
		m.filter = strings.TrimSpace(m.input.Value())
		m.refilter()
	}
	return m, cmd
}

func (m Model) findByID(id findingID) (analyzer.Finding, bool) {
	if idOf(m.detailFinding) == id {
		return m.detailFinding, true
	}
	for _, f := range m.all {
		if idOf(f) == id {
			return f, true
		}
	}
	return analyzer.Finding{}, false
}

// selected returns the finding under the cursor.
func (m Model) selected() (analyzer.Finding, bool) {
	if m.cursor < 0 || m.cursor >= len(m.rows) {
		return analyzer.Finding{}, false
	}
	return m.all[m.rows[m.cursor]], true
}

// setFindings replaces the findings, keeping the cursor on the same finding.
func (m *Model) setFindings(fs []analyzer.Finding) {
	sel, hadSel := m.selected()
	m.all = fs
	m.haystack = make([]string, len(fs))
	for i, f := range fs {
		parts := []string{f.RuleID, f.Title, f.Level, f.Kind, f.Subject, f.SubjectName, f.Issuer, f.ArtifactID, f.ArtifactKey,
			f.Reason, f.Coverage, f.Status, f.Note}
		parts = append(parts, f.Observers...)
		parts = append(parts, f.Principals...)
		parts = append(parts, f.ClientIPs...)
		m.haystack[i] = strings.ToLower(strings.Join(parts, "\x00"))
	}
	for i, f := range fs {
		if idOf(f) == idOf(m.detailFinding) {
			m.detailFinding = fs[i]
		}
	}
	m.refilter()
	if hadSel {
		for i, r := range m.rows {
			if idOf(m.all[r]) == idOf(sel) {
				m.cursor = i
				break
			}
		}
	}
	m.clampTable()
}

// applyTriage records a saved mark in memory until the reload arrives.
func (m *Model) applyTriage(id findingID, status, note string) {
	for i := range m.all {
		if idOf(m.all[i]) == id {
			m.all[i].Status, m.all[i].Note = status, note
		}
	}
	if idOf(m.detailFinding) == id {
		m.detailFinding.Status, m.detailFinding.Note = status, note
	}
	m.refilter()
	m.clampTable()
}

// refilter recomputes the visible rows from the filters and the sort.
func (m *Model) refilter() {
	words := strings.Fields(strings.ToLower(m.filter))
	// A fresh slice: copies of the model handed out earlier keep theirs.
	m.rows = make([]int, 0, len(m.all))
	for i, f := range m.all {
		if m.statusFilter != "" && f.Status != m.statusFilter {
			continue
		}
		ok := true
		for _, w := range words {
			if !strings.Contains(m.haystack[i], w) {
				ok = false
				break
			}
		}
		if ok {
			m.rows = append(m.rows, i)
		}
	}
	all := m.all
	col, desc := m.sortCol, m.sortDesc
	slices.SortStableFunc(m.rows, func(a, b int) int {
		c := compareFindings(all[a], all[b], col)
		if desc {
			c = -c
		}
		return c
	})
	m.clampTable()
}

func compareFindings(a, b analyzer.Finding, col int) int {
	switch col {
	case sortLevel:
		return cmp.Compare(rules.LevelRank(a.Level), rules.LevelRank(b.Level))
	case sortRule:
		return cmp.Compare(a.RuleID, b.RuleID)
	case sortSubject:
		return cmp.Compare(subjectOf(a), subjectOf(b))
	case sortFirst:
		return compareTime(a.FirstSeen, b.FirstSeen)
	case sortLast:
		return compareTime(a.LastSeen, b.LastSeen)
	case sortSightings:
		return cmp.Compare(a.Sightings, b.Sightings)
	case sortAccepted:
		return cmp.Compare(a.Accepted, b.Accepted)
	case sortStatus:
		return cmp.Compare(a.Status, b.Status)
	}
	return 0
}

// compareTime orders unknown times first.
func compareTime(a, b *time.Time) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return -1
	case b == nil:
		return 1
	}
	return a.Compare(*b)
}

// Layout: a header line, the body, the status bar and the hint (or input) line.
func (m Model) bodyHeight() int { return max(m.height-3, 1) }

// tableRows is the number of findings rows on screen.
func (m Model) tableRows() int { return max(m.bodyHeight()-1, 1) }

// timelinePanel is the height of the selected sighting's panel.
const timelinePanel = 4

// timelinePanelShown reports whether the body has room for the panel.
func (m Model) timelinePanelShown() bool { return m.bodyHeight()-2 >= timelinePanel+3 }

// timelineRows is the number of sighting rows on screen, below the heading
// and the column titles.
func (m Model) timelineRows() int {
	h := m.bodyHeight() - 2
	if m.timelinePanelShown() {
		h -= timelinePanel
	}
	return max(h, 1)
}

func (m *Model) clampTable() {
	m.cursor = max(0, min(m.cursor, len(m.rows)-1))
	page := m.tableRows()
	if m.cursor < m.offset {
		m.offset = m.cursor
	}
	if m.cursor >= m.offset+page {
		m.offset = m.cursor - page + 1
	}
	m.offset = max(0, min(m.offset, len(m.rows)-page))
}

func (m *Model) clampTimeline() {
	m.tlCursor = max(0, min(m.tlCursor, len(m.timeline)-1))
	page := m.timelineRows()
	if m.tlCursor < m.tlOffset {
		m.tlOffset = m.tlCursor
	}
	if m.tlCursor >= m.tlOffset+page {
		m.tlOffset = m.tlCursor - page + 1
	}
	m.tlOffset = max(0, min(m.tlOffset, len(m.timeline)-page))
}

func (m *Model) clampAll() {
	m.clampTable()
	m.clampTimeline()
	h := m.bodyHeight()
	m.detailScroll = max(0, min(m.detailScroll, len(m.detailLines())-h))
	m.blastScroll = max(0, min(m.blastScroll, len(m.blastLines())-h))
	m.summaryScroll = max(0, min(m.summaryScroll, len(m.summaryLines())-h))
}

// markWhat words the status message of a mark.
func markWhat(f analyzer.Finding, status string) string {
	return "marked " + status + ": " + clean(f.RuleID) + " " + clean(orDash(subjectOf(f)))
}
