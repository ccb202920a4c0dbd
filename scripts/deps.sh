#!/bin/sh
# Installs the optional tools that some tests use (qemu-user for the arm64 test run, gpsd-clients
# for the differential decoder test, systemd for systemd-analyze). Best effort: without them the
# tests that need them skip with a message. Only installs when running as root with apt-get.
# versitygw: the real S3 server of the upload tests (upload, internal/cli TestUpload*), a Go
# program installed with go install into GOPATH/bin, where the tests look for it. With CI set
# a failed install is a failure (exit 1); elsewhere the tests skip with a message.
VERSITYGW=github.com/versity/versitygw/cmd/versitygw@v1.8.0
if ! command -v versitygw >/dev/null 2>&1 && [ ! -x "$(go env GOPATH)/bin/versitygw" ]; then
	echo "deps: go install $VERSITYGW"
	if ! timeout 900 go install "$VERSITYGW" >/tmp/geogate-deps-versitygw.log 2>&1; then
		echo "deps: go install versitygw failed (see /tmp/geogate-deps-versitygw.log); the upload tests will skip"
		[ -n "$CI" ] && exit 1
	fi
fi

need=""
command -v qemu-aarch64-static >/dev/null 2>&1 || command -v qemu-aarch64 >/dev/null 2>&1 || need="$need qemu-user-static"
command -v gpsdecode >/dev/null 2>&1 || need="$need gpsd-clients"
command -v systemd-analyze >/dev/null 2>&1 || need="$need systemd"
command -v rsvg-convert >/dev/null 2>&1 || need="$need librsvg2-bin" # geogate map -png (internal/cli TestMapPNG)
[ -z "$need" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
	echo "deps: installing$need"
	if ! { timeout 300 apt-get update -qq && DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -qq --no-install-recommends $need; } >/tmp/geogate-deps.log 2>&1; then
		echo "deps: apt-get failed (see /tmp/geogate-deps.log); tests needing$need will skip"
	fi
else
	echo "deps: optional packages missing:$need (sudo apt-get install$need); tests needing them will skip"
fi
exit 0
