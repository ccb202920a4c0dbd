#!/bin/sh
# Installs the tools that some tests need, each from Debian: qemu-user-static (the arm64 and armv7
# test runs under qemu-aarch64-static and qemu-arm-static), gpsd-clients (gpsdecode, the
# differential decoder test), systemd (systemd-analyze on the unit), librsvg2-bin (geogate map
# -png), swtpm and tpm2-tools (a real TPM 2.0 for the key provider), libjpeg-turbo-progs and
# photographs from python-matplotlib-data and imagemagick-6-doc (the JPEG decoder's tests), and
# python3-opencv with opencv-data (the reference face and plate detector, tools/detector), rauc
# with squashfs-tools and dbus-daemon, mender-client with mender-artifact, and swupdate with cpio and
# libubootenv-tool (the A/B updaters of docs/OTA.md, daemon/updaters_test.go, update/rauc_test.go). It
# installs only as root with apt-get, showing apt's output as it goes and keeping it in $log.
#
# With CI set (to anything non-empty) every tool is required: a failure to install exits 1 and
# prints the end of apt's output. Without CI it is best effort: the tests that need a missing
# tool skip with a message.
log=/tmp/geogate-deps.log

have() { command -v "$1" >/dev/null 2>&1; }

missing() {
	need=""
	{ have qemu-aarch64-static || have qemu-aarch64; } && { have qemu-arm-static || have qemu-arm; } ||
		need="$need qemu-user-static"
	have gpsdecode || need="$need gpsd-clients"
	have systemd-analyze || need="$need systemd"
	have rsvg-convert || need="$need librsvg2-bin"
	{ have swtpm && have tpm2_pcrextend; } || need="$need swtpm swtpm-tools tpm2-tools"
	have jpegtran || need="$need libjpeg-turbo-progs"
	[ -f /usr/share/matplotlib/mpl-data/sample_data/grace_hopper.jpg ] || need="$need python-matplotlib-data"
	[ -f /usr/share/doc/imagemagick-6-common/html/images/bluebells_lin.jpg ] || need="$need imagemagick-6-doc"
	{ /usr/bin/python3 -c 'import cv2' 2>/dev/null &&
		[ -f /usr/share/opencv4/haarcascades/haarcascade_russian_plate_number.xml ]; } ||
		need="$need python3-opencv opencv-data"
	{ have rauc && have mksquashfs && have dbus-daemon; } || need="$need rauc squashfs-tools dbus-daemon"
	{ have mender && have mender-artifact; } || need="$need mender-client mender-artifact"
	{ have swupdate && have cpio && have fw_setenv; } || need="$need swupdate cpio libubootenv-tool"
}

# fail says what is missing and why: in CI it exits 1, elsewhere the tests skip.
fail() {
	if [ -n "${CI:-}" ]; then
		echo "deps: FAIL: $1" >&2
		echo "deps: CI needs$need; make test cannot run without them" >&2
		exit 1
	fi
	echo "deps: $1; tests needing$need will skip"
	exit 0
}

# step shows a command and runs it, its output shown and appended to $log; it returns the
# command's status.
step() {
	echo "deps: $*"
	{
		"$@"
		echo $? >"$log.rc"
	} 2>&1 | tee -a "$log"
	return "$(cat "$log.rc")"
}

# versitygw: the real S3 server of the upload tests, a Go program installed with go install
# into GOPATH/bin, where the tests look for it. With CI set a failed install is a failure.
VERSITYGW=github.com/versity/versitygw/cmd/versitygw@v1.8.0
if ! have versitygw && [ ! -x "$(go env GOPATH)/bin/versitygw" ]; then
	echo "deps: go install $VERSITYGW (a minute or two)"
	if ! timeout 900 go install "$VERSITYGW" >/tmp/geogate-deps-versitygw.log 2>&1; then
		tail -n 15 /tmp/geogate-deps-versitygw.log | sed 's/^/    /'
		if [ -n "${CI:-}" ]; then
			echo "deps: FAIL: go install versitygw failed" >&2
			exit 1
		fi
		echo "deps: go install versitygw failed; the upload tests will skip"
	fi
fi

missing
[ -z "$need" ] && exit 0
if [ "$(id -u)" != 0 ] || ! have apt-get; then
	fail "missing:$need (install as root: apt-get install$need)"
fi

: >"$log"
start=$(date +%s)
echo "deps: installing$need (a fresh machine takes a minute or two)"
if ! step timeout 300 apt-get -q update ||
	! step env DEBIAN_FRONTEND=noninteractive timeout 900 apt-get -q -y --no-install-recommends \
		-o Dpkg::Use-Pty=0 install $need; then
	echo "deps: apt-get failed; the end of its output ($log):"
	tail -n 15 "$log" | sed 's/^/    /'
	fail "apt-get could not install$need"
fi
missing
[ -n "$need" ] && fail "apt-get succeeded but these still lack their commands:$need"
echo "deps: installed in $(($(date +%s) - start)) s"
