# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
"""--focus, --ignore and --hide (issue 21), pprof's filters, in convert,
view and diff on a fixed folded fixture (tests/fixtures/filters/*.folded),
each with the exact expected output; in a live run; and `/` in the live
view's table (the same view as `view`), driven in a tmux pane.

The meanings are pprof's: --focus keeps the stacks with a frame that
matches, --ignore drops them, --hide removes the matching frames; a frame
matches on its label as folded stacks show it.  Percentages stay shares of
every sample, those left out too, as pprof's do."""
import os
import re
import shutil
import subprocess
import tempfile
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PYPROF = os.path.join(ROOT, "pyprof-bpf")
FIX = os.path.join(ROOT, "tests", "fixtures", "filters")
APP = os.path.join(FIX, "app.folded")
HEAD = os.path.join(FIX, "head.folded")
SHAPE = os.path.join(ROOT, "tests", "e2e", "workloads", "shape.py")
TMUX = shutil.which("tmux")

M = "python3-42;MainThread;<module> (/srv/app.py:30);main (/srv/app.py:25)"
W = ("python3-42;worker-1;Thread._bootstrap "
     "(/usr/lib/python3.11/threading.py:995);Thread.run "
     "(/usr/lib/python3.11/threading.py:975)")


def run(*args, stdin=None):
    if not os.access(PYPROF, os.X_OK):
        pytest.fail("./pyprof-bpf is not built: run make")
    return subprocess.run([PYPROF, *map(str, args)], capture_output=True,
                          text=True, timeout=60, stdin=stdin)


CONVERT = [
    (["--focus", "parse"],
     f"{M};handle (/srv/app.py:14);parse (/srv/lib/parse.py:8) 50\n"
     f"{W};work (/srv/app.py:50);parse (/srv/lib/parse.py:9) 15\n"),
    (["--ignore", "off-cpu"],
     f"{M};handle (/srv/app.py:12);json.dumps "
     "(/usr/lib/python3.11/json/__init__.py:231);encode "
     "(/usr/lib/python3.11/json/encoder.py:199) 30\n"
     f"{M};handle (/srv/app.py:12);json.loads "
     "(/usr/lib/python3.11/json/__init__.py:346) 10\n"
     f"{M};handle (/srv/app.py:14);parse (/srv/lib/parse.py:8) 50\n"
     f"{W};work (/srv/app.py:50);parse (/srv/lib/parse.py:9) 15\n"
     f"{W};work (/srv/app.py:52);re.compile "
     "(/usr/lib/python3.11/re/__init__.py:227) 5\n"),
    # The standard library hidden: two stacks become one (30 + 10).
    (["--hide", "/usr/lib/python3"],
     f"{M};handle (/srv/app.py:12) 40\n"
     f"{M};handle (/srv/app.py:14);parse (/srv/lib/parse.py:8) 50\n"
     "python3-42;MainThread;<module> (/srv/app.py:30);main "
     "(/srv/app.py:26);sleep_a_bit (/srv/app.py:40);[off-cpu: sleep] 20\n"
     "python3-42;worker-1;work (/srv/app.py:50);parse "
     "(/srv/lib/parse.py:9) 15\n"
     "python3-42;worker-1;work (/srv/app.py:52) 5\n"),
    # --focus looks at the stack before --hide removes its frames.
    (["--focus", "json", "--hide", "/usr/lib/python3"],
     f"{M};handle (/srv/app.py:12) 40\n"),
    # Thread frames match too.
    (["--focus", "parse", "--ignore", "^worker-1$"],
     f"{M};handle (/srv/app.py:14);parse (/srv/lib/parse.py:8) 50\n"),
    # Anchored on the whole label: "name (file:line)".
    (["--focus", r"^parse \(/srv/lib/parse\.py:9\)$"],
     f"{W};work (/srv/app.py:50);parse (/srv/lib/parse.py:9) 15\n"),
]


@pytest.mark.parametrize("args,want", CONVERT,
                         ids=[" ".join(a) for a, _ in CONVERT])
def test_convert_filters_exact(args, want):
    r = run("convert", APP, *args, "-o", "-", "--format", "folded")
    assert r.returncode == 0 and r.stderr == "", r.stderr
    assert r.stdout == want


def test_convert_filter_to_a_file_and_nothing_left(tmp_path):
    out = tmp_path / "x.svg"
    r = run("convert", APP, "--focus", "parse", "-o", out)
    assert r.returncode == 0 and out.read_text().startswith("<?xml")
    r = run("convert", APP, "--hide", ".", "-o", "-", "--format", "folded")
    assert r.returncode == 0 and r.stdout == ""


VIEW_FOCUS = """\
pyprof-bpf: app.folded, 65 samples (and 65 left out by the filters), 2 threads
  OWN%  TOTAL%      OWN    TOTAL  FUNCTION (FILE)
 50.0%   50.0%       65       65  parse (/srv/lib/parse.py)
  0.0%   38.5%        0       50  <module> (/srv/app.py)
  0.0%   38.5%        0       50  handle (/srv/app.py)
  0.0%   38.5%        0       50  main (/srv/app.py)
  0.0%   11.5%        0       15  Thread._bootstrap (/usr/lib/python3.11/threading.py)
  0.0%   11.5%        0       15  Thread.run (/usr/lib/python3.11/threading.py)
  0.0%   11.5%        0       15  work (/srv/app.py)

"""

VIEW_HIDE = """\
pyprof-bpf: app.folded, 110 samples (and 20 left out by the filters), 2 threads
  OWN%  TOTAL%      OWN    TOTAL  FUNCTION (FILE)
 50.0%   50.0%       65       65  parse (/srv/lib/parse.py)
 30.8%   69.2%       40       90  handle (/srv/app.py)
  3.8%   15.4%        5       20  work (/srv/app.py)
  0.0%   69.2%        0       90  <module> (/srv/app.py)
  0.0%   69.2%        0       90  main (/srv/app.py)

"""


def test_view_filters_exact():
    """The table as text: shares of all 130 samples, as pprof's."""
    r = subprocess.run([PYPROF, "view", "app.folded", "--focus", "parse"],
                       capture_output=True, text=True, cwd=FIX, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout == VIEW_FOCUS
    r = subprocess.run([PYPROF, "view", "app.folded", "--hide",
                        "/usr/lib/python3", "--ignore", "off-cpu"],
                       capture_output=True, text=True, cwd=FIX, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout == VIEW_HIDE


DIFF_FOCUS = """\
       own %                  total %
   base    head  change    base    head  change   noise    rel.  function
    0.0     0.0    +0.0    38.5    50.6   +12.2    11.5  +31.6% FAIL <module> (/srv/app.py)
    0.0     0.0    +0.0    38.5    50.6   +12.2    11.5  +31.6% FAIL handle (/srv/app.py)
    0.0     0.0    +0.0    38.5    50.6   +12.2    11.5  +31.6% FAIL main (/srv/app.py)
   50.0    60.1   +10.1    50.0    60.1   +10.1    11.5  +20.3% ~    parse (/srv/lib/parse.py)
    0.0     0.0    +0.0    11.5     9.5    -2.0     7.1  -17.7% ~    work (/srv/app.py)
"""


def test_diff_filters_exact():
    """Both profiles through the filters; shares of every sample, so that
    parse's figures are the same with and without --focus."""
    r = subprocess.run([PYPROF, "diff", "app.folded", "head.folded",
                        "--min-samples", "10", "--focus", "parse", "--hide",
                        "/usr/lib"], capture_output=True, text=True, cwd=FIX,
                       timeout=60)
    assert r.returncode == 1, r.stderr
    table = r.stdout.split("\n\n", 1)[1]
    assert table.startswith(DIFF_FOCUS), table
    assert r.stdout.startswith("base app.folded: 130 samples; head "
                               "head.folded: 158 samples\n")
    assert r.stdout.strip().endswith(
        "FAIL: 3 functions above +10%: <module> (/srv/app.py) +31.6%, "
        "handle (/srv/app.py) +31.6%, main (/srv/app.py) +31.6%")
    plain = run("diff", APP, HEAD, "--min-samples", "10")
    assert plain.returncode == 0
    row = [l for l in plain.stdout.splitlines()
           if l.endswith("parse (/srv/lib/parse.py)")]
    assert row == ["   50.0    60.1   +10.1    50.0    60.1   +10.1    11.5"
                   "  +20.3% ~    parse (/srv/lib/parse.py)"], row


@pytest.mark.parametrize("cmd", [["convert", APP, "-o", "x.folded"],
                                 ["view", APP], ["diff", APP, HEAD]])
def test_filter_usage_errors(cmd):
    r = run(*cmd, "--focus", "a(")
    assert r.returncode == 2
    assert "invalid --focus 'a(':" in r.stderr and "POSIX extended" in \
        r.stderr, r.stderr
    r = run(*cmd, "--hide", "a", "--hide", "b")
    assert r.returncode == 2
    assert "--hide given twice: join the expressions with '|'" in r.stderr


def test_nothing_left_is_said():
    r = run("view", APP, "--focus", "no such frame")
    assert r.returncode == 1
    assert "no sample of" in r.stderr and "is left after --focus" in r.stderr
    r = run("diff", APP, HEAD, "--ignore", ".")
    assert r.returncode == 2 and "is left after --focus" in r.stderr


def test_record_filters_live(tmp_path):
    """A live run: every stack kept has the focused frame, none has a
    hidden one, and the summary counts the samples left out."""
    if os.geteuid() != 0:
        pytest.skip("profiling needs root (BPF and perf events)")
    py = "/root/.pyenv/versions/3.12.1/bin/python3"
    if not os.access(py, os.X_OK):
        pytest.skip(f"{py} is not installed")
    out = tmp_path / "f.folded"
    w = subprocess.Popen([py, SHAPE], stdout=subprocess.PIPE, text=True)
    try:
        assert w.stdout.readline().strip() == "ready"
        r = run("-p", w.pid, "-F", "499", "-d", "1.5", "-o", out,
                "--focus", r"^hot ", "--hide", r"^main ")
    finally:
        w.kill()
        w.wait()
        w.stdout.close()
    assert r.returncode == 0, r.stderr
    lines = out.read_text().splitlines()
    assert lines
    for line in lines:
        stack = line.rsplit(" ", 1)[0].split(";")
        assert any(f.startswith("hot (") for f in stack), line
        assert not any(f.startswith("main (") for f in stack), line
    assert "left out by the filters" in r.stderr, r.stderr
    left = int(r.stderr.split(" left out by the filters")[0].rsplit(" ", 1)[1])
    assert left > 0  # cold()'s samples


# --- `/` in the view's table, in a tmux pane ---------------------------------

class Pane:
    """A shell in a private tmux server's pane, 100x30, UTF-8."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="pyprof-tmux-")
        self.sock = os.path.join(self.dir, "sock")
        env = (f"env -i PATH={os.environ.get('PATH', '/usr/bin:/bin')} "
               "TERM=screen LANG=C.UTF-8 PS1='$ ' sh")
        self.tmux("-f", "/dev/null", "new-session", "-d", "-x", "100", "-y",
                  "30", "-s", "t", "-c", FIX, env, ";", "set-option", "-g",
                  "status", "off")

    def tmux(self, *args):
        r = subprocess.run([TMUX, "-S", self.sock, *args],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, r.stderr
        return r.stdout

    def keys(self, *keys, literal=False):
        self.tmux("send-keys", "-t", "t", *(["-l"] if literal else []), *keys)

    def screen(self):
        return self.tmux("capture-pane", "-p", "-t", "t").split("\n")

    def wait_for(self, pred, what, timeout=20):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            s = self.screen()
            if pred(s):
                return s
            time.sleep(0.1)
        raise AssertionError(f"no {what} on screen:\n" + "\n".join(
            self.screen()))

    def close(self):
        subprocess.run([TMUX, "-S", self.sock, "kill-server"],
                       capture_output=True, timeout=30)
        shutil.rmtree(self.dir, ignore_errors=True)


ROW = re.compile(r"^ *\d+\.\d% +\d+\.\d% ")


def rows(screen):
    return [l for l in screen if ROW.match(l)]


@pytest.mark.skipif(TMUX is None, reason="tmux is not installed (make deps)")
def test_slash_filters_the_rows():
    """`/`, a text, Enter: only the rows whose label holds it (any case);
    c: all again; in the call tree, the way to each match."""
    p = Pane()
    try:
        p.keys(f"{PYPROF} view app.folded", "Enter")
        s = p.wait_for(lambda s: any("FUNCTION" in l for l in s), "the view")
        assert len(rows(s)) == 13
        p.keys("/")
        p.wait_for(lambda s: any(l.startswith("/_") for l in s), "a prompt")
        p.keys("PARSE", literal=True)
        p.wait_for(lambda s: any(l.startswith("/PARSE_") for l in s),
                   "the text typed")
        p.keys("Enter")
        s = p.wait_for(lambda s: len(rows(s)) == 1, "one row")
        assert "parse (/srv/lib/parse.py)" in rows(s)[0]
        assert rows(s)[0].lstrip().startswith("50.0%")
        assert any("| /PARSE (c: clear)" in l for l in s), s
        # A file matches too: everything under /usr/lib.
        p.keys("/")
        p.keys("BSpace", "BSpace", "BSpace", "BSpace", "BSpace")
        p.keys("json/", literal=True)
        p.keys("Enter")
        s = p.wait_for(lambda s: len(rows(s)) == 3, "the json rows")
        assert all("/json/" in l for l in rows(s)), rows(s)
        # The tree: the way to the matches, open.
        p.keys("\\")
        s = p.wait_for(lambda s: any("encode" in l for l in s) and
                       any("call tree" in l for l in s), "the tree")
        labels = [l.split("  ")[-1].strip() for l in rows(s)]
        assert not any(l.startswith("parse") for l in labels), labels
        assert any("handle" in l for l in labels), labels
        # Esc while typing changes nothing; c shows every row again.
        p.keys("\\")
        p.keys("/")
        p.keys("x", literal=True)
        p.keys("Escape")
        s = p.wait_for(lambda s: len(rows(s)) == 3, "the same rows")
        p.keys("c")
        s = p.wait_for(lambda s: len(rows(s)) == 13, "every row")
        p.keys("q")
    finally:
        p.close()
