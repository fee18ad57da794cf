#!/usr/bin/env bash
# Runs the pure-Rust experiments behind bench/RESULTS.md "Analysis" (not part of `npm run bench`):
#   bench_mint_loop    the Rust client core (its reqwest transport) per mint: `local` (current-thread)
#                      and `hop` (1-worker multi-thread runtime, started from and completed to another thread)
#   bench_http_stack   CPU per request of the same POST /v1/mint through a bare socket (c=1), hyper's
#                      http1 client, reqwest as our transport configures it, reqwest without its retry
#                      layer's per-request clone, our transport alone and our client core, at c=1 and c=64
#                      (its reqwest knobs, `reqwest+exec+chunk...`, are for one-off runs; and
#                      bench/native/instructions.sh counts instructions per request of any mode)
#   bench_cache_memory the native validation cache at 1,000,000 entries
# against the emulator CLI pinned to CPU 0, each experiment pinned to CPU 1.
#
# The examples link the plain Rust core: built without the `node` feature the crate has no
# #[napi] bindings, so nothing refers to Node-API or libuv symbols.
set -euo pipefail
cd "$(dirname "$0")/../.."
SECONDS_PER_RUN="${1:-3}"
work="$(mktemp -d)"
emu_pid=""
cleanup() {
  if [ -n "$emu_pid" ]; then kill "$emu_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

cargo build --quiet --release --no-default-features --features bench --example bench_mint_loop --example bench_http_stack \
  --example bench_cache_memory
bin=target/release/examples

# shellcheck source=bench/native/emulator.sh
source bench/native/emulator.sh

for mode in local hop; do
  pin 1 timeout 120 "$bin/bench_mint_loop" "$url" 64 "$SECONDS_PER_RUN" "$mode" || true
done
pin 1 timeout 120 "$bin/bench_http_stack" "$url" socket 1 "$SECONDS_PER_RUN" || true
for c in 1 64; do
  for mode in hyper reqwest reqwest-lean transport client; do
    pin 1 timeout 120 "$bin/bench_http_stack" "$url" "$mode" "$c" "$SECONDS_PER_RUN" || true
  done
done
pin 1 timeout 120 "$bin/bench_cache_memory" 1000000 || true
