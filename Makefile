# faultbox: the two commands that matter are `make demo` and `make test`.
# Everything they need that a fresh machine lacks is installed by scripts/deps.sh.

GO ?= go
FUZZTIME ?= 10s

.PHONY: all demo test deps fmt-check vet race verify cross docs-check bench fuzz soak build clean

all: test

deps:
	@scripts/deps.sh

build:
	$(GO) build ./...

demo: deps
	@scripts/demo.sh

test: deps fmt-check vet race verify cross docs-check

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...
	cd bench && $(GO) vet ./...
	# The tracer is built for arm64 too (not run here: ptrace does not work under qemu-user).
	GOOS=linux GOARCH=arm64 $(GO) build ./...
	GOOS=linux GOARCH=arm64 $(GO) vet ./...

# The bench module is separate so that the main module never depends on the peers (Pebble,
# gofail, failpoint); its tests (Pebble on the lying disk) run here too, and building them
# compiles its benchmarks, so they cannot rot.
race:
	$(GO) test -race -count=1 ./...
	cd bench && $(GO) test -race -count=1 ./...

verify:
	@scripts/verify.sh

# Links in the docs resolve, and the README's server example cleans up after itself.
docs-check:
	@scripts/check_docs.sh

cross:
	@scripts/cross_test.sh

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...
	cd bench && $(GO) test -run '^$$' -bench . -benchmem ./...

fuzz:
	@FUZZTIME=$(FUZZTIME) scripts/fuzz.sh

soak:
	@scripts/soak.sh

clean:
	rm -rf bin
