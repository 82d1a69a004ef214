#!/bin/bash
# Runs Redis 7.0.15's replication test files against `replscope server`.
#
#   tests/redis-suite/run.sh <redis checkout at tag 7.0.15> [file ...]
#
# The checkout's src/redis-server is replaced by this folder's wrapper (src/redis-cli and
# src/redis-benchmark come from Debian's redis-tools), each file runs in its own `runtest`,
# and one line per file gives the counts (logs in <checkout>/logs/). REPLSCOPE_BIN picks the
# binary (default: target/release/replscope of this project); BASEPORT the ports.
#
# Tests that need Lua (lua-tests.txt: EVAL, FUNCTION, FCALL, busy scripts) do not apply:
# replscope has no scripting. With LUA=skip (the default) they are passed to runtest's
# --skiptest, and the two `FUNCTION LOAD` calls that sit in a setup outside any test (in
# replication.tcl and replication-4.tcl; a failing setup ends a whole file) are removed from
# copies run in their place, so that the tests after them run. LUA=keep runs everything
# unmodified.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
SUITE=$(cd "${1:?usage: run.sh <redis checkout at 7.0.15> [file ...]}" && pwd)
shift
export REPLSCOPE_BIN=${REPLSCOPE_BIN:-$HERE/../../target/release/replscope}
FILES=${*:-"replication replication-2 replication-3 replication-4 replication-psync replication-buffer block-repl psync2 psync2-reg psync2-pingoff psync2-master-restart"}
cd "$SUITE"
mkdir -p src logs
SKIP=()
if [ "${LUA:-skip}" = skip ]; then
  while IFS= read -r name; do SKIP+=(--skiptest "$name"); done < "$HERE/lua-tests.txt"
  # Copies without the setup-level `FUNCTION LOAD {…}` blocks (each ends at its own `}`).
  for f in replication replication-4; do
    python3 - "tests/integration/$f.tcl" "tests/integration/$f-nolua.tcl" <<'PY'
import re, sys
src = open(sys.argv[1]).read()
out = re.sub(r"\n( *)\$(master|replica) (?:function|FUNCTION) load[^\n]*\{#!lua.*?\n\1\}\n", "\n", src, flags=re.S)
open(sys.argv[2], "w").write(out)
PY
  done
fi
cp "$HERE/redis-server" src/redis-server
ln -sf /usr/bin/redis-cli src/redis-cli
ln -sf /usr/bin/redis-benchmark src/redis-benchmark
for f in $FILES; do
  run=$f
  if [ "${LUA:-skip}" = skip ] && [ -f "tests/integration/$f-nolua.tcl" ]; then run=$f-nolua; fi
  timeout 1800 ./runtest --single "integration/$run" --clients 1 --timeout 300 \
    --baseport "${BASEPORT:-31111}" "${SKIP[@]}" > "logs/$f.log" 2>&1 || true
  count() { grep -cP "^\[(\e\[[0-9;]*m)?$1(\e\[0m)?\]: " "logs/$f.log" || true; }
  ok=$(count ok); err=$(count err); exc=$(count exception)
  skipped=$(grep -c "^\[.*skip.*\]" "logs/$f.log" || true)
  echo "$f ok=$ok err=$err exception=$exc skipped=$skipped"
done
