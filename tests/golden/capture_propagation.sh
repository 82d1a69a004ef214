#!/usr/bin/env bash
# Regenerates tests/golden/propagation.stream: attaches to a real redis-server 7.0 as a
# replica (PSYNC ? -1, disk RDB), disables active expiry (DEBUG SET-ACTIVE-EXPIRE 0) so only
# lazy expiry happens, runs tests/golden/propagation.txt on a normal client and stores the
# raw replication stream the master sent after the RDB (PINGs removed), ending with the
# final `SET __end__ 1` the script adds. Only absolute
# times are used, so the stream is deterministic. Needs redis-server 7.0.x and python3.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
tmp="$(mktemp -d)"
port=$(( 20000 + RANDOM % 20000 ))
redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$tmp" \
  --enable-debug-command local --repl-ping-replica-period 3600 --daemonize no \
  >"$tmp/log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$tmp"' EXIT
for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
python3 - "$port" "$here/propagation.txt" "$here/propagation.stream" <<'PY'
import shlex, socket, sys, time
port, cmds, out = int(sys.argv[1]), sys.argv[2], sys.argv[3]

def encode(args):
    b = b"*%d\r\n" % len(args)
    for a in args:
        a = a.encode()
        b += b"$%d\r\n%s\r\n" % (len(a), a)
    return b

cli = socket.create_connection(("127.0.0.1", port))
cf = cli.makefile("rb")
def call(args):
    cli.sendall(encode(args))
    line = cf.readline()  # all commands used here reply with one line or a small bulk
    if line[:1] == b"$" and int(line[1:-2]) >= 0:
        cf.read(int(line[1:-2]) + 2)
    elif line[:1] == b"*":
        for _ in range(max(int(line[1:-2]), 0)):
            l2 = cf.readline()
            if l2[:1] == b"$" and int(l2[1:-2]) >= 0:
                cf.read(int(l2[1:-2]) + 2)
call(["DEBUG", "SET-ACTIVE-EXPIRE", "0"])

rep = socket.create_connection(("127.0.0.1", port))
rf = rep.makefile("rb")
rep.sendall(encode(["PSYNC", "?", "-1"]))
line = rf.readline()
while line in (b"\n", b"\r\n"):
    line = rf.readline()
assert line.startswith(b"+FULLRESYNC"), line
line = rf.readline()
while line in (b"\n", b"\r\n"):
    line = rf.readline()
assert line.startswith(b"$"), line
rf.read(int(line[1:-2]))  # the RDB (no trailing CRLF)

for line in open(cmds, encoding="utf-8"):
    line = line.rstrip("\n")
    if not line.strip() or line.startswith("#"):
        continue
    call(shlex.split(line, posix=True))
call(["SET", "__end__", "1"])
rep.settimeout(2)
stream = b""
marker = b"$7\r\n__end__\r\n$1\r\n1\r\n"
while not stream.endswith(marker):
    chunk = rep.recv(65536)
    if not chunk:
        break
    stream += chunk
stream = stream.replace(b"*1\r\n$4\r\nping\r\n", b"")
open(out, "wb").write(stream)
PY
echo "wrote $here/propagation.stream" >&2
