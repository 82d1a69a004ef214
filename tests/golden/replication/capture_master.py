"""What a real Redis 7.0 master sends: python fake replicas connect to a real redis-server,
do the handshake a real replica does, then PSYNC ? -1 / PSYNC <id> <offset> (valid, too new,
too old, wrong id, without capa psync2), with repl-diskless-sync no and yes (delay 1).
Recorded: reply lines, payload framing, the stream after the RDB (SELECT placement, PINGs),
and the master's INFO replication and sync counters at quiet points.

PINGs: the server runs with repl-ping-replica-period 3600 (no PING ever fires in a capture
this short, so every offset is exact), except in a `pings` window where it is set to 1 with
CONFIG SET for about 2.5 s; the fixture then says how many 14-byte pings arrived.

Usage (normally through capture.sh): capture_master.py <redis-server> <tmpdir> <out>
"""
import os, signal, subprocess, sys, time, socket
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixture import Conn, Fixture, encode, esc, split_commands
from capture_lib import Client, free_port, start_server, procs

server_bin, tmp, out = sys.argv[1:4]
fx = Fixture(out)
PING = b"*1\r\n$4\r\nping\r\n"


class Replica:
    def __init__(self, port, listening_port, capa=(b"eof", b"psync2")):
        self.name = "r%d" % (listening_port - 7000)
        self.c = Conn(socket.create_connection(("127.0.0.1", port)))
        self.send(encode("PING"))
        self.node(self.c.line())
        capa_args = []
        for cp in capa:
            capa_args += [b"capa", cp]
        self.send(encode("REPLCONF", "listening-port", str(listening_port)) + encode("REPLCONF", *capa_args))
        self.node(self.c.line() + self.c.line())

    def send(self, b):
        fx.w("peer@%s %s" % (self.name, esc(b)))
        self.c.send(b)

    def node(self, b):
        fx.w("node@%s %s" % (self.name, esc(b)))

    def psync_reply(self):
        """Keepalive newlines (recorded as <NL*>), then the reply line."""
        got = b""
        while True:
            line = self.c.line(15)
            if line == b"\n":
                got += line
                continue
            break
        if got:
            fx.w("node@%s <NL*>" % self.name)
        return line

    def payload(self):
        """Newlines, then `$<len>` or `$EOF:<mark>`, then the RDB. Returns the RDB."""
        nl = False
        while True:
            line = self.c.line(15)
            if line == b"\n":
                nl = True
                continue
            break
        if nl:
            fx.w("node@%s <NL*>" % self.name)
        if line.startswith(b"$EOF:"):
            mark = line[5:45]
            fx.sub(mark.decode(), "<MARK>")
            rdb = self.c.read_until(lambda b: b.find(mark) + 40 if mark in b else 0, 15)[:-40]
            fx.w("node@%s $EOF:<MARK>\\r\\n<RDB><MARK>" % self.name)
        else:
            n = int(line[1:-2])
            rdb = self.c.read_until(lambda b: n if len(b) >= n else 0, 15)
            fx.w("node@%s $<RDBLEN>\\r\\n<RDB>" % self.name)
        fx.w("rdb-keys " + " ".join(sorted(k.decode() for k in rdb_keys(rdb))))
        return rdb

    def stream(self, seconds=0.5):
        b = self.c.drain(seconds)
        self.node(b)
        return b

    def close(self):
        fx.w("close@" + self.name)
        self.c.s.close()


def rdb_keys(rdb):
    """String keys of a tiny RDB (good enough for the few keys the capture writes)."""
    keys = []
    i = rdb.find(b"\xfe\x00")
    i = rdb.find(b"\xfb", i) + 3 if i >= 0 else -1
    while 0 <= i < len(rdb) and rdb[i] == 0:
        kl = rdb[i + 1]
        keys.append(rdb[i + 2 : i + 2 + kl])
        vl = rdb[i + 2 + kl]
        vl = {0xC0: 1, 0xC1: 2, 0xC2: 4}.get(vl, vl)  # integer-encoded values
        i = i + 3 + kl + vl
    return keys


def client(cli, *args):
    fx.w("client " + " ".join(args))
    assert cli.call(*args) == "+OK"


SYNC = ("sync_full", "sync_partial_ok", "sync_partial_err")


def info(cli, label):
    fx.info(label + " replication", cli.call("INFO", "replication"))
    st = cli.call("INFO", "stats")
    fx.info(label + " stats", "\r\n".join(l for l in st.split("\r\n") if l.split(":")[0] in SYNC))


def ping_window(cli, r, label):
    cli.call("CONFIG", "SET", "repl-ping-replica-period", "1")
    b = r.c.drain(2.5)
    cli.call("CONFIG", "SET", "repl-ping-replica-period", "3600")
    b += r.c.drain(0.3)
    cmds = split_commands(b)
    assert cmds and all(c == PING for c in cmds), cmds
    fx.w("pings@%s %d" % (r.name, len(cmds)))
    info(cli, label)


def start(diskless):
    port = free_port()
    start_server(server_bin, tmp, port, "--repl-ping-replica-period", "3600",
                 "--repl-diskless-sync", diskless, "--repl-diskless-sync-delay", "1")
    cli = Client(port)
    fx.subs = []
    replid0 = [l.split(":")[1] for l in cli.call("INFO", "replication").split("\r\n") if l.startswith("master_replid:")][0]
    fx.sub(replid0, "<REPLID0>")
    return port, cli


def fullresync(r, line):
    assert line.startswith(b"+FULLRESYNC "), line
    fx.sub(line.split()[1].decode(), "<MASTERID>")
    r.node(line)
    return line.split()[1].decode()


def run_disk():
    port, cli = start("no")
    fx.w("run master-disk")
    client(cli, "SET", "a", "1")
    fx.w("note redis-server --repl-diskless-sync no --repl-ping-replica-period 3600; SET a 1 before any replica")
    info(cli, "fresh")
    r1 = Replica(port, 7001)
    r1.send(encode("PSYNC", "?", "-1"))
    mid = fullresync(r1, r1.psync_reply())
    r1.payload()
    r1.stream()
    info(cli, "r1-synced")
    r1.send(encode("REPLCONF", "ACK", "0"))
    time.sleep(0.1)
    client(cli, "SET", "foo", "bar")
    r1.stream()
    info(cli, "after-set")
    r2 = Replica(port, 7002)
    r2.send(encode("PSYNC", mid, "1"))
    r2.node(r2.c.line())
    r2.stream()
    r3 = Replica(port, 7003)
    r3.send(encode("PSYNC", mid, "56"))
    fullresync(r3, r3.psync_reply())
    r3.payload()
    r3.close()
    time.sleep(0.2)
    r4 = Replica(port, 7004)
    r4.send(encode("PSYNC", mid, "0"))
    fullresync(r4, r4.psync_reply())
    r4.payload()
    r4.close()
    time.sleep(0.2)
    r5 = Replica(port, 7005)
    r5.send(encode("PSYNC", "0123456789012345678901234567890123456789", "5"))
    fullresync(r5, r5.psync_reply())
    r5.payload()
    r5.close()
    time.sleep(0.2)
    r6 = Replica(port, 7006, capa=(b"eof",))
    r6.send(encode("PSYNC", mid, "55"))
    r6.node(r6.c.line())
    r6.stream()
    r1.stream(0.1)
    info(cli, "after-psyncs")
    client(cli, "SET", "foo", "baz")
    fx.w("note R2 and R6 got the same bytes as R1")
    r1.stream()
    assert r2.c.drain(0.2) == r6.c.drain(0.2)
    info(cli, "after-second-set")
    ping_window(cli, r1, "after-pings")


def run_diskless():
    port, cli = start("yes")
    fx.w("run master-diskless")
    client(cli, "SET", "a", "1")
    fx.w("note redis-server --repl-diskless-sync yes --repl-diskless-sync-delay 1 --repl-ping-replica-period 3600; SET a 1")
    r1 = Replica(port, 7001)
    r1.send(encode("PSYNC", "?", "-1"))
    t = time.time()
    mid = fullresync(r1, r1.psync_reply())
    fx.w("note FULLRESYNC came %.1f s after PSYNC" % (time.time() - t))
    r1.payload()
    r1.stream()
    info(cli, "r1-rdb-sent")
    client(cli, "SET", "foo", "bar")
    fx.w("note that SET came before the replica's first ACK")
    r1.stream()
    info(cli, "set-before-ack")
    r1.send(encode("REPLCONF", "ACK", "0"))
    r1.stream()
    info(cli, "after-first-ack")
    ping_window(cli, r1, "after-pings")


try:
    run_disk()
    run_diskless()
finally:
    for p in procs:
        p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(5)
        except subprocess.TimeoutExpired:
            p.kill()
