r"""Shared helpers of the replication capture scripts: byte escaping, RESP reading, fixtures.

Fixture format (one event per line, read by tests/golden_replication.rs):
  # ...                       comment
  run <name>                  a new scenario
  peer <escaped>              bytes the fake peer sent to the real redis-server
                              (`peer@r1`: on the fake replica named r1; same for node, close, pings)
  client <args>               a normal client ran this command on the real server (master.txt)
  close@<r>                   the fake replica closed its connection
  pings@<r> <n>               repl-ping-replica-period was 1 for 2.5 s: <n> 14-byte pings arrived
  rdb-keys <k>...             the keys of the RDB payload just received
  node <escaped>              bytes the real redis-server sent to the fake peer
  acks <n> <n> ...            REPLCONF ACK values received during the quiet window that
                              follows the previous `peer` line (consecutive repeats collapsed)
  ack-now <n>                 the first ACK, received within 150 ms of the previous `peer` line
  info <label>                an INFO section follows, one `| line` per line, then `end`
  note <text>                 free text
Escaping: printable ASCII as is, backslash as \\, CR as \r, LF as \n, other bytes as \xHH.
An empty `node` line means nothing arrived during a 0.5 s quiet window.
Placeholders: <REPLID> (the node's own random replid), <REPLID0> (a master's replid before
its first replica), <MASTERID> (the real master's replid), <MARK> (the 40-char EOF mark),
<RDB>/<RDBLEN> (an RDB payload and its length: content depends on time and memory),
<NL*> (zero or more presync keepalive newlines: how many depends on timing), <FAKEPORT>
(the fake master's port), <PORT>/<PORTLEN> (the replica's own port and its digit count),
<s> (a seconds value that depends on wall time).
"""
import re, socket, time


def esc(b: bytes) -> str:
    out = []
    for c in b:
        if c == 0x5C:
            out.append("\\\\")
        elif c == 13:
            out.append("\\r")
        elif c == 10:
            out.append("\\n")
        elif 32 <= c < 127:
            out.append(chr(c))
        else:
            out.append("\\x%02x" % c)
    return "".join(out)


def encode(*args) -> bytes:
    b = b"*%d\r\n" % len(args)
    for a in args:
        if isinstance(a, str):
            a = a.encode()
        b += b"$%d\r\n%s\r\n" % (len(a), a)
    return b


class Conn:
    """A socket with a receive buffer and bounded reads."""

    def __init__(self, sock):
        self.s = sock
        self.buf = b""

    def fill(self, timeout):
        self.s.settimeout(timeout)
        try:
            d = self.s.recv(1 << 20)
        except socket.timeout:
            return False
        if not d:
            raise EOFError("peer closed")
        self.buf += d
        return True

    def read_until(self, pred, timeout=10.0):
        """Waits until pred(buf) returns a length n > 0, then takes n bytes."""
        end = time.time() + timeout
        while True:
            n = pred(self.buf)
            if n:
                out, self.buf = self.buf[:n], self.buf[n:]
                return out
            left = end - time.time()
            if left <= 0:
                raise TimeoutError("waiting for bytes, have %r" % self.buf[:200])
            self.fill(left)

    def line(self, timeout=10.0):
        return self.read_until(lambda b: b.find(b"\n") + 1 if b"\n" in b else 0, timeout)

    def command(self, timeout=10.0):
        return self.read_until(command_len, timeout)

    def drain(self, seconds):
        end = time.time() + seconds
        got = b""
        while True:
            left = end - time.time()
            if left <= 0:
                break
            if self.buf:
                got += self.buf
                self.buf = b""
            try:
                self.fill(left)
            except EOFError:
                break
        got += self.buf
        self.buf = b""
        return got

    def send(self, b):
        self.s.sendall(b)


def command_len(b: bytes) -> int:
    """Length of the first complete RESP multibulk command in b, or 0."""
    if not b.startswith(b"*"):
        return 0
    i = b.find(b"\r\n")
    if i < 0:
        return 0
    n = int(b[1:i])
    pos = i + 2
    for _ in range(n):
        j = b.find(b"\r\n", pos)
        if j < 0:
            return 0
        ln = int(b[pos + 1 : j])
        pos = j + 2 + ln + 2
        if pos > len(b):
            return 0
    return pos


def split_commands(b: bytes):
    out = []
    while b:
        if b.startswith(b"\n"):
            out.append(b"\n")
            b = b[1:]
            continue
        n = command_len(b)
        if not n:
            out.append(b)
            break
        out.append(b[:n])
        b = b[n:]
    return out


class Fixture:
    def __init__(self, path):
        self.f = open(path, "w")
        self.subs = []

    def sub(self, raw, placeholder):
        if raw:
            self.subs.append((raw, placeholder))

    def clean(self, s: str) -> str:
        for raw, ph in self.subs:
            s = s.replace(raw, ph)
        return s

    def w(self, line):
        self.f.write(self.clean(line) + "\n")
        self.f.flush()

    def peer(self, b):
        self.w("peer " + esc(b))

    def node(self, b):
        self.w("node " + esc(b))

    def info(self, label, text, secs_fields=()):
        self.w("info " + label)
        for l in text.replace("\r\n", "\n").split("\n"):
            if not l:
                continue
            k, _, v = l.partition(":")
            if k in secs_fields and v != "-1":
                v = "<s>"
            if k.startswith("slave") and "lag=" in v:
                v = re.sub(r"lag=\d+", "lag=<s>", v)
            self.w("| " + (k + ":" + v if _ else l))
        self.w("end")
