#!/bin/sh
# Installs the optional tools that some tests use (qemu-user for the arm64 test run, gpsd-clients
# for the differential decoder test, systemd for systemd-analyze). Best effort: without them the
# tests that need them skip with a message. Only installs when running as root with apt-get.
need=""
command -v qemu-aarch64-static >/dev/null 2>&1 || command -v qemu-aarch64 >/dev/null 2>&1 || need="$need qemu-user-static"
command -v gpsdecode >/dev/null 2>&1 || need="$need gpsd-clients"
command -v systemd-analyze >/dev/null 2>&1 || need="$need systemd"
command -v rsvg-convert >/dev/null 2>&1 || need="$need librsvg2-bin" # geogate map -png (internal/cli TestMapPNG)
# The reference face and plate detector (tools/detector/haar.py, used by the anonymize and gate
# tests): Debian's python3 with OpenCV and its Haar cascades. With CI set, a failed install fails.
if ! /usr/bin/python3 -c 'import cv2' 2>/dev/null || [ ! -f /usr/share/opencv4/haarcascades/haarcascade_russian_plate_number.xml ]; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && { timeout 300 apt-get update -qq && DEBIAN_FRONTEND=noninteractive timeout 900 apt-get install -y -qq --no-install-recommends python3-opencv opencv-data; } >/tmp/geogate-deps-opencv.log 2>&1; then
		echo "deps: installed python3-opencv opencv-data"
	elif [ -n "$CI" ]; then
		echo "deps: installing python3-opencv opencv-data failed (see /tmp/geogate-deps-opencv.log)" >&2
		exit 1
	else
		echo "deps: python3-opencv opencv-data missing (sudo apt-get install python3-opencv opencv-data); detector tests will skip"
	fi
fi
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
