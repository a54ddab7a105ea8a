# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
"""A target that corrupts its own interpreter state (tests/e2e/workloads/
hostile.py) is profiled on every interpreter: pyprof-bpf stays up, its memory
stays small, the target is unharmed, and the affected stacks carry a marker
and a counted reason in the summary."""
import os
import re

import pytest

from conftest import (PYPROF, Workload, marker_line, needs_root,
                      parse_folded, py_frame, python_params)

SCRIPT = "hostile.py"
# pyprof-bpf's peak RSS is ~15 MB; a decoder that believed a length of 2**31
# or 2**40 would allocate far more than this.
MAX_RSS_KB = 100 * 1024


def run_measured(pid, seconds=1.0):
    """Runs pyprof-bpf in a child of its own, so that wait4's ru_maxrss is
    pyprof-bpf's peak alone."""
    pid_p = os.fork()
    if pid_p == 0:
        # The child is a copy of pytest: whatever happens here (a failed
        # exec, an exception), it must never return into the test run.
        try:
            out = os.open(f"/tmp/pyprof-hostile-{os.getpid()}.out",
                          os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            err = os.open(f"/tmp/pyprof-hostile-{os.getpid()}.err",
                          os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.dup2(out, 1)
            os.dup2(err, 2)
            os.execv(PYPROF, [PYPROF, "-p", str(pid), "-F", "499", "-d",
                              str(seconds), "--folded"])
        except BaseException as e:
            os.write(2, f"cannot run {PYPROF}: {e}\n".encode())
        finally:
            os._exit(127)
    _, status, usage = os.wait4(pid_p, 0)
    files = [f"/tmp/pyprof-hostile-{pid_p}.{x}" for x in ("out", "err")]
    texts = []
    for f in files:
        with open(f, encoding="utf-8") as fh:
            texts.append(fh.read())
        os.unlink(f)
    return os.waitstatus_to_exitcode(status), texts[0], texts[1], usage.ru_maxrss


def attacked(python, mode):
    """Profiles a hostile.py MODE process while it is corrupt; returns the
    folded stacks and pyprof-bpf's stderr, having checked what every mode
    must give."""
    with Workload(python, SCRIPT, mode, "2.5") as w:
        rc, out, err, rss = run_measured(w.pid)
        survived = w.readline().strip()
        w.proc.wait(timeout=30)
        assert survived == "survived" and w.proc.returncode == 0, \
            "the target did not survive its own corruption (test bug)"
    assert rc == 0, err
    assert rss < MAX_RSS_KB, f"pyprof-bpf peaked at {rss} KiB"
    stacks = parse_folded(out)
    assert sum(c for _, c in stacks) > 20, err
    return stacks, err


def share(stacks, pred):
    total = sum(c for _, c in stacks)
    return sum(c for f, c in stacks if pred(f)) / total


def summary_count(err, pattern):
    m = re.search(pattern, err)
    assert m, f"summary lacks {pattern!r}:\n{err}"
    return int(m.group(1))


def frame_is(frame, name, marker):
    pf = py_frame(frame)
    return pf is not None and pf[0] == name and \
        pf[2] == marker_line(SCRIPT, marker)


@pytest.mark.parametrize("python", python_params())
def test_frame_chain_looping_to_itself(python):
    needs_root()
    stacks, err = attacked(python, "loop")
    assert share(stacks, lambda f: len(f) == 4
                 and f[2] == "[frame chain loops]"
                 and frame_is(f[3], "corrupt_loop", "LOOP_LINE")) > 0.9, stacks
    assert summary_count(err, r"frame chain looped (\d+) times") > 20


@pytest.mark.parametrize("python", python_params())
def test_frame_chain_looping_through_the_caller(python):
    needs_root()
    stacks, err = attacked(python, "loop2")

    def looped(f):
        return len(f) == 5 and f[2] == "[frame chain loops]" and \
            py_frame(f[3])[0] == "corrupt_loop2" and \
            frame_is(f[4], "corrupt_loop2_inner", "LOOP2_LINE")
    assert share(stacks, looped) > 0.9, stacks
    assert summary_count(err, r"frame chain looped (\d+) times") > 20


@pytest.mark.parametrize("python", python_params())
def test_code_object_with_huge_lengths(python):
    """co_name, co_qualname, co_filename point to a str of length 2**31-1 and
    the line table to a bytes of 2**40: the frame is [unknown], counted, and
    its callers are whole."""
    needs_root()
    stacks, err = attacked(python, "names")

    def unknown_leaf(f):
        return f[-1] == "[unknown]" and py_frame(f[-2])[0] == "corrupt_names"
    assert share(stacks, unknown_leaf) > 0.9, stacks
    assert summary_count(err, r"unknown frames (\d+)") > 0


@pytest.mark.parametrize("python", python_params())
def test_thread_list_that_loops(python):
    """The interpreter's thread list starts at a fake thread state whose next
    is itself: the bounded search gives up, the samples say the interpreter
    is not readable, and the summary counts it."""
    needs_root()
    stacks, err = attacked(python, "threads")
    assert share(stacks, lambda f: f[2:] == ["[interpreter not readable]"]) > 0.9, stacks
    assert summary_count(err, r"interpreter unreadable (\d+)") > 20
    assert summary_count(err, r"thread list longer than \d+ (\d+) times") > 0
