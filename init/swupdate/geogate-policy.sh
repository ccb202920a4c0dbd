#!/bin/sh
# SWUpdate shellscript for a signed geogate policy bundle carried in a .swu: sw-description
# lists the bundle as an "archive" (a tar of its files) extracted to STAGING, and this script
# as a "shellscript", which SWUpdate runs with "preinst" before and "postinst" after. postinst
# installs the bundle through geogate policy install, so a refused bundle (bad signature,
# below the floor, expired) fails the update with geogate's reason. It runs geogate as the
# owner of the incoming directory (the service user), so the daemon can read the copy and a
# stopped daemon's state stays the service user's. STAGING must be inside the incoming
# directory, under a hidden name the daemon ignores (docs/OTA.md).
set -eu
geogate=${GEOGATE:-/usr/bin/geogate}
config=${GEOGATE_CONFIG:-/etc/geogate/geogate.toml}
incoming=${GEOGATE_INCOMING:-/var/lib/geogate/incoming}
staging=$incoming/.swupdate-policy.tmp
case "${1:-}" in
preinst)
	rm -rf "$staging" # a leftover of an interrupted update
	;;
postinst)
	trap 'rm -rf "$staging"' EXIT
	owner=$(stat -c %u "$incoming")
	group=$(stat -c %g "$incoming")
	chown -R "$owner:$group" "$staging"
	setpriv --reuid "$owner" --regid "$group" --clear-groups "$geogate" policy install -config "$config" "$staging"
	;;
esac
