# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
"""The pstats format (-o FILE.pstats, .prof), read by Python's own pstats on
every CPython present: the golden files of tests/unit/test_out_pstats.c (the
fixed profile, and tests/fixtures/calls.folded with known callers and
recursion), live profiles of shape.py on each interpreter, and the hot
function's own time against its samples.  Debian unstable's 3.14 and 3.15
are among them (run in the root `make deps` makes, scripts/debian-root)."""
import json
import os
import shutil
import subprocess

import pytest

from conftest import (ROOT, PYTHONS, WORKLOADS, marker_line, needs_root,
                      parse_folded, py_frame, python_params, run_pyprof)

GOLDEN = os.path.join(ROOT, "tests", "fixtures", "golden")
CALLS = os.path.join(ROOT, "tests", "fixtures", "calls.folded")
SHAPE = os.path.join(WORKLOADS, "shape.py")
HOT = marker_line("shape.py", "HOT_LINE")

# Loads a pstats file, prints sort_stats("cumulative").print_stats() and the
# callers to stderr, and the stats as JSON on stdout.  Runs on 3.8+.
LOADER = r'''
import json, pstats, sys
s = pstats.Stats(sys.argv[1], stream=sys.stderr)
s.sort_stats("cumulative").print_stats()
s.print_callers()
key = lambda f: "%s|%d|%s" % f
print(json.dumps({key(f): [cc, nc, tt, ct, {key(c): list(v) for c, v in callers.items()}]
                  for f, (cc, nc, tt, ct, callers) in s.stats.items()}))
'''


def load(python, path):
    """(stats, printed text) of pstats file path in python."""
    r = subprocess.run([python, "-c", LOADER, str(path)], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout), r.stderr


def check_calls(stats, text):
    """tests/fixtures/calls.folded at 100 Hz: own and cumulative time,
    callers, and r's recursion counted once."""
    def close(a, b):
        return abs(a - b) < 1e-12
    main, a, b, r = ("app.py|10|main", "app.py|20|a", "app.py|30|b",
                     "app.py|40|r")
    assert sorted(stats) == sorted([main, a, b, r, "app.py|13|<module>"])
    # cc and nc are samples; tt/ct samples / 100.
    want = {main: (28, 28, 0.0, 0.28), a: (13, 13, 0.03, 0.13),
            b: (19, 19, 0.19, 0.19), r: (10, 26, 0.06, 0.10),
            "app.py|13|<module>": (2, 2, 0.02, 0.02)}
    for f, (cc, nc, tt, ct) in want.items():
        got = stats[f]
        assert got[:2] == [cc, nc] and close(got[2], tt) and \
            close(got[3], ct), (f, got)
    # Callers: who called, how often (samples), the time in those calls.
    assert stats[main][4] == {} and stats["app.py|13|<module>"][4] == {}
    assert stats[a][4] == {main: [13, 13, 0.03, 0.13]}
    assert {k: v[:2] for k, v in stats[b][4].items()} == \
        {main: [5, 5], a: [10, 10], r: [4, 4]}
    assert close(sum(v[2] for v in stats[b][4].values()), stats[b][2])
    # r: called by main in 10 samples; by itself 16 times in them, none
    # a primitive call, and those calls' cumulative time counted once.
    assert stats[r][4][main] == [10, 10, 0.0, 0.1]
    nc, cc, tt, ct = stats[r][4][r]
    assert (nc, cc) == (16, 0) and close(tt, 0.06) and close(ct, 0.10)
    # A function's callers' primitive calls add up to its own.
    for f in (a, b, r):
        assert sum(v[1] for v in stats[f][4].values()) == stats[f][0], f
    assert "88 function calls (72 primitive calls) in 0.300 seconds" in text
    assert "Ordered by: cumulative time" in text
    lines = [l.split() for l in text.splitlines() if "app.py:" in l]
    assert lines[0][-1] == "app.py:10(main)"  # the most cumulative first
    assert ["26/10", "0.060", "0.002", "0.100", "0.010", "app.py:40(r)"] in lines


def check_basic(stats, text):
    """The fixed profile of tests/unit/fixture.c at 99 Hz: a count above
    2^32, names that need escaping elsewhere, markers as built-ins."""
    mod = stats["app.py|40|<module>"]
    assert mod[:2] == [4294967437, 4294967437]
    assert abs(mod[2] - 4294967296 / 99) < 1e-3
    assert stats["日本語.py|7|héllo"][:2] == [21, 21]
    # Two functions that folded stacks would print alike stay apart.
    assert stats["z.py|9|g;h"][0] == 107 and stats["z.py|9|g:h"][0] == 8
    assert stats["semi;colon.py|1|x"][0] == 2
    assert stats["~|0|[truncated]"][0] == 6
    assert stats["x.py|3|bad?name?with?del"][0] == 3
    assert stats["日本語.py|7|héllo"][4] == {
        "app.py|40|<module>": [21, 21, 21 / 99, 21 / 99]}
    assert "Ordered by: cumulative time" in text
    assert "[truncated]" in text  # a built-in's form: the name alone


GOLDENS = [("calls.pstats", check_calls), ("basic.pstats", check_basic)]


@pytest.mark.parametrize("python", python_params())
@pytest.mark.parametrize("name,check", GOLDENS, ids=[g[0] for g in GOLDENS])
def test_golden_loads_in_pstats(python, name, check):
    check(*load(python, os.path.join(GOLDEN, name)))


def test_convert_writes_the_golden_bytes(tmp_path):
    """convert is the writer: calls.folded at -F 100 is the golden file,
    by .pstats, .prof and --format pstats alike."""
    with open(os.path.join(GOLDEN, "calls.pstats"), "rb") as f:
        want = f.read()
    for name, extra in (("c.pstats", []), ("c.prof", []),
                        ("c.out", ["--format", "pstats"])):
        out = tmp_path / name
        r = run_pyprof("convert", CALLS, "-F", 100, "-o", out, *extra)
        assert r.rc == 0 and r.err == "", r.err
        assert out.read_bytes() == want, name
    # Without -F: 99 Hz, said once.
    out = tmp_path / "d.pstats"
    r = run_pyprof("convert", CALLS, "-o", out)
    assert r.rc == 0, r.err
    assert r.err == ("pyprof-bpf convert: no -F given: pstats times are "
                     "samples / 99 Hz, pyprof-bpf's default; give -F HZ "
                     "for stacks sampled at another rate\n")
    python = shutil.which("python3")
    stats, _ = load(python, out)
    assert abs(stats["app.py|30|b"][2] - 19 / 99) < 1e-12


# --- live ----------------------------------------------------------------

def started(python):
    p = subprocess.Popen([python, SHAPE], stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "ready"
    return p


def stop(p):
    p.kill()
    p.wait()
    p.stdout.close()


@pytest.mark.parametrize("python", python_params())
def test_live_pstats_on_each_python(tmp_path, python):
    """-o FILE.pstats on a live shape.py: functions keyed by their def line
    (co_firstlineno), times in whole samples of 1/F, hot three times cold,
    hot called by main; the file loads in the interpreter profiled."""
    needs_root()
    out = tmp_path / "live.pstats"
    p = started(python)
    try:
        r = run_pyprof("-p", p.pid, "-d", 2, "-F", 499, "-o", out)
    finally:
        stop(p)
    assert r.rc == 0, r.err
    stats, text = load(python, out)
    hot, cold, main = (f"{SHAPE}|{HOT - 2}|hot",
                       f"{SHAPE}|{marker_line('shape.py', 'COLD_LINE') - 2}|cold",
                       f"{SHAPE}|{marker_line('shape.py', 'MAIN_DEF')}|main")
    assert {hot, cold, main} <= set(stats), sorted(stats)
    for f, (cc, nc, tt, ct, callers) in stats.items():
        assert abs(tt * 499 - round(tt * 499)) < 1e-6, (f, tt)
        assert abs(ct * 499 - cc) < 1e-6, (f, ct, cc)  # both: on the stack
    share = stats[hot][2] / (stats[hot][2] + stats[cold][2])
    assert 0.6 < share < 0.9, share
    assert list(stats[hot][4]) == [main]
    assert "Ordered by: cumulative time" in text and "(hot)" in text


def test_live_hot_tt_is_its_own_samples_over_f(tmp_path):
    """The same run, folded and then pstats: hot's tt is exactly its own
    samples / F, main's ct its samples / F."""
    needs_root()
    python = next((p for _, p in PYTHONS if os.access(p, os.X_OK)), None)
    if not python:
        pytest.skip("no CPython from tests/conftest.py is installed")
    folded = tmp_path / "live.folded"
    p = started(python)
    try:
        r = run_pyprof("-p", p.pid, "-d", 2, "-F", 499, "-o", folded)
    finally:
        stop(p)
    assert r.rc == 0, r.err
    own = {"hot": 0, "main": 0}
    for frames, n in parse_folded(folded.read_text(encoding="utf-8")):
        pf = [py_frame(f) for f in frames[2:]]
        if pf and pf[-1] and pf[-1][0] == "hot":
            own["hot"] += n
        if any(x and x[0] == "main" for x in pf):
            own["main"] += n
    assert own["hot"] > 0
    out = tmp_path / "live.pstats"
    r = run_pyprof("convert", folded, "-F", 499, "-o", out)
    assert r.rc == 0 and r.err == "", r.err
    stats, _ = load(python, out)
    hot = [v for k, v in stats.items() if k.endswith("|hot")]
    main = [v for k, v in stats.items() if k.endswith("|main")]
    assert len(hot) == 1 and len(main) == 1, sorted(stats)
    assert hot[0][2] == own["hot"] / 499
    assert main[0][3] == own["main"] / 499
