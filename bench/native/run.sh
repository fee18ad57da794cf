#!/usr/bin/env bash
# Runs the pure-Rust experiments behind bench/RESULTS.md "Analysis" (not part of `npm run bench`):
#   bench_mint_loop    the Rust client core (lean transport) per mint: `local` (current-thread) and `hop`
#                      (1-worker multi-thread runtime, started from and completed to another thread)
#   bench_cache_memory the native validation cache at 1,000,000 entries
# against the emulator CLI pinned to CPU 0, each experiment pinned to CPU 1.
#
# The examples link the crate's rlib, whose #[napi] bindings reference Node-API symbols that only
# exist inside node. They are never called here, so the link ignores them and a stub library that
# traps if one ever is called satisfies the dynamic loader.
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

for example in bench_mint_loop bench_cache_memory; do
  cargo rustc --quiet --release --example "$example" -- -C link-arg=-Wl,--unresolved-symbols=ignore-all
done
bin=target/release/examples
nm -D -u "$bin/bench_mint_loop" | awk '$2 ~ /^napi_/ { print "void " $2 "(void) { __builtin_trap(); }" }' > "$work/stub.c"
cc -shared -fPIC -o "$work/libnapistub.so" "$work/stub.c"
export LD_PRELOAD="$work/libnapistub.so"

if command -v taskset >/dev/null; then pin() { taskset -c "$@"; }; else pin() { shift; "$@"; }; fi
# taskset execs node, so $! is the emulator itself (killed by the EXIT trap).
if command -v taskset >/dev/null; then
  LD_PRELOAD="" taskset -c 0 node bin/chittyid-emulator.js --port 0 > "$work/emu.out" 2>&1 &
else
  LD_PRELOAD="" node bin/chittyid-emulator.js --port 0 > "$work/emu.out" 2>&1 &
fi
emu_pid=$!
url=""
for _ in $(seq 1 50); do
  url="$(grep -o 'http://[0-9.:]*' "$work/emu.out" || true)"
  [ -n "$url" ] && break
  sleep 0.1
done
[ -n "$url" ] || { echo "the emulator did not start" >&2; exit 1; }

for mode in local hop; do
  pin 1 timeout 120 "$bin/bench_mint_loop" "$url" 64 "$SECONDS_PER_RUN" "$mode" || true
done
pin 1 timeout 120 "$bin/bench_cache_memory" 1000000 || true
