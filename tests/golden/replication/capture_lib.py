"""Helpers shared by the capture scripts: ports, server processes, a tiny client."""
import os, random, socket, subprocess, time
from fixture import Conn, encode

procs = []


def free_port():
    while True:
        p = random.randint(20000, 45000)
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", p))
            s.close()
            return p
        except OSError:
            s.close()


def start_server(server_bin, tmp, port, *extra):
    d = os.path.join(tmp, "r%d" % port)
    os.makedirs(d, exist_ok=True)
    p = subprocess.Popen([server_bin, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                          "--appendonly", "no", "--dir", d, "--daemonize", "no", *extra],
                         stdout=open(os.path.join(d, "log"), "w"), stderr=subprocess.STDOUT)
    procs.append(p)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return p
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("redis-server did not start")


class Client:
    def __init__(self, port):
        self.c = Conn(socket.create_connection(("127.0.0.1", port)))

    def call(self, *args):
        self.c.send(encode(*args))
        line = self.c.line()
        if line.startswith(b"$") and int(line[1:-2]) >= 0:
            return self.c.read_until(lambda b, n=int(line[1:-2]) + 2: n if len(b) >= n else 0)[:-2].decode()
        return line.decode().strip()


