# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
"""The agent's control socket (issue 20), end to end: programs profile a
region of themselves through `pyprof-bpf serve` with the pure-Python client
(src/client/pyprof_bpf.py) on every interpreter, and with the C header
(src/client/pyprof_bpf.h) from a program that embeds Python; an
unprivileged user profiles itself and nothing else; a caller that dies
leaves nothing behind; 200 cycles leave the agent's RSS flat.

One agent serves the module: it profiles a sleeping Python of its own (-p),
so that its descriptors and threads are those of the runs alone."""
import grp
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import pytest

from conftest import (PYTHONS, ROOT, missing_reason, needs_root,
                      parse_folded, py_frame, python_params, run_pyprof,
                      wait_cpu)
from serve_agent import Agent

CLIENT = os.path.join(ROOT, "src", "client")
CONTROL = os.path.join(ROOT, "tests", "e2e", "control")
REGION = os.path.join(CONTROL, "region.py")
SETPRIV = shutil.which("setpriv")
NOBODY = 65534
# A group that uid 65534 is not in, for the socket.
SOCKET_GROUP = "users"
# The region's frequency: enough samples (~750) that chance alone keeps
# the count well within 10% of CPU time x frequency.
FREQ = 499


def first_python():
    for _, path in PYTHONS:
        if not missing_reason(path):
            return path
    pytest.skip("no CPython of tests/conftest.py's PYTHONS is installed")


@pytest.fixture(scope="module")
def agent():
    needs_root()
    # A directory others may enter, so that uid 65534 reaches the socket.
    d = tempfile.mkdtemp(prefix="pyprof-control-")
    os.chmod(d, 0o755)
    sock = os.path.join(d, "control.sock")
    sleeper = subprocess.Popen([first_python(), "-c",
                                "import time; print('ready', flush=True); "
                                "time.sleep(1e6)"], stdout=subprocess.PIPE,
                               text=True)
    assert sleeper.stdout.readline().strip() == "ready"
    a = Agent("-p", sleeper.pid, "--socket", sock, "--socket-group",
              SOCKET_GROUP, "-v")
    a.sock = sock
    a.dir = d
    try:
        yield a
    finally:
        try:
            # Exit status 0: under ASan (make SAN=1), no leak either.
            a.stop()
        finally:
            sleeper.kill()
            sleeper.wait()
            shutil.rmtree(d, ignore_errors=True)


def client_env(agent, **extra):
    env = dict(os.environ, PYTHONPATH=CLIENT, PYPROF_BPF_SOCKET=agent.sock)
    env.update(extra)
    return env


def run_region(python, agent, *args, cwd=None, prefix=(), env=None,
               timeout=120):
    """region.py ARGS under python; its JSON line."""
    r = subprocess.run([*prefix, python, REGION, *map(str, args)],
                       env=env or client_env(agent), cwd=cwd,
                       capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, (f"region.py {args} failed ({r.returncode}):\n"
                               f"{r.stderr}\nagent:\n{agent.stderr()[-3000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def functions(path):
    """{function: samples} and {(function, line)} of a folded profile."""
    with open(path, encoding="utf-8") as f:
        stacks = parse_folded(f.read())
    names, lines = {}, set()
    for frames, count in stacks:
        seen = set()
        for fr in frames:
            p = py_frame(fr)
            if p and p[0] not in seen:
                seen.add(p[0])
                names[p[0]] = names.get(p[0], 0) + count
                lines.add((p[0], p[2]))
    return stacks, names, lines


def marker(name):
    with open(REGION, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if line.rstrip().endswith("# " + name):
                return n
    raise AssertionError(name)


# ---- The agent's options ----

@pytest.mark.parametrize("args, says", [
    (["--socket-group", "no-such-group-x"], "--socket-group no-such-group-x: no such group"),
    (["--no-socket", "--socket-group", "users"], "--socket-group goes with the control socket"),
    (["--socket", ""], "--socket needs a path"),
])
def test_usage_errors(args, says):
    r = run_pyprof("serve", *args)
    assert r.rc == 2, r.err
    lines = r.err.strip().splitlines()
    assert len(lines) == 1 and says in lines[0], r.err


def test_socket_taken(agent):
    """A second agent on the same --socket fails, and leaves the first's."""
    r = run_pyprof("serve", "--listen", "127.0.0.1:0", "--socket",
                   agent.sock, "-p", str(os.getpid()), timeout=120)
    assert r.rc == 1, r.err
    assert f"another agent answers on the control socket {agent.sock}" \
        in r.err, r.err
    assert stat_is_socket(agent.sock)


def stat_is_socket(path):
    import stat
    return stat.S_ISSOCK(os.stat(path).st_mode)


# ---- A region, on every interpreter ----

@pytest.mark.parametrize("python", python_params())
def test_region_profiled(python, agent, tmp_path):
    out = tmp_path / "region.folded"
    res = run_region(python, agent, "region", out,
                     env=client_env(agent, REGION_FREQ=str(FREQ)))
    assert res["running"] is True and res["running_after"] is False
    assert res["path"] == str(out)
    stacks, names, lines = functions(out)
    assert "region" in names, stacks
    assert "spin" in names, names
    assert ("region", marker("REGION")) in lines, lines
    assert "before" not in names and "after" not in names, names
    total = sum(c for _, c in stacks)
    expected = res["cpu"] * FREQ
    print(f"{python}: {total} samples, region CPU {res['cpu']:.3f} s x "
          f"{FREQ} Hz = {expected:.1f}; start() took "
          f"{res['start_secs'] * 1000:.0f} ms")
    assert abs(total - expected) <= 0.10 * expected, (total, expected)


@pytest.mark.parametrize("python", python_params())
def test_go_and_with(python, agent, tmp_path):
    res = run_region(python, agent, "go", cwd=tmp_path)
    assert res["result"] == 41
    _, names, _ = functions(res["path"])
    assert "fn" in names, names
    out = tmp_path / "with.folded"
    res = run_region(python, agent, "with", out)
    assert res["path"] == str(out)
    _, names, _ = functions(out)
    assert "region" in names and "before" not in names, names


def test_errors(agent, tmp_path):
    res = run_region(first_python(), agent, "errors", tmp_path)
    assert res["nested"].startswith("profiling already in progress"), res
    assert res["stop_first"].startswith("profiling is not in progress"), res
    assert res["stop_twice"].startswith("profiling is not in progress"), res


def test_agent_not_running(tmp_path):
    """No root needed: nothing answers at the socket."""
    python = first_python()
    code = ("import pyprof_bpf\n"
            "try:\n    pyprof_bpf.start('x.folded')\n"
            "except RuntimeError as e:\n    print(e)\n")
    r = subprocess.run([python, "-c", code], cwd=tmp_path,
                       env=dict(os.environ, PYTHONPATH=CLIENT,
                                PYPROF_BPF_SOCKET=str(tmp_path / "none")),
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("the pyprof-bpf agent is not running "
                               f"(nothing answers on {tmp_path / 'none'}): "
                               "start it as root with `pyprof-bpf serve"), r.stdout
    assert not (tmp_path / "x.folded").exists()


def test_only_the_calling_thread(agent, tmp_path):
    out = tmp_path / "thread.folded"
    run_region(first_python(), agent, "thread", out)
    _, names, _ = functions(out)
    assert "region" in names and "other" not in names, names


def test_wall_mode(agent, tmp_path):
    out = tmp_path / "wall.folded"
    run_region(first_python(), agent, "wall", out)
    stacks, names, _ = functions(out)
    in_spin = [(f, c) for f, c in stacks
               if any(py_frame(x) and py_frame(x)[0] == "spin" for x in f)]
    sleeping = sum(c for f, c in stacks if f[-1] == "[off-cpu: sleep]")
    # spin() runs for 0.3 s of its thread's CPU time; on a loaded machine
    # it also waits for a CPU ("[off-cpu: preempted]"), which wall mode
    # rightly counts too.  Its time on a CPU is what is known.
    spinning = sum(c for f, c in in_spin if not f[-1].startswith("[off-cpu"))
    assert spinning + sum(c for f, c in in_spin
                          if f[-1].startswith("[off-cpu")) == names["spin"]
    # 0.6 s asleep and 0.3 s on a CPU at 199 Hz: both there, about 2:1.
    assert sleeping > 60 and spinning > 30, stacks
    assert 1.2 < sleeping / spinning < 3.5, (sleeping, spinning)


def test_in_a_pid_namespace(agent, tmp_path):
    """A caller in a container (a pid namespace of its own): the agent
    knows it from the socket, and its thread ids are translated."""
    unshare = shutil.which("unshare")
    if not unshare:
        pytest.skip("no unshare (util-linux)")
    out = tmp_path / "ns.folded"
    res = run_region(first_python(), agent, "thread", out,
                     prefix=[unshare, "--pid", "--fork", "--mount-proc"])
    assert res["cpu"] > 1.0
    _, names, _ = functions(out)
    assert "region" in names and "other" not in names, names


def test_every_format(agent, tmp_path):
    exts = [".folded", ".txt", ".svg", ".speedscope.json", ".pb.gz",
            ".callgrind", ".trace.json", ".gecko.json", ".html",
            ".heatmap.html", ".pstats", ".prof"]
    run_region(first_python(), agent, "formats", tmp_path, *exts,
               env=client_env(agent, REGION_SECS="0.3"))
    for ext in exts:
        data = (tmp_path / ("region" + ext)).read_bytes()
        assert len(data) > 100, ext
        if ext.endswith(".json"):
            json.loads(data)
        elif ext == ".pb.gz":
            assert data[:2] == b"\x1f\x8b"
        elif ext == ".svg":
            assert b"<svg" in data[:400] and b"spin" in data
        elif ext in (".folded", ".txt"):
            assert b"spin (" in data
        elif ext == ".callgrind":
            assert b"events:" in data


def test_bytes_back_and_refusals(agent):
    """The protocol by hand: no descriptor, the profile comes back."""
    s = socket.socket(socket.AF_UNIX)
    s.connect(agent.sock)
    f = s.makefile("rb")
    s.sendall(b"ping\n")
    assert f.readline().startswith(b"ok pyprof-bpf ")
    s.sendall(b"start frequency=abc\n")
    assert f.readline() == b"error bad value for frequency: 'abc'\n"
    s.sendall(b"bogus\n")
    assert f.readline().startswith(b"error unknown request 'bogus'")
    s.sendall(b"start pid=%d name=x y.svg\n" % os.getpid())
    assert f.readline().startswith(b"ok sampling pid %d" % os.getpid())
    s.sendall(b"start\n")
    assert f.readline().startswith(b"error profiling already in progress")
    s.sendall(b"stop\n")
    head = f.readline()
    assert head.startswith(b"data "), head
    data = f.read(int(head.split()[1]))
    assert b"<svg" in data[:400]
    assert f.readline().startswith(b"ok ")
    s.close()
    # A line too long is refused, and the connection closed.
    s = socket.socket(socket.AF_UNIX)
    s.connect(agent.sock)
    s.sendall(b"x" * 5000)
    assert s.makefile("rb").readline().startswith(b"error request longer")
    s.close()


# ---- Who may profile what ----

def nobody_env(agent):
    return dict(PATH="/usr/bin:/bin", PYTHONPATH=CLIENT,
                PYPROF_BPF_SOCKET=agent.sock, HOME="/")


def test_unprivileged_user(agent):
    if not SETPRIV:
        pytest.skip("no setpriv (util-linux)")
    python = "/usr/bin/python3.11"
    if missing_reason(python):
        pytest.skip(missing_reason(python))
    gid = grp.getgrnam(SOCKET_GROUP).gr_gid
    as_nobody = [SETPRIV, "--reuid", str(NOBODY), "--regid", str(NOBODY),
                 "--groups", str(gid)]
    home = tempfile.mkdtemp(prefix="pyprof-nobody-")
    os.chown(home, NOBODY, NOBODY)
    try:
        out = os.path.join(home, "mine.svg")
        res = run_region(python, agent, "region", out, prefix=as_nobody,
                         env=nobody_env(agent), cwd=home)
        st = os.stat(out)
        assert (st.st_uid, st.st_gid) == (NOBODY, NOBODY)
        with open(out, encoding="utf-8") as f:
            svg = f.read()
        assert "region" in svg and "before" not in svg
        assert res["path"] == out
        # Not pid 1, not another user's process: the agent's one line.
        other = subprocess.Popen([SETPRIV, "--reuid", "1", "--regid", "1",
                                  "--clear-groups", python, "-c",
                                  "import time; time.sleep(60)"])
        try:
            code = ("import socket, sys\n"
                    "for pid in sys.argv[2:]:\n"
                    "    s = socket.socket(socket.AF_UNIX)\n"
                    "    s.connect(sys.argv[1])\n"
                    "    s.sendall(b'start pid=%s name=x.folded\\n' % pid.encode())\n"
                    "    print(s.makefile().readline().strip())\n")
            r = subprocess.run([*as_nobody, python, "-c", code, agent.sock,
                                "1", str(other.pid)], env=nobody_env(agent),
                               capture_output=True, text=True, timeout=60)
            assert r.returncode == 0, r.stderr
            lines = r.stdout.splitlines()
            assert len(lines) == 2
            for pid, line in zip((1, other.pid), lines):
                assert line == (f"error permission denied: pid {pid} is not "
                                "the caller's own process or a descendant "
                                f"running as uid {NOBODY}; only root may "
                                "profile other processes"), line
            # Kernel frames, high frequencies and more than 4 connections
            # are root's.
            code = ("import socket, sys\n"
                    "s = socket.socket(socket.AF_UNIX)\n"
                    "s.connect(sys.argv[1])\n"
                    "f = s.makefile()\n"
                    "for req in ('kernel=1', 'frequency=5000'):\n"
                    "    s.sendall(b'start %s\\n' % req.encode())\n"
                    "    print(f.readline().strip())\n"
                    "more = [socket.socket(socket.AF_UNIX) for _ in range(4)]\n"
                    "for m in more:\n"
                    "    m.connect(sys.argv[1])\n"
                    "print(more[-1].makefile().readline().strip())\n")
            r = subprocess.run([*as_nobody, python, "-c", code, agent.sock],
                               env=nobody_env(agent), capture_output=True,
                               text=True, timeout=60)
            assert r.stdout.splitlines() == [
                "error permission denied: kernel frames are for root only",
                "error permission denied: frequency 5000 is above 1000 Hz, "
                "the most a caller other than root may ask for",
                "error too many control clients at once: try again later",
            ], (r.stdout, r.stderr)
        finally:
            other.kill()
            other.wait()
        # Not in the socket's group: the socket itself refuses.
        code = ("import pyprof_bpf\n"
                "try:\n    pyprof_bpf.start('/tmp/never.folded')\n"
                "except RuntimeError as e:\n    print(e)\n")
        r = subprocess.run([SETPRIV, "--reuid", str(NOBODY), "--regid",
                            str(NOBODY), "--clear-groups", python, "-c", code],
                           env=nobody_env(agent), capture_output=True,
                           text=True, timeout=60)
        assert r.stdout.startswith(f"permission denied on {agent.sock}"), \
            (r.stdout, r.stderr)
    finally:
        shutil.rmtree(home, ignore_errors=True)


# ---- What the agent keeps ----

def agent_state(agent):
    pid = agent.proc.pid
    return (len(os.listdir(f"/proc/{pid}/fd")),
            len(os.listdir(f"/proc/{pid}/task")))


def wait_state(agent, want, timeout=20):
    end = time.monotonic() + timeout
    pid = agent.proc.pid
    while agent_state(agent) != want:
        assert time.monotonic() < end, (
            agent_state(agent), want,
            [os.readlink(f"/proc/{pid}/fd/{fd}")
             for fd in os.listdir(f"/proc/{pid}/fd")])
        time.sleep(0.1)


def wait_line(agent, text, n, timeout=20):
    """Waits until the agent's stderr holds text n times."""
    end = time.monotonic() + timeout
    while agent.stderr().count(text) < n:
        assert time.monotonic() < end, (text, n, agent.stderr())
        time.sleep(0.1)


def wait_metric(agent, name, want, timeout=20):
    """Waits until /metrics (gathered each interval) says name is want."""
    end = time.monotonic() + timeout
    while True:
        text = agent.get("/metrics").decode()
        got = next(int(float(l.split()[1])) for l in text.splitlines()
                   if l.startswith(name + " "))
        if got == want:
            return
        assert time.monotonic() < end, (name, got, want)
        time.sleep(0.2)


def test_caller_killed_leaves_nothing(agent, tmp_path):
    base = agent_state(agent)
    out = tmp_path / "hang.folded"
    p = subprocess.Popen([first_python(), REGION, "hang", str(out)],
                         env=client_env(agent), stdout=subprocess.PIPE,
                         text=True)
    try:
        assert json.loads(p.stdout.readline()) == {"started": True}
        during = agent_state(agent)
        assert during[0] > base[0] and during[1] > base[1], (base, during)
        wait_metric(agent, "pyprof_control_runs", 1)
        wait_cpu(p.pid, 0.3)  # samples of spin() to be written
        p.kill()
        p.wait()
        wait_state(agent, base)
        wait_metric(agent, "pyprof_control_runs", 0)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert "ended by the caller's exit" in agent.stderr()
    # What it had is in the file, still open in the agent when it died.
    _, names, _ = functions(out)
    assert "spin" in names, names


def hang_up(agent):
    s = socket.socket(socket.AF_UNIX)
    s.connect(agent.sock)
    s.sendall(b"start pid=%d\n" % os.getpid())
    assert s.makefile("rb").readline().startswith(b"ok ")
    s.close()


def test_hang_up_leaves_nothing(agent):
    # The first run on this interpreter opens its ELF file into the
    # agent's cache of them (python.c, bounded): not the run's state.
    ended = agent.stderr().count("ended by hang-up")
    hang_up(agent)
    wait_line(agent, "ended by hang-up", ended + 1)
    base = agent_state(agent)
    hang_up(agent)
    wait_state(agent, base)
    wait_line(agent, "ended by hang-up", ended + 2)


def test_agent_stop_writes_runs(tmp_path):
    """SIGTERM: a run in progress gets its file written, the agent exits 0
    and removes its socket."""
    needs_root()
    python = first_python()
    sock = str(tmp_path / "stop.sock")
    a = Agent("-p", os.getpid(), "--socket", sock)
    out = tmp_path / "cut.folded"
    p = subprocess.Popen([python, REGION, "hang", str(out)],
                         env=dict(os.environ, PYTHONPATH=CLIENT,
                                  PYPROF_BPF_SOCKET=sock),
                         stdout=subprocess.PIPE, text=True)
    try:
        assert json.loads(p.stdout.readline()) == {"started": True}
        wait_cpu(p.pid, 0.5)  # samples for the file to hold
        t0 = time.monotonic()
        a.stop()
        print(f"the agent stopped in {time.monotonic() - t0:.2f} s")
    finally:
        p.kill()
        p.wait()
        a.stop(check=False)
    assert not os.path.exists(sock)
    _, names, _ = functions(out)
    assert "spin" in names, names


def test_cycles_keep_rss_flat(agent, tmp_path):
    python = first_python()
    out = tmp_path / "cycle.folded"
    run_region(python, agent, "cycles", 30, out)  # warm up
    base = agent_state(agent)
    before = agent.rss_kb()
    t0 = time.monotonic()
    run_region(python, agent, "cycles", 200, out, timeout=600)
    secs = time.monotonic() - t0
    after = agent.rss_kb()
    print(f"200 cycles in {secs:.1f} s: agent RSS {before} kB -> {after} kB")
    wait_state(agent, base)
    if agent.sanitized():
        pytest.skip("an ASan build (make SAN=1) keeps freed memory in "
                    "quarantine: no RSS bound; its leak check runs at exit")
    assert after - before < 2048, (before, after)


# ---- The C client ----

def test_c_client_embedded_python_native(agent, tmp_path):
    config = next((p + "-config" for _, p in PYTHONS
                   if p.startswith("/root/.pyenv/") and
                   os.access(p + "-config", os.X_OK)), None)
    if not config:
        pytest.skip("no pyenv CPython with python3-config to embed")
    flags = subprocess.run([config, "--embed", "--cflags", "--ldflags"],
                           capture_output=True, text=True, check=True).stdout
    flags = [f for f in flags.split() if f != "-Wsign-compare"]
    exe = tmp_path / "embed"
    cflags = [f for f in flags if f.startswith(("-I", "-D"))]
    ldflags = [f for f in flags if f.startswith(("-L", "-l", "-Wl"))]
    subprocess.run(["cc", "-O1", "-g", "-Wall", "-Wextra", "-Werror",
                    "-I" + CLIENT, *cflags, os.path.join(CONTROL, "embed.c"),
                    "-o", str(exe), *ldflags], check=True)
    out = tmp_path / "embed.folded"
    r = subprocess.run([str(exe), str(out), "native=1"],
                       env=client_env(agent), capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("second stop: profiling is not in progress")
    stacks, names, _ = functions(out)
    assert "py_spin" in names, stacks
    native = [f for fr, _ in stacks for f in fr if not py_frame(f)]
    assert "c_spin" in native and "main" in native, stacks
    # Without the agent: the same plain error.
    r = subprocess.run([str(exe), str(out)],
                       env=client_env(agent, PYPROF_BPF_SOCKET="/nonexistent"),
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1
    assert r.stderr.startswith("pyprof_bpf_start: the pyprof-bpf agent is "
                               "not running")


def test_installed(tmp_path):
    r = subprocess.run(["make", "-s", "-C", ROOT, "install-client",
                        f"DESTDIR={tmp_path}"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    mod = tmp_path / "usr/local/lib/pyprof-bpf/python/pyprof_bpf.py"
    hdr = tmp_path / "usr/local/include/pyprof_bpf.h"
    assert mod.read_bytes() == open(os.path.join(CLIENT, "pyprof_bpf.py"),
                                    "rb").read()
    assert hdr.exists()
    r = subprocess.run([sys.executable, "-c", "import pyprof_bpf; "
                        "print(pyprof_bpf.running())"],
                       env=dict(os.environ, PYTHONPATH=str(mod.parent)),
                       capture_output=True, text=True)
    assert r.stdout == "False\n", r.stderr
