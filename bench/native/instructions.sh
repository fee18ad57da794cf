#!/usr/bin/env bash
# User-space instructions per request of bench_http_stack modes, counted by valgrind's callgrind:
# deterministic to ~0.1 % where CPU time on this shared 2-vCPU machine moves by 5–30 % between
# rounds, so it can rank changes far smaller than a timed A/B can see (bench/RESULTS.md
# "Reqwest floor round"). It counts no kernel time and no cache misses: a difference here is a
# lower bound of what the change does, not its CPU time.
#
#   bash bench/native/instructions.sh CONCURRENCY MODE...    e.g. 64 hyper reqwest transport client
#
# Each mode runs twice with a fixed number of requests (BENCH_OPS=N1, then N2; warm-up and
# start-up are the same in both runs), and the difference of the two totals divided by the
# difference of their requests is the cost of one request. Needs valgrind; the emulator CLI
# runs natively on CPU 0, the measured process on CPU 1.
set -euo pipefail
cd "$(dirname "$0")/../.."
concurrency="${1:?usage: instructions.sh CONCURRENCY MODE...}"
shift
[ "$#" -gt 0 ] || { echo "usage: instructions.sh CONCURRENCY MODE..." >&2; exit 2; }
command -v valgrind >/dev/null || { echo "valgrind is needed" >&2; exit 1; }
if [ "$concurrency" -gt 1 ]; then n1=3000; n2=9000; else n1=1000; n2=3000; fi
work="$(mktemp -d)"
emu_pid=""
cleanup() {
  if [ -n "$emu_pid" ]; then kill "$emu_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

cargo build --quiet --release --no-default-features --features bench --example bench_http_stack
bin=target/release/examples/bench_http_stack
# shellcheck source=bench/native/emulator.sh
source bench/native/emulator.sh

# Prints "INSTRUCTIONS REQUESTS FAILURES" of one run of `mode` capped at `ops` requests.
count() {
  local mode="$1" ops="$2" out
  # SECONDS 60: the cap ends the run, not the deadline (valgrind runs ~50× slower).
  out="$(BENCH_OPS="$ops" pin 1 timeout 300 valgrind --tool=callgrind --callgrind-out-file=/dev/null \
    "$bin" "$url" "$mode" "$concurrency" 60 2> "$work/vg.err")"
  echo "$(grep -o 'Collected : [0-9]*' "$work/vg.err" | grep -o '[0-9]*$')" \
    "$(echo "$out" | grep -o '"totalRequests":[0-9]*' | grep -o '[0-9]*$')" \
    "$(echo "$out" | grep -o '"failures":[0-9]*' | grep -o '[0-9]*$')"
}

for mode in "$@"; do
  read -r ir1 req1 fail1 <<< "$(count "$mode" "$n1")"
  read -r ir2 req2 fail2 <<< "$(count "$mode" "$n2")"
  echo "{\"mode\":\"$mode\",\"concurrency\":$concurrency,\"instructionsPerRequest\":$(( (ir2 - ir1) / (req2 - req1) )),\"failures\":$(( fail1 + fail2 ))}"
done
