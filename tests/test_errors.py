# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
"""Bad input: each gets one clear line on stderr naming the fix, and the
documented exit code (see --help)."""
import os
import shutil
import struct
import subprocess
import time

import pytest

from conftest import (DEBIAN_ROOT, PYPROF, Workload, any_python,
                      missing_reason, needs_root, one_line, run_pyprof)

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
    assert "CPython 3.8-3.15" in line


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
    assert version in line and "supports CPython 3.8 to 3.15" in line


def elf_symbol_offset(path, name):
    """The file offset of dynamic symbol name's value in ELF file path
    (x86-64, little-endian): .dynsym for its address, PT_LOAD for the
    offset."""
    with open(path, "rb") as f:
        data = f.read()
    phoff, shoff = struct.unpack_from("<QQ", data, 0x20)
    phentsize, phnum, shentsize, shnum = struct.unpack_from("<HHHH", data, 0x36)
    sections = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize)
                for i in range(shnum)]
    addr = None
    for sh in sections:
        if sh[1] != 11:  # SHT_DYNSYM
            continue
        strtab = sections[sh[6]]
        for off in range(sh[4], sh[4] + sh[5], 24):
            st_name, _, _, _, st_value, _ = struct.unpack_from("<IBBHQQ", data, off)
            end = data.index(b"\0", strtab[4] + st_name)
            if data[strtab[4] + st_name:end] == name.encode():
                addr = st_value
    assert addr is not None, f"{path} has no {name}"
    for i in range(phnum):
        p_type, _, p_offset, p_vaddr, _, p_filesz = struct.unpack_from(
            "<IIQQQQ", data, phoff + i * phentsize)
        if p_type == 1 and p_vaddr <= addr < p_vaddr + p_filesz:
            return addr - p_vaddr + p_offset
    raise AssertionError(f"{name} of {path} is in no PT_LOAD")


@pytest.fixture
def python316():
    """A "CPython 3.16.0": Debian unstable's 3.15 with Py_Version saying
    0x031000f0, as python3.16 in the Debian root's own /tmp; the command
    that runs it there with chroot."""
    needs_root()
    launcher = os.path.join(os.path.dirname(DEBIAN_ROOT), "bin", "python3.15")
    why = missing_reason(launcher)
    if why:
        pytest.skip(why)
    d = os.path.join(DEBIAN_ROOT, "tmp", f"pyprof-test-{os.getpid()}")
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, "python3.16")
    shutil.copyfile(os.path.join(DEBIAN_ROOT, "usr", "bin", "python3.15"), path)
    os.chmod(path, 0o755)
    at = elf_symbol_offset(path, "Py_Version")
    with open(path, "r+b") as f:
        f.seek(at)
        assert struct.unpack("<Q", f.read(8))[0] >> 16 == 0x030f
        f.seek(at)
        f.write(struct.pack("<Q", 0x031000f0))
    yield ["chroot", DEBIAN_ROOT, path[len(DEBIAN_ROOT):]]
    shutil.rmtree(d)


def test_newer_python_than_supported(python316):
    """Exit 7, one line naming the newest version supported."""
    p = subprocess.Popen([*python316, "-c", "import time; time.sleep(60)"])
    try:
        time.sleep(0.5)
        r = run_pyprof("-p", p.pid, "-d", 1)
    finally:
        p.kill()
        p.wait()
    assert r.rc == EXIT_PYVER, r.err
    line = one_line(r.err)
    assert "is Python 3.16.0, newer than 3.15, the newest pyprof-bpf supports" in line
    assert "(CPython 3.8 to 3.15)" in line


def test_launched_newer_python_says_so(python316):
    """`-- python3.16`: the command runs and its status is kept, and the
    summary says why nothing was profiled, not "does the command run
    CPython?"."""
    # It spins for CPU time: a process is looked at once a sample finds it
    # on a CPU, which a sleeping one may never be.
    r = run_pyprof("-F", 99, "--", *python316, "-c",
                   "import time\nend = time.process_time() + 0.3\n"
                   "while time.process_time() < end: pass\n"
                   "raise SystemExit(3)")
    assert r.rc == 3, r.err
    assert "newer than 3.15, the newest pyprof-bpf supports" in r.err
    assert "does the command run" not in r.err
    assert r.out == ""


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
