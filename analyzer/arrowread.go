package analyzer

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/duckdb/duckdb-go/v2"
)

// queryArrow runs q on a connection of its own and hands each batch of its
// result to each, as Arrow columns: no per-value conversion to Go values
// (database/sql makes a []any or map[string]any of every list and struct).
// A batch is valid only during its call.
func (c *Case) queryArrow(ctx context.Context, q string, each func(rec arrow.RecordBatch) error) error {
	conn, err := c.DB.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return withArrow(conn, func(ar *duckdb.Arrow, _ driver.Conn) error {
		rdr, err := ar.QueryContext(ctx, q)
		if err != nil {
			return err
		}
		defer rdr.Release()
		for rdr.Next() {
			if err := each(rdr.RecordBatch()); err != nil {
				return err
			}
		}
		return rdr.Err()
	})
}

// withArrow calls fn with DuckDB's Arrow interface on conn and the driver
// connection beneath it.
func withArrow(conn *sql.Conn, fn func(ar *duckdb.Arrow, dc driver.Conn) error) error {
	return conn.Raw(func(raw any) error {
		dc := raw.(driver.Conn)
		ar, err := duckdb.NewArrowFromConn(dc)
		if err != nil {
			return err
		}
		return fn(ar, dc)
	})
}

// arrowCols reads a batch's columns by name, for the readers below: each
// returns the value of row i, the zero value for NULL. A missing column, or
// one of a type a reader cannot read, is reported by err (and reads as
// NULL), so that a change of the schema fails loudly, never silently.
type arrowCols struct {
	rec arrow.RecordBatch
	err error
}

func (a *arrowCols) col(name string) arrow.Array {
	idx := a.rec.Schema().FieldIndices(name)
	if len(idx) == 0 {
		a.fail(fmt.Errorf("result has no column %q", name))
		return nil
	}
	return a.rec.Column(idx[0])
}

func (a *arrowCols) fail(err error) {
	if a.err == nil {
		a.err = err
	}
}

func (a *arrowCols) unreadable(name string, arr arrow.Array) {
	if arr != nil {
		a.fail(fmt.Errorf("column %q: cannot read %s", name, arr.DataType()))
	}
}

// textArray is what every Arrow string array offers (utf8, large utf8,
// string view).
type textArray interface {
	arrow.Array
	Value(i int) string
}

func textColumn(arr arrow.Array) (func(i int) string, bool) {
	switch t := arr.(type) {
	case textArray:
		return func(i int) string {
			if t.IsNull(i) {
				return ""
			}
			// a copy: the value is in the batch's buffers, which the
			// database frees after the batch
			return strings.Clone(t.Value(i))
		}, true
	case *array.Null:
		return func(int) string { return "" }, true
	}
	return func(int) string { return "" }, false
}

func intColumn(arr arrow.Array) (func(i int) int64, bool) {
	switch t := arr.(type) {
	case *array.Int64:
		return func(i int) int64 { return nullOr(t.IsNull(i), t.Value(i)) }, true
	case *array.Int32:
		return func(i int) int64 { return nullOr(t.IsNull(i), int64(t.Value(i))) }, true
	case *array.Null:
		return func(int) int64 { return 0 }, true
	}
	return func(int) int64 { return 0 }, false
}

func nullOr[T any](null bool, v T) T {
	if null {
		var zero T
		return zero
	}
	return v
}

func boolColumn(arr arrow.Array) (func(i int) bool, bool) {
	switch t := arr.(type) {
	case *array.Boolean:
		return func(i int) bool { return !t.IsNull(i) && t.Value(i) }, true
	case *array.Null:
		return func(int) bool { return false }, true
	}
	return func(int) bool { return false }, false
}

// timeColumn reads a timestamp column in UTC; nil for NULL.
func timeColumn(arr arrow.Array) (func(i int) *time.Time, bool) {
	switch t := arr.(type) {
	case *array.Timestamp:
		unit := t.DataType().(*arrow.TimestampType).Unit
		return func(i int) *time.Time {
			if t.IsNull(i) {
				return nil
			}
			v := t.Value(i).ToTime(unit).UTC()
			return &v
		}, true
	case *array.Null:
		return func(int) *time.Time { return nil }, true
	}
	return func(int) *time.Time { return nil }, false
}

// column is the reader of the column name that read makes, the column
// reported unreadable when read cannot read its type.
func column[T any](a *arrowCols, name string, read func(arrow.Array) (func(int) T, bool)) func(int) T {
	arr := a.col(name)
	f, ok := read(arr)
	if !ok {
		a.unreadable(name, arr)
	}
	return f
}

func (a *arrowCols) strings(name string) func(i int) string   { return column(a, name, textColumn) }
func (a *arrowCols) ints(name string) func(i int) int64       { return column(a, name, intColumn) }
func (a *arrowCols) bools(name string) func(i int) bool       { return column(a, name, boolColumn) }
func (a *arrowCols) times(name string) func(i int) *time.Time { return column(a, name, timeColumn) }

// listArray is what every Arrow list array offers (list, large list, list
// view): the range of row i in its values.
type listArray interface {
	arrow.Array
	ValueOffsets(i int) (start, end int64)
	ListValues() arrow.Array
}

// list is a list column: the values' reader and the range of each row; a
// NULL list is empty.
func (a *arrowCols) list(name string) (listArray, arrow.Array) {
	arr := a.col(name)
	if l, ok := arr.(listArray); ok {
		return l, l.ListValues()
	}
	if _, null := arr.(*array.Null); !null {
		a.unreadable(name, arr)
	}
	return nil, nil
}

func rowRange(l listArray, i int) (int, int) {
	if l == nil || l.IsNull(i) {
		return 0, 0
	}
	start, end := l.ValueOffsets(i)
	return int(start), int(end)
}

// stringLists is a list-of-strings column: never nil, NULL elements left
// out.
func (a *arrowCols) stringLists(name string) func(i int) []string {
	l, vals := a.list(name)
	text, ok := textColumn(vals)
	if l != nil && !ok {
		a.unreadable(name, l)
	}
	return func(i int) []string {
		out := []string{}
		start, end := rowRange(l, i)
		for j := start; j < end; j++ {
			if !vals.IsNull(j) {
				out = append(out, text(j))
			}
		}
		return out
	}
}

// evidenceLists is a STRUCT(file VARCHAR, line BIGINT)[] column: never nil,
// NULL elements left out, NULL fields zero.
func (a *arrowCols) evidenceLists(name string) func(i int) []Evidence {
	l, vals := a.list(name)
	st, _ := vals.(*array.Struct)
	var file func(int) string
	var line func(int) int64
	if st != nil {
		typ := st.DataType().(*arrow.StructType)
		fi, okf := typ.FieldIdx("file")
		li, okl := typ.FieldIdx("line")
		var ok1, ok2 bool
		if okf && okl {
			file, ok1 = textColumn(st.Field(fi))
			line, ok2 = intColumn(st.Field(li))
		}
		if !ok1 || !ok2 {
			st = nil
		}
	}
	if l != nil && st == nil {
		a.unreadable(name, l)
		l = nil
	}
	return func(i int) []Evidence {
		out := []Evidence{}
		start, end := rowRange(l, i)
		for j := start; j < end; j++ {
			if !st.IsNull(j) {
				out = append(out, Evidence{File: file(j), Line: line(j)})
			}
		}
		return out
	}
}
