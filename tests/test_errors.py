# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
"""Bad input: each gets one clear line on stderr naming the fix, and the
documented exit code (see --help)."""
import os
import shutil
import subprocess

import pytest

from conftest import (PYPROF, Workload, any_python, needs_root, one_line,
                      run_pyprof)

EXIT_USAGE, EXIT_PERM, EXIT_KERNEL, EXIT_NOPROC, EXIT_NOTPY, EXIT_PYVER = 2, 3, 4, 5, 6, 7


def free_pid():
    with open("/proc/sys/kernel/pid_max") as f:
        pid_max = int(f.read())
    for pid in range(pid_max - 1, 1, -1):
        if not os.path.exists(f"/proc/{pid}"):
            return pid
    pytest.skip("no free pid")


@pytest.mark.parametrize("args,needle", [
    ([], "-p PID"),
    (["-p", "abc"], "-p 'abc' is not a whole number"),
    (["-p", "0"], "-p '0' is out of range"),
    (["-p", "1", "-F", "0"], "-F '0' is out of range"),
    (["-p", "1", "-F", "20000"], "from 1 to 10000"),
    (["-p", "1", "-d", "-1"], "-d '-1' is out of range"),
    (["-p", "1", "--max-depth", "0"], "--max-depth '0' is out of range"),
    (["-p", "1", "--max-depth", "99999"], "from 1 to 8192"),
    (["-p", "1", "-F", "18446744073709551615"],
     "-F '18446744073709551615' is out of range: give a whole number from 1 to 10000"),
    (["-p", "1", "--mode", "cpu", "--mode", "wall"],
     "--mode cpu and --mode wall disagree"),
    (["-p", "1", "--interval", "x"], "--interval 'x' is not a number"),
    (["-p", "1", "--bogus"], "unknown option '--bogus'"),
    (["-p", "1", "extra"], "unexpected argument 'extra'"),
    (["-p"], "needs a value"),
])
def test_usage_errors(args, needle):
    r = run_pyprof(*args)
    assert r.rc == EXIT_USAGE
    assert needle in one_line(r.err)
    assert r.out == ""


def test_help_teaches():
    r = run_pyprof("--help")
    assert r.rc == 0
    for needle in ("-p, --pid", "--max-depth", "[truncated]", "Exit status",
                   "flamegraph.pl", "CAP_BPF"):
        assert needle in r.out


def test_no_such_process():
    needs_root()
    pid = free_pid()
    r = run_pyprof("-p", pid, "-d", 1)
    assert r.rc == EXIT_NOPROC
    assert f"no process with pid {pid}" in one_line(r.err)


def test_not_python():
    needs_root()
    p = subprocess.Popen(["sleep", "60"])
    try:
        r = run_pyprof("-p", p.pid, "-d", 1)
    finally:
        p.kill()
        p.wait()
    assert r.rc == EXIT_NOTPY
    line = one_line(r.err)
    assert f"process {p.pid} (sleep) is not a Python process" in line
    assert "CPython 3.8-3.14" in line


@pytest.mark.parametrize("python,version", [
    ("/root/.pyenv/versions/3.7.16/bin/python3", "3.7"),
    ("/root/.pyenv/versions/3.6.15/bin/python3", "older than 3.7"),
    ("/root/.pyenv/versions/2.7.18/bin/python2", "older than 3.7"),
])
def test_unsupported_python(python, version):
    needs_root()
    if not os.access(python, os.X_OK):
        pytest.skip(f"{python} is not installed")
    # Profiled once it runs Python code: its interpreter is loaded.  (The
    # same source for Python 2.)
    p = subprocess.Popen([python, "-c", "import sys, time\n"
                          "sys.stdout.write('ready\\n'); sys.stdout.flush()\n"
                          "time.sleep(60)\n"],
                         stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline() == "ready\n", f"{python} did not start"
        r = run_pyprof("-p", p.pid, "-d", 1)
    finally:
        p.kill()
        p.wait()
        p.stdout.close()
    assert r.rc == EXIT_PYVER, r.err
    line = one_line(r.err)
    assert version in line and "supports CPython 3.8 to 3.14" in line


def test_not_root():
    needs_root()
    if not shutil.which("setpriv"):
        pytest.skip("setpriv (util-linux) is not installed")
    with Workload(any_python(), "shape.py") as w:
        p = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534",
                            "--clear-groups", PYPROF, "-p", str(w.pid), "-d", "1"],
                           capture_output=True, text=True, timeout=30)
    assert p.returncode == EXIT_PERM
    line = one_line(p.stderr)
    assert "missing CAP_BPF CAP_PERFMON CAP_SYS_PTRACE" in line
    assert "sudo" in line


def test_no_btf():
    """Hide /sys/kernel/btf in a private mount namespace."""
    needs_root()
    if not shutil.which("unshare"):
        pytest.skip("unshare (util-linux) is not installed")
    with Workload(any_python(), "shape.py") as w:
        p = subprocess.run(["unshare", "--mount", "sh", "-c",
                            "mount -t tmpfs none /sys/kernel/btf && exec \"$0\" \"$@\"",
                            PYPROF, "-p", str(w.pid), "-d", "1"],
                           capture_output=True, text=True, timeout=30)
    if "mount:" in p.stderr:
        pytest.skip(f"cannot hide /sys/kernel/btf here: {p.stderr.strip()}")
    assert p.returncode == EXIT_KERNEL
    assert "CONFIG_DEBUG_INFO_BTF" in one_line(p.stderr)


def test_unwritable_output(tmp_path):
    needs_root()
    with Workload(any_python(), "shape.py") as w:
        r = run_pyprof("-p", w.pid, "-d", 1, "-o", tmp_path / "no" / "such" / "dir.folded")
    assert r.rc == EXIT_USAGE
    assert "cannot write" in one_line(r.err) and "-o" in r.err
