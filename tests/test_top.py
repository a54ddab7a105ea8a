# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
"""The terminal view, driven for real: pyprof-bpf runs in a tmux pane (a
shell in it runs the command, as a user would), keys go in with send-keys
and the screen comes back with capture-pane.  Expected figures are computed
here from the folded input, independently of the C code."""
import os
import re
import shutil
import subprocess
import tempfile
import time
import unicodedata

import pytest

from conftest import (PYPROF, ROOT, Workload, any_python, marker_line,
                      needs_root, one_line, parse_folded, py_frame,
                      run_pyprof)

FIXTURES = os.path.join(ROOT, "tests", "fixtures", "top")
APP = os.path.join(FIXTURES, "app.folded")
LONG = os.path.join(FIXTURES, "long.folded")
TMUX = shutil.which("tmux")
PROMPT = "PROMPT$ "
ROW = re.compile(r"^ *(\d+\.\d)% +(\d+\.\d)% +(\S+) +(\S+)  (.*)$")
TITLES = re.compile(r"^ +OWN% +TOTAL% +OWN +TOTAL +FUNCTION")

pytestmark = pytest.mark.skipif(TMUX is None,
                                reason="tmux is not installed (make deps)")


def columns(text):
    """Terminal columns text takes (East Asian wide characters take 2)."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1
               for c in text)


class Pane:
    """A shell in a detached tmux pane of a given size, on a private tmux
    server, with a known prompt and a UTF-8 locale."""

    def __init__(self, width=80, height=24):
        # A private server on a socket of our own, removed at close.
        self.dir = tempfile.mkdtemp(prefix="pyprof-tmux-")
        self.sock = os.path.join(self.dir, "sock")
        env = (f"env -i PATH={os.environ.get('PATH', '/usr/bin:/bin')} "
               f"TERM=screen LANG=C.UTF-8 PS1='{PROMPT}' sh")
        self.tmux("-f", "/dev/null", "new-session", "-d", "-x", str(width),
                  "-y", str(height), "-s", "t", "-c", ROOT, env, ";",
                  "set-option", "-g", "status", "off")
        try:
            self.wait_for(lambda s: any(l.startswith(PROMPT.rstrip())
                                        for l in s), "the shell prompt")
        except BaseException:
            self.close()
            raise

    def tmux(self, *args):
        r = subprocess.run([TMUX, "-S", self.sock, *args],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, f"tmux {args}: {r.stderr}"
        return r.stdout

    def run(self, command):
        self.tmux("send-keys", "-t", "t", "-l", command)
        self.tmux("send-keys", "-t", "t", "Enter")

    def keys(self, *keys):
        for k in keys:
            self.tmux("send-keys", "-t", "t", k)

    def screen(self, attrs=False):
        out = self.tmux("capture-pane", "-p", *(["-e"] if attrs else []),
                        "-t", "t")
        return out.split("\n")[:self.size()[1]]

    def size(self):
        w, h = self.tmux("display-message", "-p", "-t", "t",
                         "#{pane_width} #{pane_height}").split()
        return int(w), int(h)

    def alternate_on(self):
        return self.tmux("display-message", "-p", "-t", "t",
                         "#{alternate_on}").strip() == "1"

    def resize(self, width, height):
        self.tmux("resize-window", "-t", "t", "-x", str(width), "-y",
                  str(height))

    def wait_for(self, pred, what, timeout=20, attrs=False):
        """Polls the screen until pred(lines) holds on a screen that stays
        the same for a moment (not one caught halfway through a redraw,
        or before tmux's own reflow of a resize is drawn over); fails
        showing the screen.  attrs: lines with their escapes."""
        end = time.monotonic() + timeout
        last = None
        while True:
            s = self.screen(attrs)
            if s == last and pred(s):
                return s
            last = s
            if time.monotonic() > end:
                pytest.fail(f"waiting for {what}; the screen:\n" +
                            "\n".join(s))
            time.sleep(0.15)

    def close(self):
        subprocess.run([TMUX, "-S", self.sock, "kill-server"],
                       capture_output=True, timeout=30)
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def pane():
    panes = []

    def make(width=80, height=24):
        p = Pane(width, height)
        panes.append(p)
        return p

    yield make
    for p in panes:
        p.close()


def table(lines):
    """The table rows under the column titles: (own%, total%, own, total,
    label), the label as drawn (with the tree's indent and marker)."""
    start = next((i for i, l in enumerate(lines) if TITLES.match(l)), None)
    if start is None:
        return []
    rows = []
    for line in lines[start + 1:]:
        m = ROW.match(line)
        if not m:
            break
        rows.append((float(m.group(1)), float(m.group(2)), m.group(3),
                     m.group(4), m.group(5).rstrip()))
    return rows


SGR = re.compile(r"\x1b\[([0-9;]*)m")


def reverse_video(raw):
    """(text, reversed) of each line of a screen captured with its escapes
    (Pane.screen(attrs=True)): the text without escapes, and whether its
    first character is drawn in reverse video.  tmux writes an attribute
    only where it changes, so the state carries over from line to line."""
    out, rev = [], False
    for line in raw:
        text, first, pos = "", None, 0
        for m in [*SGR.finditer(line), None]:
            chunk = line[pos:m.start() if m else len(line)]
            if chunk and first is None:
                first = rev
            text += chunk
            if m is None:
                break
            for code in (m.group(1) or "0").split(";"):
                if code in ("", "0", "27"):
                    rev = False
                elif code == "7":
                    rev = True
            pos = m.end()
        out.append((text, bool(first)))
    return out


def selected(raw):
    """(screen line, text) of the table row drawn selected (in reverse
    video), or (None, None)."""
    lines = reverse_video(raw)
    start = next((i for i, (t, _) in enumerate(lines) if TITLES.match(t)),
                 None)
    for i in range(start + 1 if start is not None else len(lines),
                   len(lines)):
        text, rev = lines[i]
        if not ROW.match(text):
            break
        if rev:
            return i, text
    return None, None


def labels(lines):
    return [r[4] for r in table(lines)]


def has(text):
    return lambda lines: any(text in l for l in lines)


def expected(path, by_line=False, thread=None):
    """{label: (own%, total%)} computed from a folded file: own = stacks
    whose leaf is the function, total = stacks holding it, once per
    stack; thread frames and processes are not functions."""
    with open(path, encoding="utf-8") as f:
        stacks = parse_folded(f.read())
    own, total, whole = {}, {}, 0
    for frames, count in stacks:
        if thread is not None and frames[1] != thread:
            continue
        whole += count
        keys = []
        for fr in frames[2:]:
            py = py_frame(fr)
            if py and not by_line:
                fr = f"{py[0]} ({py[1]})"
            keys.append(fr)
        for k in set(keys):
            total[k] = total.get(k, 0) + count
        own[keys[-1]] = own.get(keys[-1], 0) + count
    return {k: (round(100.0 * own.get(k, 0) / whole, 1),
                round(100.0 * total[k] / whole, 1)) for k in total}


def check_rows(lines, want):
    """Every row shown has the figures computed from the file."""
    rows = table(lines)
    assert rows, "empty table:\n" + "\n".join(lines)
    for own_pct, total_pct, _, _, label in rows:
        assert label in want, f"unexpected row {label!r}"
        assert (own_pct, total_pct) == want[label], label
    return rows


def start_view(p, path, *args):
    """Runs the view from the shell, with the tty modes saved before so
    that the test can tell whether they come back."""
    tty = os.path.join(p.dir, "stty")
    extra = "".join(f" {a}" for a in args)
    p.run(f"stty -g > {tty}; {PYPROF} view{extra} {path}; echo EXIT=$?; "
          f"stty -g | cmp -s - {tty} && echo TTY=same || echo TTY=changed; "
          f"rm -f {tty}")
    return p.wait_for(lambda s: any(TITLES.match(l) for l in s) and
                      table(s), "the view's table")


def quit_and_check(p, code=0):
    """q: the program exits with code, the alternate screen is left, the
    tty modes are what they were and the prompt is back."""
    p.keys("q")

    def prompt_back(s):
        tty = [i for i, l in enumerate(s) if l.startswith("TTY=")]
        return tty and any(l.startswith(PROMPT.rstrip())
                           for l in s[tty[-1] + 1:])

    s = p.wait_for(prompt_back, "the command to end and the prompt")
    assert f"EXIT={code}" in s, "\n".join(s)
    assert "TTY=same" in s, "tty modes not restored:\n" + "\n".join(s)
    assert not p.alternate_on(), "still on the alternate screen"
    assert not any(TITLES.match(l) for l in s), "the view was left drawn"


def test_view_file_hot_function_on_top_and_keys(pane):
    p = pane(80, 24)
    s = start_view(p, APP)
    assert p.alternate_on()
    assert s[0].startswith("pyprof-bpf") and "app.folded" in s[0]
    assert "2 threads" in s[0]
    assert s[1].startswith("samples 200")
    assert "sort OWN%" in s[2] and "per function" in s[2] and "flat" in s[2]
    want = expected(APP)
    rows = check_rows(s, want)
    assert rows[0][4] == "hot (/srv/app.py)" and rows[0][0] == 50.0
    assert len(rows) == len(want)
    assert "q:quit" in s[-1] and "?:help" in s[-1]

    # ] sorts by the next column, TOTAL%: the callers come first.
    p.keys("]")
    s = p.wait_for(has("sort TOTAL%"), "sort TOTAL%")
    rows = check_rows(s, want)
    assert [r[4] for r in rows[:2]] == ["<module> (/srv/app.py)",
                                        "main (/srv/app.py)"]
    assert [r[1] for r in rows] == sorted((r[1] for r in rows), reverse=True)
    # Left and [ go back; from the first column [ wraps to the name.
    p.keys("Left")
    s = p.wait_for(has("sort OWN%"), "sort OWN% again")
    p.keys("[")
    s = p.wait_for(has("sort FUNCTION"), "sort by name")
    assert labels(s) == sorted(labels(s), key=lambda x: x.encode())
    p.keys("Right")
    s = p.wait_for(has("sort OWN%"), "sort OWN% again")
    assert labels(s)[0] == "hot (/srv/app.py)"

    # l: per line; the hot line is on top.
    p.keys("l")
    s = p.wait_for(has("per line"), "per line")
    rows = check_rows(s, expected(APP, by_line=True))
    assert rows[0][4] == "hot (/srv/app.py:10)" and rows[0][0] == 40.0
    assert any(TITLES.match(l) and "FUNCTION (FILE:LINE)" in l for l in s)
    p.keys("l")
    p.wait_for(has("per function"), "per function")

    # ?: help over the table; any key closes it.
    p.keys("?")
    s = p.wait_for(has("this help"), "the help")
    assert any("per line / per function" in l for l in s)
    p.keys("x")
    p.wait_for(lambda s: not has("this help")(s), "the help to close")
    quit_and_check(p)


def test_view_threads_filter(pane):
    p = pane(80, 24)
    start_view(p, APP)
    p.keys("t")
    s = p.wait_for(has("thread MainThread (1 of 2)"), "the first thread")
    rows = check_rows(s, expected(APP, thread="MainThread"))
    assert rows[0][4] == "hot (/srv/app.py)" and rows[0][0] == 71.4
    assert not any("wörker" in r[4] for r in rows)
    assert "140 in this thread" in s[1]
    p.keys("t")
    s = p.wait_for(has("thread worker-α (2 of 2)"), "the second thread")
    rows = check_rows(s, expected(APP, thread="worker-α"))
    # A UTF-8 name, drawn as itself.
    assert rows[0][4] == "spin_日本 (/srv/wörker.py)" and rows[0][0] == 83.3
    assert not any("app.py" in r[4] for r in rows)
    p.keys("t")
    s = p.wait_for(has("all threads"), "all threads again")
    check_rows(s, expected(APP))
    # T goes backwards: the last thread.
    p.keys("T")
    p.wait_for(has("thread worker-α (2 of 2)"), "the last thread")
    quit_and_check(p)


def tree_rows(lines):
    """(depth, marker, label, own%, total%) of the tree's rows: two
    columns of indent per level, then '-' open, '+' closed or ' ' leaf."""
    out = []
    for own_pct, total_pct, _, _, text in table(lines):
        m = re.match(r"^( *)([-+ ]) (.*)$", text)
        assert m, text
        out.append((len(m.group(1)) // 2, m.group(2), m.group(3), own_pct,
                    total_pct))
    return out


def test_view_call_tree_fold_and_open(pane):
    p = pane(80, 24)
    start_view(p, APP)
    p.keys("\\")
    s = p.wait_for(has("call tree"), "the call tree")
    rows = tree_rows(s)
    assert rows[0] == (0, "-", "python3-100", 0.0, 100.0)
    assert rows[1] == (1, "-", "MainThread", 0.0, 70.0)
    path = [r[2] for r in rows[:5]]
    assert path == ["python3-100", "MainThread", "<module> (/srv/app.py)",
                    "main (/srv/app.py)", "hot (/srv/app.py)"]
    assert rows[4][:2] == (4, " ") and rows[4][3:] == (50.0, 50.0)
    # fib (5%) starts folded, its recursion hidden; totals count once.
    fib = [r for r in rows if r[2] == "fib (/srv/wörker.py)"]
    assert fib == [(3, "+", "fib (/srv/wörker.py)", 0.0, 5.0)]

    # Left folds the selected node (the first), Right opens it again.
    p.keys("Left")
    s = p.wait_for(lambda s: len(table(s)) == 1, "the tree folded")
    assert tree_rows(s)[0][:3] == (0, "+", "python3-100")
    p.keys("Right")
    s = p.wait_for(lambda s: len(table(s)) > 1, "the tree open")
    assert tree_rows(s) == rows

    # Down to fib, Right: the next level of the recursion shows.  Each
    # Down is followed by the screen showing the selection one row lower.
    at, text = selected(p.screen(attrs=True))
    assert at is not None, "no row is selected"
    for _ in range(len(rows)):
        if "fib" in text:
            break
        p.keys("Down")
        was = at
        at, text = selected(p.wait_for(
            lambda s: selected(s)[0] == was + 1, f"the selection on line "
            f"{was + 2}", attrs=True))
    assert "fib" in text, "could not select fib"
    p.keys("Right")
    s = p.wait_for(lambda s: len(tree_rows(s)) == len(rows) + 1,
                   "fib open")
    fibs = [r for r in tree_rows(s) if r[2] == "fib (/srv/wörker.py)"]
    assert [r[:2] for r in fibs] == [(3, "-"), (4, "+")]
    assert all(r[4] == 5.0 for r in fibs)

    # \ back to the flat table.
    p.keys("\\")
    s = p.wait_for(has("| flat"), "the flat table")
    check_rows(s, expected(APP))
    quit_and_check(p)


def test_view_80x24_draws_without_wrapping(pane):
    p = pane(80, 24)
    s = start_view(p, LONG)
    want = expected(LONG)
    assert len(s) == 24
    assert s[0].startswith("pyprof-bpf")
    assert "q:quit" in s[23]
    rows = table(s)
    # One screen line per function, however long its name and file.
    assert len(rows) == len(want) == 3, "\n".join(s)
    for line in s:
        assert columns(line) <= 80, line
    for own_pct, total_pct, _, _, label in rows:
        name = label.split(" (")[0].rstrip("…")
        full = next(k for k in want if k.startswith(name))
        assert (own_pct, total_pct) == want[full]
        assert label != full and label.endswith("…") or "(…" in label
    # The file is shortened before the name.
    module = next(r[4] for r in rows if r[4].startswith("<module>"))
    assert module.startswith("<module> (…") and \
        module.endswith("entry_point_module.py)")
    p.keys("\\")
    s = p.wait_for(has("call tree"), "the call tree")
    assert len(tree_rows(s)) == 5 and "q:quit" in s[23]
    quit_and_check(p)


def test_view_resize_redraws(pane):
    p = pane(80, 24)
    s = start_view(p, LONG)
    short = labels(s)
    p.resize(120, 30)
    s = p.wait_for(lambda s: len(s) == 30 and "q:quit" in s[29],
                   "the footer on line 30")
    wide = labels(s)
    assert len(wide) == len(short)
    # Wider: more of each label shows.
    assert sum(map(len, wide)) > sum(map(len, short))
    assert s[0].startswith("pyprof-bpf")
    p.resize(50, 12)
    s = p.wait_for(lambda s: len(s) == 12 and "q:quit" in s[11],
                   "the footer on line 12")
    assert all(columns(l) <= 50 for l in s)
    assert len(table(s)) == 3
    p.resize(30, 5)
    p.wait_for(has("terminal too small"), "the too-small message")
    p.resize(80, 24)
    s = p.wait_for(lambda s: len(s) == 24 and "q:quit" in s[23],
                   "the table again")
    assert labels(s) == short
    quit_and_check(p)


def test_view_from_stdin_keys_from_tty(pane):
    p = pane(80, 24)
    tty = os.path.join(p.dir, "stty")
    p.run(f"stty -g > {tty}; {PYPROF} view - < {APP}; echo EXIT=$?; "
          f"stty -g | cmp -s - {tty} && echo TTY=same || echo TTY=changed; "
          f"rm -f {tty}")
    s = p.wait_for(lambda s: any(TITLES.match(l) for l in s), "the table")
    assert "<stdin>" in s[0]
    check_rows(s, expected(APP))
    quit_and_check(p)


def test_view_ctrl_c_restores_the_terminal(pane):
    p = pane(80, 24)
    start_view(p, APP)
    p.keys("C-c")

    def ended(s):
        return any(l.startswith("TTY=") for l in s)

    s = p.wait_for(ended, "the command to end")
    assert "EXIT=0" in s and "TTY=same" in s, "\n".join(s)
    assert not p.alternate_on()


def test_view_not_a_terminal_prints_the_table():
    r = run_pyprof("view", APP)
    assert r.rc == 0, r.err
    assert r.err == ""
    lines = r.out.splitlines()
    assert lines[0] == f"pyprof-bpf: {APP}, 200 samples, 2 threads"
    assert TITLES.match(lines[1])
    want = expected(APP)
    rows = [ROW.match(l) for l in lines[2:] if ROW.match(l)]
    assert len(rows) == len(want)
    for m in rows:
        assert (float(m.group(1)), float(m.group(2))) == want[m.group(5)]
    assert rows[0].group(5) == "hot (/srv/app.py)"
    assert "\x1b" not in r.out, "terminal escapes in plain text"
    r = run_pyprof("view", "--lines", "--rows", "2", APP)
    assert r.rc == 0, r.err
    lines = r.out.splitlines()
    assert [ROW.match(l).group(5) for l in lines[2:4]] == \
        ["hot (/srv/app.py:10)", "spin_日本 (/srv/wörker.py:9)"]
    assert lines[4] == f"({len(expected(APP, by_line=True)) - 2} more)"


@pytest.mark.parametrize("args,code,needle", [
    ([], 2, "which file?"),
    (["--bogus", APP], 2, "unknown option '--bogus'"),
    (["-n", "0", APP], 2, "-n '0' is out of range"),
    (["-n"], 2, "option -n needs a value"),
    ([APP, APP], 2, "view takes one FILE"),
    (["/nonexistent.folded"], 1,
     "cannot read /nonexistent.folded: No such file or directory"),
])
def test_view_usage_and_file_errors(args, code, needle):
    r = run_pyprof("view", *args)
    assert r.rc == code, r.err
    assert needle in one_line(r.err, "pyprof-bpf view: ")
    assert r.out == ""


def test_view_malformed_and_empty_files(tmp_path):
    bad = tmp_path / "bad.folded"
    bad.write_text("a;b 3\nc;d three\n", encoding="utf-8")
    r = run_pyprof("view", bad)
    assert r.rc == 1
    assert f"{bad}:2: the count \"three\" is not a whole number" in \
        one_line(r.err, "pyprof-bpf view: ")
    assert r.out == ""
    empty = tmp_path / "empty.folded"
    empty.write_text("", encoding="utf-8")
    r = run_pyprof("view", empty)
    assert r.rc == 1
    assert "holds no samples" in one_line(r.err, "pyprof-bpf view: ")


def test_view_help():
    r = run_pyprof("view", "--help")
    assert r.rc == 0
    for needle in ("usage: pyprof-bpf view", "--lines", "--tree", "--rows",
                   "Exit status", "2 bad usage", "not a terminal"):
        assert needle in r.out


def hot_row(rows, path):
    return rows[0][4].startswith("hot (") and \
        rows[0][4].endswith(os.path.basename(path) + ")")


def test_view_of_a_live_capture(pane, tmp_path):
    """Capture shape.py (75% hot, 25% cold) for 3 s, then browse it."""
    needs_root()
    python = any_python()
    out = tmp_path / "x.folded"
    with Workload(python, "shape.py") as w:
        r = run_pyprof("-p", w.pid, "-F", 999, "-d", 3, "-o", out)
    assert r.rc == 0, r.err
    p = pane(120, 30)
    s = start_view(p, out)
    rows = table(s)
    assert hot_row(rows, w.path), rows[:3]
    assert 70.0 <= rows[0][0] <= 80.0, rows[0]
    assert rows[1][4].startswith("cold (") and 20.0 <= rows[1][0] <= 30.0
    p.keys("l")
    s = p.wait_for(has("per line"), "per line")
    rows = table(s)
    assert rows[0][4].endswith(f":{marker_line('shape.py', 'HOT_LINE')})")
    # The call tree per function, by TOTAL%: the hot path first.
    p.keys("l", "\\", "]")
    s = p.wait_for(lambda s: "call tree" in s[2] and "per function" in s[2]
                   and "sort TOTAL%" in s[2], "the call tree")
    tree = tree_rows(s)
    assert [r[2].split(" (")[0] for r in tree[:5]] == \
        [f"{w.comm}-{w.pid}", "MainThread", "<module>", "main", "hot"]
    assert tree[0][4] == 100.0 and 70.0 <= tree[4][4] <= 80.0
    quit_and_check(p)


def live_view_built():
    r = subprocess.run([PYPROF, "--help"], capture_output=True, text=True,
                       timeout=30)
    return "live view" in r.stdout


def test_live_view_on_a_terminal(pane):
    """sudo pyprof-bpf -p PID on a terminal opens the live view."""
    needs_root()
    if not live_view_built():
        pytest.skip("this pyprof-bpf has no live view yet: its --help does "
                    "not mention \"live view\" (main.c's loop does not call "
                    "top__open)")
    python = any_python()
    with Workload(python, "shape.py") as w:
        p = pane(120, 30)
        tty = os.path.join(p.dir, "stty")
        p.run(f"stty -g > {tty}; {PYPROF} -p {w.pid} -F 999; echo EXIT=$?; "
              f"stty -g | cmp -s - {tty} && echo TTY=same || "
              f"echo TTY=changed; rm -f {tty}")
        # The "now" figures settle within a few intervals.
        s = p.wait_for(lambda s: table(s) and hot_row(table(s), w.path) and
                       65.0 <= table(s)[0][0] <= 85.0,
                       "hot() on top at about 75%", timeout=30)
        assert p.alternate_on()
        assert "% now" in s[2]
        # n: percentages since the start, where 75% must hold closely.
        p.keys("n")
        s = p.wait_for(lambda s: "% since start" in s[2] and table(s) and
                       hot_row(table(s), w.path), "cumulative figures")
        rows = table(s)
        assert 70.0 <= rows[0][0] <= 80.0, rows[0]
        assert rows[1][4].startswith("cold (") and 20.0 <= rows[1][0] <= 30.0
        assert f"{w.comm} {w.pid}" in s[0] or str(w.pid) in s[0]
        assert "Hz" in s[0]
        assert re.search(r"samples \d+ in the last interval", s[1])
        p.keys("Space")
        p.wait_for(has("PAUSED"), "the pause")
        p.keys("Space")
        p.wait_for(lambda s: not has("PAUSED")(s), "the resume")
        p.keys("]")
        s = p.wait_for(has("sort TOTAL%"), "sort TOTAL%")
        assert table(s)[0][4].startswith(("<module> (", "main ("))
        quit_and_check(p)
        assert w.proc.poll() is None, "the target died"


def test_live_view_shows_gil_shares(pane):
    """--gil on a terminal: the header gives the GIL held and waiting shares
    of two CPU-bound threads that contend for it."""
    needs_root()
    python = any_python()
    script = os.path.join(ROOT, "tests", "e2e", "workloads", "wall.py")
    w = subprocess.Popen([python, script, "gil", "60"])
    try:
        p = pane(120, 30)
        p.run(f"{PYPROF} -p {w.pid} --gil -F 499 --interval 0.5; "
              f"echo EXIT=$?")
        pat = re.compile(r"GIL held (\d+)% waiting (\d+)%")
        s = p.wait_for(lambda s: pat.search(s[0]) and
                       int(pat.search(s[0]).group(1)) > 0,
                       "GIL shares in the header", timeout=30)
        held, waiting = map(int, pat.search(s[0]).groups())
        # Three threads (main waits in join), one GIL: the two burners
        # each hold it about half of their time, so a third of all.
        assert 15 <= held <= 50, s[0]
        assert waiting >= 5, s[0]
        # t: one thread at a time; a burner's own shares.
        tpat = re.compile(r"GIL held (\d+)% waiting (\d+)% in it")
        for _ in range(4):
            p.keys("t")
            s = p.wait_for(lambda s: "thread " in s[2], "a thread chosen")
            if "thread burner" in s[2]:
                break
        s = p.wait_for(lambda s: tpat.search(s[1]), "the thread's GIL shares")
        held, waiting = map(int, tpat.search(s[1]).groups())
        assert 25 <= held <= 75 and waiting >= 5, s[1]
        p.keys("q")
        p.wait_for(lambda s: any("EXIT=0" in l for l in s), "exit 0")
    finally:
        w.kill()
        w.wait()


def test_make_demo_on_a_terminal(pane, tmp_path):
    """`make demo` on a terminal: the live view on the bundled workload
    with crunch(), its hot function, on top; q ends it early, the terminal
    comes back, and the demo says where its flame graph is."""
    needs_root()
    p = pane(120, 30)
    p.run(f"make --no-print-directory demo DEMO_DIR={tmp_path} "
          f"DEMO_SECS=120; echo EXIT=$?")
    p.wait_for(lambda s: table(s) and table(s)[0][4].startswith("crunch ("),
               "crunch() on top of the live view", timeout=120)
    assert p.alternate_on()
    p.keys("q")
    s = p.wait_for(lambda s: any(l.startswith("EXIT=") for l in s),
                   "the demo to end", timeout=60)
    assert "EXIT=0" in s, "\n".join(s)
    assert not p.alternate_on()
    assert any(l.startswith("demo: flame graph") for l in s), "\n".join(s)
    assert (tmp_path / "demo.svg").exists() and \
        (tmp_path / "demo.html").exists()
