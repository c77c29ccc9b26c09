package parsers

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// tableBuilder builds the record batches of one schema. Its string columns
// are strColumns, the others Arrow's builders: a sighting appends a dozen
// strings, and array.StringBuilder's checks per value (capacity, offset
// overflow, growth, the validity bitmap through its builder) cost more than
// the copy itself.
type tableBuilder struct {
	schema *arrow.Schema
	strs   []*strColumn    // by field; nil where the field is not a string
	others []array.Builder // by field; nil where it is
	rows   int
}

func newTableBuilder(mem memory.Allocator, schema *arrow.Schema) *tableBuilder {
	t := &tableBuilder{
		schema: schema,
		strs:   make([]*strColumn, schema.NumFields()),
		others: make([]array.Builder, schema.NumFields()),
	}
	for i, f := range schema.Fields() {
		if f.Type.ID() == arrow.STRING {
			t.strs[i] = newStrColumn()
		} else {
			t.others[i] = array.NewBuilder(mem, f.Type)
		}
	}
	return t
}

// str appends v to string column i, null when v is "".
func (t *tableBuilder) str(i int, v string) { t.strs[i].append(v) }

// strBytes is str of bytes (copied).
func (t *tableBuilder) strBytes(i int, v []byte) { t.strs[i].appendBytes(v) }

// null appends a null to string column i.
func (t *tableBuilder) null(i int) { t.strs[i].appendNull() }

// builder is the Arrow builder of the column i that is not a string.
func (t *tableBuilder) builder(i int) array.Builder { return t.others[i] }

// row ends a row; every column must have had one value appended.
func (t *tableBuilder) row() { t.rows++ }

// dataBytes is the bytes the string columns hold.
func (t *tableBuilder) dataBytes() int {
	n := 0
	for _, c := range t.strs {
		if c != nil {
			n += len(c.data)
		}
	}
	return n
}

// record returns the rows appended as a record batch (the caller releases
// it) and starts over, with buffers as large as the last ones.
func (t *tableBuilder) record() arrow.RecordBatch {
	cols := make([]arrow.Array, len(t.strs))
	for i := range cols {
		if c := t.strs[i]; c != nil {
			cols[i] = c.array()
		} else {
			cols[i] = t.others[i].NewArray()
		}
	}
	rec := array.NewRecordBatch(t.schema, cols, int64(t.rows))
	for _, c := range cols {
		c.Release()
	}
	if n := t.rows; n > 0 {
		for _, b := range t.others {
			if b != nil {
				b.Reserve(n)
			}
		}
	}
	t.rows = 0
	return rec
}

func (t *tableBuilder) release() {
	for _, b := range t.others {
		if b != nil {
			b.Release()
		}
	}
}

// maxColumnBytes bounds a string column of one batch: its offsets are
// int32, and a batch of long values (a batcher flushes at BatchRows rows)
// could pass 2 GiB. Batchers flush early past it.
const maxColumnBytes = 1 << 30

// strColumn is an Arrow string column being built: the values' bytes one
// after the other, their end offsets and a validity bitmap. The slices are
// handed to the array it makes and never written again; the next batch's
// are allocated at its first value, as large as the last ones.
type strColumn struct {
	offsets []int32 // n+1 of them, the first 0
	data    []byte
	valid   []byte // bit i set: value i is not null
	n       int
	nulls   int
	// the sizes of the last batch's slices
	lastRows, lastData int
}

func newStrColumn() *strColumn { return &strColumn{} }

func (c *strColumn) append(v string) {
	if v == "" {
		c.appendNull()
		return
	}
	if c.data == nil {
		c.data = make([]byte, 0, max(c.lastData, len(v)))
	}
	c.data = append(c.data, v...)
	c.push(true)
}

func (c *strColumn) appendBytes(v []byte) {
	if len(v) == 0 {
		c.appendNull()
		return
	}
	if c.data == nil {
		c.data = make([]byte, 0, max(c.lastData, len(v)))
	}
	c.data = append(c.data, v...)
	c.push(true)
}

func (c *strColumn) appendNull() { c.push(false) }

func (c *strColumn) push(valid bool) {
	if c.offsets == nil {
		c.offsets = append(make([]int32, 0, c.lastRows+1), 0)
		c.valid = make([]byte, 0, bitutil.BytesForBits(int64(c.lastRows)))
	}
	if c.n&7 == 0 {
		c.valid = append(c.valid, 0)
	}
	if valid {
		c.valid[c.n>>3] |= 1 << (c.n & 7)
	} else {
		c.nulls++
	}
	c.n++
	c.offsets = append(c.offsets, int32(len(c.data)))
}

// array returns the column as an Arrow array and starts a new one.
func (c *strColumn) array() arrow.Array {
	if c.offsets == nil {
		c.offsets = []int32{0}
	}
	var validity *memory.Buffer
	if c.nulls > 0 {
		validity = memory.NewBufferBytes(c.valid)
	}
	data := array.NewData(arrow.BinaryTypes.String, c.n,
		[]*memory.Buffer{validity, memory.NewBufferBytes(arrow.Int32Traits.CastToBytes(c.offsets)), memory.NewBufferBytes(c.data)},
		nil, c.nulls, 0)
	arr := array.NewStringData(data)
	data.Release()
	c.lastRows, c.lastData = max(c.lastRows, c.n), max(c.lastData, len(c.data))
	c.offsets, c.data, c.valid = nil, nil, nil
	c.n, c.nulls = 0, 0
	return arr
}
