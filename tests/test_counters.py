# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
"""A read of the target that faults is counted under its own reason, apart
from a NULL read (tests/e2e/workloads/faults.py): the samples carry a marker,
the summary names the cause, and the target is unharmed."""
import re

import pytest

from conftest import (Workload, needs_root, parse_folded, python_params,
                      run_pyprof)

SCRIPT = "faults.py"


def faulted(python, mode):
    """Profiles a faults.py MODE process while its state is bad; returns the
    folded stacks and pyprof-bpf's stderr."""
    with Workload(python, SCRIPT, mode, "2.5") as w:
        r = run_pyprof("-p", w.pid, "-F", "499", "-d", "1", "--folded")
        survived = w.readline().strip()
        w.proc.wait(timeout=30)
        assert survived == "survived" and w.proc.returncode == 0, \
            "the target did not survive its own corruption (test bug)"
    assert r.rc == 0, r.err
    stacks = parse_folded(r.out)
    assert sum(c for _, c in stacks) > 20, r.err
    return stacks, r.err


def share(stacks, pred):
    total = sum(c for _, c in stacks)
    return sum(c for f, c in stacks if pred(f)) / total


def count(err, what):
    m = re.search(re.escape(what) + r" (\d+)", err)
    return int(m.group(1)) if m else 0


@pytest.mark.parametrize("python", python_params())
def test_unreadable_current_frame(python):
    """The thread state is found, but its current-frame pointer faults: not
    "no frame" (a NULL), but "current frame unreadable"."""
    needs_root()
    stacks, err = faulted(python, "frame")
    assert share(stacks, lambda f: f[2:] == ["[unreadable frame]"]) > 0.9, stacks
    assert count(err, "current frame unreadable") > 20, err
    assert count(err, "no frame") == 0, err
    assert count(err, "no thread state") == 0, err


@pytest.mark.parametrize("python", python_params())
def test_unreadable_thread_list_link(python):
    """The thread list leads to memory that faults: not "no thread state"
    (the end of the list), but "thread list unreadable"."""
    needs_root()
    stacks, err = faulted(python, "list")
    assert share(stacks, lambda f: f[2:] == ["[interpreter not readable]"]) > 0.9, stacks
    assert count(err, "thread list unreadable") > 20, err
    assert count(err, "no thread state") == 0, err
