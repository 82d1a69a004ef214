#!/usr/bin/env bash
# Captures golden RDB files from a real redis-server 7.0 (Debian's /usr/bin/redis-server).
#
# Starts a throwaway server on 127.0.0.1 (random high port, own temp dir, no persistence of
# its own), writes a dataset covering every encoding Redis 7.0 writes, then stores in
# tests/golden/rdb/:
#   redis-7.0-save.rdb      the dump.rdb written by SAVE (no replication AUX fields)
#   redis-7.0-fullsync.rdb  the payload a replica receives in a full sync (redis-cli --rdb),
#                           which carries repl-stream-db / repl-id / repl-offset
#   expected.txt            every key read back with redis-cli: db, key, TYPE,
#                           OBJECT ENCODING, PEXPIRETIME and the value (GET / LRANGE / HGETALL /
#                           SMEMBERS / ZRANGE WITHSCORES), strings quoted as redis-cli prints them
#   redis-assets/*.rdb      old-format files from Redis's own test suite (tests/assets at tag
#                           7.0.15, BSD-3-Clause): zipmap, ziplist, quicklist v1, RDB v3-v10
#   redis-assets/*.txt      what redis-server 7.0 holds after loading each of them (same format
#                           as expected.txt), or "LOAD FAILS" when it refuses the file
# tests/rdb_golden.rs checks these files; re-run this script only to refresh them.
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/../.."
OUT=tests/golden/rdb
SERVER=${REDIS_SERVER:-/usr/bin/redis-server}
CLI=${REDIS_CLI:-/usr/bin/redis-cli}
[ -x "$SERVER" ] || { echo "capture_rdb.sh: $SERVER not found (apt-get install redis-server)" >&2; exit 1; }

TMP=$(mktemp -d)
PORT=$((20000 + RANDOM % 30000))
"$SERVER" --port "$PORT" --bind 127.0.0.1 --dir "$TMP" --save "" --appendonly no \
  --repl-diskless-sync-delay 0 --daemonize no --logfile "$TMP/redis.log" &
PID=$!
trap 'kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; rm -rf "$TMP"' EXIT

r() { "$CLI" -h 127.0.0.1 -p "$PORT" "$@"; }
for _ in $(seq 50); do r ping >/dev/null 2>&1 && break; sleep 0.1; done
r ping >/dev/null
VERSION=$("$SERVER" --version | sed -n 's/.*v=\([0-9.]*\).*/\1/p')

# resp ARG... — one command in RESP, for `redis-cli --pipe` (fast bulk loading).
resp() { printf '*%d\r\n' $#; for a in "$@"; do printf '$%d\r\n%s\r\n' ${#a} "$a"; done; }

KEYS0=() KEYS1=() KEYS15=()
{
  # Strings: int encodings (8/16/32 bit), integers that do not fit 32 bits, raw, LZF.
  resp SET str:int8 12;            KEYS0+=(str:int8)
  resp SET str:int16 -1234;        KEYS0+=(str:int16)
  resp SET str:int32 123456789;    KEYS0+=(str:int32)
  resp SET str:int64 12345678901;  KEYS0+=(str:int64)
  resp SET str:maxint 9223372036854775807; KEYS0+=(str:maxint)
  resp SET str:leadzero 007;       KEYS0+=(str:leadzero)
  resp SET str:float 3.14;         KEYS0+=(str:float)
  resp SET str:empty "";           KEYS0+=(str:empty)
  resp SET str:short "hello world"; KEYS0+=(str:short)
  resp SET str:lzf-a "$(printf 'a%.0s' $(seq 100))"; KEYS0+=(str:lzf-a)
  resp SET str:lzf-text "$(printf 'the quick brown fox %.0s' $(seq 10))"; KEYS0+=(str:lzf-text)
  resp SET str:lzf-numbers "$(seq -s ' ' 1 3000)"; KEYS0+=(str:lzf-numbers)
  resp SET str:incompressible 'Zq8#Lm2!Vx9@Rt4$Nw7%Kp1^Hy6&Jc3*Fb5(Gd0)'; KEYS0+=(str:incompressible)
  resp SET str:21chars 'aaaaaaaaaaaaaaaaaaaaa'; KEYS0+=(str:21chars)
  resp SET $'cl\xc3\xa9 with space' utf8; KEYS0+=($'cl\xc3\xa9 with space')

  # Lists (always quicklist in 7.0): one node, many nodes, a node-sized element, LPUSH-built.
  resp RPUSH list:small a b c 1 2 300 -7 70000 5000000000 "" "hello world"; KEYS0+=(list:small)
  big=(); for i in $(seq 3000); do big+=("item:$i"); done
  resp RPUSH list:big "${big[@]}"; KEYS0+=(list:big)
  resp LPUSH list:lpush "${big[@]}"; KEYS0+=(list:lpush)
  ints=(); for i in $(seq -200 5 3000); do ints+=("$i"); done
  resp RPUSH list:ints "${ints[@]}"; KEYS0+=(list:ints)
  resp RPUSH list:bigelem x "$(printf 'y%.0s' $(seq 10000))" z; KEYS0+=(list:bigelem)

  # Hashes: listpack (up to 512 fields of up to 64 bytes) and hashtable.
  resp HSET hash:small f1 v1 f2 2 f3 -300 num 123456789012 empty "" "$(printf 'k%.0s' $(seq 64))" "$(printf 'v%.0s' $(seq 64))"; KEYS0+=(hash:small)
  h=(); for i in $(seq 512); do h+=("field:$i" "$i"); done
  resp HSET hash:512 "${h[@]}"; KEYS0+=(hash:512)
  resp HSET hash:513 "${h[@]}" field:513 513; KEYS0+=(hash:513)
  resp HSET hash:longval a 1 b "$(printf 'v%.0s' $(seq 65))"; KEYS0+=(hash:longval)

  # Sets: intset (16/32/64-bit, up to 512 members) and hashtable.
  resp SADD set:intset16 3 1 2 -5 32767; KEYS0+=(set:intset16)
  resp SADD set:intset32 1 70000 -70000; KEYS0+=(set:intset32)
  resp SADD set:intset64 1 5000000000 -9223372036854775808; KEYS0+=(set:intset64)
  s=(); for i in $(seq 512); do s+=("$((i * 7))"); done
  resp SADD set:512 "${s[@]}"; KEYS0+=(set:512)
  resp SADD set:513 "${s[@]}" 100000; KEYS0+=(set:513)
  resp SADD set:strings apple banana cherry; KEYS0+=(set:strings)
  resp SADD set:mixed 1 2 x; KEYS0+=(set:mixed)

  # Sorted sets: listpack (up to 128 members of up to 64 bytes) and skiplist.
  resp ZADD zset:small 1 a 2.5 b -3 c inf d -inf e 0 f 1e20 g 0.1 h 5000000000 i 1.5e-7 j; KEYS0+=(zset:small)
  z=(); for i in $(seq 128); do z+=("$i.25" "member:$i"); done
  resp ZADD zset:128 "${z[@]}"; KEYS0+=(zset:128)
  resp ZADD zset:129 "${z[@]}" 7 extra; KEYS0+=(zset:129)
  resp ZADD zset:longmember 1 a 2 "$(printf 'm%.0s' $(seq 65))"; KEYS0+=(zset:longmember)
  resp ZADD zset:ties 1 b 1 a 1 c 0 z; KEYS0+=(zset:ties)

  # Expiries (absolute and far in the future, so the files stay valid).
  resp SET exp:str v;                       KEYS0+=(exp:str)
  resp PEXPIREAT exp:str 4102444800123
  resp HSET exp:hash a b;                   KEYS0+=(exp:hash)
  resp PEXPIREAT exp:hash 4102444801000

  # Other databases.
  resp SELECT 1
  resp SET db1:str in-db-1;                 KEYS1+=(db1:str)
  resp RPUSH db1:list x y;                  KEYS1+=(db1:list)
  resp SELECT 15
  resp SADD db15:set 1 2 3;                 KEYS15+=(db15:set)
  resp PEXPIREAT db15:set 4102444802000
} > "$TMP/load.resp"
r --pipe < "$TMP/load.resp" >/dev/null

# Binary values need redis-cli -x (bash arguments cannot hold NUL bytes).
printf "$(printf '\\\\x%02x' $(seq 0 255))" > "$TMP/bin"
r -x SET str:binary < "$TMP/bin" >/dev/null; KEYS0+=(str:binary)
for _ in 1 2 3 4; do cat "$TMP/bin"; done > "$TMP/bin4"
r -x SET str:binary-lzf < "$TMP/bin4" >/dev/null; KEYS0+=(str:binary-lzf)
r -x RPUSH list:binary < "$TMP/bin" >/dev/null; KEYS0+=(list:binary)

r SAVE >/dev/null
cp "$TMP/dump.rdb" "$OUT/redis-7.0-save.rdb"
# A full-sync payload, as a replica receives it (creates the backlog, so repl-* AUX fields).
r --rdb "$TMP/sync.rdb" >/dev/null 2>&1
cp "$TMP/sync.rdb" "$OUT/redis-7.0-fullsync.rdb"

describe() { # db key
  local db=$1 key=$2 type
  type=$(r -n "$db" TYPE "$key")
  printf '### db=%s key=%s type=%s encoding=%s pexpiretime=%s\n' "$db" \
    "$(r --no-raw -n "$db" ECHO "$key")" "$type" "$(r -n "$db" OBJECT ENCODING "$key")" \
    "$(r -n "$db" PEXPIRETIME "$key")"
  case $type in
    string) r --no-raw -n "$db" GET "$key" ;;
    list) r --no-raw -n "$db" LRANGE "$key" 0 -1 ;;
    hash) r --no-raw -n "$db" HGETALL "$key" ;;
    set) r --no-raw -n "$db" SMEMBERS "$key" ;;
    zset) r --no-raw -n "$db" ZRANGE "$key" 0 -1 WITHSCORES ;;
  esac
}
{
  echo "# Written by tests/golden/capture_rdb.sh from redis-server $VERSION; read by tests/rdb_golden.rs."
  echo "# keys: db0=$(r -n 0 DBSIZE) db1=$(r -n 1 DBSIZE) db15=$(r -n 15 DBSIZE)"
  for k in "${KEYS0[@]}"; do describe 0 "$k"; done
  for k in "${KEYS1[@]}"; do describe 1 "$k"; done
  for k in "${KEYS15[@]}"; do describe 15 "$k"; done
} > "$OUT/expected.txt"
kill "$PID"; wait "$PID" 2>/dev/null || true

# Redis's own old-format test files: load each into a fresh server and describe what it holds.
for rdbfile in "$OUT"/redis-assets/*.rdb; do
  name=$(basename "$rdbfile" .rdb)
  ADIR=$TMP/$name; mkdir -p "$ADIR"; cp "$rdbfile" "$ADIR/"
  PORT=$((20000 + RANDOM % 30000))
  "$SERVER" --port "$PORT" --bind 127.0.0.1 --dir "$ADIR" --dbfilename "$name.rdb" --save "" \
    --appendonly no --daemonize no --logfile "$ADIR/redis.log" &
  PID=$!
  up=no
  for _ in $(seq 50); do
    if r ping 2>/dev/null | grep -q PONG; then up=yes; break; fi
    kill -0 "$PID" 2>/dev/null || break
    sleep 0.1
  done
  {
    echo "# Written by tests/golden/capture_rdb.sh: redis-server $VERSION loading $name.rdb."
    if [ $up = no ]; then
      echo "LOAD FAILS: $(grep -m1 -E 'Internal error|integrity|Bad|error' "$ADIR/redis.log" | sed 's/^[^#]*# //')"
    else
      sizes=""
      for db in $(seq 0 15); do n=$(r -n "$db" DBSIZE); [ "$n" = 0 ] || sizes="$sizes db$db=$n"; done
      echo "# keys:${sizes:- db0=0}"
      for db in $(seq 0 15); do
        r -n "$db" KEYS '*' | sort | while IFS= read -r k; do if [ -n "$k" ]; then describe "$db" "$k"; fi; done
      done
    fi
  } > "$OUT/redis-assets/$name.txt"
  kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true
done
echo "captured from redis-server $VERSION: $(ls "$OUT" "$OUT/redis-assets")"
