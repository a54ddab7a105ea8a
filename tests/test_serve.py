# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
"""`pyprof-bpf serve`, the always-on agent, end to end (root): its live page
in headless Chromium, `go tool pprof` against /debug/pprof/profile, a remote
`pyprof-bpf view http://...` in tmux run as an unprivileged user, /metrics,
the token and the refusals, and how it ends.  Every agent listens on a port
the kernel chooses and is checked beside whatever else runs: another
pyprof-bpf may be sampling the same workload."""
import gzip
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest

from conftest import (PYPROF, PYTHONS, ROOT, Workload, marker_line,
                      needs_root, run_pyprof, start_pyprof, wait_cpu)
from serve_agent import Agent, folded_shares

PY = next((p for _, p in PYTHONS if os.access(p, os.X_OK)), None)
GO = shutil.which("go")
NODE = shutil.which("node")
TMUX = shutil.which("tmux")
SETPRIV = shutil.which("setpriv")
BROWSER = os.path.join(ROOT, "tests", "browser")
SHOTS = os.path.join(ROOT, "build", "screenshots")


@pytest.fixture
def python():
    needs_root()
    if PY is None:
        pytest.skip("no CPython installed")
    return PY


@pytest.fixture
def shape(python):
    with Workload(python, "shape.py") as w:
        yield w


# ---- The command line: refused before anything is loaded ----

@pytest.mark.parametrize("args, says", [
    (["--listen", "0.0.0.0:0"], "refusing to listen on 0.0.0.0:0 without a token"),
    (["--listen", "*:7000"], "refusing to listen on *:7000 without a token"),
    (["--listen", "[::]:0"], "without a token"),
    (["--listen", "nohost:80"], "--listen 'nohost:80': give PORT"),
    (["--listen", "127.0.0.1:70000"], "a port from 0 to 65535"),
    (["--window", "5"], "--window '5' is out of range"),
    (["--interval", "0.01"], "--interval '0.01' is out of range"),
    (["--window", "10", "--interval", "2"], "shorter than 10 intervals"),
    (["-a", "-p", "1"], "give only one"),
    (["--children"], "--children goes with -p"),
    (["--token-file", "/nonexistent/token"], "cannot read the token file"),
    (["stray"], "unexpected argument 'stray'"),
])
def test_usage_errors(args, says):
    r = run_pyprof("serve", *args)
    assert r.rc == 2, r.err
    lines = r.err.strip().splitlines()
    assert len(lines) == 1 and says in lines[0], r.err


def test_short_token_refused(tmp_path):
    tok = tmp_path / "token"
    tok.write_text("short\n")
    r = run_pyprof("serve", "--listen", "0.0.0.0:0", "--token-file", tok)
    assert r.rc == 2
    assert "16 to 256" in r.err and len(r.err.strip().splitlines()) == 1


def test_help():
    r = run_pyprof("serve", "--help")
    assert r.rc == 0 and "/debug/pprof/profile" in r.out


# ---- pprof: go tool pprof against the endpoint ----

def hot_line():
    return marker_line("shape.py", "HOT_LINE")


@pytest.mark.skipif(GO is None, reason="go is not installed (golang-go)")
def test_go_tool_pprof_names_hot_function_with_line(shape, tmp_path):
    # Another pyprof-bpf samples the same process all along: both must be
    # right.
    with Agent("-p", shape.pid, "--window", 60) as agent:
        beside = start_pyprof("-p", shape.pid, "-o", tmp_path / "beside.folded")
        wait_cpu(shape.pid, 3)
        start = agent.info()["seq"]
        agent.wait_seq(start + 5)
        env = dict(os.environ, PPROF_TMPDIR=str(tmp_path), HOME=str(tmp_path))
        url = f"{agent.url}debug/pprof/profile?seconds=5&pid={shape.pid}"
        r = subprocess.run([GO, "tool", "pprof", "-top", "-lines", url],
                           capture_output=True, text=True, timeout=300,
                           env=env)
        assert r.returncode == 0, r.stderr
        rows = [l for l in r.stdout.splitlines() if re.match(r"^ +[\d.]+m?s ", l)]
        assert rows, r.stdout
        top = rows[0].split()
        assert top[-2] == "hot", r.stdout
        assert top[-1].endswith(f"shape.py:{hot_line()}"), r.stdout
        flat = float(top[1].rstrip("%"))
        assert 60 <= flat <= 90, r.stdout  # 75% by construction
        assert "Type: cpu" in r.stdout, r.stdout

        # The raw answer: gzip, profile.proto, the right headers.
        status, headers, body = agent.request(
            f"/debug/pprof/profile?seconds=2&pid={shape.pid}")
        assert status == 200
        assert headers["Content-Type"] == "application/octet-stream"
        assert gzip.decompress(body)[:1] in (b"\x0a", b"\x12", b"\x1a")

        beside.send_signal(signal.SIGINT)
        out, err = beside.communicate(timeout=60)
        assert beside.returncode == 0, err
        shares = folded_shares(open(tmp_path / "beside.folded").read())
        assert 0.6 <= shares.get("hot", 0) <= 0.9, shares


def test_pprof_parameters(shape):
    with Agent("-p", shape.pid, "--window", 60) as agent:
        for q, code, says in [
            ("seconds=0", 400, "seconds=0: give a whole number of seconds from 1 to 60"),
            ("seconds=61", 400, "from 1 to 60"),
            ("seconds=-1", 400, "seconds=-1"),
            ("seconds=1e3", 400, "seconds=1e3"),
            ("seconds=abc", 400, "seconds=abc"),
            ("seconds=", 400, "seconds= needs a value"),
            ("seconds=5&seconds=6", 400, "given twice, with different values"),
            ("seconds=5&seconds=5", 200, ""),
            ("pid=0", 400, "pid=0: give a process id"),
            ("pid=99999999999", 400, "pid=99999999999"),
            ("comm=" + "x" * 16, 400, "comm=xxxxxxxxxxxxxxxx"),
            ("format=svg", 400, "takes no parameter 'format'"),
            ("bogus=1", 400, "takes no parameter 'bogus'"),
            ("seconds=5&pid=1&comm=python3", 200, ""),
            ("seconds=all", 200, ""),
            ("", 200, ""),
        ]:
            status, headers, body = agent.request(f"/debug/pprof/profile?{q}")
            assert status == code, (q, body)
            if code != 200:
                text = body.decode()
                assert says in text and text.count("\n") == 1, (q, text)
        status, _, body = agent.request("/profile?format=trace")
        assert status == 400 and b"no timeline" in body


def test_profile_formats_and_filters(shape):
    with Agent("-p", shape.pid, "--window", 60) as agent:
        wait_cpu(shape.pid, 1)
        agent.wait_seq(agent.info()["seq"] + 2)
        folded = agent.get(f"/profile?seconds=60&pid={shape.pid}").decode()
        shares = folded_shares(folded)
        assert 0.6 <= shares["hot"] <= 0.9, shares
        assert all(l.startswith(f"{shape.comm}-{shape.pid};") for l in folded.splitlines())
        assert agent.get("/profile?seconds=60&pid=1").decode() == ""
        by_comm = agent.get(f"/profile?seconds=60&comm={shape.comm}").decode()
        assert all(l.startswith(f"{shape.comm}-") for l in by_comm.splitlines())
        for fmt, magic in [("svg", b"<?xml"), ("html", b"<!DOCTYPE html"),
                           ("speedscope", b"{"), ("callgrind", b"# callgrind"),
                           ("pprof", b"\x1f\x8b")]:
            status, headers, body = agent.request(
                f"/profile?seconds=all&format={fmt}",
                headers={"Accept-Encoding": "identity"})
            assert status == 200 and body.startswith(magic), (fmt, body[:40])
            if fmt in ("svg", "html"):
                assert "sandbox" in headers["Content-Security-Policy"]
        # gzip when asked for (and the answer is worth it).
        status, headers, body = agent.request(
            "/profile?seconds=all&format=svg",
            headers={"Accept-Encoding": "deflate, gzip"})
        assert headers.get("Content-Encoding") == "gzip"
        assert gzip.decompress(body).startswith(b"<?xml")
        status, headers, body = agent.request(
            "/profile?seconds=all&format=svg",
            headers={"Accept-Encoding": "gzip;q=0"})
        assert "Content-Encoding" not in headers and body.startswith(b"<?xml")


def test_stream_first_block_too_large_merges(python):
    """Deep stacks, every one new: what was sampled since the start is more
    folded text than a stream block may hold (64 MiB).  The first block
    comes even so, under the limit, with the smallest stacks merged and
    every sample counted, and the stream goes on."""
    with Workload(python, "deep_many.py") as w:
        with Agent("-p", w.pid, "-F", 999, "--max-depth", 512,
                   "--window", 60) as agent:
            wait_cpu(w.pid, 8)  # ~8000 samples, ~17 KB each
            s = socket.create_connection(("127.0.0.1", agent.port), timeout=300)
            s.sendall(b"GET /stream HTTP/1.0\r\nHost: localhost\r\n\r\n")
            f = s.makefile("rb")
            while f.readline() not in (b"\r\n", b""):
                pass  # the answer's head
            head = f.readline().decode()
            m = re.match(r"pyprof-bpf-stream 1 kind=total .*samples=(\d+) "
                         r".*bytes=(\d+)$", head)
            assert m, (head, agent.stderr())
            size = int(m[2])
            assert 0 < size <= 64 << 20, head
            block = f.read(size).decode()
            assert len(block) == size
            counts = [int(line.rsplit(" ", 1)[1]) for line in block.splitlines()]
            assert sum(counts) == int(m[1]) >= 4000, head
            assert "[smaller stacks merged]" in block
            assert "function_with_a_long_name_" in block
            # The stream goes on: the next interval's block.
            assert f.readline().startswith(b"pyprof-bpf-stream 1 kind=interval ")
            s.close()


# ---- /metrics, /info, the end ----

def test_metrics_and_sigterm(shape):
    agent = Agent("-p", shape.pid, "--window", 60)
    try:
        wait_cpu(shape.pid, 1)
        agent.wait_seq(agent.info()["seq"] + 2)
        m = agent.metrics()
        for name in ["pyprof_samples_taken_total", "pyprof_samples_written_total",
                     "pyprof_samples_lost_total", "pyprof_processes_profiled",
                     "pyprof_bpf_ns_per_sample", "process_resident_memory_bytes",
                     "pyprof_bpf_map_bytes", "pyprof_window_seconds"]:
            assert name in m, name
        assert m["pyprof_processes_profiled"] == 1
        assert m["pyprof_samples_taken_total"] > 0
        assert m["pyprof_samples_written_total"] + m["pyprof_samples_lost_total"] \
            <= m["pyprof_samples_taken_total"]
        assert m["process_resident_memory_bytes"] > 1 << 20
        assert m["pyprof_bpf_map_bytes"] > 1 << 20
        ns = m["pyprof_bpf_ns_per_sample"]
        assert ns != ns or 0 < ns < 1e6  # NaN without BPF statistics
        # An answer's bytes are given back once it is sent: nothing waits
        # for a client after these were read.
        for path in ("/profile?seconds=all", "/profile?format=speedscope"):
            assert agent.get(path)
        assert agent.metrics()["pyprof_http_queued_bytes"] == 0
        status, headers, _ = agent.request("/metrics")
        assert headers["Content-Type"].startswith("text/plain; version=0.0.4")
        assert agent.get("/healthz") == b"ok\n"
    finally:
        agent.stop()
    # Every sample taken was kept or counted lost.
    m = re.search(r"samples (\d+) taken, (\d+) kept, (\d+) lost", agent.stderr())
    assert m and int(m[1]) == int(m[2]) + int(m[3]), agent.stderr()


def test_target_exit_keeps_serving(python):
    with Workload(python, "shape.py") as w:
        with Agent("-p", w.pid, "--window", 60) as agent:
            wait_cpu(w.pid, 1)
            agent.wait_seq(agent.info()["seq"] + 1)
            w.stop()
            end = time.monotonic() + 60
            while "have exited" not in agent.stderr():
                assert time.monotonic() < end, agent.stderr()
                time.sleep(0.2)
            assert "hot" in folded_shares(agent.get("/profile?seconds=all").decode())


def test_command_exit_ends_agent(python):
    script = os.path.join(ROOT, "tests", "e2e", "workloads", "shape.py")
    p = subprocess.run([PYPROF, "serve", "--listen", "127.0.0.1:0", "--",
                        python, "-c", "import sys; sys.exit(3)"],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 3, p.stderr
    assert os.path.exists(script)


def test_sigterm_ends_launched_command(python):
    script = os.path.join(ROOT, "tests", "e2e", "workloads", "shape.py")
    with Agent("--window", 60, "--", python, script) as agent:
        running = [p for p in os.listdir("/proc") if p.isdigit() and
                       os.path.exists(f"/proc/{p}/cmdline") and
                       script.encode() in open(f"/proc/{p}/cmdline", "rb").read()
                       and int(p) != agent.proc.pid]
        assert running, "the command is not running"
        child = int(running[0])
        wait_cpu(child, 1)
        agent.wait_seq(agent.info()["seq"] + 1)
        assert "hot" in folded_shares(agent.get("/profile?seconds=all").decode())
    # The agent ended 0 (Agent checks it), and its command with it.
    assert not os.path.exists(f"/proc/{child}") or \
        open(f"/proc/{child}/stat").read().split()[2] == "Z"


def test_unattachable_pid_is_a_warning(shape):
    # pid 1 is not Python: a counted warning while another pid works.
    with Agent("-p", f"{shape.pid},1", "--window", 60) as agent:
        assert "skipping pid 1" in agent.stderr()
        assert agent.info()["processes"] == 1


# ---- Security ----

def test_token_required(shape, tmp_path):
    tok = tmp_path / "token"
    secret = "s3cret-token-0123456789"
    tok.write_text(secret + "\n")
    os.chmod(tok, 0o600)
    with Agent("-p", shape.pid, "--token-file", tok, listen="0.0.0.0:0") as agent:
        assert "token required" in agent.stderr()
        for path in ["/", "/metrics", "/debug/pprof/profile?seconds=1",
                     "/stream", "/nonexistent", "/info"]:
            status, headers, body = agent.request(path)
            assert status == 401, path
            assert "Bearer" in headers.get("WWW-Authenticate", ""), headers
        assert agent.request("/info", headers={"Authorization": "Bearer wrong-token-0123456789"})[0] == 401
        assert agent.request("/info", headers={"Authorization": "Bearer " + secret[:-1]})[0] == 401
        assert agent.request("/info", headers={"Authorization": "Bearer " + secret})[0] == 200
        import base64
        basic = base64.b64encode(f"anyone:{secret}".encode()).decode()
        assert agent.request("/", headers={"Authorization": "Basic " + basic})[0] == 200
        # A token agent answers any Host name: the token guards it.
        assert agent.request("/healthz", headers={"Authorization": "Bearer " + secret,
                                                  "Host": "example.com"})[0] == 200


def test_refusals(shape):
    with Agent("-p", shape.pid, "--window", 60) as agent:
        # DNS rebinding: a page whose name points at 127.0.0.1.
        status, _, body = agent.request("/info", headers={"Host": "evil.example:80"})
        assert status == 403 and b"localhost" in body
        assert agent.request("/info", headers={"Host": "localhost:1"})[0] == 200
        assert agent.request("/info", headers={"Host": "[::1]:8"})[0] == 200
        status, headers, _ = agent.request("/info", method="POST")
        assert status == 405 and headers.get("Allow") == "GET, HEAD"
        assert agent.request("/info", method="DELETE")[0] == 405
        assert agent.request("/../../etc/passwd")[0] in (400, 404)
        assert agent.request("/profile?seconds=1&format=folded&x=%00")[0] == 400
        status, _, body = agent.request("/info", method="HEAD")
        assert status == 200 and body == b""
        # Headers larger than a connection's memory.
        status, _, _ = agent.request("/info", headers={"X-Big": "a" * 40000})
        assert status in (413, 431)
        assert agent.request("/healthz")[0] == 200


# ---- The live page ----

def drive_live(agent, workload, shots):
    """Runs drive.mjs live: (first report, switched report, seq at the
    switch)."""
    node = subprocess.Popen(
        [NODE, os.path.join(BROWSER, "drive.mjs"), "live", agent.url, shots,
         "alpha_hot", "beta_hot", str(workload.pid)],
        cwd=BROWSER, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    try:
        first = node.stdout.readline()
        assert first, "drive.mjs ended:\n" + node.stderr.read()
        first = json.loads(first)
        workload.send("switch\n")
        assert workload.readline().strip() == "switched"
        at = agent.info()["seq"]
        node.stdin.write("switched\n")
        node.stdin.close()
        second = node.stdout.readline()
        assert second, "drive.mjs ended:\n" + node.stderr.read()
        node.wait(120)
        assert node.returncode == 0, node.stderr.read()
        return first, json.loads(second), at
    finally:
        if node.poll() is None:
            node.kill()
            node.wait()


@pytest.mark.skipif(NODE is None or not os.path.exists("/usr/bin/chromium") or
                    not os.path.isdir(os.path.join(BROWSER, "node_modules", "playwright-core")),
                    reason="needs node, /usr/bin/chromium and playwright-core "
                           "(make deps)")
def test_live_page_in_chromium(python):
    os.makedirs(SHOTS, exist_ok=True)
    shots = os.path.join(SHOTS, "serve-live")
    with Workload(python, "switch.py") as w, Agent("--window", 120) as agent:
        wait_cpu(w.pid, 1)
        first, second, at = drive_live(agent, w, shots)
    # The hot function, in the table and the flame graph.
    names = [r[4].strip() for r in first["initial"]["rows"]]
    assert "alpha_hot" in names, first["initial"]
    assert "alpha_hot" in first["initial"]["names"], first["initial"]
    assert first["initial"]["width"] <= 1280 and first["initial"]["height"] <= 800
    assert "every Python process" in first["initial"]["what"]
    # Search highlights it, and only what matches.
    assert set(first["search"]["highlighted"]) == {"alpha_hot"}, first["search"]
    assert first["search"]["matched"].startswith("matched ")
    # The picker: the workload's process and its main thread alone.
    assert first["pickedProc"] == f"{w.comm}-{w.pid}", first["initial"]["procs"]
    picked = first["picked"]["rows"]
    assert "alpha_hot" in [r[4].strip() for r in picked], picked
    assert all(r[5] == "" or r[5].endswith("switch.py") for r in picked), picked
    assert "MainThread" in first["picked"]["threads"]
    # Since the start, pause (the agent went on two intervals, the page
    # did not), zoom.
    assert "alpha_hot" in [r[4].strip() for r in first["sinceStart"]["rows"]]
    p = first["paused"]
    assert p["agentTo"] >= p["agentFrom"] + 2 and p["after"]["seq"] == p["before"]["seq"], p
    assert first["zoomed"]
    # After the switch: beta_hot within three intervals, no reload.
    assert "beta_hot" in [r[4].strip() for r in second["rows"]], second
    assert second["seq"] <= at + 3, (second["seq"], at)
    assert second["noReload"] and second["navigations"] == 1, second
    assert second["errors"] == [] and second["external"] == [], second
    for name in ("initial", "search", "picked", "switched"):
        assert os.path.getsize(f"{shots}-{name}.png") > 10000


# ---- The remote view ----

@pytest.mark.skipif(TMUX is None or SETPRIV is None,
                    reason="needs tmux and setpriv (make deps)")
def test_remote_view_in_tmux(shape):
    with Agent("-p", shape.pid, "--window", 60) as agent:
        wait_cpu(shape.pid, 1)
        agent.wait_seq(agent.info()["seq"] + 2)
        # Not on a terminal: the table once, as an unprivileged user.
        nobody = [SETPRIV, "--reuid=65534", "--regid=65534", "--clear-groups"]
        r = subprocess.run(nobody + [PYPROF, "view", agent.url[:-1], "--pid",
                                     str(shape.pid), "--rows", "2"],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        rows = r.stdout.splitlines()
        assert rows[0].startswith(f"pyprof-bpf: 127.0.0.1:{agent.port}: 1 processes"), r.stdout
        assert "hot (" in rows[2], r.stdout

        d = tempfile.mkdtemp(prefix="pyprof-tmux-")
        sock = os.path.join(d, "sock")
        cmd = " ".join(nobody + [PYPROF, "view", agent.url[:-1], "--pid", str(shape.pid)])
        try:
            subprocess.run([TMUX, "-S", sock, "-f", "/dev/null", "new-session", "-d",
                            "-x", "100", "-y", "30", "-s", "v",
                            f"env TERM=screen LANG=C.UTF-8 {cmd}"], check=True, timeout=30)
            end = time.monotonic() + 60
            while True:
                screen = subprocess.run([TMUX, "-S", sock, "capture-pane", "-p", "-t", "v"],
                                        capture_output=True, text=True, timeout=30).stdout
                lines = screen.splitlines()
                table = [l for l in lines if re.match(r"^ +\d+\.\d% ", l)]
                if table and "hot (" in table[0] and "in the last interval" in screen:
                    break
                assert time.monotonic() < end, screen
                time.sleep(0.2)
            assert f"127.0.0.1:{agent.port}: 1 processes" in lines[0], screen
            subprocess.run([TMUX, "-S", sock, "send-keys", "-t", "v", "q"], timeout=30)
        finally:
            subprocess.run([TMUX, "-S", sock, "kill-server"], capture_output=True, timeout=30)
            shutil.rmtree(d, ignore_errors=True)


def test_remote_view_errors(shape, tmp_path):
    r = run_pyprof("view", "http://127.0.0.1:1")
    assert r.rc == 1 and "cannot connect" in r.err
    tok = tmp_path / "token"
    tok.write_text("0123456789abcdef0123\n")
    with Agent("-p", shape.pid, "--token-file", tok) as agent:
        r = run_pyprof("view", agent.url)
        assert r.rc == 1 and "answered 401" in r.err, r.err
        r = run_pyprof("view", agent.url, "--token-file", tok, "--rows", "1")
        assert r.rc == 0 and "hot (" in r.out or "OWN%" in r.out, r.out + r.err


# ---- make install: the systemd unit ----

def test_systemd_unit_installed(tmp_path):
    r = subprocess.run(["make", "-s", "-C", ROOT, "install-serve-unit",
                        f"DESTDIR={tmp_path}", "PREFIX=/usr/local"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    unit = tmp_path / "usr/local/lib/systemd/system/pyprof-bpf.service"
    text = unit.read_text()
    assert "ExecStart=/usr/local/bin/pyprof-bpf serve $PYPROF_BPF_SERVE_ARGS" in text
    assert "KillSignal=SIGTERM" in text and "WantedBy=multi-user.target" in text
    assert oct(unit.stat().st_mode & 0o777) == "0o644"
    analyze = shutil.which("systemd-analyze")
    if not analyze:
        pytest.skip("systemd-analyze is not installed: the unit was not verified")
    # Verified against this build of the binary (the installed path need
    # not exist here); only the manual page may be missing.
    unit.write_text(text.replace("/usr/local/bin/pyprof-bpf", PYPROF))
    r = subprocess.run([analyze, "verify", str(unit)], capture_output=True,
                       text=True, timeout=120)
    problems = [l for l in (r.stdout + r.stderr).splitlines()
                if l.strip() and "man pyprof-bpf" not in l and "man:" not in l]
    assert not problems, r.stdout + r.stderr
