# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
"""Runs each C unit test (tests/unit/*.c, built into build/unit_tests) as its
own pytest case, so a failure names the test and a SKIP carries its reason.
PYPROF_UNIT names another build of it (`make test SAN=1` sets it to
build-san/unit_tests)."""
import os
import subprocess

import pytest

from conftest import DEBIAN_ROOT

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
UNIT = os.environ.get("PYPROF_UNIT") or os.path.join(ROOT, "build", "unit_tests")


def _names():
    if not os.path.exists(UNIT):
        return []
    out = subprocess.run([UNIT, "--list"], capture_output=True, text=True, check=True)
    return out.stdout.split()


def test_unit_binary_built():
    assert os.path.exists(UNIT), f"{UNIT} is missing: run `make` first"


# unit_tests NAME exits 0 passed, 1 failed, 77 skipped (tests/unit/main.c).
UNIT_SKIPPED = 77


@pytest.mark.parametrize("name", _names())
def test_unit(name):
    # The tests of Debian unstable's interpreters find them there.
    env = dict(os.environ, PYPROF_DEBIAN_ROOT=DEBIAN_ROOT)
    r = subprocess.run([UNIT, name], capture_output=True, text=True,
                       timeout=120, env=env)
    # The exit status decides: a test that failed a check and then asked to
    # be skipped (or the other way round) has failed.
    if r.returncode == UNIT_SKIPPED:
        reasons = [l[5:] for l in r.stdout.splitlines() if l.startswith("SKIP ")]
        assert len(reasons) == 1, f"unit test {name} skipped without one " \
            f"reason:\n{r.stderr}{r.stdout}"
        pytest.skip(reasons[0])
    assert r.returncode == 0, f"unit test {name} failed:\n{r.stderr}{r.stdout}"
