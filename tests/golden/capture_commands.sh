#!/usr/bin/env bash
# Regenerates tests/golden/commands.resp: runs every line of tests/golden/commands.txt
# (redis-cli quoting, split like `sdssplitargs`) through a real redis-server 7.0 on
# 127.0.0.1 and stores the raw RESP replies, concatenated, in order.
# tests/commands_golden.rs replays the same lines through replscope's engine and compares
# byte for byte. Needs redis-server 7.0.x and python3; not needed at test time.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
tmp="$(mktemp -d)"
port=$(( 20000 + RANDOM % 20000 ))
redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$tmp" \
  --daemonize no >"$tmp/log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$tmp"' EXIT
for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
redis-server --version >&2
python3 - "$port" "$here/commands.txt" "$here/commands.resp" <<'PY'
import shlex, socket, sys
port, cmds, out = int(sys.argv[1]), sys.argv[2], sys.argv[3]
s = socket.create_connection(("127.0.0.1", port))
f = s.makefile("rb")

def read_reply():
    line = f.readline()
    raw = line
    t, body = line[:1], line[1:-2]
    if t == b"$":
        n = int(body)
        if n >= 0:
            raw += f.read(n + 2)
    elif t == b"*":
        n = int(body)
        for _ in range(max(n, 0)):
            raw += read_reply()
    return raw

def encode(args):
    b = b"*%d\r\n" % len(args)
    for a in args:
        a = a.encode()
        b += b"$%d\r\n%s\r\n" % (len(a), a)
    return b

replies = b""
for line in open(cmds, encoding="utf-8"):
    line = line.rstrip("\n")
    if not line.strip() or line.startswith("#"):
        continue
    args = shlex.split(line, posix=True)
    s.sendall(encode(args))
    replies += read_reply()
open(out, "wb").write(replies)
PY
echo "wrote $here/commands.resp" >&2
