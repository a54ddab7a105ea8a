# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
"""The BPF maps' kernel memory (issue 17, item 3): sized from -F,
--interval, the targets and --max-depth, at most 16 MiB by default, said
by -v; a map that fills is named in the summary with the option that
raises it."""
import os
import re
import signal
import subprocess
import time

import pytest

from conftest import own_autogroup, start_pyprof, wait_cpu

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PYPROF = os.path.join(ROOT, "pyprof-bpf")
PYTHON = "/usr/bin/python3.11"
MAPS = re.compile(r"BPF maps.*; ([\d.]+) MiB of kernel memory in all")

# Deep stacks that differ at every level: every sample a new stack of
# about 90 segments, the stacks map's worst case.
DEEP_RANDOM = """\
import random, sys, time
sys.setrecursionlimit(20000)
def a(n, bits):
    if n:
        return (a if bits & 1 else b)(n - 1, bits >> 1 or random.getrandbits(64))
    return sum(range(300))
def b(n, bits):
    if n:
        return (a if bits & 1 else b)(n - 1, bits >> 1 or random.getrandbits(64))
    return sum(range(300))
print("ready", flush=True)
end = time.time() + float(sys.argv[1])
while time.time() < end:
    a(3000, random.getrandbits(64))
"""


@pytest.fixture(autouse=True)
def root():
    if os.geteuid() != 0:
        pytest.skip("needs root (BPF and perf events)")
    if not os.path.exists(PYPROF):
        pytest.fail("./pyprof-bpf is not built: run make")
    if not os.access(PYTHON, os.X_OK):
        pytest.skip(f"{PYTHON} is not installed")


def busy(code="while True: pass", *args, first=False):
    """A target; first: in an autogroup of its own at nice -20, so that
    other load on the machine does not starve it of the CPU time a test
    needs in each interval."""
    p = subprocess.Popen([PYTHON, "-c", code, *map(str, args)],
                         stdout=subprocess.PIPE, text=True,
                         start_new_session=first)
    if first:
        own_autogroup(p.pid)
    if "print(\"ready\"" in code:
        assert p.stdout.readline().strip() == "ready"
    else:
        time.sleep(0.2)
    return p


def run_for_cpu(target, cpu, *args):
    """Profiles target until it has used cpu more seconds of CPU time
    (however loaded the machine is), then ends the run with SIGINT."""
    p = start_pyprof(*args)
    wait_cpu(target, cpu)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=120)
    return p.returncode, out, err


def run(*args):
    p = subprocess.run([PYPROF, *map(str, args)], capture_output=True,
                       text=True, timeout=120)
    return p.returncode, p.stdout, p.stderr


@pytest.mark.parametrize("opts,limit", [
    ([], 16), (["-F", 999], 16), (["--mode", "wall"], 16),
    (["--native"], 16), (["--kernel"], 32)])
def test_maps_memory_is_said_and_bounded(opts, limit):
    """-v gives the maps' total (the kernel's memlock of each map, which
    RSS does not show): at most 16 MiB for one target at the default
    rate, at 999 Hz, in wall mode and with --native; --kernel adds two
    stack trace maps of 8192 buckets of 1 KiB."""
    t = busy()
    try:
        rc, _, err = run("-p", t.pid, "-d", 1, "-v", *opts)
    finally:
        t.kill()
        t.wait()
    assert rc == 0, err
    m = MAPS.search(err)
    assert m, err
    assert 0.5 < float(m[1]) <= limit, err


def test_full_map_is_named_with_the_option_that_raises_it():
    """Every sample a new 3000-frame stack: more segments in an interval
    than the stacks map holds.  The summary names the map, its size and
    --map-scale; with --map-scale the map is larger, and says so."""
    t = busy(DEEP_RANDOM, 600, first=True)
    try:
        rc, _, err = run_for_cpu(t.pid, 2, "-p", t.pid, "-F", 999,
                                 "--max-depth", 8192)
        rc2, _, err2 = run_for_cpu(t.pid, 2, "-p", t.pid, "-F", 999,
                                   "--max-depth", 8192, "--map-scale", 2)
    finally:
        t.kill()
        t.wait()
    assert rc == 0, err
    m = re.search(r"the stacks map was full: (\d+) samples lost; it holds "
                  r"(\d+) Python stack segments .*: rerun with "
                  r"--map-scale 1 to double it", err)
    assert m, err
    lost = int(re.search(r"(\d+) lost \(", err)[1])
    assert int(m[1]) > 0 and int(m[1]) <= lost, err
    assert rc2 == 0, err2
    m2 = re.search(r"it holds (\d+) Python stack segments", err2)
    # Full again, or not: either way four times the room.
    if m2:
        assert int(m2[1]) == 4 * int(m[2]), err2
