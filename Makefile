# geogate build, test and benchmark entry points. See README.md.

GO       ?= go
VERSION  ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X main.version=$(VERSION)
BIN      := geogate
PKGS     := ./...
FUZZTIME ?= 10s
# The packages tested again as arm64 and armv7 binaries under qemu-user: every package but daemon,
# which has no architecture-dependent code (its parts are tested here in their packages) and
# whose tests build the geogate binary and exec it, which qemu-user cannot do for a foreign binary.
QEMU_PKGS = $(shell $(GO) list ./... | grep -v '/daemon$$')

export CGO_ENABLED := 0

.PHONY: all build cross test test-arm64 test-armv7 bench fuzz run deps clean

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

## deps: the tools some tests need (qemu-user-static, gpsd-clients, systemd), installed as root with
## apt-get; best effort (tests skip without them), except with CI set, where a missing tool fails
deps:
	@sh scripts/deps.sh

## test: vet, all tests, then the tests of every package but daemon once more as arm64 and as armv7
## (GOARCH=arm GOARM=7) binaries under qemu-user
test: deps
	$(GO) vet $(PKGS)
	$(GO) test -count=1 $(PKGS)
	@$(MAKE) --no-print-directory test-arm64 test-armv7

## test-arm64, test-armv7: the QEMU_PKGS tests as binaries of that target under qemu-user
test-arm64 test-armv7:
	@GO='$(GO)' sh scripts/test-qemu.sh $(@:test-%=%) $(QEMU_PKGS)

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
