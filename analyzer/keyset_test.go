package analyzer

import (
	"fmt"
	"sync"
	"testing"

	"github.com/forgehunt/forgehunt/parsers"
)

func TestKeySet(t *testing.T) {
	var s keySet
	raw := parsers.ArtifactKey("eyJhbGciOiJSUzI1NiJ9.e30.c2ln")
	keys := []string{raw, parsers.ArtifactKey("other"), "jwt:https://idp:j1", "jwt:https://idp:j2",
		"sha256:" + raw[7:70] + "g", "sha256:short", ""}
	for _, k := range keys {
		if !s.add(k) {
			t.Errorf("%q: not new the first time", k)
		}
	}
	for _, k := range keys {
		if s.add(k) {
			t.Errorf("%q: new the second time", k)
		}
	}
	// concurrent adds of the same keys: each is new exactly once
	var wg sync.WaitGroup
	var mu sync.Mutex
	added := map[string]int{}
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 1000 {
				k := fmt.Sprintf("jwt:iss:%d", (i+w*250)%1500)
				if s.add(k) {
					mu.Lock()
					added[k]++
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if len(added) != 1500 {
		t.Errorf("%d distinct keys added, want 1500", len(added))
	}
	for k, n := range added {
		if n != 1 {
			t.Errorf("%s added %d times", k, n)
		}
	}
}
