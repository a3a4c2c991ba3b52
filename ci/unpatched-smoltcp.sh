#!/usr/bin/env bash
# unisock on smoltcp 0.14.0 exactly as published on crates.io, without the patches in
# third_party/smoltcp: what a crate that depends on unisock-smoltcp gets unless it adds the
# same [patch.crates-io] section (README, "smoltcp patches"). It must still work, if slower.
#
# Copies the workspace's tracked files to a temporary folder, drops the [patch.crates-io]
# section and third_party/, lets Cargo resolve smoltcp 0.14.0 from crates.io, checks that it
# did, and runs the smoltcp conformance scenarios there. Own target directory (a build of
# the patched crate would otherwise be reused): $UNPATCHED_TARGET_DIR, default
# target-unpatched/ in this workspace. Needs crates.io (or a warm Cargo cache).
#
#   bash ci/unpatched-smoltcp.sh [extra cargo test arguments]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
target="${UNPATCHED_TARGET_DIR:-$root/target-unpatched}"
work="$(mktemp -d "${TMPDIR:-/tmp}/unisock-unpatched.XXXXXX")"
trap 'rm -rf "$work"' EXIT
start=$(date +%s)

# Tracked files as they are in the working tree (uncommitted edits included, new untracked
# files not), without the vendored smoltcp.
git -C "$root" ls-files -z -- . ':!third_party' | (cd "$root" && tar --null -T - -cf -) |
    tar -xf - -C "$work"

# Drop the [patch.crates-io] section (up to the next section or the end of the file).
awk '/^\[patch\.crates-io\]/ { skip = 1; next } /^\[/ { skip = 0 } !skip' \
    "$root/Cargo.toml" >"$work/Cargo.toml"
if grep -q 'path = "third_party' "$work/Cargo.toml"; then
    echo "unpatched-smoltcp: $work/Cargo.toml still names third_party" >&2
    exit 1
fi

cd "$work"
export CARGO_TARGET_DIR="$target"
# Resolve smoltcp from the registry (Cargo drops the lock entry of the path crate by
# itself), then pin it to the version the patches are against.
cargo metadata --format-version 1 >/dev/null
# (The workspace also holds embassy-net's smoltcp 0.13 for the benchmark's baseline: name the
# 0.14 one.)
cargo update -p smoltcp@0.14.0 --precise 0.14.0
source=$(cargo metadata --format-version 1 | python3 -c '
import json, sys
m = json.load(sys.stdin)
print(" ".join(sorted(p["version"] + ":" + str(p["source"]) for p in m["packages"] if p["name"] == "smoltcp")))
')
echo "smoltcp used: $source"
case "$source" in
*"0.14.0:registry+"*) ;;
*)
    echo "unpatched-smoltcp: expected smoltcp 0.14.0 from crates.io, got: $source" >&2
    exit 1
    ;;
esac

cargo test -p unisock-conformance --test smoltcp_loopback "$@"
echo "unpatched-smoltcp: passed in $(($(date +%s) - start)) s (target dir $target)"
