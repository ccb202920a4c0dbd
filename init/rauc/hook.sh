#!/bin/sh
# RAUC bundle hook (manifest: [hooks] filename=hook.sh hooks=install-check): refuses a bundle
# whose version is older than the unit's firmware floor, kept on the data partition in
# GEOGATE_FIRMWARE_FLOOR (one line, a version as sort -V orders them; missing: no floor yet).
# Something that runs after the new slot proved healthy raises the floor (docs/OTA.md). RAUC
# skips its own compatible check when a bundle has an install-check hook, so this does it.
floor_file=${GEOGATE_FIRMWARE_FLOOR:-/var/lib/geogate/firmware-floor}
case "$1" in
install-check)
	if [ "$RAUC_MF_COMPATIBLE" != "$RAUC_SYSTEM_COMPATIBLE" ]; then
		echo "bundle for '$RAUC_MF_COMPATIBLE', this system is '$RAUC_SYSTEM_COMPATIBLE'" >&2
		exit 10
	fi
	floor=$(cat "$floor_file" 2>/dev/null || echo 0)
	if [ "$(printf '%s\n%s\n' "$floor" "$RAUC_MF_VERSION" | sort -V | head -n1)" != "$floor" ]; then
		echo "bundle version $RAUC_MF_VERSION is older than the installed floor $floor: a downgrade is refused" >&2
		exit 10 # RAUC: the bundle is rejected, with this message
	fi
	;;
esac
exit 0
