# geogate build, test and benchmark entry points. See README.md.

GO       ?= go
VERSION  ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
# BUILD_TIME: the commit's time (reproducible); update.Installer's clock never reads earlier.
BUILD_TIME ?= $(shell git log -1 --format=%cI 2>/dev/null)
LDFLAGS  := -s -w -X github.com/geogate/geogate/internal/cli.version=$(VERSION) -X github.com/geogate/geogate/update.buildTime=$(BUILD_TIME)
BIN      := geogate
PKGS     := ./...
FUZZTIME ?= 10s
# staticcheck, pinned: make test fails on its findings.
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
# test-clock: the packages whose code or tests read the wall clock (internal/clock), and how
# far ahead of the machine's their clock runs there: 43824h is five years (1826 days).
CLOCK_PKGS  := ./internal/clock/ ./internal/cli/ ./storage/... ./gate/... ./camera/... ./board/... ./daemon/... ./policy/... ./audit/... ./upload/...
CLOCK_SHIFT ?= 43824h
# The packages with architecture-dependent code, tested again as arm64 and armv7 binaries under
# qemu-user: struct layouts and ioctls (camera V4L2, board GPIO/watchdog/TPM, control
# SO_PEERCRED), float rounding (policy, gnss), syscalls and crypto (storage), the hot loop's
# allocations (gate, record). daemon is tested through them: its tests exec the host binary.
QEMU_PKGS := ./gnss/... ./policy/... ./storage/... ./camera/... ./board/... ./control/... ./gate/... ./record/...

export CGO_ENABLED := 0

.PHONY: all build cross test lint test-clock test-arm64 test-armv7 bench fuzz run deps clean

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

## deps: the tools the tests need (scripts/deps.sh), installed as root with apt-get and go install;
## best effort (tests skip without them), except with CI set, where a missing tool fails
deps:
	@sh scripts/deps.sh

## test: lint, all tests, the wall-clock tests five years ahead (test-clock), then the
## QEMU_PKGS tests once more as arm64 and as armv7 (GOARCH=arm GOARM=7) binaries under qemu-user,
## the two emulated stages side by side (each is mostly one emulated core), output kept per stage
test: deps lint
	$(GO) test -count=1 $(PKGS)
	@$(MAKE) --no-print-directory test-clock
	@$(MAKE) --no-print-directory -j2 --output-sync=target test-arm64 test-armv7

## lint: go vet and staticcheck (pinned), failing on any finding
lint:
	$(GO) vet $(PKGS)
	$(GO) run $(STATICCHECK) $(PKGS)

## test-clock: the tests of CLOCK_PKGS once more with the process's wall clock CLOCK_SHIFT ahead
## (linked in: see internal/clock), so a result that depends on today's date fails today
## (the console's million-sequence property test reads no clock and runs once, in the main pass)
test-clock:
	$(GO) test -count=1 -skip '^TestConsoleZoneBlind$$' -ldflags '-X github.com/geogate/geogate/internal/clock.shift=$(CLOCK_SHIFT)' $(CLOCK_PKGS)

## test-arm64, test-armv7: the QEMU_PKGS tests as binaries of that target under qemu-user (-short:
## the emulator runs the same code paths; only the longest loops run natively alone)
test-arm64 test-armv7:
	@GO='$(GO)' sh scripts/test-qemu.sh $(@:test-%=%) $(QEMU_PKGS)

## bench: every benchmark (3 runs each, with allocations) side by side with the reference
## libraries, the gpsd agreement and the running daemon (scripts/daemon-bench.sh, needs
## python3); then docs/PERFORMANCE.md and README.md's goals table are written from them
bench:
	@sh scripts/bench.sh

## fuzz: a short pass of every fuzz target (FUZZTIME each)
fuzz:
	@sh scripts/fuzz.sh $(FUZZTIME)

## run: the daemon on its built-in simulated default (Ctrl-C stops it and prints a summary);
## the console: in another terminal, ./geogate console -dev var; unlock with the token of
## ./geogate console token -key var/dev-console.key -device ID -nonce N (ID and N: the console prints them)
run: build
	@echo "console: ./$(BIN) console -dev var   (token: ./$(BIN) console token -key var/dev-console.key -device ID -nonce N)"
	./$(BIN) run -dev -data var

clean:
	rm -rf $(BIN) dist
