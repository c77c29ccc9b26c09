package tui

import (
	"strings"
	"unicode"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
)

// lineInput is a one-line text input for the filter and notes. (bubbles'
// textinput would pull in a clipboard module this build does not carry; a
// filter box needs little.) The terminal's own cursor marks the position.
type lineInput struct {
	prompt, placeholder string
	value               []rune
	pos                 int
	limit               int
}

// set replaces the value and puts the cursor at its end.
func (in *lineInput) set(s string) {
	in.value, in.pos = in.value[:0], 0
	in.insert(s)
}

func (in lineInput) Value() string { return string(in.value) }

// insert adds text at the cursor, dropping control characters: a note or a
// filter is one line of printable text.
func (in *lineInput) insert(s string) {
	for _, r := range s {
		if r == '\n' || r == '\t' || r == '\r' {
			r = ' '
		}
		if !unicode.IsPrint(r) && r != ' ' {
			continue
		}
		if in.limit > 0 && len(in.value) >= in.limit {
			return
		}
		in.value = append(in.value[:in.pos], append([]rune{r}, in.value[in.pos:]...)...)
		in.pos++
	}
}

// update applies an editing key; it returns false for keys it does not use.
func (in *lineInput) update(k tea.KeyPressMsg) bool {
	in.pos = max(0, min(in.pos, len(in.value)))
	switch k.String() {
	case "left", "ctrl+b":
		in.pos = max(in.pos-1, 0)
	case "right", "ctrl+f":
		in.pos = min(in.pos+1, len(in.value))
	case "home", "ctrl+a":
		in.pos = 0
	case "end", "ctrl+e":
		in.pos = len(in.value)
	case "backspace", "ctrl+h":
		if in.pos > 0 {
			in.value = append(in.value[:in.pos-1], in.value[in.pos:]...)
			in.pos--
		}
	case "delete", "ctrl+d":
		if in.pos < len(in.value) {
			in.value = append(in.value[:in.pos], in.value[in.pos+1:]...)
		}
	case "ctrl+u":
		in.value = append([]rune{}, in.value[in.pos:]...)
		in.pos = 0
	case "ctrl+k":
		in.value = in.value[:in.pos]
	case "ctrl+w":
		i := in.pos
		for i > 0 && in.value[i-1] == ' ' {
			i--
		}
		for i > 0 && in.value[i-1] != ' ' {
			i--
		}
		in.value = append(in.value[:i], in.value[in.pos:]...)
		in.pos = i
	default:
		if k.Text == "" || k.Mod&(tea.ModCtrl|tea.ModAlt) != 0 {
			return false
		}
		in.insert(k.Text)
	}
	return true
}

// view renders the input in width cells and returns the cursor's column.
// Long values scroll so that the cursor stays visible.
func (in lineInput) view(st styles, width int) (string, int) {
	prompt := in.prompt
	if len(in.value) == 0 {
		return prompt + st.faint.Render(truncLine(in.placeholder, max(width-ansi.StringWidth(prompt), 0))), ansi.StringWidth(prompt)
	}
	room := max(width-ansi.StringWidth(prompt)-1, 1)
	start := 0
	for ansi.StringWidth(string(in.value[start:in.pos])) > room {
		start++
	}
	text := string(in.value[start:])
	if ansi.StringWidth(text) > room {
		text = ansi.Truncate(text, room, "")
	}
	// Typed text is the analyst's own, but a paste may carry anything.
	text = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return '?'
		}
		return r
	}, text)
	return prompt + text, ansi.StringWidth(prompt) + ansi.StringWidth(string(in.value[start:in.pos]))
}
