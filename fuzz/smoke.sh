#!/usr/bin/env bash
# Run every fuzz target for N seconds each (default 30; `bash fuzz/smoke.sh 60`), starting from
# the committed seeds, and fail on any crash (an input running over 20 s counts as one).
# Installs cargo-fuzz if it is missing. Needs the nightly toolchain (cargo-fuzz builds with
# -Zsanitizer=address).
#
# Environment: FUZZ_TARGETS="a b" to run only some targets; CARGO_TARGET_DIR is honoured.
set -euo pipefail
cd "$(dirname "$0")"
secs="${1:-30}"

if ! cargo +nightly --version >/dev/null 2>&1; then
    echo "smoke.sh: the nightly toolchain is missing (rustup toolchain install nightly)" >&2
    exit 1
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "smoke.sh: installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi

targets="${FUZZ_TARGETS:-$(cargo +nightly fuzz list)}"
status=0
summary=()
for t in $targets; do
    corpus="corpus/$t"
    mkdir -p "$corpus"
    if [ -d "seeds/$t" ]; then
        cp -n seeds/"$t"/* "$corpus"/ 2>/dev/null || true
    fi
    log="$(mktemp)"
    echo "=== fuzz $t for ${secs}s"
    if cargo +nightly fuzz run "$t" "$corpus" -- -max_total_time="$secs" -timeout=20 -rss_limit_mb=2048 \
        -print_final_stats=1 >"$log" 2>&1; then
        result=ok
    else
        result=FAILED
        status=1
        tail -n 60 "$log"
    fi
    # libFuzzer's final stats: stat::number_of_executed_units and stat::average_exec_per_sec.
    execs="$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')"
    rate="$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')"
    summary+=("$(printf '%-16s %-7s %12s execs %10s exec/s' "$t" "$result" "$execs" "$rate")")
    rm -f "$log"
done
echo
echo "=== fuzz smoke summary (${secs}s per target)"
printf '%s\n' "${summary[@]}"
exit "$status"
