# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
"""The code the kernel runs for pyprof-bpf's BPF programs (issue 17).

Every bpf_loop of a walk must be inlined by the verifier: a loop of direct
calls of its callback.  Where clang turns two bpf_loop calls into one whose
callback is chosen at run time (it did, for the two kinds of frame loop,
bpf/pystack.bpf.h), the verifier cannot inline it, and each frame then
costs an indirect call through the helper: 3.8-3.13 at 32 frames went from
1.1-1.6 to 1.4-1.9 us a sample (scripts/bpfcost, interleaved).  Nothing
else shows it: the profile is the same."""
import os
import re
import signal
import subprocess

import pytest

from conftest import needs_root, start_pyprof

BPFTOOL = "/usr/sbin/bpftool"
PYTHON = "/usr/bin/python3.11"
# bpf_loop is inlined from Linux 5.19.
INLINED_FROM = (5, 19)


@pytest.fixture(autouse=True)
def root():
    needs_root()
    if not os.access(BPFTOOL, os.X_OK):
        pytest.fail(f"{BPFTOOL} is missing: run make deps")
    release = os.uname().release
    m = re.match(r"(\d+)\.(\d+)", release)
    if not m or (int(m[1]), int(m[2])) < INLINED_FROM:
        pytest.skip(f"kernel {release} does not inline bpf_loop "
                    "(Linux 5.19+ does)")


def prog_ids(pid):
    """The ids of the BPF programs process pid holds open."""
    ids = []
    fd_dir = f"/proc/{pid}/fdinfo"
    for fd in os.listdir(fd_dir):
        try:
            with open(os.path.join(fd_dir, fd)) as f:
                info = f.read()
        except OSError:
            continue
        m = re.search(r"^prog_id:\s*(\d+)", info, re.M)
        if m:
            ids.append(int(m[1]))
    return ids


def xlated(prog_id):
    """The program as the verifier left it: (name, text)."""
    show = subprocess.run([BPFTOOL, "prog", "show", "id", str(prog_id)],
                          capture_output=True, text=True, check=True)
    name = re.search(r"name (\S+)", show.stdout)
    dump = subprocess.run([BPFTOOL, "prog", "dump", "xlated", "id",
                           str(prog_id)],
                          capture_output=True, text=True, check=True)
    return (name[1] if name else str(prog_id)), dump.stdout


@pytest.mark.parametrize("mode", [[], ["--mode", "wall"]],
                         ids=["cpu", "wall"])
def test_every_walk_loop_is_inlined(mode):
    """The programs are the same whatever the target's version: both
    frame loops are in each, the target's config picks one."""
    if not os.access(PYTHON, os.X_OK):
        pytest.skip(f"{PYTHON} is not installed")
    target = subprocess.Popen(
        [PYTHON, "-c", "import time\nprint('ready', flush=True)\n"
         "while True: time.sleep(0.001)"],
        stdout=subprocess.PIPE, text=True)
    try:
        assert target.stdout.readline().strip() == "ready"
        p = start_pyprof("-p", target.pid, *mode, "-o", os.devnull)
        try:
            ids = prog_ids(p.pid)
            progs = dict(xlated(i) for i in ids)
        finally:
            p.send_signal(signal.SIGINT)
            p.communicate(timeout=60)
    finally:
        target.kill()
        target.wait()
    assert "sample" in progs, f"no sampler among {sorted(progs)}"
    if mode:
        assert "on_switch" in progs, f"no sched_switch program in {sorted(progs)}"
    for name, text in progs.items():
        calls = re.findall(r"call bpf_loop#", text)
        assert not calls, (f"{name}: {len(calls)} bpf_loop call(s) not "
                           "inlined by the verifier (one callback per call "
                           "site: see walk_frame_objects in "
                           "bpf/pystack.bpf.h)")
    # Each frame loop is there, its callback called directly.
    for fn in ("walk_frame_objects", "walk_interp_frames",
               "walk_frame_object", "walk_interp_frame"):
        assert re.search(r"call pc[+-]\d+#\S*_" + fn + r"$",
                         progs["sample"], re.M), f"sample does not call {fn}"
