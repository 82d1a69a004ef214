"""What a real Redis 7.0 replica sends: a fake master on 127.0.0.1 drives a real redis-server
through the handshake, a full sync (disk `$<len>` or diskless `$EOF:` payload), a command
stream, a dropped link and a `+CONTINUE <new id>`, recording every byte each side sent, every
REPLCONF ACK, and the replica's INFO replication at quiet points.

Usage (normally through capture.sh): capture_replica.py <redis-server> <tmpdir> <rdb-file> <out>
"""
import os, random, signal, socket, subprocess, sys, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixture import Conn, Fixture, encode
from capture_lib import Client, free_port, start_server, procs

server_bin, tmp, rdb_path, out = sys.argv[1:5]
RDB = open(rdb_path, "rb").read()
FAKE_ID = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"
NEW_ID = "0f1e2d3c4b5a69788796a5b4c3d2e1f001234567"
MARK = "7b" * 20
SECS = ("master_last_io_seconds_ago", "master_link_down_since_seconds", "master_sync_last_io_seconds_ago")
fx = Fixture(out)


def listen():
    port = free_port()
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", port))
    ls.listen(4)
    ls.settimeout(10)
    return ls, port


class Master:
    """The fake master's side of one connection; `acks` are collected on every read."""

    def __init__(self, sock):
        self.c = Conn(sock)
        self.last_ack_time = None

    def node_commands(self, n):
        got = b""
        for _ in range(n):
            got += self.c.command()
        fx.node(got)
        return got

    def send(self, b):
        fx.peer(b)
        self.c.send(b)
        self.sent_at = time.time()

    def read_acks(self, seconds):
        """ACK values received in the next `seconds` (any other bytes are recorded as node)."""
        raw = self.c.drain(seconds)
        vals, other = [], b""
        from fixture import split_commands
        for cmd in split_commands(raw):
            if cmd.startswith(b"*3\r\n$8\r\nREPLCONF\r\n$3\r\nACK\r\n"):
                vals.append(int(cmd.split(b"\r\n")[6]))
            else:
                other += cmd
        if other:
            fx.node(other)
        return vals

    def quiet(self, seconds=1.3):
        vals = self.read_acks(seconds)
        collapsed = [v for i, v in enumerate(vals) if i == 0 or vals[i - 1] != v]
        fx.w("acks " + " ".join(map(str, collapsed)))
        self.last_ack_time = time.time()
        return collapsed

    def aligned_send(self, b, ack_now=False):
        """Sends about 300 ms after a periodic ACK, so no cron ACK races the bytes."""
        deadline = time.time() + 2.5
        while time.time() < deadline:
            self.c.s.settimeout(max(deadline - time.time(), 0.01))
            try:
                self.c.fill(deadline - time.time())
            except Exception:
                pass
            if self.c.buf.endswith(b"\r\n") and b"ACK" in self.c.buf:
                self.c.buf = b""
                break
        time.sleep(0.3)
        self.send(b)
        if ack_now:
            first = self.c.command(0.15)
            assert first.startswith(b"*3\r\n$8\r\nREPLCONF\r\n$3\r\nACK\r\n"), first
            fx.w("ack-now %d" % int(first.split(b"\r\n")[6]))
        self.quiet()


def run_replicaof_command(payload_mode):
    ls, fport = listen()
    rport = free_port()
    p = start_server(server_bin, tmp, rport)
    cli = Client(rport)
    own = cli.call("INFO", "replication")
    replid = [l.split(":")[1] for l in own.split("\r\n") if l.startswith("master_replid:")][0]
    fx.sub(replid, "<REPLID>")
    fx.sub(":%d" % fport, ":<FAKEPORT>")
    fx.sub("$%d\\r\\n%d\\r\\n" % (len(str(rport)), rport), "$<PORTLEN>\\r\\n<PORT>\\r\\n")
    fx.w("run replicaof-command-" + payload_mode)
    fx.w("note a fresh redis-server got REPLICAOF 127.0.0.1 <fake master port>; its own port is <PORT>")
    fx.info("fresh-master", own)
    assert cli.call("REPLICAOF", "127.0.0.1", str(fport)) == "+OK"
    s, _ = ls.accept()
    m = Master(s)
    m.node_commands(1)  # PING
    fx.info("after-ping-sent", cli.call("INFO", "replication"), SECS)
    m.send(b"+PONG\r\n")
    m.node_commands(2)  # REPLCONF listening-port, REPLCONF capa (pipelined)
    m.send(b"+OK\r\n+OK\r\n")
    m.node_commands(1)  # PSYNC
    fx.info("psync-sent", cli.call("INFO", "replication"), SECS)
    m.send(b"\n")  # a presync keepalive, as a master preparing the RDB sends each second
    time.sleep(0.2)
    m.send(("+FULLRESYNC %s 1000\r\n" % FAKE_ID).encode())
    time.sleep(0.2)
    fx.info("fullresync-received", cli.call("INFO", "replication"), SECS)
    if payload_mode == "disk":
        m.send(b"$%d\r\n" % len(RDB))
        time.sleep(0.2)
        fx.info("bulk-header-received", cli.call("INFO", "replication"), SECS)
        m.send(RDB)
        m.quiet()
    else:
        m.send(("$EOF:%s\r\n" % MARK).encode() + RDB + MARK.encode())
        first = m.c.command(0.15)
        assert first.startswith(b"*3\r\n$8\r\nREPLCONF\r\n$3\r\nACK\r\n"), first
        fx.w("ack-now %d" % int(first.split(b"\r\n")[6]))
        m.quiet()
    fx.info("synced", cli.call("INFO", "replication"), SECS)
    fx.w("note ROLE " + repr(role(cli)))
    m.aligned_send(encode("SELECT", "0") + encode("SET", "k", "v"))
    if payload_mode == "eof":
        fx.info("end", cli.call("INFO", "replication"), SECS)
        return p, cli
    m.aligned_send(encode("SET", "k2", "v2") + encode("REPLCONF", "GETACK", "*"), ack_now=True)
    m.aligned_send(encode("ping"))
    m.aligned_send(encode("MULTI") + encode("SET", "k3", "v3"))
    m.aligned_send(encode("EXEC"))
    fx.info("stream-applied", cli.call("INFO", "replication"), SECS)
    assert cli.call("GET", "k3") == "v3"
    # The link drops: the replica caches its master and comes back with PSYNC <id> <off+1>.
    m.c.s.close()
    time.sleep(0.3)
    fx.w("note the fake master closed the connection")
    fx.info("link-down", cli.call("INFO", "replication"), SECS)
    s, _ = ls.accept()
    m = Master(s)
    m.node_commands(1)
    m.send(b"+PONG\r\n")
    m.node_commands(2)
    m.send(b"+OK\r\n+OK\r\n")
    m.node_commands(1)
    m.send(("+CONTINUE %s\r\n" % NEW_ID).encode())
    m.quiet()
    fx.info("continued-with-new-id", cli.call("INFO", "replication"), SECS)
    m.aligned_send(encode("SET", "k4", "v4"))
    fx.info("end", cli.call("INFO", "replication"), SECS)
    fx.w("note ROLE " + repr(role(cli)))
    return p, cli


def role(cli):
    cli.c.send(encode("ROLE"))
    time.sleep(0.1)
    return cli.c.drain(0.1).decode()


def run_config_replicaof():
    ls, fport = listen()
    rport = free_port()
    fx.subs = []
    fx.sub(":%d" % fport, ":<FAKEPORT>")
    fx.sub("$%d\\r\\n%d\\r\\n" % (len(str(rport)), rport), "$<PORTLEN>\\r\\n<PORT>\\r\\n")
    fx.w("run config-replicaof")
    fx.w("note redis-server started with --replicaof 127.0.0.1 <fake master port>")
    p = start_server(server_bin, tmp, rport, "--replicaof", "127.0.0.1", str(fport))
    cli = Client(rport)
    own = cli.call("INFO", "replication")
    fx.sub([l.split(":")[1] for l in own.split("\r\n") if l.startswith("master_replid:")][0], "<REPLID>")
    s, _ = ls.accept()
    m = Master(s)
    m.node_commands(1)
    fx.info("after-ping-sent", cli.call("INFO", "replication"), SECS)
    m.send(b"+PONG\r\n")
    m.node_commands(2)
    m.send(b"+OK\r\n+OK\r\n")
    m.node_commands(1)
    fx.info("psync-sent", cli.call("INFO", "replication"), SECS)
    return p, cli


try:
    for mode in ("disk", "eof"):
        fx.subs = []
        run_replicaof_command(mode)
    run_config_replicaof()
finally:
    for p in procs:
        p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(5)
        except subprocess.TimeoutExpired:
            p.kill()
