package parsers

import (
	"fmt"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/forgehunt/forgehunt/parsers/record"
)

// BenchmarkBatcherSighting is the per-line cost of normalizing a sighting
// into Arrow (escaping, the address's network, the artifact-key cache),
// for a token repeated over many lines as in a real access log.
func BenchmarkBatcherSighting(b *testing.B) {
	tokens := make([]string, 512)
	for i := range tokens {
		tokens[i] = fmt.Sprintf("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1c2VyLSVkIn0.%0800d", i)
	}
	t0 := time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)
	bt := NewBatcher(func(_ Table, rec arrow.RecordBatch) error { rec.Release(); return nil })
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		s := record.Sighting{Kind: record.KindJWT, Raw: tokens[i%len(tokens)], ObservedAt: t0.Add(time.Duration(i) * time.Millisecond),
			Source: record.SourceAuth, Observer: "payments.example.com", ClientIP: fmt.Sprintf("203.0.113.%d", i%250),
			UserAgent: "payments-client/2.3", Action: "GET /api/payments", Outcome: record.OutcomeAccepted,
			Attrs: `{"status":"200","request_id":"7f1c9a2e"}`, Pos: record.Position{File: "access.log", Line: int64(i + 1), Format: "envoy-json"}}
		bt.Sighting(&s)
		i++
	}
	if err := bt.Close(); err != nil {
		b.Fatal(err)
	}
}
