#!/usr/bin/env bash
# Boot one NIC firmware under QEMU on a TAP device inside a network namespace made for the run,
# and check it from the Linux side, as tests/tests/embedded_qemu.rs does for `nic` and `direct`:
# `ping 10.42.0.2` gets 3 replies, 64 KiB sent to TCP port 7 come back identical, the firmware's
# own connection reaches a listener on 10.42.0.1:4242 with MESSAGE, and QEMU exits 0.
#
#   sudo ./nic-check.sh BINARY MESSAGE
#   sudo ./nic-check.sh enet "hello from the embassy-net firmware"
#
# BINARY is a release binary of this workspace (built beforehand, e.g.
# `cargo build --release -p embassy-firmware`). Needs root, qemu-system-arm, ping, python3.
# Every wait is bounded; QEMU is killed by its PID and the namespace deleted on exit.
set -euo pipefail
cd "$(dirname "$0")"
bin=${1:?binary name, e.g. enet}
message=${2:?the message the firmware sends to 10.42.0.1:4242}
firmware=target/thumbv7em-none-eabihf/release/$bin
[ -f "$firmware" ] || { echo "no $firmware: build it first" >&2; exit 2; }
ns=fwcheck$$
log=$(mktemp)
qemu_pid=
cleanup() {
    if [ -n "$qemu_pid" ] && kill -0 "$qemu_pid" 2>/dev/null; then kill "$qemu_pid"; fi
    ip netns del "$ns" 2>/dev/null || true
    rm -f "$log"
}
trap cleanup EXIT
ip netns add "$ns"
in_ns() { ip netns exec "$ns" "$@"; }
in_ns ip link set lo up
in_ns ip tuntap add dev fwtap0 mode tap
in_ns ip addr add 10.42.0.1/24 dev fwtap0
in_ns ip link set fwtap0 up

# The host side, in Python: report listener first, then wait for READY, ping, echo, report.
in_ns python3 - "$firmware" "$message" "$log" <<'PY' &
import socket, subprocess, sys, threading, time
firmware, message, log = sys.argv[1], sys.argv[2].encode(), sys.argv[3]
listener = socket.create_server(("10.42.0.1", 4242))
listener.settimeout(60)
qemu = subprocess.Popen(
    ["qemu-system-arm", "-M", "mps2-an386", "-nographic",
     "-semihosting-config", "enable=on,target=native",
     "-nic", "tap,ifname=fwtap0,script=no,downscript=no", "-kernel", firmware],
    stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True)
open(log + ".pid", "w").write(str(qemu.pid))
lines = []
ready = threading.Event()
def read():
    for line in qemu.stdout:
        line = line.rstrip("\n")
        print("firmware:", line, flush=True)
        lines.append(line)
        if "READY" in line:
            ready.set()
threading.Thread(target=read, daemon=True).start()
def fail(why):
    print("FAIL:", why, flush=True)
    qemu.kill()
    sys.exit(1)
if not ready.wait(60):
    fail("no READY line within 60 s")
ping = subprocess.run(["ping", "-n", "-c", "3", "-w", "30", "10.42.0.2"],
                      capture_output=True, text=True)
print(ping.stdout, flush=True)
if ping.returncode != 0 or "3 received" not in ping.stdout:
    fail("ping got no replies")
x = 0x9E3779B9
payload = bytearray()
for _ in range(65536):
    x ^= (x << 13) & 0xFFFFFFFF; x ^= x >> 17; x ^= (x << 5) & 0xFFFFFFFF
    payload.append(x >> 24)
s = socket.create_connection(("10.42.0.2", 7), timeout=60)
def send():
    s.sendall(payload)
    s.shutdown(socket.SHUT_WR)
sender = threading.Thread(target=send)
sender.start()
echoed = bytearray()
while len(echoed) <= 2 * len(payload):
    chunk = s.recv(65536)
    if not chunk:
        break
    echoed += chunk
sender.join()
s.close()
if echoed != payload:
    fail(f"echo differs: {len(echoed)} bytes back of {len(payload)}")
print(f"echo: {len(echoed)} bytes back identical", flush=True)
conn, peer = listener.accept()
conn.settimeout(60)
got = bytearray()
while len(got) < 4096:
    chunk = conn.recv(4096)
    if not chunk:
        break
    got += chunk
conn.close()
if peer[0] != "10.42.0.2" or bytes(got) != message:
    fail(f"report from {peer}: {bytes(got)!r}, expected {message!r}")
print(f"report: {bytes(got).decode()!r} from {peer[0]}:{peer[1]}", flush=True)
try:
    status = qemu.wait(180)
except subprocess.TimeoutExpired:
    fail("QEMU still running after 180 s")
time.sleep(0.2)
if status != 0:
    fail(f"QEMU exited with {status}")
print("PASS: ping, 64 KiB echo, report, exit 0", flush=True)
PY
host=$!
# The bound of the whole check: longer than the sum of the host side's own bounds.
for _ in $(seq 1 400); do
    kill -0 "$host" 2>/dev/null || break
    sleep 1
done
if kill -0 "$host" 2>/dev/null; then
    echo "FAIL: the check did not finish within 400 s" >&2
    kill "$host"
fi
[ -f "$log.pid" ] && qemu_pid=$(cat "$log.pid") && rm -f "$log.pid"
wait "$host"
