#!/bin/sh
# Usage: test-qemu.sh arm64|armv7 PACKAGE...
# Runs the tests of PACKAGEs once more as binaries of a target unit under qemu-user: arm64, or
# armv7 (GOARCH=arm GOARM=7, the shipped 32-bit target). The test binaries find the emulator in
# GEOGATE_EMULATOR (see internal/testtool). Without the emulator it skips with a message; with
# CI set (to anything non-empty) that is a failure.
target=$1
shift
case $target in
arm64) goarch=arm64 goarm="" emus="qemu-aarch64-static qemu-aarch64" ;;
armv7) goarch=arm goarm=7 emus="qemu-arm-static qemu-arm" ;;
*)
	echo "test-qemu: unknown target $target, want arm64 or armv7" >&2
	exit 2
	;;
esac
emu=""
for e in $emus; do
	emu=$(command -v "$e") && break
done
if [ -z "$emu" ]; then
	msg="$target tests: neither ${emus% *} nor ${emus#* } is installed (apt-get install qemu-user-static, or make deps as root)"
	if [ -n "${CI:-}" ]; then
		echo "FAIL $msg" >&2
		exit 1
	fi
	echo "SKIP $msg"
	exit 0
fi
start=$(date +%s)
echo "test-qemu: $target (GOARCH=$goarch${goarm:+ GOARM=$goarm}) under $emu"
GEOGATE_EMULATOR=$emu GOARCH=$goarch GOARM=$goarm ${GO:-go} test -count=1 -short -exec "$emu" "$@"
rc=$?
echo "test-qemu: $target took $(($(date +%s) - start)) s"
exit $rc
