#!/usr/bin/env bash
# Re-captures fixture.txt: INFO replication figures of a real Redis 7.0 master after each step
# of known write sequences, for tests/backlog_golden.rs (which reads only the fixture).
#
# Needs redis-server and redis-cli 7.0.x (Debian's 7.0.15 was used). Servers listen on
# 127.0.0.1 only, on random high ports, in a temp dir, and are killed on exit.
#
# Every scenario: a fresh master (no saves, repl-ping-replica-period 3600 so no PING enters the
# stream, disk-based sync so the fork is immediate) gets one replica (replicaof in its config,
# so `PSYNC ? -1`): the backlog is created at offset 0 when the replica arrives. Then:
#   replica=gone    the replica shuts down after its sync: the backlog alone (no references);
#   replica=online  the replica stays; we wait until it has acknowledged every byte before INFO;
#   replica=wait    the master's BGSAVE is slowed (rdb-key-save-delay) so the replica sits in
#                   wait_bgsave holding its reference while we write; `drain` waits for it to
#                   come online and catch up.
# Fixture lines: `scenario NAME size=N replica=MODE`, `set KEY LEN` (SET KEY to LEN 'x's),
# `config N` (CONFIG SET repl-backlog-size N), `drain`, `unpin` (replica shut down),
# `expect MASTER_REPL_OFFSET FIRST_BYTE_OFFSET HISTLEN REPL_BACKLOG_SIZE`.
set -euo pipefail
cd "$(dirname "$0")"
OUT=${1:-fixture.txt}
TMP=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$TMP"
}
trap cleanup EXIT

cli() { local port=$1; shift; redis-cli -h 127.0.0.1 -p "$port" "$@"; }
info_field() { cli "$1" INFO replication | tr -d '\r' | awk -F: -v k="$2" '$1==k {print $2}'; }
# wait_for PORT FIELD VALUE [TRIES]: bounded wait (TRIES x 50 ms, default 10 s) for an INFO
# replication field.
wait_for() {
  for _ in $(seq "${4:-200}"); do
    [ "$(info_field "$1" "$2")" = "$3" ] && return 0
    sleep 0.05
  done
  echo "timeout waiting for $2=$3 on $1" >&2; exit 1
}
replica_acked() { # the master's slave0 offset equals its master_repl_offset
  local mp=$1
  for _ in $(seq 200); do
    local mro s0
    mro=$(info_field "$mp" master_repl_offset)
    s0=$(info_field "$mp" slave0)
    case "$s0" in *state=online,offset=$mro,*) return 0 ;; esac
    sleep 0.05
  done
  echo "timeout waiting for the replica to ack" >&2; exit 1
}
start_server() { # start_server NAME PORT ARGS... ; waits for PONG
  local name=$1 port=$2; shift 2
  mkdir -p "$TMP/$name"
  redis-server --bind 127.0.0.1 --port "$port" --dir "$TMP/$name" --save "" --appendonly no \
    --logfile "$TMP/$name/log" "$@" &
  PIDS+=($!)
  for _ in $(seq 100); do
    [ "$(cli "$port" PING 2>/dev/null)" = PONG ] && return 0
    sleep 0.05
  done
  echo "$name did not start" >&2; exit 1
}
# expect PORT [STATE]: one INFO, appended as an `expect` line; with STATE, slave0 must be in it.
expect() {
  local info
  info=$(cli "$1" INFO replication | tr -d '\r')
  if [ -n "${2:-}" ] && ! grep -q "^slave0:.*state=$2," <<<"$info"; then
    echo "replica left state $2 too early: $(grep '^slave0' <<<"$info")" >&2; exit 1
  fi
  awk -F: '{v[$1]=$2} END {print "expect", v["master_repl_offset"],
    v["repl_backlog_first_byte_offset"], v["repl_backlog_histlen"], v["repl_backlog_size"]}' \
    <<<"$info" >>"$OUT"
}

# scenario NAME SIZE MODE then ops on stdin
scenario() {
  local name=$1 size=$2 mode=$3
  local mp rp
  mp=$(shuf -i 20000-40000 -n 1); rp=$(shuf -i 40001-60000 -n 1)
  echo "scenario $name size=$size replica=$mode" >>"$OUT"
  start_server "$name-m" "$mp" --repl-backlog-size "$size" --repl-ping-replica-period 3600 \
    --repl-diskless-sync no
  local mpid=${PIDS[-1]}
  sleep 1.5   # let the master's first replicationCron tick (cron loop 0) pass with no replica
  if [ "$mode" = wait ]; then
    # Keys written before any replica: no backlog yet, so the offset stays 0.
    for i in $(seq 20); do cli "$mp" SET "pre$i" v >/dev/null; done
    cli "$mp" CONFIG SET rdb-key-save-delay 1000000 >/dev/null   # ~20 s BGSAVE
  fi
  start_server "$name-r" "$rp" --replicaof 127.0.0.1 "$mp"
  local rpid=${PIDS[-1]}
  if [ "$mode" = wait ]; then
    wait_for "$mp" connected_slaves 1
    cli "$mp" CONFIG SET rdb-key-save-delay 0 >/dev/null  # the running child keeps its delay
  else
    wait_for "$rp" master_link_status up
    replica_acked "$mp"
  fi
  if [ "$mode" = gone ]; then
    cli "$rp" SHUTDOWN NOSAVE >/dev/null 2>&1 || true
    wait "$rpid" 2>/dev/null || true
    wait_for "$mp" connected_slaves 0
    echo unpin >>"$OUT"
  fi
  local hold=""
  [ "$mode" = wait ] && hold=wait_bgsave
  expect "$mp" $hold
  local op a b
  while read -r op a b; do
    case "$op" in
      set)
        echo "set $a $b" >>"$OUT"
        head -c "$b" /dev/zero | tr '\0' x | cli "$mp" -x SET "$a" >/dev/null
        [ "$mode" = online ] && replica_acked "$mp"
        ;;
      config)
        echo "config $a" >>"$OUT"
        cli "$mp" CONFIG SET repl-backlog-size "$a" >/dev/null
        ;;
      drain)
        echo drain >>"$OUT"
        wait_for "$rp" master_link_status up 1200
        replica_acked "$mp"
        hold=""
        ;;
      *) echo "bad op $op" >&2; exit 1 ;;
    esac
    expect "$mp" $hold
  done
  cli "$mp" SHUTDOWN NOSAVE >/dev/null 2>&1 || true
  [ "$mode" != gone ] && { cli "$rp" SHUTDOWN NOSAVE >/dev/null 2>&1 || true; }
  wait "$mpid" 2>/dev/null || true
  [ "$mode" != gone ] && { wait "$rpid" 2>/dev/null || true; }
  return 0
}

# run NAME SIZE MODE: the scenario with ops from $TMP/ops, unless ONLY names another one.
run() {
  if [ -z "${ONLY:-}" ] || [ "$ONLY" = "$1" ]; then scenario "$@" <"$TMP/ops"; fi
}

{
  echo "# Captured by capture.sh from $(redis-server --version | cut -d' ' -f3,6) on 127.0.0.1."
  echo "# Do not edit: re-run capture.sh."
} >"$OUT"

# Small writes into the minimum backlog: 20440-byte blocks, trims in block steps; then a grow
# (keeps history), a shrink (trims at once) and a too-small size (clamped to 16384).
{
  for i in $(seq 1 160); do echo "set k$i 300"; done
  echo "config 65536"
  for i in $(seq 161 260); do echo "set k$i 300"; done
  echo "config 16384"
  echo "config 1"
  for i in $(seq 261 300); do echo "set k$i 300"; done
} > "$TMP/ops"
run small-16kb 16384 gone

# Large values with the default 1mb backlog: blocks sized by the piece (up to size/16 = 64 KB)
# and jemalloc's classes.
{
  n=0
  for len in 100 20000 30000 40000 70000 100000 300000 5000 16384 16385 65536 200000 1 \
             150000 90000 45000 333333 12345 250000 80000 64000 1000; do
    n=$((n + 1)); echo "set big$n $len"
  done
} > "$TMP/ops"
run large-1mb 1048576 gone

# An online replica that reads everything at once: its reference follows the tail.
{
  for i in $(seq 1 150); do echo "set k$i 500"; done
} > "$TMP/ops"
run online-16kb 16384 online

# A replica waiting for its RDB holds the first blocks: histlen grows past the size until it
# is online and has read them.
{
  for i in $(seq 1 120); do echo "set k$i 700"; done
  echo drain
  for i in $(seq 121 140); do echo "set k$i 700"; done
} > "$TMP/ops"
run wait-16kb 16384 wait
# A config-file size below 16 KB is kept as is (only CONFIG SET clamps): histlen hovers just
# above 100 bytes' worth of whole blocks.
{
  for i in $(seq 1 120); do echo "set k$i 400"; done
} > "$TMP/ops"
run tiny-config-100 100 gone
echo "captured into $OUT" >&2
