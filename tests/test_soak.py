# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
"""The 60-second version of scripts/soak: `pyprof-bpf -a` while threads and
processes of every installed CPython come and go (thread-id reuse, fork,
exec of a non-Python program, exec of Python again).  No crash, RSS flat
after warm-up, every sample taken written or counted lost."""
import os
import subprocess

from conftest import ROOT, needs_root


def test_soak_60_seconds():
    needs_root()
    p = subprocess.run([os.path.join(ROOT, "scripts", "soak"), "--duration",
                        "60"], capture_output=True, text=True, timeout=400)
    report = p.stdout.splitlines()
    assert p.returncode == 0, p.stdout + p.stderr
    passed = [l for l in report if l.startswith("soak: PASS: ")]
    assert len(passed) == 4, p.stdout
