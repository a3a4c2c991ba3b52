#!/usr/bin/env bash
# The test command of README.md: installs what the tests need on a fresh Debian machine (when run
# as root), then runs every test of the workspace. Tests that need root (raw sockets, network
# namespaces, TAP, QEMU) skip with a notice when it is missing; with CI=true a skip is a failure.
set -euo pipefail
cd "$(dirname "$0")/.."

# command:package pairs the subprocess tests call.
need=()
for pair in curl:curl dnsmasq:dnsmasq socat:socat tshark:tshark ping:iputils-ping \
    qemu-system-arm:qemu-system-arm ip:iproute2 python3:python3 nft:nftables \
    mosquitto:mosquitto mosquitto_sub:mosquitto-clients mosquitto_pub:mosquitto-clients \
    ethtool:ethtool tcpdump:tcpdump dig:bind9-dnsutils; do
    PATH="$PATH:/usr/sbin:/sbin" command -v "${pair%%:*}" >/dev/null 2>&1 || need+=("${pair##*:}")
done
if ((${#need[@]})); then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        mapfile -t need < <(printf '%s\n' "${need[@]}" | sort -u)
        echo "installing: ${need[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
    else
        echo "missing tools (tests that need them will skip): ${need[*]}"
    fi
fi
if command -v rustup >/dev/null; then
    rustup target add thumbv7em-none-eabihf >/dev/null 2>&1 || true
fi

cargo test --workspace "$@"
