# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
"""Messages and figures that misled (issue 16, items 9 and 10): a kernel
thread, a zombie or a refused pid each get the line that says what it is and
what to do; input that is a directory or a closed stdin says so; the run
summary's figures add up and its expected samples are those of the time
sampled; a run ends near -d however fast its events come; --help says what
-d does to a launched command."""
import os
import re
import shutil
import subprocess
import time

import pytest

from conftest import (PYPROF, PYTHONS, WORKLOADS, Workload, needs_root,
                      run_pyprof, wait_cpu)

EXIT_FAILURE, EXIT_USAGE, EXIT_PERM, EXIT_NOPROC, EXIT_NOTPY = 1, 2, 3, 5, 6
PF_KTHREAD = 0x00200000


def a_python():
    for _, path in PYTHONS:
        if os.access(path, os.X_OK):
            return path
    pytest.skip("no CPython from tests/conftest.py PYTHONS is installed")


def the_line(err, prefix="pyprof-bpf: "):
    lines = [l for l in err.splitlines() if l.strip()]
    assert len(lines) == 1, f"want one line on stderr, got:\n{err}"
    assert lines[0].startswith(prefix)
    return lines[0]


def stat_fields(pid):
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()


def kernel_thread():
    """A kernel thread's pid and name (kthreadd is 2 on most systems)."""
    for pid in [2] + sorted(int(p) for p in os.listdir("/proc")
                            if p.isdigit()):
        try:
            if int(stat_fields(pid)[6]) & PF_KTHREAD:
                with open(f"/proc/{pid}/comm") as f:
                    return pid, f.read().strip()
        except (OSError, IndexError, ValueError):
            continue
    pytest.skip("no kernel thread is visible in /proc here")


def test_kernel_thread_is_not_a_python_process():
    """-p 2 said "no process with pid 2": there is one, a kernel thread."""
    needs_root()
    pid, comm = kernel_thread()
    r = run_pyprof("-p", pid, "-d", 1)
    assert r.rc == EXIT_NOTPY, r.err
    assert the_line(r.err) == (
        f"pyprof-bpf: process {pid} ({comm}) is a kernel thread, not a "
        f"Python process: give the pid of a CPython 3.8-3.15 process "
        f"(ps -ef | grep python)")


def test_zombie_is_called_a_zombie():
    """A zombie said "no process with pid": it says what it is, and whose
    it is."""
    needs_root()
    child = subprocess.Popen(["true"])
    try:
        end = time.monotonic() + 10
        while stat_fields(child.pid)[0] != "Z" and time.monotonic() < end:
            time.sleep(0.01)
        assert stat_fields(child.pid)[0] == "Z"
        r = run_pyprof("-p", child.pid, "-d", 1)
    finally:
        child.wait()
    assert r.rc == EXIT_NOPROC, r.err
    assert the_line(r.err) == (
        f"pyprof-bpf: process {child.pid} (true) has exited: it is a zombie "
        f"its parent (pid {os.getpid()}) has not reaped, with nothing left "
        f"to profile; give the pid of a running CPython process")


def refused_pid():
    """A live pid whose memory map root cannot read here, or SKIP."""
    for pid in sorted(int(p) for p in os.listdir("/proc") if p.isdigit()):
        try:
            with open(f"/proc/{pid}/maps") as f:
                f.read(1)
        except PermissionError:
            return pid
        except OSError:
            continue
    pytest.skip("every process's memory is readable here: no refusal to "
                "test (pyprof-bpf runs unconfined)")


def test_refused_pid_names_the_fix():
    """-p 1 said "cannot read /proc/1/maps: Permission denied" and no
    more."""
    needs_root()
    pid = refused_pid()
    r = run_pyprof("-p", pid, "-d", 1)
    assert r.rc == EXIT_PERM, r.err
    line = the_line(r.err)
    assert line.startswith(f"pyprof-bpf: cannot read the memory of process "
                           f"{pid} (")
    assert "Permission denied" in line
    assert line.endswith("run pyprof-bpf as root on the host or in the "
                         "process's own container")


@pytest.mark.parametrize("command,prefix,code", [
    ("view", "pyprof-bpf view: ", EXIT_FAILURE),
    ("diff", "pyprof-bpf diff: ", EXIT_USAGE),
    ("convert", "pyprof-bpf convert: ", EXIT_USAGE),
])
def test_a_directory_as_input_says_so(tmp_path, command, prefix, code):
    """`view DIR` said "Input/output error"."""
    args = {"view": ["view", tmp_path],
            "diff": ["diff", tmp_path, tmp_path],
            "convert": ["convert", tmp_path, "-o", tmp_path / "x.svg"]}
    r = run_pyprof(*args[command])
    assert r.rc == code, r.err
    line = the_line(r.err, prefix)
    assert "Input/output error" not in line
    assert "is a directory" in line


@pytest.mark.parametrize("command,prefix,code", [
    ("view", "pyprof-bpf view: ", EXIT_FAILURE),
    ("diff", "pyprof-bpf diff: ", EXIT_USAGE),
    ("convert", "pyprof-bpf convert: ", EXIT_USAGE),
])
def test_a_closed_stdin_says_so(tmp_path, command, prefix, code):
    """`view - <&-` said "Input/output error"."""
    other = tmp_path / "b.folded"
    other.write_text("p-1;MainThread;f (a.py:1) 1\n")
    args = {"view": ["view", "-"], "diff": ["diff", "-", other],
            "convert": ["convert", "-", "-o", tmp_path / "x.svg"]}
    p = subprocess.run(["sh", "-c", 'exec "$@" <&-', "sh", PYPROF,
                        *map(str, args[command])], capture_output=True,
                       text=True, timeout=30)
    assert p.returncode == code, p.stderr
    assert the_line(p.stderr, prefix) == (
        f"{prefix}cannot read stdin: it is closed: pipe folded stacks in, "
        f"or give a FILE")


def test_help_says_what_d_does_to_a_command_and_asleep_threads():
    r = run_pyprof("--help")
    assert r.rc == 0
    text = " ".join(r.out.split())
    assert "with -- COMMAND the profile is written after SECS and " \
           "pyprof-bpf then waits for COMMAND to exit" in text
    assert "[asleep since the start]" in text


SAMPLES = re.compile(
    r"samples (\d+) taken \(expected ~(\d+) from ([\d.]+) s of CPU time"
    r"(?: while sampled)?\)(?: \+ (\d+) off-CPU \([^)]*\))?, (\d+) written, "
    r"(\d+) lost(?: \([^)]*\))?(?:, (\d+) left out \(--gil-only\))?")


def samples_line(err):
    m = SAMPLES.search(err)
    assert m, f"no samples line:\n{err}"
    taken, expected, _, off, written, lost, dropped = m.groups()
    return (int(taken), int(expected), int(off or 0), int(written),
            int(lost), int(dropped or 0))


def test_expected_samples_are_of_the_time_sampled():
    """"expected ~424" counted the CPU time spent while the sampler loaded
    (and while an -o FIFO blocked): a short run of a busy process looked
    as if a quarter of its samples were missing.  Over the time sampled,
    taken and expected agree."""
    needs_root()
    with Workload(a_python(), "shape.py") as w:
        wait_cpu(w.pid, 0.2)
        r = run_pyprof("-p", w.pid, "-F", 999, "-d", 0.3, "-o", "/dev/null")
    assert r.rc == 0, r.err
    taken, expected, *_ = samples_line(r.err)
    # /proc counts CPU time in clock ticks: a tick at each end, in samples.
    ticks = 2 * 999 / os.sysconf("SC_CLK_TCK")
    assert abs(taken - expected) <= 0.1 * expected + ticks, r.err


@pytest.mark.parametrize("extra", [["--mode", "wall"], ["--gil-only"]],
                         ids=["wall", "gil-only"])
def test_wall_mode_line_adds_up(extra):
    """"302 taken ... 303 written, 0 lost": written holds the off-CPU
    sample-equivalents too; the line says how many, and adds up."""
    needs_root()
    p = subprocess.Popen([a_python(), os.path.join(WORKLOADS, "wall.py"),
                          "idle"], stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline().strip() == "ready"
        r = run_pyprof("-p", p.pid, *extra, "-d", 1, "-o", "/dev/null")
    finally:
        p.kill()
        p.wait()
    assert r.rc == 0, r.err
    taken, _, off, written, lost, dropped = samples_line(r.err)
    assert off > 0, r.err
    assert taken + off == written + lost + dropped, r.err


def test_run_ends_near_d_when_events_flood():
    """At -F 10000 a run with many new stacks took seconds past -d: the
    sampler's events kept coming and libbpf kept handling them, so the loop
    never saw the time.  strace makes the handling slow, as a loaded
    machine does."""
    needs_root()
    if not shutil.which("strace"):
        pytest.skip("strace is not installed: it slows the event handling "
                    "enough to flood it")
    with Workload(a_python(), "many.py") as w:
        wait_cpu(w.pid, 0.2)
        p = subprocess.run(["strace", "-f", "-o", "/dev/null", PYPROF, "-p",
                            str(w.pid), "-F", "10000", "-d", "1", "-o",
                            "/dev/null"], capture_output=True, text=True,
                           timeout=120)
    assert p.returncode == 0, p.stderr
    m = re.search(r": ([\d.]+) s(?: \([^)]*\))? at 10000 Hz", p.stderr)
    assert m, p.stderr
    assert float(m.group(1)) <= 1.6, p.stderr
