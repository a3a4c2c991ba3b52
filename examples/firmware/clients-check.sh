#!/usr/bin/env bash
# Boot the `enet-clients` firmware (issue 12's MQTT + HTTP job) under QEMU on a TAP device inside
# a network namespace made for the run, with the servers on the Linux side of the TAP:
# mosquitto on 10.42.0.1:1883 with a `mosquitto_sub` on the firmware's topic, and Python's
# http.server on 10.42.0.1:8080 serving a 64 KiB page. Passes when mosquitto_sub receives the
# firmware's message, the firmware reports the page's length and FNV-1a hash as the host
# computes them, and QEMU exits 0.
#
#   sudo ./clients-check.sh [BINARY [MESSAGE]]     # default: enet-clients and its message
#
# Build first (`cargo build --release -p embassy-firmware`). Needs root, qemu-system-arm,
# mosquitto, mosquitto-clients, python3. Every wait is bounded; every process started here is
# killed by its PID and the namespace deleted on exit.
set -euo pipefail
cd "$(dirname "$0")"
bin=${1:-enet-clients}
message=${2:-hello over MQTT from the embassy-net firmware}
topic=unisock/firmware
firmware=target/thumbv7em-none-eabihf/release/$bin
[ -f "$firmware" ] || { echo "no $firmware: build it first" >&2; exit 2; }
export PATH="$PATH:/usr/sbin:/sbin"
ns=fwclients$$
work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    ip netns del "$ns" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
ip netns add "$ns"
in_ns() { ip netns exec "$ns" "$@"; }
in_ns ip link set lo up
in_ns ip tuntap add dev fwtap0 mode tap
in_ns ip addr add 10.42.0.1/24 dev fwtap0
in_ns ip link set fwtap0 up

# The page: 64 KiB of pseudo-random bytes, and its FNV-1a hash.
mkdir "$work/www"
expected=$(python3 - "$work/www/page.bin" <<'PY'
import random, sys
data = random.Random(12).randbytes(65536)
open(sys.argv[1], "wb").write(data)
h = 0x811C9DC5
for b in data:
    h = ((h ^ b) * 0x01000193) & 0xFFFFFFFF
print(f"http: got {len(data)} bytes fnv1a {h:08x}")
PY
)
printf 'listener 1883 10.42.0.1\nallow_anonymous true\n' >"$work/mosquitto.conf"
in_ns mosquitto -c "$work/mosquitto.conf" >"$work/mosquitto.log" 2>&1 &
pids+=($!)
in_ns python3 -m http.server 8080 --bind 10.42.0.1 --directory "$work/www" >"$work/http.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 50); do
    in_ns python3 -c 'import socket; socket.create_connection(("10.42.0.1", 1883), 1).close(); socket.create_connection(("10.42.0.1", 8080), 1).close()' 2>/dev/null && break
    sleep 0.1
done
in_ns mosquitto_sub -h 10.42.0.1 -t "$topic" -C 1 -W 120 >"$work/sub.out" 2>"$work/sub.err" &
sub=$!
pids+=($sub)
sleep 0.5

in_ns timeout 180 qemu-system-arm -M mps2-an386 -nographic \
    -semihosting-config enable=on,target=native \
    -nic tap,ifname=fwtap0,script=no,downscript=no -kernel "$firmware" >"$work/fw.out" 2>&1 &
qemu=$!
pids+=($qemu)
status=0
wait "$qemu" || status=$?
sed 's/^/firmware: /' "$work/fw.out"
fail() { echo "FAIL: $*"; echo "mosquitto:"; cat "$work/mosquitto.log"; exit 1; }
[ "$status" = 0 ] || fail "QEMU exited with $status"
for _ in $(seq 1 50); do kill -0 "$sub" 2>/dev/null || break; sleep 0.1; done
got=$(cat "$work/sub.out")
[ "$got" = "$message" ] || fail "mosquitto_sub got '$got', expected '$message' ($(cat "$work/sub.err"))"
echo "mosquitto_sub: $got"
grep -qxF "$expected" "$work/fw.out" || fail "the firmware did not report '$expected'"
echo "PASS: MQTT message received by mosquitto_sub, $expected, exit 0"
