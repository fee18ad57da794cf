#!/usr/bin/env bash
# Runs a command with a throwaway redis-server for fleet mode's tests:
#   bash scripts/with-redis.sh <command...>
# Installs redis-server (and openssl, which the rediss:// tests make certificates with) when absent (Debian/Ubuntu, as root, non-interactive), starts
# one on a free loopback port with no persistence, exports CHITTYID_TEST_REDIS_URL (and
# CHITTYID_TEST_REDIS_SERVER, the binary, for tests that stop and restart it), runs the
# command, and stops the server whatever happens. If CHITTYID_TEST_REDIS_URL is already
# set, the command runs against that server instead. Where redis-server can be neither found
# nor installed (no apt-get, or neither root nor sudo), the command runs without it and the
# fleet tests skip loudly; CHITTYID_REQUIRE_REDIS=1 makes that an error instead.
set -euo pipefail

if [ -n "${CHITTYID_TEST_REDIS_URL:-}" ]; then
  exec "$@"
fi

if ! command -v redis-server >/dev/null 2>&1 || ! command -v openssl >/dev/null 2>&1; then
  as_root=""
  if [ "$(id -u)" != "0" ] && command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root="sudo -n"
  fi
  if { [ "$(id -u)" = "0" ] || [ -n "$as_root" ]; } && command -v apt-get >/dev/null 2>&1; then
    echo "with-redis: installing redis-server and openssl" >&2
    $as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    # Debian's redis-server is built with TLS (tls-port), which the rediss:// tests use.
    $as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server openssl >&2
  elif [ "${CHITTYID_REQUIRE_REDIS:-}" = "1" ]; then
    echo "with-redis: redis-server is not installed and cannot be installed here (needs apt-get, and root or sudo)" >&2
    exit 1
  else
    # Hosts without apt-get (macOS, Windows): the fleet tests skip, each saying so loudly.
    echo "with-redis: !!! no redis-server and no way to install it here: running without CHITTYID_TEST_REDIS_URL; the fleet tests will be SKIPPED !!!" >&2
    exec "$@"
  fi
fi

# A free loopback port: ask the kernel for one.
port=$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
dir=$(mktemp -d)
redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no --daemonize no \
  --dir "$dir" --logfile "$dir/redis.log" --protected-mode yes &
pid=$!
cleanup() {
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT INT TERM

for _ in $(seq 1 100); do
  if redis-cli -h 127.0.0.1 -p "$port" ping >/dev/null 2>&1; then break; fi
  sleep 0.05
done
redis-cli -h 127.0.0.1 -p "$port" ping >/dev/null

export CHITTYID_TEST_REDIS_URL="redis://127.0.0.1:$port/"
export CHITTYID_TEST_REDIS_SERVER="$(command -v redis-server)"
echo "with-redis: redis-server on $CHITTYID_TEST_REDIS_URL" >&2
set +e
"$@"
status=$?
set -e
exit $status
