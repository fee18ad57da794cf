#!/usr/bin/env bash
# User-space instructions per mint of the addon itself, thread by thread, counted by valgrind's
# callgrind: `node bench/worker.js mint` (native) runs twice, for a short and a longer duration,
# and each thread's instructions per mint are the difference of its two totals over the
# difference of the calls made (`count + warmCount`). Start-up, warm-up and shut-down are the
# same in both runs and drop out. bench/RESULTS.md "Per-mint trims round" uses it; the
# reqwest-only figures come from instructions.sh.
#
#   bash bench/native/addon-instructions.sh CONCURRENCY [ADDON.node]
#
# ADDON.node (optional) is loaded through NAPI_RS_NATIVE_LIBRARY_PATH; without it, the addon in
# lib/native/. Prints one JSON line: the I/O thread's instructions per mint (`io`), the JS
# thread's (`js`: V8's compilers make this one move by a few %) and the whole process's
# (`all`). With FUNCS="regex" (callgrind_annotate's function names, e.g.
# FUNCS='parse_mint|idempotency_key') and an addon built with symbols, each matching
# function's inclusive instructions per mint too. The emulator CLI runs natively on CPU 0,
# the measured process on CPU 1. KEEP=DIR keeps the callgrind files of both runs (DIR/a, DIR/b).
set -euo pipefail
cd "$(dirname "$0")/../.."
concurrency="${1:?usage: addon-instructions.sh CONCURRENCY [ADDON.node]}"
addon="${2:-}"
command -v valgrind >/dev/null || { echo "valgrind is needed" >&2; exit 1; }
if [ -n "$addon" ]; then export NAPI_RS_NATIVE_LIBRARY_PATH="$(realpath "$addon")"; fi
# Under callgrind a mint takes ~50× longer: durations in ms of the two runs.
d1="${D1:-2000}"
d2="${D2:-6000}"
work="$(mktemp -d)"
emu_pid=""
cleanup() {
  if [ -n "$emu_pid" ]; then kill "$emu_pid" 2>/dev/null || true; fi
  if [ -n "${KEEP:-}" ]; then mkdir -p "$KEEP" && cp -r "$work"/a "$work"/b "$KEEP"/; fi
  rm -rf "$work"
}
trap cleanup EXIT
# shellcheck source=bench/native/emulator.sh
source bench/native/emulator.sh

# Runs the worker for `ms` under callgrind into $work/$tag/; prints its calls (count + warmCount).
run() {
  local tag="$1" ms="$2" out
  mkdir -p "$work/$tag"
  out="$(pin 1 timeout 600 valgrind --tool=callgrind --separate-threads=yes \
    --callgrind-out-file="$work/$tag/cg.out" node bench/worker.js mint \
    "{\"impl\":\"native\",\"url\":\"$url\",\"concurrency\":$concurrency,\"warmupMs\":300,\"durationMs\":$ms,\"watchdogMs\":500000}" \
    2> "$work/$tag/vg.err")"
  local count warm failures
  count="$(echo "$out" | grep -o '"count":[0-9]*' | grep -o '[0-9]*$')"
  warm="$(echo "$out" | grep -o '"warmCount":[0-9]*' | grep -o '[0-9]*$')"
  failures="$(echo "$out" | grep -o '"failures":[0-9]*' | grep -o '[0-9]*$')"
  [ "$failures" = 0 ] || { echo "run $tag: $failures failures" >&2; exit 1; }
  echo $((count + warm))
}

# "TOTAL" of one thread's file.
total() { grep -m1 '^totals:' "$1" | awk '{print $2}'; }

# The I/O thread is the one named chittyid-io: its file is the largest after the JS thread's
# (-01); the others (libuv's pool, V8's workers) do far less per mint.
io_file() {
  local dir="$1" best="" best_n=0 f n
  for f in "$dir"/cg.out-*; do
    case "$f" in *-01) continue ;; esac
    n="$(total "$f")"
    if [ "$n" -gt "$best_n" ]; then best="$f"; best_n="$n"; fi
  done
  echo "$best"
}

sum_all() {
  local dir="$1" s=0 f
  for f in "$dir"/cg.out-*; do s=$((s + $(total "$f"))); done
  echo "$s"
}

# Inclusive instructions of the functions matching FUNCS in every thread's file of `dir`.
funcs() {
  local dir="$1"
  for f in "$dir"/cg.out-*; do
    callgrind_annotate --inclusive=yes --threshold=100 "$f" 2>/dev/null || true
  done | grep -E "$FUNCS" | sed -E 's/^ *([0-9,]+).*\) *([^ ].*)$/\1\t\2/; s/,//g' |
    awk -F'\t' '{ s[$2] += $1 } END { for (k in s) print s[k] "\t" k }'
}

n1="$(run a "$d1")"
n2="$(run b "$d2")"
dn=$((n2 - n1))
[ "$dn" -gt 0 ] || { echo "the longer run made no more calls ($n1, $n2)" >&2; exit 1; }
io=$(( ($(total "$(io_file "$work/b")") - $(total "$(io_file "$work/a")")) / dn ))
js=$(( ($(total "$work/b/cg.out-01") - $(total "$work/a/cg.out-01")) / dn ))
all=$(( ($(sum_all "$work/b") - $(sum_all "$work/a")) / dn ))
echo "{\"concurrency\":$concurrency,\"calls\":[$n1,$n2],\"io\":$io,\"js\":$js,\"all\":$all}"
if [ -n "${FUNCS:-}" ]; then
  join -t $'\t' -1 2 -2 2 <(funcs "$work/a" | sort -t $'\t' -k2) <(funcs "$work/b" | sort -t $'\t' -k2) |
    awk -F'\t' -v dn="$dn" '{ printf "%10.0f  %s\n", ($3 - $2) / dn, $1 }' | sort -rn
fi
