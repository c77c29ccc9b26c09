package parsers

import (
	"fmt"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// A table's batches hold what was appended, nulls where a string was empty,
// and keep it while the next batches are built in new buffers.
func TestTableBuilder(t *testing.T) {
	schema := arrow.NewSchema([]arrow.Field{str("s"), i64("n"), str("t")}, nil)
	tb := newTableBuilder(memory.DefaultAllocator, schema)
	defer tb.release()
	want := func(batch, i int) (string, string) {
		s := fmt.Sprintf("v%d-%d", batch, i)
		if i%3 == 0 {
			s = ""
		}
		return s, fmt.Sprintf("%x", []byte(s))
	}
	var recs []arrow.RecordBatch
	for batch, rows := range []int{19, 1, 64, 0, 7} {
		for i := range rows {
			s, h := want(batch, i)
			tb.str(0, s)
			tb.builder(1).(*array.Int64Builder).Append(int64(i))
			tb.strBytes(2, []byte(h))
			tb.row()
		}
		recs = append(recs, tb.record())
	}
	for batch, rec := range recs {
		defer rec.Release()
		for c := range 3 {
			if n := rec.Column(c).Len(); n != int(rec.NumRows()) {
				t.Fatalf("batch %d column %d: %d values for %d rows", batch, c, n, rec.NumRows())
			}
		}
		for i := range int(rec.NumRows()) {
			s, h := want(batch, i)
			col, hex := rec.Column(0).(*array.String), rec.Column(2).(*array.String)
			if got := col.Value(i); got != s || col.IsNull(i) != (s == "") {
				t.Errorf("batch %d row %d: %q (null %v), want %q", batch, i, got, col.IsNull(i), s)
			}
			if got := hex.Value(i); got != h || hex.IsNull(i) != (h == "") {
				t.Errorf("batch %d row %d: hex %q, want %q", batch, i, got, h)
			}
			if n := rec.Column(1).(*array.Int64).Value(i); n != int64(i) {
				t.Errorf("batch %d row %d: n = %d", batch, i, n)
			}
		}
	}
	if n := recs[3].NumRows(); n != 0 {
		t.Errorf("an empty batch has %d rows", n)
	}
}
