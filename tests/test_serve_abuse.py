# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
"""1,000 malformed or abusive requests to `pyprof-bpf serve` (root): bad
parameters, unknown paths and methods, garbage, huge headers and URLs,
clients that stall or trickle their headers, and clients that hang up in
the middle of an answer or a stream.  Afterwards the agent is up, its RSS
is bounded, the stalled connections were closed by the agent, and it still
samples a workload of known shape right."""
import concurrent.futures
import os
import random
import socket
import struct
import time

import pytest

from conftest import PYTHONS, Workload, needs_root, wait_cpu
from serve_agent import Agent, folded_shares

PY = next((p for _, p in PYTHONS if os.access(p, os.X_OK)), None)
RSS_GROWTH_KB = 16 * 1024


def raw(port, data, read=True, timeout=30, linger0=False):
    """Sends data on a fresh connection; the first bytes of the answer (or
    b"" when the agent closed without one)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        if linger0:  # hang up with a reset, not a FIN
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                         struct.pack("ii", 1, 0))
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            return b""
        if not read:
            return b""
        try:
            return s.recv(256)
        except (ConnectionResetError, socket.timeout):
            return b""
    finally:
        s.close()


def status_of(answer):
    if not answer.startswith(b"HTTP/1."):
        return None
    return int(answer[9:12])


def req(path, method="GET", extra=b""):
    return (f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n".encode() +
            extra + b"Connection: close\r\n\r\n")


BAD_QUERIES = [
    "/debug/pprof/profile?seconds=0", "/debug/pprof/profile?seconds=-5",
    "/debug/pprof/profile?seconds=99999999999999999999",
    "/debug/pprof/profile?seconds=1.5", "/debug/pprof/profile?seconds=0x10",
    "/debug/pprof/profile?seconds=%00", "/debug/pprof/profile?seconds=%ff%fe",
    "/debug/pprof/profile?seconds", "/debug/pprof/profile?pid=-1",
    "/debug/pprof/profile?pid=abc", "/debug/pprof/profile?pid=1&pid=2",
    "/debug/pprof/profile?comm=%0a%0d", "/debug/pprof/profile?comm=" + "A" * 300,
    "/profile?format=exe", "/profile?format=trace", "/profile?format=",
    "/profile?" + "&".join(f"k{i}=v" for i in range(40)),
    "/stream?seconds=5", "/metrics?x=1", "/info?pid=1", "/?a=b",
    "/profile?seconds=all&format=svg&pid=1&comm=x&extra=1",
]
BAD_PATHS = ["/../../../etc/passwd", "/%2e%2e/%2e%2e/etc/shadow", "/debug/pprof/",
             "/debug/pprof/heap", "/metrics/", "//info", "/profile.folded",
             "/index.html", "/app.js/..", "/\x01", "/" + "x" * 2000]
BAD_METHODS = ["POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT",
               "PROPFIND", "G3T"]


def abuse_one(port, i, rng):
    """One abusive request, by kind; returns (kind, status or None).  A
    request that must have an answer is tried again when the agent closed
    the connection without one: it does so to clients past its connection
    limits, which this test reaches on purpose."""
    kind, status = abuse_kind(port, i, rng)
    for _ in range(20):
        if status is not None or kind not in ("param", "path", "method",
                                              "pipeline", "valid"):
            break
        time.sleep(0.2)
        kind, status = abuse_kind(port, i, rng)
    return kind, status


def abuse_kind(port, i, rng):
    kind = i % 10
    if kind in (0, 1):
        q = rng.choice(BAD_QUERIES)
        return "param", status_of(raw(port, req(q)))
    if kind == 2:
        return "path", status_of(raw(port, req(rng.choice(BAD_PATHS))))
    if kind == 3:
        return "method", status_of(raw(port, req("/info", rng.choice(BAD_METHODS))))
    if kind == 4:
        junk = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 400)))
        return "garbage", status_of(raw(port, junk + b"\r\n\r\n"))
    if kind == 5:
        big = b"X-Big: " + b"a" * rng.choice([20000, 40000, 200000]) + b"\r\n"
        return "header", status_of(raw(port, req("/info", extra=big)))
    if kind == 6:
        return "url", status_of(raw(port, req("/profile?seconds=" + "9" * rng.choice([5000, 70000]))))
    if kind == 7:
        # Hang up in the middle of a large answer, or of a stream.
        path = rng.choice(["/profile?seconds=all&format=svg",
                           "/profile?seconds=all&format=html", "/stream",
                           "/profile?seconds=all&format=speedscope"])
        raw(port, req(path), read=rng.random() < 0.5, linger0=rng.random() < 0.5)
        return "hangup", None
    if kind == 8:
        # Three requests in one write (pipelining), HTTP/1.0 among them.
        data = (b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n"
                b"GET /info HTTP/1.0\r\n\r\n"
                b"GET /nope HTTP/1.1\r\nHost: localhost\r\n\r\n")
        return "pipeline", status_of(raw(port, data))
    return "valid", status_of(raw(port, req(rng.choice(["/info", "/metrics", "/healthz"]))))


@pytest.fixture
def shape():
    needs_root()
    if PY is None:
        pytest.skip("no CPython installed")
    with Workload(PY, "shape.py") as w:
        yield w


def test_abusive_requests(shape):
    rng = random.Random(19)
    with Agent("-p", shape.pid, "--window", 60) as agent:
        port = agent.port
        wait_cpu(shape.pid, 1)
        agent.wait_seq(agent.info()["seq"] + 2)
        # Warm up: the answers the abuse asks for, once each.
        for path in ["/profile?seconds=all&format=svg", "/profile?seconds=all&format=html",
                     "/metrics", "/"]:
            agent.get(path)
        rss0 = agent.rss_kb()

        # Clients that stall after part of their headers, and one that
        # trickles a byte at a time: the agent must close them.
        stalled = []
        for _ in range(12):
            s = socket.create_connection(("127.0.0.1", port), timeout=120)
            s.sendall(b"GET /info HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            stalled.append(s)
        trickler = socket.create_connection(("127.0.0.1", port), timeout=120)
        trickler.sendall(b"GET /info HTTP/1.1\r\n")

        results = []
        with concurrent.futures.ThreadPoolExecutor(6) as pool:
            futures = [pool.submit(abuse_one, port, i, random.Random(rng.random()))
                       for i in range(1000 - 13)]
            sent = 0
            for f in concurrent.futures.as_completed(futures):
                results.append(f.result())
                if sent < 200:  # a byte now and then, never a full request
                    try:
                        trickler.send(b"X-Slow: y\r\n"[sent % 11:sent % 11 + 1])
                    except OSError:
                        pass
                    sent += 1
        by = {}
        for kind, status in results:
            by.setdefault(kind, set()).add(status)
        assert by["param"] <= {400}, by
        assert by["path"] <= {400, 404}, by
        assert by["method"] <= {400, 405, 501}, by
        assert by["valid"] == {200}, by
        assert by["pipeline"] <= {200}, by
        assert by["header"] <= {200, 400, 413, 431, None}, by
        assert by["url"] <= {400, 413, 414, 431, None}, by

        # The stalled and trickling clients are closed by the agent.
        for s in stalled + [trickler]:
            s.settimeout(120)
            try:
                while s.recv(4096):
                    pass
            except (ConnectionResetError, socket.timeout):
                pass
            s.close()
        # (/metrics has the figures of the last interval.)
        end = time.monotonic() + 60
        while agent.metrics()["pyprof_http_deadline_closed_total"] < 13:
            assert time.monotonic() < end, {k: v for k, v in agent.metrics().items() if "http" in k}
            time.sleep(0.2)
        assert agent.proc.poll() is None, agent.stderr()

        # Still up, bounded, and sampling right.
        assert agent.get("/healthz") == b"ok\n"
        seq = agent.info()["seq"]
        wait_cpu(shape.pid, 2)
        agent.wait_seq(seq + 3)
        shares = folded_shares(agent.get(f"/profile?seconds=3&pid={shape.pid}").decode())
        assert 0.6 <= shares.get("hot", 0) <= 0.9, shares
        rss1 = agent.rss_kb()
        m = agent.metrics()
        print(f"abuse: RSS {rss0} KiB before, {rss1} KiB after; "
              f"{m['pyprof_http_deadline_closed_total']:.0f} closed by deadline")
        if not agent.sanitized():
            assert rss1 - rss0 < RSS_GROWTH_KB, (rss0, rss1)
        m = agent.metrics()
        assert m["pyprof_samples_lost_total"] == 0 or \
            m["pyprof_samples_lost_total"] < 0.01 * m["pyprof_samples_taken_total"], m
        # The connections are gone.
        end = time.monotonic() + 60
        while agent.metrics()["pyprof_http_connections"] > 2:
            assert time.monotonic() < end, agent.metrics()
            time.sleep(0.5)
