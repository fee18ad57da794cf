# Sourced by bench/native/run.sh and instructions.sh: `pin CPU CMD...` (taskset when present)
# and the emulator CLI started on CPU 0 in the background, its URL in `url`, its pid in
# `emu_pid` (for the caller's EXIT trap); `work` must name the caller's scratch directory.

if command -v taskset >/dev/null; then pin() { taskset -c "$@"; }; else pin() { shift; "$@"; }; fi

# taskset execs node, so $! is the emulator itself (a backgrounded shell function would leave
# node running after the caller's EXIT trap).
if command -v taskset >/dev/null; then
  taskset -c 0 node bin/chittyid-emulator.js --port 0 > "$work/emu.out" 2>&1 &
else
  node bin/chittyid-emulator.js --port 0 > "$work/emu.out" 2>&1 &
fi
emu_pid=$!
url=""
for _ in $(seq 1 50); do
  url="$(grep -o 'http://[0-9.:]*' "$work/emu.out" || true)"
  [ -n "$url" ] && break
  sleep 0.1
done
[ -n "$url" ] || { echo "the emulator did not start" >&2; exit 1; }
