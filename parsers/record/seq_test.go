package record

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestSeqTracker(t *testing.T) {
	type obs struct {
		proc string
		seq  int64
	}
	// seqs builds observations of process "a" numbered from..to.
	seqs := func(from, to int64) []obs {
		var o []obs
		for s := from; s <= to; s++ {
			o = append(o, obs{"a", s})
		}
		return o
	}
	cat := func(parts ...[]obs) []obs {
		var o []obs
		for _, p := range parts {
			o = append(o, p...)
		}
		return o
	}
	tests := []struct {
		name string
		in   []obs
		gaps string // "proc:after..before(missing)@line" joined by " "
		runs string // "proc:first@line-last@line" joined by " "
	}{
		{"contiguous", seqs(10, 20), "", "a:10@1-20@11"},
		{"hole at the end is found at the end", cat(seqs(1, 3), seqs(6, 7)), "a:3..6(2)@4", "a:1@1-7@5"},
		{"hole past the window is found at once", cat(seqs(1, 2), seqs(100, 101)), "a:2..100(97)@3", "a:1@1-101@4"},
		{"small reordering is no hole", []obs{{"a", 1}, {"a", 3}, {"a", 2}, {"a", 5}, {"a", 4}, {"a", 6}}, "", "a:1@1-6@6"},
		{"late first line lowers the first", []obs{{"a", 5}, {"a", 4}, {"a", 6}}, "", "a:4@2-6@3"},
		{"duplicates are no hole", []obs{{"a", 1}, {"a", 3}, {"a", 3}, {"a", 1}, {"a", 2}}, "", "a:1@1-3@2"},
		{"restart is a new run, not a hole", cat(seqs(1000, 1002), seqs(0, 2)), "", "a:1000@1-2@6"},
		{"hole before a restart is kept", cat(seqs(1000, 1001), seqs(1004, 1004), seqs(0, 1)), "a:1001..1004(2)@3", "a:1000@1-1@5"},
		{"interleaved processes are tracked apart",
			[]obs{{"a", 1}, {"b", 50}, {"a", 2}, {"b", 51}, {"a", 4}, {"b", 52}},
			"a:2..4(1)@5", "a:1@1-4@5 b:50@2-52@6"},
		{"no process, negative and huge numbers are ignored",
			[]obs{{"", 1}, {"a", -5}, {"a", 1}, {"a", MaxSeq + 1}, {"a", 2}}, "", "a:1@3-2@5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var st Stats
			tr := NewSeqTracker(&st, KindJWT)
			base := time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)
			for i, o := range tt.in {
				tr.Observe(o.proc, o.seq, base.Add(time.Duration(i)*time.Second), int64(i+1))
			}
			tr.Finish()
			var gaps, runs []string
			for _, g := range st.SeqGaps {
				if g.Kind != KindJWT || g.Missing != g.Before-g.After-1 || !g.BeforeTime.After(g.AfterTime) {
					t.Errorf("inconsistent gap %+v", g)
				}
				gaps = append(gaps, fmt.Sprintf("%s:%d..%d(%d)@%d", g.Process, g.After, g.Before, g.Missing, g.Line))
			}
			for _, r := range st.SeqRuns {
				runs = append(runs, fmt.Sprintf("%s:%d@%d-%d@%d", r.Process, r.FirstSeq, r.FirstLine, r.LastSeq, r.LastLine))
			}
			if got := strings.Join(gaps, " "); got != tt.gaps {
				t.Errorf("gaps = %q, want %q", got, tt.gaps)
			}
			if got := strings.Join(runs, " "); got != tt.runs {
				t.Errorf("runs = %q, want %q", got, tt.runs)
			}
		})
	}
}

func TestSeqTrackerBounds(t *testing.T) {
	var st Stats
	tr := NewSeqTracker(&st, KindJWT)
	for i := int64(0); i < 2*MaxSeqGaps; i++ {
		tr.Observe("a", i*1000, time.Time{}, i+1)
	}
	for i := 0; i < MaxSeqProcesses+10; i++ {
		tr.Observe(fmt.Sprint("p", i), 1, time.Time{}, 1)
	}
	tr.Finish()
	if len(st.SeqGaps) != MaxSeqGaps || st.SeqGapsDropped != MaxSeqGaps-1 {
		t.Errorf("kept %d gaps, dropped %d", len(st.SeqGaps), st.SeqGapsDropped)
	}
	if len(st.SeqRuns) != MaxSeqProcesses {
		t.Errorf("%d runs, want %d", len(st.SeqRuns), MaxSeqProcesses)
	}
	var nilTracker *SeqTracker = NewSeqTracker(nil, KindJWT)
	nilTracker.Observe("a", 1, time.Time{}, 1)
	nilTracker.Finish()
}
