package tui

import (
	"database/sql"
	"strings"
	"time"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/forgehunt/forgehunt/analyzer/kinds"
	"github.com/forgehunt/forgehunt/parsers/record"
)

// clean makes text that came from a log or the case safe for the terminal.
// Every string read from the database passes through it before rendering.
func clean(s string) string { return record.Escape(s) }

// styles are the screen's styles. The plain set has no attributes at all, so
// that tests can assert that every escape sequence in a view came from data.
type styles struct {
	header, tabActive, tab, title, section, label, faint, selected, status, errText, hint, hintKey lipgloss.Style
	levels                                                                                         map[string]lipgloss.Style
	triage                                                                                         map[string]lipgloss.Style
	box                                                                                            lipgloss.Style
}

func newStyles(color bool) styles {
	p := lipgloss.NewStyle()
	if !color {
		return styles{header: p, tabActive: p, tab: p, title: p, section: p, label: p, faint: p,
			selected: p, status: p, errText: p, hint: p, hintKey: p, box: p.Border(lipgloss.NormalBorder()).Padding(0, 1),
			levels: map[string]lipgloss.Style{}, triage: map[string]lipgloss.Style{}}
	}
	red, yellow, green, blue := lipgloss.Color("1"), lipgloss.Color("3"), lipgloss.Color("2"), lipgloss.Color("4")
	return styles{
		header:    p.Bold(true),
		tabActive: p.Bold(true).Reverse(true),
		tab:       p.Faint(true),
		title:     p.Bold(true),
		section:   p.Bold(true).Underline(true),
		label:     p.Faint(true),
		faint:     p.Faint(true),
		selected:  p.Reverse(true),
		status:    p.Reverse(true),
		errText:   p.Foreground(red).Bold(true),
		hint:      p.Faint(true),
		hintKey:   p,
		box:       p.Border(lipgloss.RoundedBorder()).Padding(0, 1),
		levels: map[string]lipgloss.Style{
			"critical":      p.Foreground(red).Bold(true),
			"high":          p.Foreground(red),
			"medium":        p.Foreground(yellow),
			"low":           p.Foreground(blue),
			"informational": p.Faint(true),
		},
		triage: map[string]lipgloss.Style{
			"forged":       p.Foreground(red).Bold(true),
			"benign":       p.Foreground(green),
			"needs-review": p.Foreground(yellow),
		},
	}
}

// fit truncates s (already clean) to w cells with an ellipsis and pads it.
func fit(s string, w int, right bool) string {
	if w <= 0 {
		return ""
	}
	if ansi.StringWidth(s) > w {
		s = ansi.Truncate(s, w, "…")
	}
	pad := w - ansi.StringWidth(s)
	if pad <= 0 {
		return s
	}
	if right {
		return strings.Repeat(" ", pad) + s
	}
	return s + strings.Repeat(" ", pad)
}

// truncLeft shortens s to w cells by cutting its start, marked with "…".
func truncLeft(s string, w int) string {
	if ansi.StringWidth(s) <= w || w < 2 {
		return s
	}
	r := []rune(s)
	for len(r) > 0 && ansi.StringWidth(string(r)) > w-1 {
		r = r[1:]
	}
	return "…" + string(r)
}

// truncLine truncates a rendered (possibly styled) line to w cells.
func truncLine(s string, w int) string {
	if ansi.StringWidth(s) <= w {
		return s
	}
	return ansi.Truncate(s, w, "…")
}

// column describes a table column. Columns shrink toward min when the screen
// is narrow; when that is not enough, droppable columns (drop > 0) go first,
// the highest drop value first.
type column struct {
	title    string
	min, max int
	right    bool
	path     bool // truncate on the left: a path's end says most
	keep     bool // shrink only as a last resort (identifiers, levels, times)
	give     bool // shrink to min before any column is dropped (free text)
	drop     int
}

// layout returns each column's width (0: dropped) for cells in width cells,
// with one space between columns. Columns first shrink to two thirds of
// their natural width (never cutting their title; keep columns not at all);
// if that is not enough, give columns shrink to their minimum, then
// droppable columns go; only then do columns shrink to their minimum.
func layout(cols []column, cells [][]string, width int) []int {
	natural := make([]int, len(cols))
	ws := make([]int, len(cols))
	for i, c := range cols {
		natural[i] = max(c.min, min(wantWidth(c, cells, i), c.max))
		ws[i] = natural[i]
	}
	total := func() int {
		t, n := 0, 0
		for _, w := range ws {
			if w > 0 {
				t += w
				n++
			}
		}
		return t + max(n-1, 0)
	}
	shrinkTo := func(floor func(i int) int) {
		for total() > width {
			best, room := -1, 0
			for i := range cols {
				if r := ws[i] - floor(i); ws[i] > 0 && r > room {
					best, room = i, r
				}
			}
			if best < 0 {
				return
			}
			ws[best]--
		}
	}
	// Titles stay whole until the last resort.
	shrinkTo(func(i int) int {
		if cols[i].keep {
			return natural[i]
		}
		return min(natural[i], max(cols[i].min, ansi.StringWidth(cols[i].title), (natural[i]*2+2)/3))
	})
	// Free-text columns give way before any column is dropped.
	shrinkTo(func(i int) int {
		if cols[i].give {
			return cols[i].min
		}
		return ws[i]
	})
	for total() > width {
		drop := -1
		for i, c := range cols {
			if ws[i] > 0 && c.drop > 0 && (drop < 0 || c.drop > cols[drop].drop) {
				drop = i
			}
		}
		if drop < 0 {
			break
		}
		ws[drop] = 0
	}
	shrinkTo(func(i int) int { return cols[i].min })
	// Give room freed by dropping back, up to each column's natural width.
	for spare := width - total(); spare > 0; {
		grew := false
		for i := range cols {
			if spare > 0 && ws[i] > 0 && ws[i] < natural[i] {
				ws[i]++
				spare--
				grew = true
			}
		}
		if !grew {
			break
		}
	}
	return ws
}

func wantWidth(c column, cells [][]string, i int) int {
	w := ansi.StringWidth(c.title)
	for _, row := range cells {
		w = max(w, ansi.StringWidth(row[i]))
	}
	return w
}

// renderRow joins cells at the given widths; style, when non-nil, styles
// each cell by column index and content.
func renderRow(cols []column, ws []int, cells []string, style func(i int, cell, text string) string) string {
	var b strings.Builder
	first := true
	for i, c := range cols {
		if ws[i] == 0 {
			continue
		}
		if !first {
			b.WriteByte(' ')
		}
		first = false
		cell := cells[i]
		if c.path {
			cell = truncLeft(cell, ws[i])
		}
		text := fit(cell, ws[i], c.right)
		if style != nil {
			text = style(i, cells[i], text)
		}
		b.WriteString(text)
	}
	return b.String()
}

// Time formats: the wide one when the screen has room.
const (
	timeWide   = "2006-01-02 15:04:05"
	timeNarrow = "01-02 15:04"
	timeFull   = "2006-01-02T15:04:05Z"
)

func fmtTime(t *time.Time, layout string) string {
	if t == nil || t.IsZero() {
		return "-"
	}
	return t.UTC().Format(layout)
}

func fmtNullTime(t sql.NullTime, layout string) string {
	if !t.Valid {
		return "-"
	}
	return fmtTime(&t.Time, layout)
}

// shortLevel abbreviates a level for narrow tables.
func shortLevel(l string) string {
	switch l {
	case "critical":
		return "crit"
	case "informational":
		return "info"
	case "medium":
		return "med"
	}
	return l
}

// shortFP shortens a key fingerprint for display.
func shortFP(fp string) string {
	fp = strings.TrimPrefix(fp, "sha256:")
	if len(fp) > 12 {
		return fp[:12]
	}
	return fp
}

// orDash returns s, or "-" when it is empty.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// wrap wraps clean text to w cells, breaking long words.
func wrap(s string, w int) []string {
	if w < 8 {
		w = 8
	}
	return strings.Split(ansi.Wrap(s, w, " ,;/"), "\n")
}

// kv renders "label  value" lines with the value wrapped under itself.
func kv(st styles, label, value string, width int) []string {
	return kvw(st, label, value, width, 12)
}

// kvw is kv with labels lw cells wide; a longer label is cut short, and a
// space always parts it from its value.
func kvw(st styles, label, value string, width, lw int) []string {
	lines := wrap(value, width-lw-2)
	out := make([]string, len(lines))
	for i, l := range lines {
		lab := strings.Repeat(" ", lw)
		if i == 0 {
			lab = st.label.Render(fit(label, lw-1, false)) + " "
		}
		out[i] = "  " + lab + l
	}
	return out
}

// labelWidth is the label width that fits every field's label (kind
// fields such as "token issuer type"), at least kv's and at most 22 cells.
func labelWidth(fields []kinds.Field) int {
	lw := 12
	for _, f := range fields {
		lw = max(lw, min(22, ansi.StringWidth(f.Label)+1))
	}
	return lw
}
