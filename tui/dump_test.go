package tui

import (
	"os"
	"strings"
	"testing"
)

// TestDump writes screens for eyeballing; run with DUMP=1.
func TestDump(t *testing.T) {
	if os.Getenv("DUMP") == "" {
		t.Skip()
	}
	c, _ := openDemoCase(t)
	d := newDriver(t, c, 80, 24)
	var b strings.Builder
	shot := func(name string) { b.WriteString("==== " + name + "\n" + d.screen() + "\n") }
	shot("findings")
	d.press("?")
	shot("help")
	d.press("?", "enter")
	shot("detail")
	d.press("t")
	shot("timeline")
	d.press("esc", "esc", "B")
	shot("blast")
	d.press("tab")
	shot("summary")
	d.press("ctrl+d")
	shot("summary2")
	os.WriteFile("/tmp/tui_dump.txt", []byte(b.String()), 0o644)
}

func TestKeepCase(t *testing.T) {
	if os.Getenv("KEEP_CASE") == "" {
		t.Skip()
	}
	c, path := openDemoCase(t)
	c.Close()
	data, _ := os.ReadFile(path)
	os.WriteFile(os.Getenv("KEEP_CASE"), data, 0o600)
}
