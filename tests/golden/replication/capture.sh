#!/usr/bin/env bash
# Regenerates the replication fixtures in this directory from a real redis-server 7.0.15:
#   replica.txt  what a real replica sends to a (python) fake master: handshake, PSYNC,
#                ACKs around a command stream, INFO replication at quiet points
#                (capture_replica.py);
#   master.txt   what a real master sends to (python) fake replicas: PSYNC replies, payload
#                framing, the stream after the RDB, INFO replication/stats (capture_master.py).
# The format is described in fixture.py. Run: tests/golden/replication/capture.sh
# (needs redis-server 7.0.x and python3; servers run on 127.0.0.1, random high ports, in a
# temporary directory that is removed afterwards; takes about a minute).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
server="${REDIS_SERVER:-redis-server}"
"$server" --version | grep -q 'v=7\.0\.' || { echo "need redis-server 7.0.x" >&2; exit 1; }
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# A small RDB to serve from the fake master, saved by the real server.
port=$(( 20000 + RANDOM % 20000 ))
mkdir "$tmp/rdb"
"$server" --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$tmp/rdb" \
  --daemonize no >"$tmp/rdb/log" 2>&1 &
pid=$!
for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
redis-cli -p "$port" set greeting hello >/dev/null
redis-cli -p "$port" save >/dev/null
kill "$pid"; wait "$pid" || true
cp "$tmp/rdb/dump.rdb" "$here/served.rdb"
python3 "$here/capture_replica.py" "$server" "$tmp" "$here/served.rdb" "$here/replica.txt"
if [ -f "$here/capture_master.py" ]; then
  python3 "$here/capture_master.py" "$server" "$tmp" "$here/master.txt"
fi
