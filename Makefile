# Every Go command needs -tags duckdb_arrow: DuckDB's Arrow interface is
# behind that build tag.
GO      ?= go
TAGS    := -tags duckdb_arrow
BIN     := bin/forgehunt
DEMO_DIR ?= $(or $(TMPDIR),/tmp)/forgehunt-demo
FUZZTIME ?= 30s

.PHONY: build test bench demo lint fuzz fuzz-short clean

build:
	$(GO) build $(TAGS) -o $(BIN) ./cmd/forgehunt

test:
	$(GO) test $(TAGS) ./...

# The whole hunt against DuckDB's own scan of a generated 1M-line gzip log
# (BENCHFLAGS='--lines 10000000' for the large variant; see BENCHMARKS.md),
# then the Go benchmarks of the hot stages.
BENCHFLAGS ?=
bench: build
	./$(BIN) bench $(BENCHFLAGS)
	$(GO) test $(TAGS) -run '^$$' -bench . -benchmem ./...

demo: build
	./$(BIN) demo --dir $(DEMO_DIR)

lint:
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(TAGS) ./...

# Each fuzz target in turn, FUZZTIME each (go test -fuzz takes one target at a time).
fuzz:
	@for pkg in $$($(GO) list $(TAGS) ./...); do \
	  for t in $$($(GO) test $(TAGS) -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$t"; \
	    $(GO) test $(TAGS) -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

fuzz-short:
	$(MAKE) fuzz FUZZTIME=3s

clean:
	rm -rf bin
