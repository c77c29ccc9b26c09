package tui

import (
	"strings"
	"unicode"

	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"
)

// inputLimit bounds a filter or a note, in characters.
const inputLimit = 200

// newInput returns the one-line input for the filter and notes: bubbles'
// textinput with a steady cursor drawn in the line (a blinking one redraws
// the screen twice a second) and without its clipboard key: terminals
// deliver a paste as tea.PasteMsg, which editInput cleans like typed keys.
func newInput(st styles) textinput.Model {
	in := textinput.New()
	in.CharLimit = inputLimit
	in.KeyMap.Paste.SetEnabled(false)
	state := textinput.StyleState{Text: lipgloss.NewStyle(), Placeholder: st.faint, Suggestion: st.faint, Prompt: st.title}
	in.SetStyles(textinput.Styles{Focused: state, Blurred: state, Cursor: textinput.CursorStyle{Blink: false}})
	return in
}

// openInput starts editing value, cleaned, in mode.
func (m *Model) openInput(mode inputMode, prompt, placeholder, value string) tea.Cmd {
	m.inputMode = mode
	m.input.Prompt, m.input.Placeholder = prompt, placeholder
	m.input.SetValue(printable(value))
	m.input.CursorEnd()
	m.sizeInput()
	return m.input.Focus()
}

func (m *Model) closeInput() {
	m.inputMode = inputNone
	m.input.Blur()
}

// sizeInput fits the input to the screen: its prompt, the visible text and
// the cursor's cell. Longer text scrolls.
func (m *Model) sizeInput() {
	// textinput moves its scroll window only when the cursor leaves it, so
	// after a resize the window is rebuilt: whole, at the end, then back to
	// the cursor.
	pos := m.input.Position()
	m.input.SetWidth(0)
	m.input.CursorEnd()
	m.input.SetWidth(max(m.width-ansi.StringWidth(m.input.Prompt)-1, 1))
	m.input.CursorEnd()
	m.input.SetCursor(pos)
}

// editInput feeds a key or a paste to the input. Only printable text gets
// in: typed text is the analyst's own, but a paste may carry anything.
func (m *Model) editInput(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case tea.KeyPressMsg:
		if msg.Mod&(tea.ModCtrl|tea.ModAlt) != 0 {
			msg.Text = "" // an editing key or nothing, never text
		}
		msg.Text = printable(msg.Text)
		var cmd tea.Cmd
		m.input, cmd = m.input.Update(msg)
		return cmd
	case tea.PasteMsg:
		msg.Content = printable(msg.Content)
		var cmd tea.Cmd
		m.input, cmd = m.input.Update(msg)
		return cmd
	}
	return nil
}

// printable keeps s to one line of printable text: line breaks and tabs
// become spaces; control, format (bidi overrides) and other invisible
// characters go.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\r' || r == '\t':
			return ' '
		case unicode.IsPrint(r):
			return r
		}
		return -1
	}, s)
}
