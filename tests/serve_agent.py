# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
"""Running `pyprof-bpf serve` in a test: on a port the kernel chooses (another
agent may hold any fixed one), its stderr read in a thread, requests over a
plain socket or http.client, and its RSS from /proc.  Shared by
tests/test_serve.py and tests/test_serve_abuse.py."""
import http.client
import json
import os
import re
import signal
import subprocess
import threading
import time

from conftest import PYPROF

LISTENING = re.compile(r"listening on http://(\S+):(\d+)/")


class Agent:
    """`pyprof-bpf serve ARGS --listen 127.0.0.1:0` until stop()."""

    def __init__(self, *args, listen="127.0.0.1:0", env=None):
        self.proc = subprocess.Popen(
            [PYPROF, "serve", "--listen", listen, *map(str, args)],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, encoding="utf-8", env=env)
        self.lines = []
        self.ready = threading.Event()
        self.host = self.port = None
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        if not self.ready.wait(60) or self.port is None:
            self.stop(check=False)
            raise AssertionError("the agent did not start:\n" + self.stderr())

    def _read(self):
        for line in self.proc.stderr:
            self.lines.append(line)
            m = LISTENING.search(line)
            if m and not self.ready.is_set():
                self.host, self.port = m.group(1), int(m.group(2))
                self.ready.set()
        self.ready.set()

    def stderr(self):
        return "".join(self.lines)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}/"

    def request(self, path, method="GET", headers=None, timeout=60):
        """(status, headers, body bytes) of one request."""
        c = http.client.HTTPConnection("127.0.0.1", self.port,
                                       timeout=timeout)
        try:
            c.request(method, path, headers=headers or {})
            r = c.getresponse()
            # A header sent twice (WWW-Authenticate) is joined, as HTTP
            # allows.
            headers = {k: ", ".join(r.msg.get_all(k)) for k in set(r.msg.keys())}
            return r.status, headers, r.read()
        finally:
            c.close()

    def get(self, path, **kw):
        status, _, body = self.request(path, **kw)
        assert status == 200, f"GET {path}: {status} {body[:300]!r}"
        return body

    def info(self):
        return json.loads(self.get("/info"))

    def wait_seq(self, seq, timeout=120):
        """Waits until the agent has collected interval seq."""
        end = time.monotonic() + timeout
        while self.info()["seq"] < seq:
            assert time.monotonic() < end, f"no interval {seq} came"
            assert self.proc.poll() is None, "the agent died:\n" + self.stderr()
            time.sleep(0.1)

    def metrics(self):
        """/metrics as {name or name{labels}: value}."""
        out = {}
        for line in self.get("/metrics").decode().splitlines():
            if not line or line.startswith("#"):
                continue
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
        return out

    def rss_kb(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return None

    def sanitized(self):
        """Whether it is an ASan build (make SAN=1), whose RSS holds freed
        memory in quarantine: no RSS bound can be checked then."""
        with open(f"/proc/{self.proc.pid}/maps") as f:
            return "libasan" in f.read()

    def stop(self, check=True):
        """SIGTERM: it ends cleanly, exit status 0."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self.reader.join(10)
        self.proc.stdout.close()
        if check:
            assert rc == 0, f"the agent exited {rc}:\n" + self.stderr()
            assert "stopped after" in self.stderr(), self.stderr()
        return rc

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop(check=exc[0] is None)


def folded_shares(text):
    """{leaf function name: share of samples} of folded text."""
    total, own = 0, {}
    for line in text.splitlines():
        stack, n = line.rsplit(" ", 1)
        leaf = stack.split(";")[-1]
        name = leaf.split(" (", 1)[0]
        own[name] = own.get(name, 0) + int(n)
        total += int(n)
    return {k: v / total for k, v in own.items()} if total else {}
