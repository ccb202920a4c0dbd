#!/bin/sh
# Runs every Fuzz* target in the module for $1 (default 10s) each. go test -fuzz takes one
# target of one package at a time, so list them first.
set -e
t=${1:-10s}
for pkg in $(go list ./...); do
	for f in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
		echo "== $pkg $f"
		go test -run='^$' -fuzz="^$f\$" -fuzztime="$t" "$pkg"
	done
done
