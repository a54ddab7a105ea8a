# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
"""`pyprof-bpf diff` end to end: a benchmark profiled before and after one
function became 30% more expensive fails the gate and names the function;
two profiles of the unchanged benchmark pass at the default threshold; the
differential flame graph and folded file; malformed input."""
import os
import re
import shutil
import subprocess

import pytest

from conftest import (PYTHONS, WORKLOADS, needs_root, parse_folded, py_frame,
                      run_pyprof)

SCRIPT = os.path.join(WORKLOADS, "regress.py")
SECONDS = 2.5  # of CPU time per run


def interpreter():
    """One CPython to run the benchmark with: 3.12 if present."""
    for want in ("3.12", "3.11", "3.13", "3.10", "debian-3.11", "3.9", "3.8"):
        for name, path in PYTHONS:
            if name == want and os.access(path, os.X_OK):
                return path
    pytest.skip("no CPython of tests/conftest.py's PYTHONS is installed")


@pytest.fixture(scope="module")
def profiles(tmp_path_factory):
    """base1 and base2: the unchanged benchmark; head: slowed() does 30%
    more work."""
    needs_root()
    python = interpreter()
    d = tmp_path_factory.mktemp("diff")
    out = {}
    for name, slowdown in (("base1", 1.0), ("base2", 1.0), ("head", 1.3)):
        path = d / f"{name}.folded"
        r = run_pyprof("-F", 999, "-o", path, "--", python, SCRIPT,
                       SECONDS, slowdown)
        assert r.rc == 0, r.err
        stacks = parse_folded(path.read_text())
        assert sum(c for _, c in stacks) > 0, r.err
        out[name] = path
    out["dir"] = d
    return out


def diff(*args):
    return run_pyprof("diff", *args)


def verdict(out):
    return out.rstrip("\n").splitlines()[-1]


def label(func):
    return f"{func} ({SCRIPT})"


def test_slowdown_is_caught(profiles):
    svg = profiles["dir"] / "diff.svg"
    r = diff(profiles["base1"], profiles["head"], "--fail-above", "10%",
             "-o", svg)
    assert r.rc == 1, r.out + r.err
    assert r.err == ""
    line = verdict(r.out)
    m = re.fullmatch(r"pyprof-bpf diff: FAIL: 1 function above \+10%: "
                     r"(.+) \+(\d+\.\d)%", line)
    assert m, line
    assert m.group(1) == label("slowed"), line
    # 25% -> 30.2% of the CPU is +21% in theory; sampled, well above 10%.
    assert float(m.group(2)) > 10, line
    rows = [l for l in r.out.splitlines() if l.endswith(label("slowed"))]
    assert len(rows) == 1 and " FAIL " in rows[0], r.out
    # steady() shrank: it is listed, and does not fail.
    rows = [l for l in r.out.splitlines() if l.endswith(label("steady"))]
    assert len(rows) == 1 and "FAIL" not in rows[0], r.out
    assert re.search(r"^with [\d,]+ and [\d,]+ samples, changes below "
                     r"\+-\d+\.\d points \(at a 10% share", r.out, re.M), r.out

    # The differential flame graph: well-formed, slowed() red, steady()
    # blue.
    if not shutil.which("xmllint"):
        pytest.skip("xmllint is missing: make deps installs libxml2-utils")
    x = subprocess.run(["xmllint", "--noout", str(svg)], capture_output=True,
                       text=True)
    assert x.returncode == 0, x.stderr
    text = svg.read_text()
    fills = {}
    for g in re.finditer(r'<g class="f"[^>]*><title>([^&]+)&#10;head.*?'
                         r'fill="rgb\((\d+),(\d+),(\d+)\)"', text):
        frame = py_frame(g.group(1).replace("&lt;", "<").replace("&gt;", ">"))
        if frame and frame[0] in ("slowed", "steady"):
            fills.setdefault(frame[0], []).append(
                tuple(int(v) for v in g.groups()[1:]))
    assert fills.get("slowed") and fills.get("steady"), fills
    # Each function's loop line (the reddest / bluest of its boxes) holds
    # nearly all its samples.
    red = min(fills["slowed"], key=lambda c: c[1])
    blue = min(fills["steady"], key=lambda c: c[0])
    assert red[0] == 255 and red[1] == red[2] and red[1] < 200, fills
    assert blue[2] == 255 and blue[0] == blue[1] and blue[0] < 200, fills


def test_unchanged_does_not_fail_at_the_default(profiles):
    for args in ((), ("--fail-above", "10%")):
        r = diff(profiles["base1"], profiles["base2"], *args)
        assert r.rc == 0, r.out + r.err
        assert verdict(r.out).startswith(
            "pyprof-bpf diff: OK: no function grew more than 10%; "
            "largest: "), r.out


def test_differential_folded(profiles):
    out = profiles["dir"] / "diff.folded"
    r = diff(profiles["base1"], profiles["head"], "-o", out, "--top", "0")
    assert r.rc == 1, r.out + r.err
    assert "function\n" not in r.out  # --top 0: no table
    sums = [0, 0]
    for name, i in (("base1", 0), ("head", 1)):
        sums[i] = sum(c for _, c in parse_folded(profiles[name].read_text()))
    got = [0, 0]
    lines = out.read_text().splitlines()
    assert lines == sorted(lines, key=lambda s: s.rsplit(" ", 2)[0].encode())
    for line in lines:
        m = re.fullmatch(r"([^ ].*) (\d+) (\d+)", line)
        assert m, line
        # Two runs have two pids: the process frame is the name alone.
        assert m.group(1).split(";")[0] == "python3", line
        got[0] += int(m.group(2))
        got[1] += int(m.group(3))
    assert got == sums


def test_malformed_input_names_the_line(tmp_path):
    good = tmp_path / "good.folded"
    bad = tmp_path / "bad.folded"
    good.write_text("p-1;MainThread;f (a.py:1) 10\n")
    bad.write_text("p-1;MainThread;f (a.py:1) 10\np-1;MainThread;g (a.py:2) x\n")
    r = diff(good, bad, "-o", tmp_path / "d.svg")
    assert r.rc == 2
    assert r.err == (f'pyprof-bpf diff: {bad}:2: the count "x" is not a '
                     f'whole number\n')
    assert r.out == ""
    assert sorted(os.listdir(tmp_path)) == ["bad.folded", "good.folded"]
    r = diff(good, tmp_path / "missing.folded")
    assert r.rc == 2
    assert "cannot read" in r.err and "No such file" in r.err
    empty = tmp_path / "empty.folded"
    empty.write_text("")
    r = diff(empty, good)
    assert r.rc == 2
    assert f"{empty} holds no samples" in r.err
    r = diff(good, good, "-o", tmp_path / "d.pb.gz")
    assert r.rc == 2 and "diff writes FILE.svg" in r.err


def test_help():
    r = diff("--help")
    assert r.rc == 0
    assert "pyprof-bpf diff base.folded head.folded --fail-above 10% -o " \
           "diff.svg" in r.out
    assert "Exit status: 0" in r.out
    r = run_pyprof("--help")
    assert "  diff BASE HEAD " in r.out
