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
# A run that ends in the fuzzer's own "context deadline exceeded" without a
# failing input (a worker still busy when the time is up, with short times
# on a loaded machine) is run once more; a failing input always fails.
fuzz:
	@for pkg in $$($(GO) list $(TAGS) ./...); do \
	  for t in $$($(GO) test $(TAGS) -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$t"; \
	    out=$$($(GO) test $(TAGS) -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) $$pkg 2>&1); rc=$$?; echo "$$out"; \
	    if [ $$rc -ne 0 ] && echo "$$out" | grep -q 'context deadline exceeded' && ! echo "$$out" | grep -q 'Failing input written'; then \
	      echo "== $$pkg $$t: the fuzzer ran out of time in a worker, once more"; \
	      $(GO) test $(TAGS) -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	    elif [ $$rc -ne 0 ]; then exit 1; fi; \
	  done; \
	done

fuzz-short:
	$(MAKE) fuzz FUZZTIME=3s

clean:
	rm -rf bin
