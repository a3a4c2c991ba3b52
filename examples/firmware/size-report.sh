#!/usr/bin/env bash
# Print the flash/RAM figures of README.md's size tables: llvm-size of the unisock firmware
# (nic, loopback, and clients: issue 12's MQTT + HTTP job through unisock-nal; aclients: the same
# job with enet-clients' clients on the async API; ahttpd: edge-http's server), of the
# direct-smoltcp baseline (with its own smoltcp features, and with unisock-smoltcp's) and of
# the embassy firmware (embassy-net: enet, enet-clients; unisock-smoltcp's async API under
# embassy-executor: anic; executor only: timers).
# The stack high-water marks are printed by the firmware itself at the end of a run (see the
# test: cargo test -p unisock-conformance --test embedded_qemu -- --nocapture).
set -euo pipefail
cd "$(dirname "$0")"
size=$(command -v llvm-size || command -v rust-size || command -v arm-none-eabi-size)
cargo build --release -q -p unisock-firmware
cargo build --release -q -p smoltcp-direct-firmware
cargo build --release -q -p embassy-firmware
cargo build --release -q -p smoltcp-direct-firmware --features backend-smoltcp-features \
    --target-dir target/sizes
"$size" target/thumbv7em-none-eabihf/release/{direct,nic,loopback,clients,enet,anic,enet-clients,aclients,ahttpd,timers} \
    target/sizes/thumbv7em-none-eabihf/release/direct
