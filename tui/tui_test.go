package tui

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/forgehunt/forgehunt/analyzer"
	"github.com/forgehunt/forgehunt/analyzer/keys"
	"github.com/forgehunt/forgehunt/internal/ciincident"
	"github.com/forgehunt/forgehunt/internal/derivincident"
	"github.com/forgehunt/forgehunt/internal/idincident"
	"github.com/forgehunt/forgehunt/internal/incident"
	"github.com/forgehunt/forgehunt/parsers/record"
	"github.com/forgehunt/forgehunt/rules"
)

// BuildDemoCase generates the demo incident under dir and hunts it into a
// case file at casePath, closed on return. Tests copy the result.
func buildDemoCase(ctx context.Context, dir, casePath string) error {
	truth, err := incident.Generate(dir, incident.DefaultConfig())
	if err != nil {
		return err
	}
	exposed, err := keys.LoadFile(filepath.Join(dir, "keys", "exposed.pem"), keys.RoleExposed)
	if err != nil {
		return err
	}
	trusted, err := keys.LoadFile(filepath.Join(dir, "keys", "trusted-jwks.json"), keys.RoleTrusted)
	if err != nil {
		return err
	}
	set := append(exposed, trusted...)
	c, err := analyzer.OpenCase(ctx, casePath)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.SetKeys(ctx, set, analyzer.KeyWindow{ExposedFrom: truth.ExposedFrom, RevokedAt: truth.RevokedAt}); err != nil {
		return err
	}
	if _, err := c.Ingest(ctx, []string{filepath.Join(dir, "logs")}, set, analyzer.IngestOptions{Workers: 1}); err != nil {
		return err
	}
	rs, lerrs := rules.Builtin()
	if len(lerrs) > 0 {
		return lerrs[0]
	}
	if _, err := c.Analyze(ctx, rs, analyzer.Settings{}); err != nil {
		return err
	}
	return nil
}

var demo struct {
	once sync.Once
	dir  string
	path string
	err  error
}

// openDemoCase opens a private copy of the demo case (built once per test
// binary) and returns it with its path.
func openDemoCase(t *testing.T) (*analyzer.Case, string) {
	t.Helper()
	demo.once.Do(func() {
		demo.dir, demo.err = os.MkdirTemp("", "forgehunt-tui-test-")
		if demo.err == nil {
			demo.path = filepath.Join(demo.dir, "demo.duckdb")
			demo.err = buildDemoCase(context.Background(), filepath.Join(demo.dir, "incident"), demo.path)
		}
	})
	if demo.err != nil {
		t.Fatalf("building the demo case: %v", demo.err)
	}
	path := filepath.Join(t.TempDir(), "case.duckdb")
	data, err := os.ReadFile(demo.path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := analyzer.OpenCase(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, path
}

func TestMain(m *testing.M) {
	code := m.Run()
	if demo.dir != "" {
		os.RemoveAll(demo.dir)
	}
	os.Exit(code)
}

// driver runs a model synchronously: every command is executed at once and
// its message fed back, as the bubbletea runtime would, minus the terminal.
type driver struct {
	t    *testing.T
	m    tea.Model
	quit bool
}

func newDriver(t *testing.T, c *analyzer.Case, w, h int) *driver {
	t.Helper()
	d := &driver{t: t, m: newModel(context.Background(), c, false)}
	d.send(tea.WindowSizeMsg{Width: w, Height: h})
	d.run(d.m.Init())
	return d
}

func (d *driver) send(msg tea.Msg) {
	d.t.Helper()
	m, cmd := d.m.Update(msg)
	d.m = m
	d.run(cmd)
}

func (d *driver) run(cmd tea.Cmd) {
	d.t.Helper()
	queue := []tea.Cmd{cmd}
	for len(queue) > 0 {
		c := queue[0]
		queue = queue[1:]
		if c == nil {
			continue
		}
		switch msg := c().(type) {
		case nil:
		case tea.BatchMsg:
			queue = append(queue, msg...)
		case tea.QuitMsg:
			d.quit = true
		default:
			d.send(msg)
		}
	}
}

// press sends keys: one key per element, named as tea's String gives them
// ("enter", "esc", "ctrl+c") or a single printable character.
func (d *driver) press(names ...string) {
	d.t.Helper()
	for _, n := range names {
		d.send(keyMsg(n))
	}
}

// typeText sends each character of s as a key press.
func (d *driver) typeText(s string) {
	d.t.Helper()
	for _, r := range s {
		d.send(tea.KeyPressMsg{Code: r, Text: string(r)})
	}
}

func keyMsg(n string) tea.KeyPressMsg {
	special := map[string]tea.KeyPressMsg{
		"enter":     {Code: tea.KeyEnter},
		"esc":       {Code: tea.KeyEscape},
		"tab":       {Code: tea.KeyTab},
		"shift+tab": {Code: tea.KeyTab, Mod: tea.ModShift},
		"up":        {Code: tea.KeyUp},
		"down":      {Code: tea.KeyDown},
		"backspace": {Code: tea.KeyBackspace},
		"home":      {Code: tea.KeyHome},
		"ctrl+c":    {Code: 'c', Mod: tea.ModCtrl},
		"ctrl+d":    {Code: 'd', Mod: tea.ModCtrl},
		"ctrl+r":    {Code: 'r', Mod: tea.ModCtrl},
	}
	if k, ok := special[n]; ok {
		return k
	}
	r := []rune(n)[0]
	return tea.KeyPressMsg{Code: r, Text: n}
}

func (d *driver) model() Model { return d.m.(Model) }

func (d *driver) screen() string { return d.m.View().Content }

// scrollAll collects every line a scrolling view shows, paging down until
// the screen stops changing.
func (d *driver) scrollAll() string {
	d.t.Helper()
	var b strings.Builder
	prev := ""
	for i := 0; i < 50; i++ {
		s := d.screen()
		if s == prev {
			break
		}
		b.WriteString(s + "\n")
		prev = s
		d.press("ctrl+d")
	}
	return b.String()
}

// checkScreen asserts the screen's shape: exactly h lines, none wider than w.
func checkScreen(t *testing.T, s string, w, h int) {
	t.Helper()
	lines := strings.Split(s, "\n")
	if len(lines) != h {
		t.Errorf("screen has %d lines, want %d:\n%s", len(lines), h, s)
	}
	for i, l := range lines {
		if lw := ansi.StringWidth(l); lw > w {
			t.Errorf("line %d is %d cells wide, over %d: %q", i, lw, w, l)
		}
	}
}

// pickForged returns a high or critical jwt-no-issuance finding.
func pickForged(t *testing.T, c *analyzer.Case) analyzer.Finding {
	t.Helper()
	fs, err := c.Findings(context.Background(), "high")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fs {
		if f.RuleID == "jwt-no-issuance" && f.ArtifactID != "" && len(f.Evidence) > 0 {
			return f
		}
	}
	t.Fatalf("no high jwt-no-issuance finding in the demo case (%d findings at high)", len(fs))
	return analyzer.Finding{}
}

func TestTriageRoundTrip(t *testing.T) {
	c, path := openDemoCase(t)
	target := pickForged(t, c)
	d := newDriver(t, c, 80, 24)

	s := d.screen()
	checkScreen(t, s, 80, 24)
	if !strings.Contains(s, "jwt-no-issuance") {
		t.Fatalf("findings table does not list jwt-no-issuance:\n%s", s)
	}
	total := len(d.model().all)

	// Filter down to the target by its jti.
	d.press("/")
	d.typeText(target.ArtifactID)
	d.press("enter")
	m := d.model()
	if len(m.rows) != 1 {
		t.Fatalf("filter %q left %d rows, want 1", target.ArtifactID, len(m.rows))
	}
	if want := fmt.Sprintf("1/%d", total); !strings.Contains(d.screen(), want) {
		t.Errorf("status bar does not show %q:\n%s", want, d.screen())
	}

	// Open it and read the detail.
	d.press("enter")
	if d.model().view != viewDetail {
		t.Fatalf("enter did not open the detail view")
	}
	checkScreen(t, d.screen(), 80, 24)
	detail := d.scrollAll()
	ev := fmt.Sprintf("%s:%d", record.Escape(filepath.Base(target.Evidence[0].File)), target.Evidence[0].Line)
	for _, want := range []string{
		"signature verifies with exposed key", // the reason
		"sig_status", "valid",
		"coverage", target.Coverage,
		"match", "none",
		ev,
		"Claims", `"jti"`,
		"verified by", "role exposed",
	} {
		if !strings.Contains(detail, want) {
			t.Errorf("detail does not show %q:\n%s", want, detail)
		}
	}

	// Mark it forged.
	d.press("f")
	if !strings.Contains(d.screen(), "marked forged") {
		t.Errorf("status bar does not confirm the mark:\n%s", d.screen())
	}
	if got := d.model().detailFinding.Status; got != "forged" {
		t.Errorf("detail status = %q after f, want forged", got)
	}
	d.press("q")
	if !d.quit {
		t.Fatal("q did not quit")
	}

	// Reopen the case file: the mark is there.
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	c2, err := analyzer.OpenCase(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	d2 := newDriver(t, c2, 120, 40)
	d2.press("/")
	d2.typeText(target.ArtifactID)
	d2.press("enter")
	row := ""
	for _, l := range strings.Split(d2.screen(), "\n") {
		if strings.HasPrefix(l, "> ") {
			row = l
		}
	}
	if !strings.Contains(row, "jwt-no-issuance") || !strings.HasSuffix(strings.TrimSpace(row), "forged") {
		t.Errorf("after reopening, the selected row does not show forged: %q\n%s", row, d2.screen())
	}
	// The status filter finds it too.
	d2.press("esc", "3")
	if n := len(d2.model().rows); n != 1 {
		t.Errorf("status filter forged shows %d rows, want 1", n)
	}
}

func TestNoteAndStatusFilter(t *testing.T) {
	c, _ := openDemoCase(t)
	d := newDriver(t, c, 100, 30)
	d.press("2") // open only
	open := len(d.model().rows)
	if open == 0 {
		t.Fatal("no open findings")
	}
	first, _ := d.model().selected()
	d.press("r")
	if got := len(d.model().rows); got != open-1 {
		t.Errorf("after marking needs-review, open rows = %d, want %d", got, open-1)
	}
	d.press("5")
	sel, ok := d.model().selected()
	if !ok || idOf(sel) != idOf(first) {
		t.Fatalf("needs-review filter does not show the marked finding")
	}
	d.press("n")
	d.typeText("seen from 203.0.113.9, ask payments")
	d.press("enter")
	sel, _ = d.model().selected()
	if sel.Note != "seen from 203.0.113.9, ask payments" || sel.Status != "needs-review" {
		t.Errorf("note/status = %q/%q after n", sel.Note, sel.Status)
	}
	fs, err := c.Findings(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fs {
		if idOf(f) == idOf(first) && (f.Note != sel.Note || f.Status != "needs-review") {
			t.Errorf("case has note %q status %q", f.Note, f.Status)
		}
	}
	// esc cancels a note.
	d.press("n")
	d.typeText(" more")
	d.press("esc")
	sel, _ = d.model().selected()
	if sel.Note != "seen from 203.0.113.9, ask payments" {
		t.Errorf("esc saved the note: %q", sel.Note)
	}
	// The filter searches notes and observers.
	d.press("1", "/")
	d.typeText("ask payments")
	d.press("enter")
	if n := len(d.model().rows); n != 1 {
		t.Errorf("filter on the note text: %d rows, want 1", n)
	}
	d.press("esc")
	if d.model().filter != "" {
		t.Error("esc did not clear the filter")
	}
}

// TestInputScrolls types more than the line holds: the input scrolls, the
// line stays in the screen and the end of the text stays visible.
func TestInputScrolls(t *testing.T) {
	c, _ := openDemoCase(t)
	for _, w := range []int{80, 20} {
		d := newDriver(t, c, w, 24)
		d.press("n")
		text := strings.Repeat("abcdefghij", 15) + "END"
		d.typeText(text)
		s := d.screen()
		checkScreen(t, s, w, 24)
		lines := strings.Split(s, "\n")
		if last := ansi.Strip(lines[len(lines)-1]); !strings.HasPrefix(last, "note: ") || !strings.Contains(last, "END") {
			t.Errorf("width %d: input line %q does not show the end of the text", w, last)
		}
		if got := d.model().input.Value(); got != text {
			t.Errorf("width %d: input holds %q", w, got)
		}
		// A narrower screen keeps the cursor and the text before it in view.
		d.send(tea.WindowSizeMsg{Width: w - 10, Height: 24})
		lines = strings.Split(d.screen(), "\n")
		if last := ansi.Strip(lines[len(lines)-1]); !strings.Contains(last, "END") || strings.Contains(last, "…") {
			t.Errorf("width %d after a resize: input line %q does not show the end of the text", w-10, last)
		}
		d.press("home")
		lines = strings.Split(d.screen(), "\n")
		if last := ansi.Strip(lines[len(lines)-1]); !strings.HasPrefix(last, "note: abcdefghij") {
			t.Errorf("home: input line %q does not show the start of the text", last)
		}
		d.press("esc")
		if d.model().inputMode != inputNone {
			t.Errorf("esc did not close the input")
		}
	}
}

func TestSort(t *testing.T) {
	c, _ := openDemoCase(t)
	d := newDriver(t, c, 120, 40)
	for i := 0; i < numSorts; i++ {
		m := d.model()
		for j := 1; j < len(m.rows); j++ {
			c := compareFindings(m.all[m.rows[j-1]], m.all[m.rows[j]], m.sortCol)
			if m.sortDesc {
				c = -c
			}
			if c > 0 {
				t.Fatalf("sort %s desc=%v: rows %d and %d out of order", sortNames[m.sortCol], m.sortDesc, j-1, j)
			}
		}
		if i%2 == 1 {
			d.press("S")
			continue
		}
		d.press("s")
	}
	if !strings.Contains(d.screen(), "↓") && !strings.Contains(d.screen(), "↑") {
		t.Error("the sort column is not marked")
	}
}

// TestViewsFitEverySize walks every view at several sizes and checks that
// each screen fills the terminal exactly and no line overflows.
func TestViewsFitEverySize(t *testing.T) {
	c, _ := openDemoCase(t)
	d := newDriver(t, c, 80, 24)
	walk := []struct {
		keys []string
		view viewID
	}{
		{nil, viewFindings},
		{[]string{"enter"}, viewDetail},
		{[]string{"t"}, viewTimeline},
		{[]string{"esc", "esc", "tab"}, viewBlast},
		{[]string{"tab"}, viewSummary},
		{[]string{"tab"}, viewFindings},
	}
	sizes := [][2]int{{80, 24}, {120, 40}, {100, 30}, {60, 16}, {200, 50}, {20, 6}}
	for _, step := range walk {
		d.press(step.keys...)
		if got := d.model().view; got != step.view {
			t.Fatalf("after %v: view %s, want %s", step.keys, viewNames[got], viewNames[step.view])
		}
		for _, sz := range sizes {
			d.send(tea.WindowSizeMsg{Width: sz[0], Height: sz[1]})
			s := d.screen()
			checkScreen(t, s, sz[0], sz[1])
			if strings.Contains(s, "loading…") {
				t.Errorf("%s still loading at %dx%d", viewNames[step.view], sz[0], sz[1])
			}
		}
		d.send(tea.WindowSizeMsg{Width: 80, Height: 24})
		lines := strings.Split(d.screen(), "\n")
		if hint := lines[len(lines)-1]; strings.Contains(hint, "…") {
			t.Errorf("%s: the key hints do not fit 80 columns: %q", viewNames[step.view], hint)
		}
	}
	// A narrow table truncates with an ellipsis rather than wrapping.
	d.send(tea.WindowSizeMsg{Width: 60, Height: 16})
	if !strings.Contains(d.screen(), "…") {
		t.Errorf("nothing truncated at 60 columns:\n%s", d.screen())
	}
}

func TestHelpOverlay(t *testing.T) {
	c, _ := openDemoCase(t)
	d := newDriver(t, c, 80, 24)
	d.press("?")
	s := d.screen()
	checkScreen(t, s, 80, 24)
	for _, sec := range d.model().keys.fullHelp() {
		for _, b := range sec.bindings {
			h := b.Help()
			if !strings.Contains(s, h.Key+" ") || !strings.Contains(s, h.Desc) {
				t.Errorf("help does not list %q (%s):\n%s", h.Key, h.Desc, s)
			}
		}
	}
	// Keys other than the help's own do nothing while it is shown.
	d.press("f", "j")
	if st := d.model(); st.cursor != 0 || st.message != "" {
		t.Errorf("keys acted behind the help overlay: cursor %d, message %q", st.cursor, st.message)
	}
	d.press("?")
	if d.model().showHelp {
		t.Fatal("? did not close the help")
	}
	d.press("?", "esc")
	if d.model().showHelp {
		t.Fatal("esc did not close the help")
	}
	d.press("?", "q")
	if !d.quit {
		t.Fatal("q in help did not quit")
	}
	d2 := newDriver(t, c, 80, 24)
	d2.press("ctrl+c")
	if !d2.quit {
		t.Fatal("ctrl+c did not quit")
	}
}

func TestBlastRadiusAndSummary(t *testing.T) {
	c, _ := openDemoCase(t)
	d := newDriver(t, c, 120, 40)
	d.press("B")
	s := d.scrollAll()
	for _, want := range []string{"Blast radius", "By observer", "By principal", "By client address", "accepted"} {
		if !strings.Contains(s, want) {
			t.Errorf("blast radius does not show %q:\n%s", want, s)
		}
	}
	b := d.model().blast
	if b == nil || b.flagged == 0 || len(b.observers) == 0 {
		t.Fatalf("blast radius empty: %+v", b)
	}
	var acc int64
	for _, r := range b.observers {
		acc += r.acceptedSightings
	}
	if acc == 0 {
		t.Error("no flagged artifact was accepted anywhere in the demo incident")
	}
	d.press("tab")
	s = d.scrollAll()
	// the demo's legitimately issued tokens of the trusted key are not
	// checked against it, and the summary says what that means
	for _, want := range []string{"Keys", "exposed", "trusted", "Sources", "Rules run", "jwt-no-issuance", "Rejects",
		"not-checked", "trusted keys not tried"} {
		if !strings.Contains(s, want) {
			t.Errorf("summary does not show %q:\n%s", want, s)
		}
	}
}

func TestTimeline(t *testing.T) {
	c, _ := openDemoCase(t)
	target := pickForged(t, c)
	d := newDriver(t, c, 120, 40)
	d.press("/")
	d.typeText(target.ArtifactID)
	d.press("enter", "t")
	m := d.model()
	if m.view != viewTimeline || int64(len(m.timeline)) != target.Sightings {
		t.Fatalf("timeline: view %s, %d rows, want %d", viewNames[m.view], len(m.timeline), target.Sightings)
	}
	s := d.screen()
	checkScreen(t, s, 120, 40)
	for _, want := range []string{"observed at", "outcome", "user agent", target.Evidence[0].File + ":" + strconv.FormatInt(target.Evidence[0].Line, 10)} {
		if !strings.Contains(s, want) {
			t.Errorf("timeline does not show %q:\n%s", want, s)
		}
	}
	d.press("G")
	if got := d.model().tlCursor; got != len(m.timeline)-1 {
		t.Errorf("G: cursor %d, want %d", got, len(m.timeline)-1)
	}
	d.press("enter")
	if d.model().view != viewDetail {
		t.Error("enter in the timeline did not open the detail")
	}
	d.press("t", "esc")
	if d.model().view != viewDetail {
		t.Error("esc from a timeline opened from the detail did not go back to it")
	}
}

// TestEscapesFromDataAreNeutralised puts terminal escapes in every log-borne
// field of one finding and checks that no view passes them to the terminal.
func TestEscapesFromDataAreNeutralised(t *testing.T) {
	c, _ := openDemoCase(t)
	target := pickForged(t, c)
	ctx := context.Background()
	const evil = "\x1b[2J\x1b]0;pwned\a\u202eevil\u009b31m"
	for _, q := range []string{
		`UPDATE findings SET subject = ?, note = ?, reason = reason || ?::VARCHAR, observers = list_append(observers, ?::VARCHAR) WHERE artifact_key = ?`,
		`UPDATE sightings SET user_agent = ?, principal = ?, observer = ?, src_file = ? WHERE artifact_key = ?`,
		`UPDATE artifacts SET header = ?, claims = json_object('sub', ?::VARCHAR), verify_note = ? WHERE artifact_key = ?`,
	} {
		args := []any{}
		for range strings.Count(q, "?") - 1 {
			args = append(args, evil)
		}
		args = append(args, target.ArtifactKey)
		if _, err := c.DB.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}

	// Plain styles emit no escapes of their own: any ESC on screen came from data.
	d := newDriver(t, c, 120, 40)
	screens := []string{d.screen()}
	if strings.Contains(screens[0], "\x1b") {
		t.Fatalf("plain findings screen holds an escape:\n%q", screens[0])
	}
	d.press("/")
	d.typeText(target.ArtifactID)
	d.press("enter")
	screens = append(screens, d.screen())
	d.press("enter")
	screens = append(screens, d.scrollAll())
	d.press("t")
	screens = append(screens, d.screen())
	d.press("esc", "esc", "B")
	screens = append(screens, d.scrollAll())
	all := strings.Join(screens, "\n")
	for i, s := range screens {
		for _, bad := range []string{"\x1b", "\a", "\u202e", "\u009b"} {
			if strings.Contains(s, bad) {
				t.Errorf("screen %d holds %q from data", i, bad)
			}
		}
	}
	if !strings.Contains(all, `\x1b[2J`) {
		t.Errorf("the escaped form of the injected sequence is not shown:\n%s", all)
	}

	// The input shows text from the case (a note) and pastes: it keeps only
	// their printable part. (Its cursor is the one escape of its own.)
	d.press("esc") // back to the findings, still filtered to the target
	d.press("enter", "n")
	inputs := []string{d.screen()}
	if got := d.model().input.Value(); got != "[2J]0;pwnedevil31m" {
		t.Errorf("note input holds %q", got)
	}
	d.press("esc", "esc", "esc", "/") // cancel the note, leave the detail, clear the filter
	d.send(tea.PasteMsg{Content: "a\tb\n" + evil})
	inputs = append(inputs, d.screen())
	if got := d.model().input.Value(); got != "a b [2J]0;pwnedevil31m" {
		t.Errorf("pasted filter holds %q", got)
	}
	d.press("esc")
	for i, s := range inputs {
		checkScreen(t, s, 120, 40)
		for _, bad := range []string{"\x1b[2J", "\x1b]0;", "\a", "\u202e", "\u009b"} {
			if strings.Contains(s, bad) {
				t.Errorf("input screen %d holds %q", i, bad)
			}
		}
	}

	// With colours on, the injected sequences still never appear.
	dc := &driver{t: t, m: New(ctx, c)}
	dc.send(tea.WindowSizeMsg{Width: 120, Height: 40})
	dc.run(dc.m.Init())
	dc.press("/")
	dc.typeText(target.ArtifactID)
	dc.press("enter", "enter")
	colored := dc.scrollAll()
	dc.press("t")
	colored += dc.screen()
	for _, bad := range []string{"\x1b[2J", "\x1b]0;pwned", "\u202e"} {
		if strings.Contains(colored, bad) {
			t.Errorf("coloured screen holds the injected %q", bad)
		}
	}
}

// TestErrorsGoToTheStatusBar marks a finding in a read-only case: the
// failure is reported on screen and the program goes on.
func TestErrorsGoToTheStatusBar(t *testing.T) {
	c, path := openDemoCase(t)
	c.Close()
	ro, err := analyzer.OpenCaseReadOnly(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	d := newDriver(t, ro, 80, 24)
	before, _ := d.model().selected()
	d.press("f")
	m := d.model()
	if !m.msgErr || !strings.Contains(m.message, "saving triage mark") {
		t.Errorf("status message = %q (error %v), want the save error", m.message, m.msgErr)
	}
	if after, _ := m.selected(); after.Status != before.Status {
		t.Errorf("status changed to %q although the save failed", after.Status)
	}
	checkScreen(t, d.screen(), 80, 24)
	if !strings.Contains(d.screen(), "saving triage mark") {
		t.Errorf("the error is not on screen:\n%s", d.screen())
	}
}

// TestLayout checks the column layout on its own.
func TestLayout(t *testing.T) {
	cols := []column{
		{title: "a", min: 4, max: 10},
		{title: "b", min: 4, max: 30, drop: 1},
		{title: "c", min: 3, max: 5},
	}
	cells := [][]string{{"aaaaaaaaaa", strings.Repeat("b", 30), "ccccc"}}
	tests := []struct {
		width int
		want  []int
	}{
		{100, []int{10, 30, 5}},
		{47, []int{10, 30, 5}},
		{40, []int{10, 23, 5}}, // b shrinks toward two thirds of its width
		{30, []int{10, 0, 5}},  // rather than below that, b goes
		{16, []int{10, 0, 5}},
		{9, []int{4, 0, 4}}, // then the others shrink to their minimum
		{3, []int{4, 0, 3}}, // cannot fit: the rendered line is truncated
	}
	for _, tt := range tests {
		got := layout(cols, cells, tt.width)
		if fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("layout at %d = %v, want %v", tt.width, got, tt.want)
		}
	}
}

func TestRunQuits(t *testing.T) {
	c, _ := openDemoCase(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- Run(ctx, c, pr, io.Discard) }()
	go pw.Write([]byte("q"))
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(20 * time.Second):
		cancel()
		t.Fatal("Run did not quit on q")
	}
	pw.Close()
}

// A finding whose token was salvaged from rejected lines says so: the seen
// column is marked, the detail names the reject reasons and the ambiguity,
// and the verification shows the token's flags.
func TestSalvagedEvidenceIsMarked(t *testing.T) {
	c, _ := openDemoCase(t)
	target := pickForged(t, c)
	ctx := context.Background()
	for _, q := range []string{
		`UPDATE findings SET salvaged = 2, ambiguous = true WHERE artifact_key = ?`,
		`UPDATE artifact_stats SET salvaged = 2, ambiguous = true, salvage_reasons = ['duplicate key "Authorization"', 'NUL byte in line'] WHERE artifact_key = ?`,
		`UPDATE artifacts SET sig_flags = ['padded-base64', 'payload-not-json'] WHERE artifact_key = ?`,
	} {
		if _, err := c.DB.ExecContext(ctx, q, target.ArtifactKey); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	d := newDriver(t, c, 120, 40)
	d.press("/")
	d.typeText(target.ArtifactID)
	d.press("enter")
	list := d.screen()
	if !strings.Contains(list, " s?") {
		t.Errorf("the findings list does not mark the salvaged, ambiguous finding:\n%s", list)
	}
	d.press("enter")
	detail := d.scrollAll()
	for _, want := range []string{"salvaged", `duplicate key "Authorization"`, "NUL byte in line", "AMBIGUOUS",
		"padded-base64, payload-not-json"} {
		if !strings.Contains(detail, want) {
			t.Errorf("the detail does not show %q:\n%s", want, detail)
		}
	}
}

// A code-signature finding in its own terms: the list names the digest
// signed (a bare-key signature has no subject), the detail shows the
// signature's fields and the Rekor entry that holds it, and no token
// times.
func TestSignatureFindingInItsOwnTerms(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	truth, err := ciincident.Generate(dir, ciincident.Config{})
	if err != nil {
		t.Fatal(err)
	}
	set, err := keys.LoadFile(filepath.Join(dir, filepath.FromSlash(ciincident.ExposedKeyFile)), keys.RoleExposed)
	if err != nil {
		t.Fatal(err)
	}
	c, err := analyzer.OpenCase(ctx, filepath.Join(dir, "case.duckdb"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.SetKeys(ctx, set, analyzer.KeyWindow{ExposedFrom: truth.ExposedFrom}); err != nil {
		t.Fatal(err)
	}
	paths := []string{filepath.Join(dir, ciincident.RekorDir), filepath.Join(dir, ciincident.ProvenanceDir)}
	if _, err := c.Ingest(ctx, paths, set, analyzer.IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	rs, _ := rules.Builtin()
	if _, err := c.Analyze(ctx, rs, analyzer.Settings{}); err != nil {
		t.Fatal(err)
	}
	forged := truth.Signature(truth.Forged()[0])
	d := newDriver(t, c, 140, 50)
	d.press("/")
	d.typeText(forged.Digests[0][:20])
	d.press("enter")
	list := d.screen()
	if !strings.Contains(list, forged.Digests[0][:16]) {
		t.Errorf("the list does not name the signed digest %s:\n%s", forged.Digests[0], list)
	}
	d.press("enter")
	detail := d.scrollAll()
	for _, want := range []string{"digest", forged.Digests[0], "signer key", "logged", "rekor.sigstore.dev index"} {
		if !strings.Contains(detail, want) {
			t.Errorf("the detail does not show %q:\n%s", want, detail)
		}
	}
	if strings.Contains(detail, "nbf") {
		t.Errorf("the detail shows token times for a signature:\n%s", detail)
	}
}

// A credential a platform logs only by id is shown in the platform's
// terms: a Golden SAML sign-in by its user, app and token issuer, a minted
// service-account token by its service account, an STS session by its
// role.
func TestIDOnlyFindingInPlatformTerms(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	truth, err := idincident.Generate(dir, idincident.Config{})
	if err != nil {
		t.Fatal(err)
	}
	var set []*keys.Key
	for _, k := range truth.KeyFiles {
		ks, err := keys.LoadFile(filepath.Join(dir, filepath.FromSlash(k)), keys.RoleExposed)
		if err != nil {
			t.Fatal(err)
		}
		set = append(set, ks...)
	}
	c, err := analyzer.OpenCase(ctx, filepath.Join(dir, "case.duckdb"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.SetKeys(ctx, set, analyzer.KeyWindow{ExposedFrom: truth.ExposedFrom}); err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, p := range []string{idincident.K8sDir, idincident.CloudTrail, idincident.EntraDir, idincident.ADFSDir} {
		paths = append(paths, filepath.Join(dir, p))
	}
	if _, err := c.Ingest(ctx, paths, set, analyzer.IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	rs, _ := rules.Builtin()
	if _, err := c.Analyze(ctx, rs, analyzer.Settings{}); err != nil {
		t.Fatal(err)
	}
	for _, f := range truth.Forged {
		var want []string
		switch f.Platform {
		case idincident.PlatformEntra:
			want = []string{"activity id", "UPN", f.Subject, "app", "token issuer type", "ADFederationServices"}
		case idincident.PlatformK8s:
			want = []string{"jti", f.Subject}
		case idincident.PlatformAWS:
			want = []string{"access key id", "session issuer", "role/deployer"}
		default:
			continue
		}
		id := f.Key[strings.LastIndex(f.Key, ":")+1:]
		d := newDriver(t, c, 160, 50)
		d.press("/")
		d.typeText(id[:12])
		d.press("enter")
		if list := d.screen(); !strings.Contains(list, id[:8]) {
			t.Errorf("the list does not show the %s credential %s:\n%s", f.Platform, id, list)
			continue
		}
		d.press("enter")
		detail := d.scrollAll()
		for _, w := range want {
			if !strings.Contains(detail, w) {
				t.Errorf("the %s detail does not show %q:\n%s", f.Platform, w, detail)
			}
		}
	}
}

// A forged token's detail shows what it was turned into (the
// derived-credential tree); a node opens its own finding, which names
// what it was derived from.
func TestDerivedCredentialTree(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	truth, err := derivincident.Generate(dir, 1)
	if err != nil {
		t.Fatal(err)
	}
	exposed, err := keys.LoadFile(filepath.Join(dir, derivincident.KeyFile), keys.RoleExposed)
	if err != nil {
		t.Fatal(err)
	}
	trusted, err := keys.LoadFile(filepath.Join(dir, derivincident.NewKeyFile), keys.RoleTrusted)
	if err != nil {
		t.Fatal(err)
	}
	set := append(exposed, trusted...)
	c, err := analyzer.OpenCase(ctx, filepath.Join(dir, "case.duckdb"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.SetKeys(ctx, set, analyzer.KeyWindow{ExposedFrom: truth.ExposedFrom, RevokedAt: truth.RevokedAt}); err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, p := range []string{"keycloak", "agent", "orders", derivincident.CloudTrailDir} {
		paths = append(paths, filepath.Join(dir, p))
	}
	if _, err := c.Ingest(ctx, paths, set, analyzer.IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	rs, _ := rules.Builtin()
	if _, err := c.Analyze(ctx, rs, analyzer.Settings{}); err != nil {
		t.Fatal(err)
	}
	// the forged token the agent exchanged, whose delegated token was used
	var d0 derivincident.Derived
	for _, d := range truth.Derived {
		if d.Relation == "token-exchange" && d.Uses > 0 {
			d0 = d
		}
	}
	var parentID string
	if err := c.DB.QueryRowContext(ctx, `SELECT artifact_id FROM artifacts WHERE artifact_key = ?`, d0.Parent).Scan(&parentID); err != nil {
		t.Fatal(err)
	}
	d := newDriver(t, c, 160, 50)
	d.press("/")
	d.typeText(parentID[:12])
	d.press("enter", "enter")
	detail := d.scrollAll()
	for _, w := range []string{"Derived credentials", d0.ID, "token-exchange", "agent-svc", "tainted", "3 use(s)"} {
		if !strings.Contains(detail, w) {
			t.Fatalf("the forged token's detail does not show %q:\n%s", w, detail)
		}
	}
	d.press("d")
	m := d.model()
	if m.detailFinding.RuleID != "derived-credential-of-forgery" || m.detailFinding.ArtifactID != d0.ID {
		t.Fatalf("d opened %s %s, want the derived credential %s", m.detailFinding.RuleID, m.detailFinding.ArtifactID, d0.ID)
	}
	if detail := d.scrollAll(); !strings.Contains(detail, "derived from") || !strings.Contains(detail, parentID) {
		t.Errorf("the derived credential's detail does not name its parent %s:\n%s", parentID, detail)
	}
}
