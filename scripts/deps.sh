#!/bin/sh
# Installs the optional tools that some tests use (qemu-user for the arm64 test run, gpsd-clients
# for the differential decoder test, systemd for systemd-analyze; for camera's JPEG decoder tests:
# libjpeg-turbo-progs (cjpeg, djpeg, jpegtran) and real photographs from python-matplotlib-data and
# imagemagick-6-doc). Best effort: without them the
# tests that need them skip with a message. Only installs when running as root with apt-get.
need=""
command -v qemu-aarch64-static >/dev/null 2>&1 || command -v qemu-aarch64 >/dev/null 2>&1 || need="$need qemu-user-static"
command -v gpsdecode >/dev/null 2>&1 || need="$need gpsd-clients"
command -v systemd-analyze >/dev/null 2>&1 || need="$need systemd"
command -v rsvg-convert >/dev/null 2>&1 || need="$need librsvg2-bin" # geogate map -png (internal/cli TestMapPNG)
command -v swtpm >/dev/null 2>&1 && command -v tpm2_pcrextend >/dev/null 2>&1 || need="$need swtpm swtpm-tools tpm2-tools"
command -v jpegtran >/dev/null 2>&1 || need="$need libjpeg-turbo-progs"
[ -f /usr/share/matplotlib/mpl-data/sample_data/grace_hopper.jpg ] || need="$need python-matplotlib-data"
[ -f /usr/share/doc/imagemagick-6-common/html/images/bluebells_lin.jpg ] || need="$need imagemagick-6-doc"
command -v rauc >/dev/null 2>&1 && command -v mksquashfs >/dev/null 2>&1 && command -v dbus-daemon >/dev/null 2>&1 || need="$need rauc squashfs-tools dbus-daemon" # update TestRAUC
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
