package tui

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/forgehunt/forgehunt/analyzer"
)

// View draws the screen: header, body, status bar and hint or input line,
// exactly the terminal's height, no line wider than the terminal.
func (m Model) View() tea.View {
	body := m.body()
	h := m.bodyHeight()
	if len(body) > h {
		body = body[:h]
	}
	for len(body) < h {
		body = append(body, "")
	}
	lines := make([]string, 0, m.height)
	lines = append(lines, m.headerLine())
	lines = append(lines, body...)
	lines = append(lines, m.statusLine(), m.bottomLine())
	for i, l := range lines {
		lines[i] = truncLine(l, m.width)
	}
	v := tea.NewView(strings.Join(lines, "\n"))
	v.AltScreen = true
	v.WindowTitle = "forgehunt"
	return v
}

func (m Model) body() []string {
	if m.showHelp {
		return m.helpLines()
	}
	switch m.view {
	case viewFindings:
		return m.findingsLines()
	case viewDetail:
		return m.scrolled(m.detailLines(), m.detailScroll)
	case viewTimeline:
		return m.timelineLines()
	case viewBlast:
		return m.scrolled(m.blastLines(), m.blastScroll)
	case viewSummary:
		return m.scrolled(m.summaryLines(), m.summaryScroll)
	}
	return nil
}

func (m Model) scrolled(lines []string, off int) []string {
	off = max(0, min(off, len(lines)-m.bodyHeight()))
	return lines[off:]
}

func (m Model) headerLine() string {
	active := m.view
	if active == viewDetail || active == viewTimeline {
		active = viewFindings
	}
	parts := []string{m.st.header.Render("forgehunt")}
	for _, v := range topViews {
		name := " " + viewNames[v] + " "
		if v == active {
			parts = append(parts, m.st.tabActive.Render(name))
		} else {
			parts = append(parts, m.st.tab.Render(name))
		}
	}
	line := strings.Join(parts, " ")
	switch m.view {
	case viewDetail:
		line += " › " + clean(m.detailFinding.RuleID)
	case viewTimeline:
		line += " › timeline"
	}
	if m.c != nil && m.c.Path != "" {
		name := clean(filepath.Base(m.c.Path))
		if gap := m.width - ansi.StringWidth(line) - ansi.StringWidth(name) - 1; gap > 0 {
			line += strings.Repeat(" ", gap) + m.st.faint.Render(name)
		}
	}
	return line
}

func (m Model) statusLine() string {
	parts := []string{viewNames[m.view]}
	if m.view == viewFindings || m.view == viewDetail || m.view == viewTimeline {
		if m.filter != "" {
			parts = append(parts, "filter: "+clean(m.filter))
		}
		if m.statusFilter != "" {
			parts = append(parts, "status: "+m.statusFilter)
		}
		parts = append(parts, fmt.Sprintf("%d/%d", len(m.rows), len(m.all)))
	}
	if m.view == viewTimeline && len(m.timeline) > 0 {
		parts = append(parts, fmt.Sprintf("sighting %d/%d", m.tlCursor+1, len(m.timeline)))
	}
	if m.loading() {
		parts = append(parts, "loading…")
	}
	line := " " + strings.Join(parts, " │ ") + " "
	msg := ""
	if m.message != "" {
		msg = " " + m.message + " "
	}
	pad := max(m.width-ansi.StringWidth(line)-ansi.StringWidth(msg), 0)
	text := line + strings.Repeat(" ", pad)
	if m.msgErr {
		return m.st.status.Render(truncLine(text, m.width)) + m.st.errText.Render(truncLine(msg, max(m.width-ansi.StringWidth(text), 0)))
	}
	return m.st.status.Render(truncLine(text+msg, m.width))
}

func (m Model) loading() bool {
	return m.findingsLoading || m.detailLoading || m.timelineLoading || m.blastLoading || m.summaryLoading
}

func (m Model) bottomLine() string {
	if m.inputMode != inputNone {
		return m.input.View()
	}
	return m.help.ShortHelpView(m.hints())
}

// Columns of the findings table.
const (
	colLevel = iota
	colRule
	colKind
	colSubject
	colPrincipal
	colFirst
	colLast
	colSightings
	colAccepted
	colStatus
)

// sortColumn maps each sort to its column.
var sortColumn = [numSorts]int{sortLevel: colLevel, sortRule: colRule, sortSubject: colSubject, sortFirst: colFirst,
	sortLast: colLast, sortSightings: colSightings, sortAccepted: colAccepted, sortStatus: colStatus}

// findingsColumns are the findings table's columns, the sort column marked.
func (m Model) findingsColumns() []column {
	cols := []column{
		colLevel:     {title: "level", min: 4, max: 8, keep: true},
		colRule:      {title: "rule", min: 8, max: 32, keep: true},
		colKind:      {title: "kind", min: 3, max: 5, drop: 4},
		colSubject:   {title: "subject", min: 8, max: 32, give: true},
		colPrincipal: {title: "as", min: 6, max: 24, drop: 3},
		colFirst:     {title: "first seen", min: 11, max: 19, keep: true},
		colLast:      {title: "last seen", min: 11, max: 19, drop: 2, keep: true},
		colSightings: {title: "seen", min: 4, max: 8, right: true},
		colAccepted:  {title: "acc", min: 3, max: 8, right: true},
		colStatus:    {title: "status", min: 6, max: 12},
	}
	arrow := "↑"
	if m.sortDesc {
		arrow = "↓"
	}
	cols[sortColumn[m.sortCol]].title += arrow
	return cols
}

// seenCell is the sightings count, marked "s" when some rest on lines the
// format rejected (salvaged) and "s?" when such a line was ambiguous.
func seenCell(f analyzer.Finding) string {
	n := strconv.FormatInt(f.Sightings, 10)
	switch {
	case f.Ambiguous:
		return n + " s?"
	case f.Salvaged > 0:
		return n + " s"
	}
	return n
}

// subjectOf is the subject as an analyst reads it: the name from the claims
// (preferred_username, upn, email) when there is one, else the sub; for an
// artifact without a subject (a signature by a bare key) what it is for:
// its first name, else its id (the digest signed).
func subjectOf(f analyzer.Finding) string {
	switch {
	case f.SubjectName != "":
		return f.SubjectName
	case f.Subject != "":
		return f.Subject
	case len(f.Names) > 0:
		return f.Names[0]
	}
	return f.ArtifactID
}

// actedAs lists the principals a finding's artifact acted as, other than
// its subject (which the subject column shows).
func actedAs(f analyzer.Finding) string {
	var out []string
	for _, p := range f.Principals {
		if p != f.Subject && p != f.SubjectName {
			out = append(out, clean(p))
		}
	}
	return strings.Join(out, ",")
}

func (m Model) findingsLines() []string {
	if m.findingsLoading && m.all == nil {
		return []string{"", "  loading…"}
	}
	if m.findingsErr != "" && m.all == nil {
		return []string{"", "  " + m.st.errText.Render("could not load findings: "+clean(m.findingsErr)), "  press R to retry"}
	}
	if len(m.all) == 0 {
		return []string{"", "  No findings in this case.", "  Run the hunt first (forgehunt hunt --case FILE …), then press R."}
	}
	cols := m.findingsColumns()
	wide := m.width >= 120
	tl := timeNarrow
	if wide {
		tl = timeWide
	}
	row := func(f analyzer.Finding) []string {
		lvl := f.Level
		if !wide {
			lvl = shortLevel(lvl)
		}
		status := clean(f.Status)
		if f.Note != "" {
			status += " ✎"
		}
		return []string{clean(lvl), clean(f.RuleID), clean(f.Kind), clean(orDash(subjectOf(f))), orDash(actedAs(f)),
			fmtTime(f.FirstSeen, tl), fmtTime(f.LastSeen, tl),
			seenCell(f), strconv.FormatInt(f.Accepted, 10), status}
	}
	end := min(m.offset+m.tableRows(), len(m.rows))
	cells := make(map[int][]string, end-m.offset)
	for i := m.offset; i < end; i++ {
		cells[i] = row(m.all[m.rows[i]])
	}
	const gutter = 2
	ws := layout(cols, widthSample(len(m.rows), m.offset, end, cells, func(i int) []string { return row(m.all[m.rows[i]]) }), m.width-gutter)
	titles := make([]string, len(cols))
	for i, c := range cols {
		titles[i] = c.title
	}
	out := []string{"  " + m.st.title.Render(renderRow(cols, ws, titles, nil))}
	if len(m.rows) == 0 {
		return append(out, "", "  No finding matches the filter (esc clears it, 1 shows every status).")
	}
	for i := m.offset; i < end; i++ {
		f := m.all[m.rows[i]]
		if i == m.cursor {
			out = append(out, m.st.selected.Render("> "+renderRow(cols, ws, cells[i], nil)))
			continue
		}
		out = append(out, "  "+renderRow(cols, ws, cells[i], func(col int, _, text string) string {
			switch col {
			case colLevel:
				if s, ok := m.st.levels[f.Level]; ok {
					return s.Render(text)
				}
			case colStatus:
				if s, ok := m.st.triage[f.Status]; ok {
					return s.Render(text)
				}
			}
			return text
		}))
	}
	return out
}

// detailLines renders the detail of the open finding at the screen width.
func (m Model) detailLines() []string {
	f := m.detailFinding
	st := m.st
	w := m.width
	var out []string
	add := func(lines ...string) { out = append(out, lines...) }
	section := func(title string) { add("", st.section.Render(title)) }

	lvl := clean(f.Level)
	if s, ok := st.levels[f.Level]; ok {
		lvl = s.Render(lvl)
	}
	status := clean(f.Status)
	if s, ok := st.triage[f.Status]; ok {
		status = s.Render(status)
	}
	add(st.title.Render(clean(f.RuleID)) + "  " + lvl + "  status " + status)
	for _, l := range wrap(clean(f.Title), w-2) {
		add("  " + l)
	}
	add(kv(st, "reason", clean(f.Reason), w)...)
	if f.Note != "" {
		add(kv(st, "note", clean(f.Note), w)...)
	}
	if m.detailLoading {
		add("", "  loading…")
		return out
	}
	if m.detailErr != "" {
		add("", "  "+st.errText.Render(clean(m.detailErr)))
		return out
	}
	d := m.detail
	if d == nil {
		return out
	}

	a := d.artifact
	section("Verification")
	if a != nil {
		add(kv(st, "sig_status", clean(orDash(a.SigStatus)), w)...)
		switch {
		case d.signer != nil:
			k := d.signer
			desc := "kid " + clean(orDash(k.kid)) + ", role " + clean(k.role)
			if k.label != "" {
				desc += ", label " + clean(k.label)
			}
			desc += ", " + clean(k.keyType) + ", fp " + clean(shortFP(k.fp))
			if k.source != "" {
				desc += ", from " + clean(filepath.Base(k.source))
			}
			add(kv(st, "verified by", desc, w)...)
			if k.exposedFrom.Valid || k.revokedAt.Valid {
				add(kv(st, "key window", "exposed from "+fmtNullTime(k.exposedFrom, timeFull)+", revoked "+fmtNullTime(k.revokedAt, timeFull), w)...)
			}
		case a.SignerFP != "":
			add(kv(st, "verified by", "fp "+clean(shortFP(a.SignerFP))+" (not in the key set)", w)...)
		default:
			add(kv(st, "verified by", "no given key", w)...)
		}
		if a.VerifyNote != "" {
			add(kv(st, "note", clean(a.VerifyNote), w)...)
		}
		if len(a.Flags) > 0 {
			add(kv(st, "flags", cleanList(a.Flags), w)...)
		}
	} else {
		add(kv(st, "sig_status", "unknown (artifact not recorded)", w)...)
	}

	section("Issuance match")
	if mt := d.match; mt != nil {
		at := ""
		if mt.file != "" {
			at = "   at " + clean(mt.file) + ":" + strconv.FormatInt(mt.line.Int64, 10)
		}
		add(kv(st, "match", clean(mt.matchType)+at, w)...)
		if mt.conflict != "" {
			add(kv(st, "conflict", clean(mt.conflict), w)...)
		}
		add(kv(st, "coverage", clean(mt.coverage)+" — "+clean(mt.coverageNote), w)...)
	} else {
		add(kv(st, "match", "not recorded", w)...)
	}
	if f.Coverage != "" && (d.match == nil || f.Coverage != d.match.coverage) {
		add(kv(st, "rule says", "coverage "+clean(f.Coverage), w)...)
	}

	section("Artifact")
	add(kv(st, "key", clean(f.ArtifactKey), w)...)
	if a != nil {
		add(kv(st, "kind", clean(a.Kind), w)...)
		// the kind's own terms: a token's jti, iss, aud, azp, alg; a
		// certificate's serial, names, issuer, validity
		lw := labelWidth(a.Fields)
		for _, fl := range a.Fields {
			v := clean(fl.Value)
			if fl.Label == "sub" || fl.Label == "subject" {
				if name := claimedName(a.Claims); name != "" && name != a.Subject {
					v += "   (" + clean(name) + ")"
				}
			}
			add(kvw(st, clean(fl.Label), v, w, lw)...)
		}
		if len(a.Fields) == 0 {
			add(kv(st, "id", clean(orDash(a.ID)), w)...)
			add(kv(st, "issuer", clean(orDash(a.Issuer)), w)...)
			add(kv(st, "subject", clean(orDash(a.Subject)), w)...)
		}
		if !a.IssuedAt.IsZero() || !a.NotBefore.IsZero() || !a.ExpiresAt.IsZero() {
			add(kv(st, "issued", fmtNullTime(nullTime(a.IssuedAt), timeFull)+"   nbf "+fmtNullTime(nullTime(a.NotBefore), timeFull), w)...)
			add(kv(st, "expires", fmtNullTime(nullTime(a.ExpiresAt), timeFull), w)...)
		}
	}

	section("Sightings")
	seen := fmt.Sprintf("%d seen, %d accepted", f.Sightings, f.Accepted)
	if s := d.stats; s != nil && s.accepted > 0 {
		seen += ", first accepted " + fmtNullTime(s.firstAccepted, timeFull) + ", last " + fmtNullTime(s.lastAccepted, timeFull)
	}
	add(kv(st, "count", seen, w)...)
	// the transparency-log entries that hold it (a CT entry, a Rekor
	// entry: the log, its index, its time)
	for _, fl := range f.Details {
		if strings.HasPrefix(fl.Label, "logged") {
			add(kv(st, clean(fl.Label), clean(fl.Value), w)...)
		}
	}
	if s := d.stats; s != nil && s.salvaged > 0 {
		what := fmt.Sprintf("%d from lines the format rejected (the token was hunted from the raw line): %s",
			s.salvaged, strings.Join(cleanEach(s.salvageReasons), "; "))
		if s.ambiguous {
			what += "; AMBIGUOUS: a line carried several tokens or a duplicated key, which one the verifier checked is unknown"
		}
		add(kv(st, "salvaged", what, w)...)
	}
	add(kv(st, "observers", cleanList(f.Observers), w)...)
	add(kv(st, "principals", cleanList(f.Principals), w)...)
	add(kv(st, "client ips", cleanList(f.ClientIPs), w)...)
	add("  " + st.faint.Render("press t for the timeline"))

	if len(d.from) > 0 || len(d.derived) > 0 {
		section("Derived credentials")
		for _, n := range d.from {
			add(kv(st, "derived from", clean(n.kind+" "+orDash(n.id))+" ("+clean(n.relation)+", "+clean(n.taint)+")", w)...)
		}
		for i, n := range d.derived {
			mark := "  "
			if i == m.derivedCursor {
				mark = "▸ "
			}
			line := strings.Repeat("  ", n.depth-1) + "└ " + clean(n.kind) + " " + clean(n.id) + "  " + clean(n.relation)
			if n.actor != "" {
				line += " → " + clean(n.actor)
			}
			line += fmt.Sprintf("  %s, %d use(s)", clean(n.taint), n.uses)
			add("  " + mark + line)
		}
		if len(d.derived) > 0 {
			add("  " + st.faint.Render("] / [ select, d opens the selected credential's finding"))
		}
	}

	section("Evidence")
	if len(f.Evidence) == 0 {
		add("  none recorded")
	}
	files := make([]string, len(f.Evidence))
	for i, e := range f.Evidence {
		files[i] = e.File
	}
	dir := commonDir(files)
	if dir != "" {
		for _, l := range wrap("under "+clean(dir), w-2) {
			add("  " + st.faint.Render(l))
		}
	}
	for _, e := range f.Evidence {
		for _, l := range wrap(clean(strings.TrimPrefix(e.File, dir))+":"+strconv.FormatInt(e.Line, 10), w-4) {
			add("    " + l)
		}
	}

	if a != nil && a.Header != "" {
		section("Header")
		add(prettyJSON(a.Header, w)...)
	}
	if a != nil && a.Claims != "" {
		section("Claims")
		add(prettyJSON(a.Claims, w)...)
	}

	section("Other findings on this artifact")
	if len(d.others) == 0 {
		add("  none")
	}
	for _, o := range d.others {
		add(kv(st, shortLevel(clean(o.level)), clean(o.rule)+" ["+clean(o.status)+"] "+clean(o.reason), w)...)
	}
	for _, e := range d.errs {
		add("", "  "+st.faint.Render(clean(e)))
	}
	return out
}

// claimedName returns the human name a token's claims give its subject, if
// any: the claims IdPs use for a login name.
func claimedName(claims string) string {
	var c map[string]any
	if json.Unmarshal([]byte(claims), &c) != nil {
		return ""
	}
	for _, k := range []string{"preferred_username", "upn", "unique_name", "email", "name"} {
		if s, ok := c[k].(string); ok && s != "" {
			return s
		}
	}
	return ""
}

// commonDir returns the longest directory prefix (ending in a separator)
// shared by all paths, so that evidence lists show short names.
func commonDir(paths []string) string {
	if len(paths) == 0 {
		return ""
	}
	prefix := paths[0]
	for _, p := range paths[1:] {
		for !strings.HasPrefix(p, prefix) {
			prefix = prefix[:len(prefix)-1]
		}
	}
	if i := strings.LastIndexAny(prefix, `/\`); i >= 0 {
		return prefix[:i+1]
	}
	return ""
}

func cleanList(xs []string) string {
	if len(xs) == 0 {
		return "-"
	}
	return strings.Join(cleanEach(xs), ", ")
}

// cleanEach escapes each of xs.
func cleanEach(xs []string) []string {
	cs := make([]string, len(xs))
	for i, x := range xs {
		cs[i] = clean(x)
	}
	return cs
}

// prettyJSON indents a JSON document and escapes each line; text that is
// not JSON is shown escaped as it is.
func prettyJSON(s string, w int) []string {
	if s == "" {
		return []string{"  -"}
	}
	var buf bytes.Buffer
	if json.Indent(&buf, []byte(s), "", "  ") == nil {
		s = buf.String()
	}
	var out []string
	for _, l := range strings.Split(s, "\n") {
		l = clean(l)
		body := strings.TrimLeft(l, " ")
		indent := 2 + len(l) - len(body)
		for i, part := range wrap(body, w-indent-2) {
			pad := indent
			if i > 0 {
				pad += 2
			}
			out = append(out, strings.Repeat(" ", pad)+part)
		}
	}
	return out
}

// widthSampleRows is how many leading rows size a table's columns, so that
// widths stay put while scrolling without formatting every row per frame.
const widthSampleRows = 200

// widthSample returns the rows that size a table: the first ones and the
// visible ones [from, to) (already formatted in visible).
func widthSample(n, from, to int, visible map[int][]string, row func(int) []string) [][]string {
	var out [][]string
	for i := 0; i < min(n, widthSampleRows); i++ {
		if c, ok := visible[i]; ok {
			out = append(out, c)
		} else {
			out = append(out, row(i))
		}
	}
	for i := max(from, widthSampleRows); i < to; i++ {
		out = append(out, visible[i])
	}
	return out
}

// timelineColumns are the timeline table's columns.
var timelineColumns = []column{
	{title: "observed at", min: 11, max: 19},
	{title: "observer", min: 10, max: 24},
	{title: "principal", min: 8, max: 24},
	{title: "client ip", min: 15, max: 39},
	{title: "action", min: 8, max: 32, drop: 2},
	{title: "outcome", min: 8, max: 9},
	{title: "user agent", min: 10, max: 40, drop: 3},
	{title: "source", min: 10, max: 48, drop: 4, path: true},
}

func (m Model) timelineLines() []string {
	f := m.detailFinding
	head := m.st.title.Render("Sightings of "+clean(shortKey(m.timelineKey))) + "  " + clean(orDash(f.Subject))
	if m.timelineLoading {
		return []string{head, "", "  loading…"}
	}
	if m.timelineErr != "" {
		return []string{head, "", "  " + m.st.errText.Render(clean(m.timelineErr))}
	}
	if len(m.timeline) == 0 {
		return []string{head, "", "  No sightings of this artifact."}
	}
	tl := timeNarrow
	if m.width >= 120 {
		tl = timeWide
	}
	row := func(i int) []string {
		s := m.timeline[i]
		return []string{fmtNullTime(s.observedAt, tl), clean(orDash(s.observer)), clean(orDash(s.principal)),
			clean(orDash(s.clientIP)), clean(orDash(s.action)), clean(orDash(s.outcome)), clean(orDash(s.userAgent)),
			clean(s.srcFile) + ":" + strconv.FormatInt(s.srcLine, 10)}
	}
	end := min(m.tlOffset+m.timelineRows(), len(m.timeline))
	cells := make(map[int][]string, end-m.tlOffset)
	for i := m.tlOffset; i < end; i++ {
		cells[i] = row(i)
	}
	ws := layout(timelineColumns, widthSample(len(m.timeline), m.tlOffset, end, cells, row), m.width-2)
	titles := make([]string, len(timelineColumns))
	for i, c := range timelineColumns {
		titles[i] = c.title
	}
	out := []string{head, "  " + m.st.title.Render(renderRow(timelineColumns, ws, titles, nil))}
	for i := m.tlOffset; i < end; i++ {
		if i == m.tlCursor {
			out = append(out, m.st.selected.Render("> "+renderRow(timelineColumns, ws, cells[i], nil)))
			continue
		}
		accepted := m.timeline[i].outcome == "accepted"
		out = append(out, "  "+renderRow(timelineColumns, ws, cells[i], func(col int, _, text string) string {
			if col == 5 && accepted {
				return m.st.errText.Render(text)
			}
			return text
		}))
	}
	// The selected sighting in full, since narrow columns truncate.
	if m.timelinePanelShown() {
		for len(out) < m.bodyHeight()-timelinePanel {
			out = append(out, "")
		}
		s := m.timeline[m.tlCursor]
		panel := []string{
			m.st.faint.Render(strings.Repeat("─", m.width)),
			truncLine("  "+sightingSentence(s), m.width),
			truncLine("  user agent "+clean(orDash(s.userAgent)), m.width),
			"  source     " + truncLeft(clean(s.srcFile)+":"+strconv.FormatInt(s.srcLine, 10), m.width-13),
		}
		out = append(out, panel...)
	}
	return out
}

// sightingSentence says what one sighting was: when, where, as whom, from
// where, what, and how it ended.
func sightingSentence(s sightingRow) string {
	out := fmtNullTime(s.observedAt, timeFull) + "  " + clean(orDash(s.observer))
	if s.principal != "" {
		out += " as " + clean(s.principal)
	}
	if s.clientIP != "" {
		out += " from " + clean(s.clientIP)
	}
	if s.action != "" {
		out += ": " + clean(s.action)
	}
	return out + " → " + clean(orDash(s.outcome))
}

// shortKey shortens an artifact key for headings.
func shortKey(k string) string {
	if strings.HasPrefix(k, "sha256:") && len(k) > 19 {
		return k[:19] + "…"
	}
	return k
}

// blastColumns are the blast radius tables' columns; the first title is set
// per section.
func blastColumns(name string) []column {
	return []column{
		{title: name, min: 10, max: 40},
		{title: "accepted", min: 8, max: 8, right: true},
		{title: "flagged", min: 7, max: 7, right: true, drop: 2},
		{title: "acc hits", min: 8, max: 8, right: true},
		{title: "hits", min: 4, max: 8, right: true, drop: 3},
		{title: "first acc", min: 11, max: 19},
		{title: "last acc", min: 11, max: 19, drop: 1},
	}
}

func (m Model) blastLines() []string {
	head := m.st.title.Render("Blast radius")
	switch {
	case m.blastLoading && m.blast == nil:
		return []string{head, "", "  loading…"}
	case m.blastErr != "" && m.blast == nil:
		return []string{head, "", "  " + m.st.errText.Render(clean(m.blastErr))}
	case m.blast == nil:
		return []string{head}
	}
	b := m.blast
	out := []string{head}
	for _, l := range wrap(fmt.Sprintf("%d flagged artifacts (a high or critical finding not marked benign, or marked forged). "+
		"accepted/flagged count distinct artifacts, hits count sightings.", b.flagged), m.width-2) {
		out = append(out, "  "+l)
	}
	tl := timeNarrow
	if m.width >= 120 {
		tl = timeWide
	}
	sections := []struct {
		title, col string
		rows       []blastRow
	}{
		{"By observer (where they were presented)", "observer", b.observers},
		{"By principal (who they acted as)", "principal", b.principals},
		{"By client address (from where)", "client ip", b.clientIPs},
	}
	for _, s := range sections {
		out = append(out, "", m.st.section.Render(s.title))
		if len(s.rows) == 0 {
			out = append(out, "  none")
			continue
		}
		cols := blastColumns(s.col)
		cells := make([][]string, len(s.rows))
		for i, r := range s.rows {
			cells[i] = []string{clean(orDash(r.name)), strconv.FormatInt(r.acceptedArtifacts, 10),
				strconv.FormatInt(r.artifacts, 10), strconv.FormatInt(r.acceptedSightings, 10),
				strconv.FormatInt(r.sightings, 10), fmtNullTime(r.firstAccepted, tl), fmtNullTime(r.lastAccepted, tl)}
		}
		ws := layout(cols, cells, m.width-2)
		titles := make([]string, len(cols))
		for i, c := range cols {
			titles[i] = c.title
		}
		out = append(out, "  "+m.st.title.Render(renderRow(cols, ws, titles, nil)))
		for i, r := range s.rows {
			line := "  " + renderRow(cols, ws, cells[i], nil)
			if r.acceptedArtifacts > 0 {
				line = "  " + renderRow(cols, ws, cells[i], func(col int, _, text string) string {
					if col == 1 {
						return m.st.errText.Render(text)
					}
					return text
				})
			}
			out = append(out, line)
		}
	}
	return out
}

func (m Model) summaryLines() []string {
	head := m.st.title.Render("Case summary")
	if m.c != nil && m.c.Path != "" {
		head += "  " + m.st.faint.Render(clean(m.c.Path))
	}
	switch {
	case m.summaryLoading && m.summary == nil:
		return []string{head, "", "  loading…"}
	case m.summaryErr != "" && m.summary == nil:
		return []string{head, "", "  " + m.st.errText.Render(clean(m.summaryErr))}
	case m.summary == nil:
		return []string{head}
	}
	s := m.summary
	w := m.width
	out := []string{head, fmt.Sprintf("  %d artifacts, %d sightings, %d issuance records, %d rejects, %d findings",
		s.artifacts, s.sightings, s.issuances, s.rejects, len(m.all))}
	table := func(title string, cols []column, cells [][]string, empty string) {
		out = append(out, "", m.st.section.Render(title))
		if len(cells) == 0 {
			out = append(out, "  "+empty)
			return
		}
		ws := layout(cols, cells, w-2)
		titles := make([]string, len(cols))
		for i, c := range cols {
			titles[i] = c.title
		}
		out = append(out, "  "+m.st.title.Render(renderRow(cols, ws, titles, nil)))
		for _, row := range cells {
			out = append(out, "  "+renderRow(cols, ws, row, nil))
		}
	}

	var cells [][]string
	for _, k := range s.keys {
		cells = append(cells, []string{clean(shortFP(k.fp)), clean(orDash(k.kid)), clean(k.keyType) + " " + strconv.FormatInt(k.bits, 10),
			clean(k.role), fmtNullTime(k.exposedFrom, timeNarrow), fmtNullTime(k.revokedAt, timeNarrow), clean(orDash(k.label))})
	}
	table("Keys", []column{
		{title: "fp", min: 8, max: 12}, {title: "kid", min: 6, max: 24}, {title: "type", min: 6, max: 12},
		{title: "role", min: 7, max: 8}, {title: "exposed from", min: 11, max: 12}, {title: "revoked", min: 11, max: 12},
		{title: "label", min: 6, max: 30, drop: 1},
	}, cells, "no keys recorded")

	cells = nil
	paths := make([]string, len(s.sources))
	for i, src := range s.sources {
		paths[i] = src.path
	}
	srcDir := commonDir(paths)
	for _, src := range s.sources {
		status := clean(src.status)
		if src.err != "" {
			status += ": " + clean(src.err)
		}
		cells = append(cells, []string{clean(strings.TrimPrefix(src.path, srcDir)), clean(orDash(src.format)), strconv.FormatInt(src.records, 10),
			strconv.FormatInt(src.rejects, 10), status})
	}
	sourcesTitle := "Sources"
	if srcDir != "" {
		sourcesTitle += " under " + clean(srcDir)
	}
	table(sourcesTitle, []column{
		{title: "path", min: 12, max: 60, path: true}, {title: "format", min: 6, max: 20},
		{title: "records", min: 5, max: 9, right: true}, {title: "rejects", min: 5, max: 9, right: true},
		{title: "status", min: 8, max: 60},
	}, cells, "no sources ingested")

	cells = nil
	for _, c := range s.sigStatuses {
		cells = append(cells, []string{clean(orDash(c.label)), strconv.FormatInt(c.n, 10), sigStatusMeaning[c.label]})
	}
	table("Artifacts by signature status", []column{{title: "sig_status", min: 12, max: 16}, {title: "artifacts", min: 5, max: 10, right: true},
		{title: "meaning", min: 10, max: 90}}, cells, "no artifacts")

	cells = nil
	for _, c := range s.rejectReasons {
		cells = append(cells, []string{strconv.FormatInt(c.n, 10), clean(orDash(c.label))})
	}
	table(fmt.Sprintf("Rejects (%d) — top reasons", s.rejects), []column{{title: "count", min: 5, max: 9, right: true}, {title: "reason", min: 10, max: 200}}, cells, "none")

	cells = nil
	for _, r := range s.ruleRuns {
		cells = append(cells, []string{clean(r.id), clean(r.status), strconv.FormatInt(r.hits, 10), strconv.FormatInt(r.millis, 10) + "ms", clean(orDash(r.err))})
	}
	table("Rules run", []column{
		{title: "rule", min: 10, max: 40}, {title: "status", min: 5, max: 7}, {title: "hits", min: 4, max: 8, right: true},
		{title: "time", min: 5, max: 8, right: true, drop: 1}, {title: "error", min: 5, max: 200},
	}, cells, "no rules run yet")

	for _, e := range s.errs {
		out = append(out, "", "  "+m.st.faint.Render(clean(e)))
	}
	return out
}

// helpLines renders the help overlay: two columns when they fit, in a box
// centred on the body.
func (m Model) helpLines() []string {
	secs := m.keys.fullHelp()
	// One key column width for every section, so that they line up.
	keyWidth := 0
	for _, sec := range secs {
		for _, b := range sec.bindings {
			keyWidth = max(keyWidth, lipgloss.Width(b.Help().Key))
		}
	}
	full := m.help
	full.SetWidth(0) // the box is cut by View if need be, one key a line
	full.Styles.FullKey = full.Styles.FullKey.Width(keyWidth)
	block := func(secs []helpSection) string {
		parts := make([]string, len(secs))
		for i, sec := range secs {
			parts[i] = m.st.section.Render(sec.title) + "\n" + full.FullHelpView([][]key.Binding{sec.bindings})
		}
		return strings.Join(parts, "\n\n")
	}
	left, right := block(secs[:1]), block(secs[1:])
	right += "\n\n" + m.st.faint.Render("marks: ✎ note, s salvaged, s? ambiguous")
	box := m.st.box.Render(lipgloss.JoinHorizontal(lipgloss.Top, left, "   ", right))
	if lipgloss.Width(box) > m.width || lipgloss.Height(box) > m.bodyHeight() && m.width >= 2*lipgloss.Width(box) {
		box = m.st.box.Render(left + "\n\n" + right)
	}
	if lipgloss.Width(box) > m.width || lipgloss.Height(box) > m.bodyHeight() {
		return strings.Split(box, "\n") // cut by View; still every key is one line
	}
	placed := lipgloss.Place(m.width, m.bodyHeight(), lipgloss.Center, lipgloss.Center, box)
	return strings.Split(placed, "\n")
}

// sigStatusMeaning says what each sig_status means, for the summary.
var sigStatusMeaning = map[string]string{
	"valid":        "a given key verifies it (which: signer_fp)",
	"invalid":      "forged or tampered (alg none, alg confusion, or not its kid's key)",
	"unknown-key":  "well formed; no given key verifies it",
	"not-checked":  "no exposed key verifies it; trusted keys not tried (no finding needed them)",
	"unverifiable": "the log holds only its id",
	"malformed":    "cannot be verified as sent",
}

// nullTime is t as a nullable time (zero: null).
func nullTime(t time.Time) sql.NullTime { return sql.NullTime{Time: t, Valid: !t.IsZero()} }
