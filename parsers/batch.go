package parsers

import (
	"encoding/hex"
	"net/netip"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/forgehunt/forgehunt/parsers/record"
)

// Arrow schemas of the tables parsers fill. Their column order is the DuckDB
// tables' column order (the analyzer creates the tables from them).
var (
	tsType = &arrow.TimestampType{Unit: arrow.Microsecond}

	SightingsSchema = arrow.NewSchema([]arrow.Field{
		str("artifact_key"), str("kind"), ts("observed_at"), str("source"), str("observer"),
		str("principal"), str("client_ip"), str("client_net"), str("client_ip_hex"), str("user_agent"),
		str("action"), str("outcome"), str("attrs"), str("src_file"), i64("src_line"), str("src_format"),
		str("salvaged"), boolean("ambiguous"),
	}, nil)

	IssuancesSchema = arrow.NewSchema([]arrow.Field{
		str("kind"), str("issuer"), str("artifact_id"), str("raw_sha256"), str("subject"),
		str("audience"), str("key_ref"), ts("issued_at"), ts("expires_at"), str("attrs"),
		str("src_file"), i64("src_line"), str("src_format"),
		boolean("audience_client"), // schema version 4
		strList("names"),           // schema version 5
	}, nil)

	RejectsSchema = arrow.NewSchema([]arrow.Field{
		str("src_file"), i64("src_line"), str("src_format"), str("reason"), str("excerpt"),
	}, nil)

	// LinksSchema: schema version 6.
	LinksSchema = arrow.NewSchema([]arrow.Field{
		str("relation"), str("from_kind"), str("from_id"), str("to_kind"), str("to_id"), ts("observed_at"),
		str("observer"), str("principal"), str("attrs"), str("src_file"), i64("src_line"), str("src_format"),
	}, nil)
)

func str(name string) arrow.Field {
	return arrow.Field{Name: name, Type: arrow.BinaryTypes.String, Nullable: true}
}
func i64(name string) arrow.Field {
	return arrow.Field{Name: name, Type: arrow.PrimitiveTypes.Int64, Nullable: true}
}
func boolean(name string) arrow.Field {
	return arrow.Field{Name: name, Type: arrow.FixedWidthTypes.Boolean, Nullable: true}
}
func strList(name string) arrow.Field {
	return arrow.Field{Name: name, Type: arrow.ListOf(arrow.BinaryTypes.String), Nullable: true}
}
func ts(name string) arrow.Field { return arrow.Field{Name: name, Type: tsType, Nullable: true} }

// MaxExcerpt bounds the excerpt stored with a reject.
const MaxExcerpt = 512

// MaxReason bounds the reason stored with a reject: formats put parser
// errors in reasons, and those may grow with the input.
const MaxReason = 256

// ArtifactKey is the key of an artifact held raw: "sha256:<hex>" of its bytes.
func ArtifactKey(raw string) string { return record.ArtifactKey(raw) }

// IDArtifactKey is the key of an artifact known only by id: "<kind>:<issuer>:<id>".
func IDArtifactKey(kind, issuer, id string) string {
	return kind + ":" + issuer + ":" + id
}

// Table names the Arrow batches a Batcher emits.
type Table string

const (
	TableSightings Table = "sightings"
	TableIssuances Table = "issuances"
	TableRejects   Table = "rejects"
	TableLinks     Table = "links"
)

// Counts are the records a Batcher received.
type Counts struct {
	Sightings, Issuances, Rejects, Links int64
	// Salvaged counts the sightings salvaged from rejected records (see
	// record.SalvageSink); they are not in Sightings, since their records
	// are counted in Rejects. SalvagedLines is how many rejected records
	// gave at least one.
	Salvaged, SalvagedLines int64
	// Ignored counts the records read that carry nothing to hunt;
	// IgnoredReasons splits them by reason (shared with the Batcher: do not
	// modify it).
	Ignored        int64
	IgnoredReasons map[string]int64
	First, Last    time.Time // time range of sightings and issuances
	LastLine       int64     // highest source line seen
}

// Merge adds o's counts into c (the counts of several batchers reading parts
// of one input).
func (c *Counts) Merge(o Counts) {
	c.Sightings += o.Sightings
	c.Issuances += o.Issuances
	c.Rejects += o.Rejects
	c.Links += o.Links
	c.Salvaged += o.Salvaged
	c.SalvagedLines += o.SalvagedLines
	c.Ignored += o.Ignored
	if len(o.IgnoredReasons) > 0 {
		m := make(map[string]int64, len(c.IgnoredReasons)+len(o.IgnoredReasons))
		for k, v := range c.IgnoredReasons {
			m[k] += v
		}
		for k, v := range o.IgnoredReasons {
			m[k] += v
		}
		c.IgnoredReasons = m
	}
	if !o.First.IsZero() && (c.First.IsZero() || o.First.Before(c.First)) {
		c.First = o.First
	}
	if o.Last.After(c.Last) {
		c.Last = o.Last
	}
	c.LastLine = max(c.LastLine, o.LastLine)
}

// Accounted is rows plus rejects plus ignored: the records the sink was told
// about, which must equal the records read.
func (c Counts) Accounted() int64 { return c.Sightings + c.Issuances + c.Rejects + c.Links + c.Ignored }

// maxIgnoreReasons bounds the distinct reasons a Batcher keeps; reasons are
// constants of the formats, so more than this is a format bug, not input.
const maxIgnoreReasons = 32

// IgnoreOther is the reason ignores are counted under past maxIgnoreReasons.
const IgnoreOther = "other"

// Batcher is a record.Sink that normalizes records into Arrow record batches
// of at most BatchRows rows and hands each full batch to Flush. It is used by
// one goroutine (one input file).
type Batcher struct {
	// Flush receives each batch; it must Release it. An error stops nothing
	// here: the batcher keeps it and returns it from Close.
	Flush func(Table, arrow.RecordBatch) error
	// NewArtifact, if set, is called with a sighting and its artifact key,
	// before the raw value (if any) is dropped: at least once for each
	// distinct artifact, not necessarily for every sighting (when it
	// computes a raw artifact's key, the batcher remembers it, within
	// record.MaxCacheBytes, and calls for the first sighting only).
	NewArtifact func(key string, s *record.Sighting)
	BatchRows   int

	sightings, issuances, rejects, links *tableBuilder
	nS, nI, nR, nL                       int
	counts                               Counts
	err                                  error
	lastSalvaged                         record.Position // the record of the last salvaged sighting
	// keys caches ArtifactKey of the raw artifacts met (a token repeated on
	// many lines is hashed once); keyBytes is what it holds.
	keys     map[string]string
	keyBytes int
	// netBuf and hexBuf hold the client network and address of the row
	// being appended (see appendIPNetwork).
	netBuf, hexBuf []byte
}

// putIPNetwork appends the network and hex address of ip (IPNetwork) to
// the two string columns of t, formatted in the batcher's buffers: no string is made.
// (A cache of them did not pay: an access log's client addresses repeat
// less often than formatting one costs.)
func (b *Batcher) putIPNetwork(t *tableBuilder, network, hexIP int, ip string) {
	var ok bool
	b.netBuf, b.hexBuf, ok = appendIPNetwork(b.netBuf[:0], b.hexBuf[:0], ip)
	if !ok {
		t.null(network)
		t.null(hexIP)
		return
	}
	t.strBytes(network, b.netBuf)
	t.strBytes(hexIP, b.hexBuf)
}

// NewBatcher returns a batcher using the default memory allocator.
func NewBatcher(flush func(Table, arrow.RecordBatch) error) *Batcher {
	mem := memory.DefaultAllocator
	return &Batcher{
		Flush:     flush,
		BatchRows: 16 << 10,
		sightings: newTableBuilder(mem, SightingsSchema),
		issuances: newTableBuilder(mem, IssuancesSchema),
		rejects:   newTableBuilder(mem, RejectsSchema),
		links:     newTableBuilder(mem, LinksSchema),
	}
}

// Counts reports what was received so far.
func (b *Batcher) Counts() Counts { return b.counts }

func (b *Batcher) seen(t time.Time) {
	if t.IsZero() {
		return
	}
	if b.counts.First.IsZero() || t.Before(b.counts.First) {
		b.counts.First = t
	}
	if t.After(b.counts.Last) {
		b.counts.Last = t
	}
}

// Sighting implements record.Sink. A salvaged sighting (s.Salvaged set) is
// stored like any other but counted in Counts.Salvaged, not in Sightings.
func (b *Batcher) Sighting(s *record.Sighting) {
	var key string
	if s.Raw != "" && s.RawKey != "" {
		// the format's cache hashed the token, and keeps whether its
		// artifact was registered
		key = s.RawKey
		// (Load first: a read keeps the flag's cache line shared between
		// the workers)
		if b.NewArtifact != nil && (s.RawKeySeen == nil || !s.RawKeySeen.Load() && s.RawKeySeen.CompareAndSwap(false, true)) {
			b.NewArtifact(key, s)
		}
	} else if s.Raw != "" {
		var known bool
		if key, known = b.keys[s.Raw]; !known {
			key = record.RawArtifactKey(s.Kind, s.Raw)
			if b.keys == nil || b.keyBytes+len(s.Raw) > record.MaxCacheBytes {
				b.keys, b.keyBytes = make(map[string]string, 1024), 0
			}
			b.keys[s.Raw] = key
			b.keyBytes += len(s.Raw) + len(key)
			if b.NewArtifact != nil {
				b.NewArtifact(key, s)
			}
		}
	} else {
		key = IDArtifactKey(s.Kind, s.Issuer, s.ArtifactID)
		if b.NewArtifact != nil {
			b.NewArtifact(key, s)
		}
	}
	t := b.sightings
	t.str(0, key)
	t.str(1, s.Kind)
	putTime(t.builder(2), s.ObservedAt)
	t.str(3, s.Source)
	t.str(4, record.Escape(s.Observer))
	t.str(5, record.Escape(s.Principal))
	t.str(6, record.Escape(s.ClientIP))
	b.putIPNetwork(t, 7, 8, s.ClientIP)
	t.str(9, record.Escape(s.UserAgent))
	t.str(10, record.Escape(s.Action))
	t.str(11, s.Outcome)
	t.str(12, s.Attrs)
	t.str(13, s.Pos.File)
	t.builder(14).(*array.Int64Builder).Append(s.Pos.Line)
	t.str(15, s.Pos.Format)
	t.str(16, record.Excerpt(s.Salvaged, MaxReason))
	if s.Salvaged == "" {
		t.builder(17).(*array.BooleanBuilder).AppendNull()
		b.counts.Sightings++
	} else {
		t.builder(17).(*array.BooleanBuilder).Append(s.Ambiguous)
		b.counts.Salvaged++
		if s.Pos != b.lastSalvaged {
			b.lastSalvaged = s.Pos
			b.counts.SalvagedLines++
		}
	}
	t.row()
	b.counts.LastLine = max(b.counts.LastLine, s.Pos.Line)
	b.seen(s.ObservedAt)
	if b.nS++; b.nS >= b.BatchRows || t.dataBytes() > maxColumnBytes {
		b.flush(TableSightings)
	}
}

// Issuance implements record.Sink. The text columns that are shown (issuer,
// artifact id, subject, audience, key ref) are escaped here, as the analyzer
// escapes the same claims of artifacts, so that both sides still compare
// equal; attrs stay as the format wrote them.
func (b *Batcher) Issuance(is *record.Issuance) {
	t := b.issuances
	t.str(0, is.Kind)
	t.str(1, record.Escape(is.Issuer))
	t.str(2, record.Escape(is.ArtifactID))
	t.str(3, is.RawSHA256)
	t.str(4, record.Escape(is.Subject))
	t.str(5, record.Escape(is.Audience))
	t.str(6, record.Escape(is.KeyRef))
	putTime(t.builder(7), is.IssuedAt)
	putTime(t.builder(8), is.ExpiresAt)
	t.str(9, is.Attrs)
	t.str(10, is.Pos.File)
	t.builder(11).(*array.Int64Builder).Append(is.Pos.Line)
	t.str(12, is.Pos.Format)
	t.builder(13).(*array.BooleanBuilder).Append(is.AudienceIsClient)
	putStrList(t.builder(14), is.Names)
	t.row()
	b.counts.Issuances++
	b.counts.LastLine = max(b.counts.LastLine, is.Pos.Line)
	b.seen(is.IssuedAt)
	if b.nI++; b.nI >= b.BatchRows || t.dataBytes() > maxColumnBytes {
		b.flush(TableIssuances)
	}
}

// Link implements record.LinkSink. Ids are escaped as issuances' are, so
// that both sides of a join compare equal.
func (b *Batcher) Link(l *record.Link) {
	t := b.links
	t.str(0, l.Relation)
	t.str(1, l.FromKind)
	t.str(2, record.Escape(l.FromID))
	t.str(3, l.ToKind)
	t.str(4, record.Escape(l.ToID))
	putTime(t.builder(5), l.At)
	t.str(6, record.Escape(l.Observer))
	t.str(7, record.Escape(l.Principal))
	t.str(8, l.Attrs)
	t.str(9, l.Pos.File)
	t.builder(10).(*array.Int64Builder).Append(l.Pos.Line)
	t.str(11, l.Pos.Format)
	t.row()
	b.counts.Links++
	b.counts.LastLine = max(b.counts.LastLine, l.Pos.Line)
	b.seen(l.At)
	if b.nL++; b.nL >= b.BatchRows || t.dataBytes() > maxColumnBytes {
		b.flush(TableLinks)
	}
}

// Ignore implements record.Sink: it counts the record by reason and stores
// nothing.
func (b *Batcher) Ignore(pos record.Position, reason string) {
	if b.counts.IgnoredReasons == nil {
		b.counts.IgnoredReasons = map[string]int64{}
	}
	reason = record.Excerpt(reason, 80)
	if _, ok := b.counts.IgnoredReasons[reason]; !ok && len(b.counts.IgnoredReasons) >= maxIgnoreReasons {
		reason = IgnoreOther
	}
	b.counts.IgnoredReasons[reason]++
	b.counts.Ignored++
	b.counts.LastLine = max(b.counts.LastLine, pos.Line)
}

// Reject implements record.Sink. The reason and the excerpt are truncated
// and escaped here.
func (b *Batcher) Reject(r *record.Reject) {
	t := b.rejects
	t.str(0, r.Pos.File)
	t.builder(1).(*array.Int64Builder).Append(r.Pos.Line)
	t.str(2, r.Pos.Format)
	t.str(3, record.Excerpt(r.Reason, MaxReason))
	t.str(4, record.Excerpt(r.Excerpt, MaxExcerpt))
	t.row()
	b.counts.Rejects++
	b.counts.LastLine = max(b.counts.LastLine, r.Pos.Line)
	if b.nR++; b.nR >= b.BatchRows {
		b.flush(TableRejects)
	}
}

func (b *Batcher) flush(t Table) {
	var tb *tableBuilder
	switch t {
	case TableSightings:
		tb, b.nS = b.sightings, 0
	case TableIssuances:
		tb, b.nI = b.issuances, 0
	case TableLinks:
		tb, b.nL = b.links, 0
	default:
		tb, b.nR = b.rejects, 0
	}
	if tb.rows == 0 {
		return
	}
	rec := tb.record()
	if b.err != nil {
		rec.Release()
		return
	}
	if err := b.Flush(t, rec); err != nil {
		b.err = err
	}
}

// Close flushes what is left and returns the first flush error.
func (b *Batcher) Close() error {
	b.flush(TableSightings)
	b.flush(TableIssuances)
	b.flush(TableRejects)
	b.flush(TableLinks)
	b.sightings.release()
	b.issuances.release()
	b.rejects.release()
	b.links.release()
	return b.err
}

// Err returns the first flush error so far.
func (b *Batcher) Err() error { return b.err }

func putTime(b array.Builder, t time.Time) {
	tb := b.(*array.TimestampBuilder)
	if t.IsZero() {
		tb.AppendNull()
		return
	}
	tb.Append(arrow.Timestamp(t.UnixMicro()))
}

// IPNetwork returns the network an address belongs to for grouping (IPv4
// /24, IPv6 /64) and the address as 32 hex digits of its 128-bit form (IPv4
// mapped into IPv6), which orders like the number, so SQL can test ranges
// with BETWEEN. Both are "" when ip is not an address.
func IPNetwork(ip string) (network, hexIP string) {
	n, h, ok := appendIPNetwork(nil, nil, ip)
	if !ok {
		return "", ""
	}
	return string(n), string(h)
}

// appendIPNetwork is IPNetwork appended to network and hexIP; false when ip
// is not an address.
func appendIPNetwork(network, hexIP []byte, ip string) ([]byte, []byte, bool) {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return network, hexIP, false
	}
	addr = addr.WithZone("")
	bits := 64
	if addr.Is4() || addr.Is4In6() {
		addr = addr.Unmap()
		bits = 24
	}
	pfx, err := addr.Prefix(bits)
	if err != nil {
		return network, hexIP, false
	}
	b := addr.As16()
	return pfx.AppendTo(network), hex.AppendEncode(hexIP, b[:]), true
}

// putStrList appends vs, escaped as the other shown columns are, or null
// when there are none.
func putStrList(b array.Builder, vs []string) {
	lb := b.(*array.ListBuilder)
	if len(vs) == 0 {
		lb.AppendNull()
		return
	}
	lb.Append(true)
	vb := lb.ValueBuilder().(*array.StringBuilder)
	for _, v := range vs {
		vb.Append(record.Escape(v))
	}
}
