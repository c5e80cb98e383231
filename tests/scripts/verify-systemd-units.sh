#!/bin/sh
# `systemd-analyze verify` on the shipped units, with ExecStart pointing at the built binary.
# Exits 77 (ctest: skipped) when systemd-analyze is not installed.
set -eu
bin="$1"
src="$2"
# A core file would hold the admin token: both services must forbid one.
for unit in astra-rotator.service astra-rotator-once.service; do
    if ! grep -qx 'LimitCORE=0' "$src/conf/$unit"; then
        echo "$unit: LimitCORE=0 missing" >&2
        exit 1
    fi
done
if ! command -v systemd-analyze >/dev/null 2>&1; then
    echo "systemd-analyze not installed: skipping the unit check"
    exit 77
fi
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
for unit in astra-rotator.service astra-rotator-once.service astra-rotator.timer; do
    sed "s#/usr/local/bin/astra-rotator#$bin/astra-rotator#" "$src/conf/$unit" > "$dir/$unit"
done
cd "$dir"
systemd-analyze verify ./astra-rotator.service ./astra-rotator-once.service ./astra-rotator.timer
echo "systemd units verified"
