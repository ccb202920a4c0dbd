# geogate build, test and benchmark entry points. See README.md.

GO       ?= go
VERSION  ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
# BUILD_TIME: the commit's time (reproducible); update.Installer's clock never reads earlier.
BUILD_TIME ?= $(shell git log -1 --format=%cI 2>/dev/null)
LDFLAGS  := -s -w -X github.com/geogate/geogate/internal/cli.version=$(VERSION) -X github.com/geogate/geogate/update.buildTime=$(BUILD_TIME)
BIN      := geogate
PKGS     := ./...
FUZZTIME ?= 10s
QEMU     := $(shell command -v qemu-aarch64-static 2>/dev/null || command -v qemu-aarch64 2>/dev/null)
# test-clock: the packages whose code or tests read the wall clock (internal/clock), and how
# far ahead of the machine's their clock runs there: 43824h is five years (1826 days).
CLOCK_PKGS  := ./internal/... ./storage/... ./gate/... ./camera/... ./daemon/... ./policy/... ./record/... .
CLOCK_SHIFT ?= 43824h

export CGO_ENABLED := 0

.PHONY: all build cross test test-clock test-arm64 bench fuzz run deps clean

all: build

## build: the host binary ./geogate
build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) .

## cross: static binaries for the target units into dist/
cross:
	mkdir -p dist
	GOOS=linux GOARCH=arm64 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o dist/geogate-linux-arm64 .
	GOOS=linux GOARCH=arm GOARM=7 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o dist/geogate-linux-armv7 .
	GOOS=linux GOARCH=amd64 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o dist/geogate-linux-amd64 .
	@ls -l dist/

## deps: optional tools for the differential/emulation tests (best effort; tests skip without them)
deps:
	@sh scripts/deps.sh

## test: vet, all tests, the wall-clock tests five years ahead (test-clock), then the gnss,
## policy and storage tests once more as arm64 binaries under qemu-user
test: deps
	$(GO) vet $(PKGS)
	$(GO) test -count=1 $(PKGS)
	@$(MAKE) --no-print-directory test-clock
	@$(MAKE) --no-print-directory test-arm64

## test-clock: the tests of CLOCK_PKGS once more with the process's wall clock CLOCK_SHIFT ahead
## (linked in: see internal/clock), so a result that depends on today's date fails today
test-clock:
	$(GO) test -count=1 -ldflags '-X github.com/geogate/geogate/internal/clock.shift=$(CLOCK_SHIFT)' $(CLOCK_PKGS)

test-arm64:
ifeq ($(QEMU),)
	@echo "SKIP arm64 tests: neither qemu-aarch64-static nor qemu-aarch64 is installed (apt-get install qemu-user-static)"
else
	GOARCH=arm64 $(GO) test -count=1 -exec $(QEMU) ./gnss/... ./policy/... ./storage/...
endif

## bench: every benchmark, with allocations, side by side with the reference libraries; then
## the running daemon's READY time, memory and CPU (scripts/daemon-bench.sh, needs python3)
bench:
	$(GO) test -run='^$$' -bench=. -benchmem $(PKGS)
	@sh scripts/daemon-bench.sh

## fuzz: a short pass of every fuzz target (FUZZTIME each)
fuzz:
	@sh scripts/fuzz.sh $(FUZZTIME)

## run: the daemon on its built-in simulated default (Ctrl-C stops it and prints a summary)
run: build
	./$(BIN) run -dev -data var

clean:
	rm -rf $(BIN) dist
