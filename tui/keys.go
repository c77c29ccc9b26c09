package tui

// helpSection is one block of the help overlay.
type helpSection struct {
	title string
	keys  [][2]string // key, what it does
}

// help lists every key; the overlay renders it and a test checks that each
// key named here is handled.
var help = []helpSection{
	{"Move", [][2]string{
		{"j / ↓", "down"},
		{"k / ↑", "up"},
		{"g / home", "top"},
		{"G / end", "bottom"},
		{"ctrl+d pgdn", "page down"},
		{"ctrl+u pgup", "page up"},
		{"enter", "open the finding"},
		{"t", "sightings timeline"},
		{"esc", "back / clear filter"},
		{"tab shift+tab", "next / previous view"},
		{"B", "blast radius"},
		{"R ctrl+r", "reload from the case"},
		{"?", "this help"},
		{"q ctrl+c", "quit"},
	}},
	{"Findings", [][2]string{
		{"/", "filter (enter keeps it)"},
		{"s / S", "sort column / reverse"},
		{"1", "show every status"},
		{"2 3 4 5", "open forged benign review"},
	}},
	{"Triage (findings, detail)", [][2]string{
		{"f", "mark forged"},
		{"b", "mark benign"},
		{"r", "mark needs-review"},
		{"o", "mark open again"},
		{"n", "note (enter saves)"},
	}},
}

// statusFilters are the status filter keys, in order: "" is all.
var statusFilters = []struct{ key, status string }{
	{"1", ""}, {"2", "open"}, {"3", "forged"}, {"4", "benign"}, {"5", "needs-review"},
}

// markKeys are the triage keys and the status each sets.
var markKeys = map[string]string{"f": "forged", "b": "benign", "r": "needs-review", "o": "open"}
