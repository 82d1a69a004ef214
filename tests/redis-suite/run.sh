#!/bin/bash
# Runs Redis 7.0.15's replication test files against `replscope server`.
#
#   tests/redis-suite/run.sh <redis checkout at tag 7.0.15> [file ...]
#
# The checkout's src/redis-server is replaced by this folder's wrapper (src/redis-cli and
# src/redis-benchmark come from Debian's redis-tools), each file runs in its own `runtest`,
# and one line per file gives the counts (logs in <checkout>/logs/). REPLSCOPE_BIN picks the
# binary (default: target/release/replscope of this project); BASEPORT the ports.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
SUITE=$(cd "${1:?usage: run.sh <redis checkout at 7.0.15> [file ...]}" && pwd)
shift
export REPLSCOPE_BIN=${REPLSCOPE_BIN:-$HERE/../../target/release/replscope}
FILES=${*:-"replication replication-2 replication-3 replication-4 replication-psync replication-buffer block-repl psync2 psync2-reg psync2-pingoff psync2-master-restart"}
cd "$SUITE"
mkdir -p src logs
cp "$HERE/redis-server" src/redis-server
ln -sf /usr/bin/redis-cli src/redis-cli
ln -sf /usr/bin/redis-benchmark src/redis-benchmark
for f in $FILES; do
  timeout 1800 ./runtest --single "integration/$f" --clients 1 --timeout 300 \
    --baseport "${BASEPORT:-31111}" > "logs/$f.log" 2>&1 || true
  count() { grep -cP "^\[(\e\[[0-9;]*m)?$1(\e\[0m)?\]: " "logs/$f.log" || true; }
  ok=$(count ok); err=$(count err); exc=$(count exception)
  echo "$f ok=$ok err=$err exception=$exc"
done
