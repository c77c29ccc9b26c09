package parsers

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/forgehunt/forgehunt/parsers/envoy"
	"github.com/forgehunt/forgehunt/parsers/record"
)

// A token whose first line is rejected after its bearer value was read
// (its time is unreadable) is still registered by the next line that
// carries it: the cache's flag is set by the sink, not by the lookup. Its
// header is not JSON, so salvage does not take it from the rejected line.
func TestRawKeyRegisteredByAnEmittedSighting(t *testing.T) {
	tok := "bm90IGpzb24.eyJhIjoxfQ.c2ln" // header "not json"
	var log bytes.Buffer
	fmt.Fprintf(&log, `{"start_time":"yesterday","authorization":"Bearer %s"}`+"\n", tok)
	for i := range 3 {
		fmt.Fprintf(&log, `{"start_time":"2026-03-04T10:00:0%d.000Z","authorization":"Bearer %s"}`+"\n", i, tok)
	}
	registered := map[string]int{}
	b := NewBatcher(func(_ Table, rec arrow.RecordBatch) error { rec.Release(); return nil })
	b.NewArtifact = func(key string, s *record.Sighting) { registered[key]++ }
	in := &record.Input{Name: "a.log", R: bytes.NewReader(log.Bytes())}
	if err := envoy.Format.Parse(context.Background(), in, record.SalvageSink(b, envoy.Format, in.Options)); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	c := b.Counts()
	if c.Rejects != 1 || c.Sightings != 3 {
		t.Fatalf("counts %+v, want 1 reject and 3 sightings", c)
	}
	if n := registered[ArtifactKey(tok)]; n != 1 {
		t.Errorf("the token's artifact was registered %d times, want once", n)
	}
}
