package tui

import (
	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
)

// keyMap holds every key of the screen. The help overlay lists fullHelp,
// the hint line a per-view selection (hints).
type keyMap struct {
	Down, Up, Top, Bottom, PageDown, PageUp key.Binding

	Open, Timeline, Back, NextView, PrevView, Blast, Reload, Help, Quit, ForceQuit key.Binding
	// NextDerived, PrevDerived and OpenDerived move in and open the
	// detail's derived-credential tree.
	NextDerived, PrevDerived, OpenDerived key.Binding

	Filter, Sort, SortReverse key.Binding
	// Statuses are the status filters in key order; the first shows every status.
	Statuses []statusKey

	// Marks are the triage marks, each with the status it sets.
	Marks []statusKey
	Note  key.Binding

	// Accept and Cancel end a filter or note edit.
	Accept, Cancel key.Binding
}

// statusKey is a binding that stands for a triage status ("" is all).
type statusKey struct {
	key.Binding
	status string
}

func bind(help, desc string, keys ...string) key.Binding {
	return key.NewBinding(key.WithKeys(keys...), key.WithHelp(help, desc))
}

func newKeyMap() keyMap {
	return keyMap{
		Down:     bind("j / ↓", "down", "j", "down"),
		Up:       bind("k / ↑", "up", "k", "up"),
		Top:      bind("g / home", "top", "g", "home"),
		Bottom:   bind("G / end", "bottom", "G", "end"),
		PageDown: bind("ctrl+d pgdn", "page down", "ctrl+d", "pgdown", "space"),
		PageUp:   bind("ctrl+u pgup", "page up", "ctrl+u", "pgup"),

		Open:     bind("enter", "open the finding", "enter"),
		Timeline: bind("t", "sightings timeline", "t"),

		NextDerived: bind("]", "next derived credential", "]"),
		PrevDerived: bind("[", "previous derived credential", "["),
		OpenDerived: bind("d", "open the derived credential", "d"),
		Back:        bind("esc", "back / clear filter", "esc"),
		NextView:    bind("tab", "next view", "tab"),
		PrevView:    bind("shift+tab", "previous view", "shift+tab"),
		Blast:       bind("B", "blast radius", "B"),
		Reload:      bind("R ctrl+r", "reload from the case", "R", "ctrl+r"),
		Help:        bind("?", "this help", "?"),
		Quit:        bind("q", "quit", "q"),
		ForceQuit:   bind("ctrl+c", "quit", "ctrl+c"),

		Filter:      bind("/", "filter (enter keeps it)", "/"),
		Sort:        bind("s", "sort column", "s"),
		SortReverse: bind("S", "reverse", "S"),
		Statuses: []statusKey{
			{bind("1", "every status", "1"), ""},
			{bind("2", "open", "2"), "open"},
			{bind("3", "forged", "3"), "forged"},
			{bind("4", "benign", "4"), "benign"},
			{bind("5", "needs-review", "5"), "needs-review"},
		},

		Marks: []statusKey{
			{bind("f", "mark forged", "f"), "forged"},
			{bind("b", "mark benign", "b"), "benign"},
			{bind("r", "mark needs-review", "r"), "needs-review"},
			{bind("o", "mark open again", "o"), "open"},
		},
		Note: bind("n", "note (enter saves)", "n"),

		Accept: bind("enter", "keep", "enter"),
		Cancel: bind("esc", "cancel", "esc"),
	}
}

// hint joins bindings under one help entry worded for a place, such as
// "1-5 status" for the five status keys.
func hint(keys, desc string, bs ...key.Binding) key.Binding {
	var ks []string
	for _, b := range bs {
		ks = append(ks, b.Keys()...)
	}
	return bind(keys, desc, ks...)
}

func bindings(sks []statusKey) []key.Binding {
	out := make([]key.Binding, len(sks))
	for i, sk := range sks {
		out[i] = sk.Binding
	}
	return out
}

// match returns the status of the binding in sks that k matches.
func match(k tea.KeyPressMsg, sks []statusKey) (string, bool) {
	for _, sk := range sks {
		if key.Matches(k, sk.Binding) {
			return sk.status, true
		}
	}
	return "", false
}

// move applies a movement key to pos among n positions, page a screen; ok
// is false for other keys. Callers clamp.
func (km keyMap) move(k tea.KeyPressMsg, pos, n, page int) (_ int, ok bool) {
	switch {
	case key.Matches(k, km.Down):
		return pos + 1, true
	case key.Matches(k, km.Up):
		return pos - 1, true
	case key.Matches(k, km.Top):
		return 0, true
	case key.Matches(k, km.Bottom):
		return n - 1, true
	case key.Matches(k, km.PageDown):
		return pos + page, true
	case key.Matches(k, km.PageUp):
		return pos - page, true
	}
	return pos, false
}

// scroll applies a movement key to a text view's scroll offset.
func (km keyMap) scroll(k tea.KeyPressMsg, off, lines, height int) int {
	off, _ = km.move(k, off, lines, max(height-1, 1))
	return max(0, min(off, lines-height))
}

// helpSection is one block of the help overlay.
type helpSection struct {
	title    string
	bindings []key.Binding
}

// fullHelp lists every key for the help overlay: the first section goes in
// the left column, the others in the right one.
func (km keyMap) fullHelp() []helpSection {
	return []helpSection{
		{"Move", []key.Binding{km.Down, km.Up, km.Top, km.Bottom, km.PageDown, km.PageUp,
			km.Open, km.Timeline, km.Back,
			hint("] [ d", "derived: pick, open", km.NextDerived, km.PrevDerived, km.OpenDerived),
			hint("tab shift+tab", "next / previous view", km.NextView, km.PrevView),
			km.Blast, km.Reload, km.Help,
			hint("q ctrl+c", "quit", km.Quit, km.ForceQuit)}},
		{"Findings", append([]key.Binding{km.Filter, hint("s / S", "sort column / reverse", km.Sort, km.SortReverse)},
			bindings(km.Statuses)...)},
		{"Triage (findings, detail)", append(bindings(km.Marks), km.Note)},
	}
}

// hints are the short help of the hint line for what the screen shows.
func (m Model) hints() []key.Binding {
	km := m.keys
	help := hint("?", "help", km.Help)
	switch {
	case m.showHelp:
		return []key.Binding{hint("esc/?", "close help", km.Back, km.Help), km.Quit}
	case m.view == viewFindings:
		return []key.Binding{hint("enter", "open", km.Open), hint("/", "filter", km.Filter), hint("s", "sort", km.Sort),
			hint("1-5", "status", bindings(km.Statuses)...),
			hint("f/b/r/n", "triage", append(bindings(km.Marks), km.Note)...),
			hint("tab", "views", km.NextView), help}
	case m.view == viewDetail:
		hs := []key.Binding{hint("j/k", "scroll", km.Down, km.Up), hint("t", "timeline", km.Timeline),
			hint("f/b/r/o", "mark", bindings(km.Marks)...), hint("n", "note", km.Note), hint("esc", "back", km.Back), help}
		if m.detail != nil && len(m.detail.derived) > 0 {
			hs = append(hs[:len(hs)-2], hint("]/d", "derived", km.NextDerived, km.OpenDerived), hs[len(hs)-2], hs[len(hs)-1])
		}
		return hs
	case m.view == viewTimeline:
		return []key.Binding{hint("j/k", "move", km.Down, km.Up), hint("g/G", "ends", km.Top, km.Bottom),
			hint("enter", "detail", km.Open), hint("esc", "back", km.Back), help}
	}
	return []key.Binding{hint("j/k", "scroll", km.Down, km.Up), hint("tab", "next view", km.NextView),
		hint("esc", "findings", km.Back), hint("R", "reload", km.Reload), help, km.Quit}
}

// newHelp returns the help renderer for the hint line and the overlay.
func newHelp(st styles) help.Model {
	h := help.New()
	h.ShortSeparator = "  "
	h.Styles = help.Styles{
		Ellipsis: st.hint, ShortKey: st.hintKey, ShortDesc: st.hint, ShortSeparator: st.hint,
		FullKey: st.title, FullDesc: lipgloss.NewStyle(), FullSeparator: lipgloss.NewStyle(),
	}
	return h
}
