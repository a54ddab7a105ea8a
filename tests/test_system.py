# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
"""Several processes at once: -p PID,PID, -a, "-- COMMAND", --children,
--merge-processes, and processes in their own PID and mount namespaces."""
import os
import re
import shutil
import signal
import subprocess

import pytest

from conftest import (PYPROF, PYTHONS, WORKLOADS, Workload, marker_line,
                      parse_folded, py_frame, python_params, run_pyprof,
                      start_pyprof)

pytestmark = pytest.mark.usefixtures("root")


def present_pythons():
    return [p for _, p in PYTHONS if os.access(p, os.X_OK)]


def by_root(stacks):
    """{root frame: {leaf python function name: samples}}"""
    out = {}
    for frames, count in stacks:
        leaf = py_frame(frames[-1])
        name = leaf[0] if leaf else frames[-1]
        d = out.setdefault(frames[0], {})
        d[name] = d.get(name, 0) + count
    return out


def test_several_pids_of_mixed_versions():
    """-p A,B,C: each process is its own root with its own exact frames."""
    pys = present_pythons()
    if len(pys) < 2:
        pytest.skip("fewer than two Pythons installed")
    pys = pys[:4]
    hot_line = marker_line("shape.py", "HOT_LINE")
    ws = [Workload(p, "shape.py") for p in pys]
    try:
        pids = ",".join(str(w.pid) for w in ws)
        r = run_pyprof("-p", pids, "-p", ws[0].pid, "-F", 199, "-d", 3)
    finally:
        for w in ws:
            w.stop()
    assert r.rc == 0, r.err
    assert f"{len(ws)} Python processes ({len(ws)} still running)" in r.err
    roots = by_root(parse_folded(r.out))
    assert set(roots) == {f"{w.comm}-{w.pid}" for w in ws}, r.out
    for w in ws:
        mine = [(f, c) for f, c in parse_folded(r.out)
                if f[0] == f"{w.comm}-{w.pid}"]
        total = sum(c for _, c in mine)
        hot = sum(c for f, c in mine
                  if py_frame(f[-1]) == ("hot", w.path, hot_line))
        assert hot > 0.6 * total, (w.pid, hot, total)


def test_bad_pid_among_good_ones_is_a_warning():
    py = present_pythons()[0]
    with Workload(py, "shape.py") as w:
        r = run_pyprof("-p", f"{w.pid},999999", "-d", 1)
        assert r.rc == 0, r.err
        assert "skipping pid 999999: no process with pid 999999" in r.err
        assert parse_folded(r.out)
    r = run_pyprof("-p", "999998,999999", "-d", 1)
    assert r.rc == 5
    assert "none of the 2 processes can be profiled" in r.err
    assert r.out == ""


def test_merge_processes():
    pys = present_pythons()
    py = pys[0]
    with Workload(py, "shape.py") as a, Workload(py, "shape.py") as b:
        r = run_pyprof("-p", f"{a.pid},{b.pid}", "--merge-processes",
                       "-F", 99, "-d", 2)
    assert r.rc == 0, r.err
    roots = by_root(parse_folded(r.out))
    assert set(roots) == {a.comm}, roots


def in_main(frames, path):
    """Whether a stack runs family.py's main(): after the interpreter's
    start-up and the script's imports, which a launched command's profile
    holds too, and which take more of its CPU time the busier the
    machine (the spin is 1.5 s of wall time)."""
    return any(py_frame(x) and py_frame(x)[:2] == ("main", path)
               for x in frames)


@pytest.mark.parametrize("python", python_params())
def test_command_is_launched_profiled_and_its_exit_code_kept(python, tmp_path):
    out = tmp_path / "cmd.folded"
    path = os.path.join(WORKLOADS, "family.py")
    r = run_pyprof("-F", 499, "-o", out, "--", python, path, "exit", "3",
                   "1.5")
    assert r.rc == 3, r.err
    assert "the process exited" in r.err
    spin_line = marker_line("family.py", "SPIN_LINE")
    call = marker_line("family.py", "PARENT_CALL")
    stacks = parse_folded(out.read_text())
    hot = sum(c for f, c in stacks
              if [py_frame(x) for x in f[-2:]] ==
              [("parent_work", path, call), ("spin", path, spin_line)])
    main = sum(c for f, c in stacks if in_main(f, path))
    total = sum(c for _, c in stacks)
    # Sampled from the start: as many samples as its CPU time gives, and
    # those of main() in the hot loop.
    expected = float(re.search(r"expected ~(\d+)", r.err).group(1))
    assert hot >= 0.95 * main and total >= 0.9 * expected, \
        (hot, main, total, r.err)
    # Nothing unreadable: before its interpreter exists a process is
    # "[interpreter starting]", never "[interpreter not readable]".
    assert "[interpreter not readable]" not in out.read_text()


def test_command_errors(tmp_path):
    r = run_pyprof("--", "/nonexistent/python3", "x.py")
    assert r.rc == 127
    assert r.err.strip().splitlines()[0] == (
        "pyprof-bpf: cannot run /nonexistent/python3: No such file or "
        "directory (is it on PATH?)")
    plain = tmp_path / "not-executable"
    plain.write_text("x")
    plain.chmod(0o644)
    r = run_pyprof("--", plain)
    assert r.rc == 126
    assert f"cannot run {plain}: Permission denied" in r.err
    r = run_pyprof("--", "false")  # not Python: nothing to profile
    assert r.rc == 1, r.err
    assert "no Python process was profiled" in r.err
    assert r.out == ""


def test_command_descendants_through_a_shell_and_fork(tmp_path):
    """A shell that runs Python that forks: every Python process is
    profiled, the forked child from its first instruction."""
    py = present_pythons()[-1]
    path = os.path.join(WORKLOADS, "family.py")
    out = tmp_path / "fam.folded"
    r = run_pyprof("-F", 299, "-o", out, "--", "sh", "-c",
                   f"'{py}' '{path}' fork 2; exit 4")
    assert r.rc == 4, r.err
    roots = by_root(parse_folded(out.read_text()))
    assert len(roots) == 2, roots
    leaves = {}
    for frames, count in parse_folded(out.read_text()):
        fs = [py_frame(x) for x in frames[2:]]
        names = tuple(f[0] for f in fs if f)
        leaves.setdefault(frames[0], set()).add(names)
    kinds = sorted("child_work" in str(v) for v in leaves.values())
    assert kinds == [False, True], leaves
    assert "2 Python processes" in r.err


def test_children_of_a_pid(tmp_path):
    """--children: a process started by the target after the start."""
    py = present_pythons()[0]
    with Workload(py, "family.py", "spawn", "2.5") as w:
        r = run_pyprof("-p", w.pid, "--children", "-F", 199, "-d", 2)
    assert r.rc == 0, r.err
    roots = by_root(parse_folded(r.out))
    kids = [k for k in roots if k != f"{w.comm}-{w.pid}"]
    assert len(kids) == 1, roots
    assert roots[kids[0]].get("hot", 0) > 0.6 * sum(roots[kids[0]].values())


def test_all_finds_processes_that_start_later():
    """-a: short processes started after pyprof-bpf are all found."""
    pys = present_pythons()
    # Sampling has begun when start_pyprof returns; the run ends once the
    # last process has exited (-d only bounds a test gone wrong).
    p = start_pyprof("-a", "-F", 499, "-d", 120)
    started = []
    try:
        for i in range(8):
            py = pys[i % len(pys)]
            # 0.2 s of its own CPU time, however loaded the machine is.
            c = subprocess.run(
                [py, "-c", "import os, time\n"
                 "print(os.getpid(), flush=True)\n"
                 "t = time.process_time()\n"
                 "def short_lived():\n"
                 "    while time.process_time() - t < 0.2: pass\n"
                 "short_lived()\n"], capture_output=True, text=True)
            started.append(int(c.stdout))
    finally:
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=60)
    assert p.returncode == 0, err
    roots = by_root(parse_folded(out))
    found = [pid for pid in started
             if any(k.endswith(f"-{pid}") and roots[k].get("short_lived")
                    for k in roots)]
    assert found == started, (started, sorted(roots), err)
    m = re.search(r"(\d+) processes found after the start \(from process "
                  r"start to profiled: mean (\d+) ms, max (\d+) ms[;)]", err)
    assert m and int(m.group(1)) >= 8, err


def bind_root(tmp, py_home):
    """A root for chroot: /usr bound in (with /lib, /lib64 and /bin as the
    host has them), the Python installation at /opt/py and the workload at
    /app, paths that do not exist outside it."""
    root = os.path.join(tmp, "root")
    for d in ("usr", "opt/py", "app", "proc", "dev"):
        os.makedirs(os.path.join(root, d), exist_ok=True)
    mounts = [f"mount --bind /usr {root}/usr"]
    for d in ("lib", "lib64", "bin"):
        if os.path.islink("/" + d):
            os.symlink(os.readlink("/" + d), os.path.join(root, d))
        elif os.path.isdir("/" + d):
            os.makedirs(os.path.join(root, d))
            mounts.append(f"mount --bind /{d} {root}/{d}")
    mounts.append(f"mount --bind {py_home} {root}/opt/py")
    shutil.copy(os.path.join(WORKLOADS, "shape.py"),
                os.path.join(root, "app", "shape.py"))
    return root, " && ".join(mounts)


def test_container_pid_and_mount_namespace_and_chroot(tmp_path):
    """A Python in its own PID and mount namespace, chrooted where its
    interpreter and script are at paths the host does not have: found,
    resolved through /proc/PID/root, host pid shown with its own."""
    py = "/root/.pyenv/versions/3.12.1/bin/python3"
    if not os.access(py, os.X_OK) or not shutil.which("unshare"):
        pytest.skip("needs pyenv 3.12.1 and unshare")
    home = os.path.dirname(os.path.dirname(py))
    root, mounts = bind_root(str(tmp_path), home)
    # The pyenv build finds libpython by its RUNPATH, which names the host
    # path: inside, it is at /opt/py/lib.
    inner = (f"{mounts} && LD_LIBRARY_PATH=/opt/py/lib exec chroot {root} "
             f"/opt/py/bin/python3 /app/shape.py 30")
    c = subprocess.Popen(["unshare", "--pid", "--mount", "--fork",
                          "--mount-proc", "sh", "-c", inner],
                         stdout=subprocess.PIPE, text=True)
    try:
        assert c.stdout.readline().strip() == "ready"
        kids = subprocess.run(["pgrep", "-f", "/app/shape.py 30"],
                              capture_output=True, text=True).stdout.split()
        pid = [int(k) for k in kids
               if open(f"/proc/{k}/cmdline", "rb").read()
               .startswith(b"/opt/py/bin/python3\0")][0]
        r = run_pyprof("-p", pid, "-F", 199, "-d", 2)
    finally:
        c.kill()
        subprocess.run(["pkill", "-f", "/app/shape.py 30"])
        c.wait()
    assert r.rc == 0, r.err
    # Maps name files as pyprof-bpf's root sees them; they are opened
    # through /proc/PID/root, or /proc/PID/map_files where that fails.
    assert "CPython 3.12.1 (" in r.err and "/opt/py/lib/libpython3.12.so" \
        in r.err, r.err
    assert re.search(rf"pid {pid} is pid \d+ in its own PID namespace",
                     r.err), r.err
    hot_line = marker_line("shape.py", "HOT_LINE")
    leaves = {py_frame(f[-1]) for f, _ in parse_folded(r.out)}
    assert ("hot", "/app/shape.py", hot_line) in leaves, leaves


def test_pyprof_inside_a_pid_namespace(tmp_path):
    """pyprof-bpf itself in a PID namespace: pids are that namespace's."""
    if not shutil.which("unshare"):
        pytest.skip("needs unshare")
    py = present_pythons()[0]
    out = tmp_path / "ns.folded"
    p = subprocess.run(
        ["unshare", "--pid", "--fork", "--mount-proc", PYPROF, "-F", "199",
         "-o", str(out), "--", py, os.path.join(WORKLOADS, "family.py"),
         "exit", "0", "1.5"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    roots = by_root(parse_folded(out.read_text()))
    # pyprof-bpf is pid 1 in there; the command it starts is pid 2.
    assert len(roots) == 1, roots
    root = next(iter(roots))
    assert root.endswith("-2"), roots
    path = os.path.join(WORKLOADS, "family.py")
    stacks = parse_folded(out.read_text())
    spin = sum(c for f, c in stacks
               if in_main(f, path) and (py_frame(f[-1]) or ("",))[0] == "spin")
    main = sum(c for f, c in stacks if in_main(f, path))
    assert spin > 0.9 * main, stacks
