#!/bin/sh
# bench.sh: what `make bench` runs. Every benchmark three times with allocations (side by side
# with the reference libraries), the gpsd agreement test, and scripts/daemon-bench.sh; then
# scripts/perfdoc writes docs/PERFORMANCE.md and README.md's goals table from that output,
# which is kept in $out. Run it on an idle machine: the figures are this machine's.
#
# Usage: sh scripts/bench.sh    (COUNT=5 for more runs per benchmark; PKGS="./policy/ ./storage/"
# for some packages only: the goals of the others are then reported as not measured)
set -eu
GO=${GO:-go}
COUNT=${COUNT:-3}
PKGS=${PKGS:-./...}
cd "$(dirname "$0")/.."
out=${TMPDIR:-/tmp}/geogate-bench.txt
: >"$out"
echo "bench: $COUNT runs of every benchmark (output in $out)"
CGO_ENABLED=0 $GO test -run='^$' -bench=. -benchmem -count="$COUNT" $PKGS | tee -a "$out"
CGO_ENABLED=0 $GO test -count=1 -run '^TestGpsdPositions$' -v ./gnss | grep 'TOTAL:' | tee -a "$out"
for i in $(seq "$COUNT"); do
	sh scripts/daemon-bench.sh | tee -a "$out"
done
machine="$(nproc) CPUs ($(uname -m)), $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2 | sed 's/^ //' || echo unknown CPU)"
$GO run ./scripts/perfdoc -machine "$machine" -readme README.md -o docs/PERFORMANCE.md "$out"
