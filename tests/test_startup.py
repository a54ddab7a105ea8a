# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
"""Start-up and discovery (issue 16 items 1, 4, 8, 9; issue 17 item 4):
processes profiled from their first Python sample, samples taken before
the interpreter exists named for what they are, frames right or
[unknown] while start-up frees and reuses code objects, a shell followed
for its Python children, and only real Python processes found by -a."""
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import pytest

from conftest import (DEBIAN_BIN, PYPROF, PYTHONS, needs_root, parse_folded,
                      py_frame, python_params, run_pyprof, start_pyprof)

pytestmark = pytest.mark.usefixtures("root")

# Launches per interpreter of the back-to-back test (issue 16 asks 100).
LAUNCHES = int(os.environ.get("PYPROF_TEST_LAUNCHES", "100"))


@pytest.fixture
def root():
    needs_root()


def present_pythons():
    return [p for _, p in PYTHONS if os.access(p, os.X_OK)]


SLEEPER = """\
import time
def longsleep():
    time.sleep(0.05)
longsleep()
"""


@pytest.mark.parametrize("python", python_params())
def test_back_to_back_launches_are_never_unreadable(python, tmp_path):
    """A short script that sleeps right after its start-up, launched again
    and again in wall mode (what a CI job does): every run finds it, and no
    sample is "[interpreter not readable]" -- before its interpreter exists
    a process is "[interpreter starting]"."""
    script = tmp_path / "sleeper.py"
    script.write_text(SLEEPER)
    bad, missing = [], []
    for i in range(LAUNCHES):
        r = run_pyprof("--mode", "wall", "-F", 99, "--folded", "--",
                       python, script)
        assert r.rc == 0, r.err
        if "[interpreter not readable]" in r.out:
            bad.append(r.out)
        if not re.search(r"^\S+;MainThread;", r.out, re.M):
            missing.append(r.err)
    assert not bad, f"{len(bad)} of {LAUNCHES}: {bad[:2]}"
    assert not missing, f"{len(missing)} of {LAUNCHES} not found: {missing[:2]}"


# A module that works in a function of its own, and so is sampled with its
# <module> frame (freed once imported) right above that function (alive).
MODULE = """\
def work_{n}():
    x = 0
    for i in range({loop}):
        x += i
    return x
work_{n}()
"""

MAIN = """\
import importlib, sys
sys.path.insert(0, sys.argv[1])
print("ready", flush=True)
sys.stdin.readline()
for n in range(int(sys.argv[2])):
    importlib.import_module("mod_%d" % n)
print("imported", flush=True)
sys.stdin.readline()
"""


def check_source(python, frames):
    """Runs python to check that each (name, file, line) is a real frame:
    a code object called name in file whose lines hold line.  Returns the
    ones that are not."""
    checker = r"""
import sys, os, json, sysconfig
frames = json.load(sys.stdin)
stdlib = sysconfig.get_paths()["stdlib"]
def source(f):
    if f.startswith("<frozen ") and f.endswith(">"):
        mod = f[8:-1].replace(".", "/")
        for c in (mod + ".py", mod + "/__init__.py"):
            p = os.path.join(stdlib, c)
            if os.path.exists(p):
                return p
        return None
    return f if os.path.exists(f) else None
codes = {}
def walk(co, out):
    out.append(co)
    for c in co.co_consts:
        if hasattr(c, "co_code"):
            walk(c, out)
def lines(co):
    if hasattr(co, "co_lines"):
        return {l for _, _, l in co.co_lines() if l is not None}
    import dis
    return {l for _, l in dis.findlinestarts(co)} | {co.co_firstlineno}
bad = []
for name, f, line in frames:
    p = source(f)
    if p is None:
        continue
    if p not in codes:
        out = []
        try:
            walk(compile(open(p, "rb").read(), p, "exec"), out)
        except (SyntaxError, ValueError):
            out = None
        codes[p] = out
    if codes[p] is None:
        continue
    ok = any(getattr(c, "co_qualname", c.co_name) == name and
             (line in lines(c) or line == c.co_firstlineno)
             for c in codes[p])
    if not ok:
        bad.append((name, f, line))
json.dump(bad, sys.stdout)
"""
    import json
    r = subprocess.run([python, "-c", checker], input=json.dumps(frames),
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return [tuple(x) for x in json.loads(r.stdout)]


@pytest.mark.parametrize("python", python_params())
def test_startup_frames_are_right_or_unknown(python, tmp_path):
    """300 modules imported one after another: each module's <module> code
    object is freed once it ran, and the next one's takes its address with
    the same first line (1).  pyprof-bpf's userspace is stopped meanwhile,
    as a busy machine would hold it back, so it reads those addresses only
    once they were reused.  Every frame is then the function that ran or
    [unknown], never another module's: a <module> frame above work_N is
    mod_N's, and every named frame is a real one."""
    nmods = 300
    for n in range(nmods):
        (tmp_path / f"mod_{n}.py").write_text(MODULE.format(n=n, loop=60000))
    main = tmp_path / "main.py"
    main.write_text(MAIN)
    out = tmp_path / "out.folded"
    p = subprocess.Popen([PYPROF, "-F", "999", "-o", str(out), "--", python,
                          str(main), str(tmp_path), str(nmods)],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline().strip() == "ready"
        time.sleep(0.3)
        os.kill(p.pid, signal.SIGSTOP)
        try:
            p.stdin.write("go\n")
            p.stdin.flush()
            assert p.stdout.readline().strip() == "imported"
        finally:
            os.kill(p.pid, signal.SIGCONT)
        # Time to read what the sampler saw, while the process lives.
        time.sleep(1.0)
        p.stdin.write("exit\n")
        p.stdin.flush()
        _, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == 0, err
    stacks = parse_folded(out.read_text())
    mod_file = re.compile(r"/mod_(\d+)\.py$")
    wrong, named_work, unknown = [], 0, 0
    frames = set()
    for f, c in stacks:
        pf = [py_frame(x) for x in f]
        frames.update(x for x in pf if x)
        for i, x in enumerate(pf):
            if not x or not x[0].startswith("work_"):
                continue
            named_work += c
            n = x[0][5:]
            above = pf[i - 1] if i else None
            if f[i - 1] == "[unknown]":
                unknown += c
            elif not above or above[0] != "<module>" or \
                    not mod_file.search(above[1]) or \
                    mod_file.search(above[1]).group(1) != n:
                wrong.append((f[i - 1], f[i], c))
    assert named_work > 100, (err, stacks[:5])
    assert not wrong, wrong[:5]
    bad = check_source(python, sorted(frames))
    assert not bad, bad[:10]


@pytest.mark.parametrize("python", python_params())
def test_children_of_a_shell(python, tmp_path):
    """-p SHELLPID --children: a shell is not Python; what it starts is,
    and is profiled, and the run says so in one line."""
    script = tmp_path / "spin.py"
    script.write_text("import time\n"
                      "def spin_in_child():\n"
                      "    end = time.time() + 1.5\n"
                      "    while time.time() < end: pass\n"
                      "spin_in_child()\n")
    sh = subprocess.Popen(["sh", "-c", f"sleep 1; '{python}' '{script}'; "
                           f"'{python}' '{script}'"])
    try:
        r = run_pyprof("-p", sh.pid, "--children", "-F", 199, "-d", 10)
    finally:
        sh.kill()
        sh.wait()
    assert r.rc == 0, r.err
    lines = [x for x in r.err.splitlines() if "is not a Python process" in x]
    assert lines == [f"pyprof-bpf: pid {sh.pid} (sh) is not a Python "
                     "process: profiling its Python descendants"], r.err
    roots = {}
    for f, c in parse_folded(r.out):
        leaf = py_frame(f[-1])
        if leaf and leaf[0] == "spin_in_child":
            roots[f[0]] = roots.get(f[0], 0) + c
    assert len(roots) == 2 and all(c > 20 for c in roots.values()), r.out


MAPPER = """\
import mmap, sys, time
f = open(sys.argv[1], "rb")
m = mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ)
print("ready", flush=True)
def spin_mapper():
    end = time.time() + 3
    while time.time() < end: pass
spin_mapper()
"""


def runner_and_other_libpython():
    """Debian's python3.11, and a pyenv libpython of another version for
    it to map; SKIP when either is missing."""
    runner = "/usr/bin/python3.11"
    for v in ("3.12.1", "3.9.18", "3.13.0"):
        lib = f"/root/.pyenv/versions/{v}/lib/libpython{v[:v.rindex('.')]}.so.1.0"
        if os.path.exists(lib) and os.access(runner, os.X_OK):
            return runner, lib
    pytest.skip("needs /usr/bin/python3.11 and a pyenv libpython")


def test_all_skips_itself_and_read_only_libpython(tmp_path):
    """-a: pyprof-bpf (which maps each libpython it reads symbols from) is
    never a target, and a process that maps a libpython only to read it
    is profiled as the Python it runs, not as that libpython's."""
    runner, lib = runner_and_other_libpython()
    script = tmp_path / "mapper.py"
    script.write_text(MAPPER)
    m = subprocess.Popen([runner, str(script), lib], stdout=subprocess.PIPE,
                         text=True)
    try:
        assert m.stdout.readline().strip() == "ready"
        p = start_pyprof("-a", "-F", 199, "-d", 2.5)
        out, err = p.communicate(timeout=60)
    finally:
        m.kill()
        m.wait()
    assert p.returncode == 0, err
    stacks = parse_folded(out)
    assert not [f for f, _ in stacks if f[0].startswith("pyprof-bpf-")], \
        sorted({f[0] for f, _ in stacks})
    assert not re.search(r"pid \d+ pyprof-bpf, CPython", err), err
    mine = [(f, c) for f, c in stacks if f[0].endswith(f"-{m.pid}")]
    total = sum(c for _, c in mine)
    spin = sum(c for f, c in mine
               if py_frame(f[-1]) and py_frame(f[-1])[0] == "spin_mapper")
    assert total and spin > 0.8 * total, mine


def test_launched_unsupported_python_says_why(tmp_path):
    """A launched command whose Python cannot be profiled gets the line
    that says why, not a guess that it might not run CPython."""
    src = "/usr/bin/python3.11"
    if not os.access(src, os.X_OK):
        pytest.skip("needs /usr/bin/python3.11")
    # Its name says 3.9, its symbols 3.11: refused, as an unsupported
    # Python is.
    fake = tmp_path / "python3.9"
    shutil.copy(src, fake)
    r = run_pyprof("-F", 99, "--", fake, "-c",
                   "import time; time.sleep(0.5)")
    assert r.rc == 0, r.err
    assert "does the command run CPython" not in r.err, r.err
    assert re.search(r"no Python process was profiled .*: "
                     r".*python3\.9: its name says Python 3\.9 but its "
                     r"symbols say 3\.11", r.err), r.err


SHORT = """\
import os, resource, sys, time
def short_lived():
    end = time.process_time() + 0.05
    while time.process_time() < end: pass
short_lived()
ru = resource.getrusage(resource.RUSAGE_SELF)
print(os.getpid(), ru.ru_utime + ru.ru_stime, flush=True)
"""


def test_all_profiles_short_processes_from_their_start(tmp_path):
    """-a, with one process of each interpreter known: short processes
    started later are sampled from their first instructions in the
    interpreter, so their profile holds (nearly) all of their CPU time,
    not what is left after discovery."""
    pys = present_pythons()
    script = tmp_path / "short.py"
    script.write_text(SHORT)
    warm = [subprocess.Popen([py, "-c", "import time\n"
                              "while True: sum(range(10000)); "
                              "time.sleep(0.02)"]) for py in pys]
    try:
        p = start_pyprof("-a", "-F", 999, "-d", 8 + 2 * len(pys))
        time.sleep(2)
        # Not Python, and busy while young: what the sampler took of it
        # before the verdict is thrown away, never shown.
        busy = subprocess.run(["sh", "-c", "i=0; while [ $i -lt 200000 ]; "
                               "do i=$((i+1)); done; echo $$"],
                              capture_output=True, text=True)
        runs = []
        for py in pys:
            for _ in range(2):
                c = subprocess.run([py, str(script)], capture_output=True,
                                   text=True)
                pid, cpu = c.stdout.split()
                runs.append((py, int(pid), float(cpu)))
        out, err = p.communicate(timeout=120)
    finally:
        for w in warm:
            w.kill()
            w.wait()
    assert p.returncode == 0, err
    # Before its exec the child is the forking interpreter (a vfork of
    # pytest, in subprocess's _fork_exec): what it ran then is Python and
    # may be shown, so.  Nothing of it after: no stale config read into
    # the shell, none of the shell's samples parked as Python's.
    assert_only_before_exec(out, {busy.stdout.strip()})
    got = {}
    for f, c in parse_folded(out):
        m = re.search(r"-(\d+)$", f[0])
        if m:
            got[int(m.group(1))] = got.get(int(m.group(1)), 0) + c
    short = [(py, pid, cpu, got.get(pid, 0)) for py, pid, cpu in runs]
    # All of their CPU time but the dynamic loader's (before the first
    # instruction of the interpreter): 10% and 5 ms of margin.  Found
    # only once userspace had looked, they lost their first 20-40 ms.
    # A Debian interpreter's launcher runs two shells and two unshares in
    # the same process before it execs python: 3.6 ms more of its rusage
    # (the median of 21 starts at load 1), and twice that on a busy
    # machine, none of it Python; 10 ms more of margin for those.
    def margin(py):
        return 15 if py.startswith(DEBIAN_BIN + os.sep) else 5
    bad = [s for s in short if s[3] < 0.9 * s[2] * 999 - margin(s[0])]
    assert not bad, (bad, err)
    m = re.search(r"from process start to profiled: mean (\d+) ms, "
                  r"max (\d+) ms", err)
    assert m, err


SPAWNER = """\
import subprocess, sys
pids = []
for _ in range(int(sys.argv[1])):
    r = subprocess.run(["sh", "-c", "i=0; while [ $i -lt 60000 ]; "
                        "do i=$((i+1)); done; echo $$"],
                       capture_output=True, text=True)
    pids.append(r.stdout.strip())
open(sys.argv[2], "w").write(" ".join(pids))
"""


def assert_only_before_exec(out, pids):
    """What the folded profile out holds of pids, processes forked by a
    Python process that exec'd non-Python programs, is of before their
    exec: named for the interpreter, in subprocess (or taken before it was
    recognised), and at most 5 samples (5 ms of CPU at -F 999) each."""
    got = {}
    for f, c in parse_folded(out):
        m = re.fullmatch(r".*-(\d+)", f[0])
        if m and m.group(1) in pids:
            assert f[0].startswith("python3"), (f, out)
            assert (f[-1] == "[not yet recognised]" or
                    "/subprocess.py:" in f[-1]), (f, out)
            got[m.group(1)] = got.get(m.group(1), 0) + c
    assert all(n <= 5 for n in got.values()), got


@pytest.mark.parametrize("mode", ["-a", "launch"])
@pytest.mark.parametrize("python", ["/usr/bin/python3",
                                    PYTHONS[4][1]])  # static; libpython
def test_a_child_that_execs_is_not_read_as_its_parent(mode, python,
                                                       tmp_path):
    """A Python process's vfork child runs the parent's code (subprocess's
    _fork_exec) until it execs a shell.  Sampled before the exec, it is
    the parent's program; after, another one.  What was read of it before
    (its config, in the sampler or on its way there) must not be used
    after: no sample of the shell read as Python, none of its samples
    parked as Python's.  Each shell runs ~30 ms of CPU; the window
    before its exec, well under 5 ms (5 samples at -F 999)."""
    if not os.access(python, os.X_OK):
        pytest.skip(f"{python} is not installed")
    script = tmp_path / "spawner.py"
    script.write_text(SPAWNER)
    pidfile = tmp_path / "pids"
    cmd = [python, str(script), "40", str(pidfile)]
    if mode == "-a":
        p = start_pyprof("-a", "-F", 999, "--folded")
        try:
            subprocess.run(cmd, check=True, timeout=120)
        finally:
            p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=60)
        rc = p.returncode
    else:
        r = run_pyprof("-F", 999, "--folded", "--", *cmd, timeout=120)
        out, err, rc = r.out, r.err, r.rc
    assert rc == 0, err
    pids = set(pidfile.read_text().split())
    assert len(pids) == 40
    # The spawner itself is seen, forking.
    assert re.search(r"_execute_child \(.*subprocess\.py:\d+\)", out), out
    assert_only_before_exec(out, pids)


FORKED_INIT = """\
import os, time
def spin(s):
    end = time.monotonic() + s
    while time.monotonic() < end: pass
class Thing:
    def __init__(self):
        spin(0.002)
def make_things():
    return [Thing() for _ in range(100)]
pid = os.fork()
make_things()
if pid == 0:
    os._exit(0)
os.waitpid(pid, 0)
"""


@pytest.mark.parametrize("python", python_params())
def test_no_runtime_frame_between_a_call_and_init(python, tmp_path):
    """3.13+ run a class's Python __init__ under a frame of the runtime's
    own (_Py_InitCleanup, named "__init__" in file "__init__"): not shown,
    in a process or its forked child; the caller calls __init__."""
    script = tmp_path / "init.py"
    script.write_text(FORKED_INIT)
    r = run_pyprof("-F", 999, "--folded", "--", python, script)
    assert r.rc == 0, r.err
    stacks = parse_folded(r.out)
    assert "(__init__)" not in r.out, r.out
    def is_init(x):
        pf = py_frame(x)
        return pf and pf[0].endswith("__init__") and pf[1] == str(script)

    inits = [(f, c) for f, c in stacks if any(is_init(x) for x in f)]
    assert len({f[0] for f, _ in inits}) == 2, r.out  # parent and child
    partial = 0
    for f, c in inits:
        i = next(k for k, x in enumerate(f) if is_init(x))
        if f[i - 1] == "[partial stack]":
            # Seen in the forked child only, 2 samples in ~160: most likely
            # a page it has not touched since the fork (the runtime's own
            # code object for the shim frame, in libpython's data, whose
            # page table entries fork does not copy); the sampler cannot
            # fault it in, and says so rather than guess.
            partial += c
            continue
        assert py_frame(f[i - 1])[0] in (
            "make_things", "<listcomp>", "make_things.<locals>.<listcomp>"), f
    assert partial <= 0.05 * sum(c for _, c in inits), r.out


DLOPENER = """\
import ctypes, sys, time
ctypes.CDLL(sys.argv[1])
print("ready", flush=True)
def spin_dl():
    end = time.time() + 6
    while time.time() < end: pass
spin_dl()
"""


def test_a_libpython_loaded_but_not_run_is_not_the_interpreter(tmp_path):
    """A process that loaded another libpython (executable, relocated) but
    never started it runs its own interpreter: that one is profiled, not
    the idle one (whose runtime has no interpreter)."""
    runner, lib = runner_and_other_libpython()
    script = tmp_path / "dl.py"
    script.write_text(DLOPENER)
    d = subprocess.Popen([runner, str(script), lib], stdout=subprocess.PIPE,
                         text=True)
    try:
        assert d.stdout.readline().strip() == "ready"
        time.sleep(2.5)  # past start-up: an interpreter would exist
        r = run_pyprof("-p", d.pid, "-F", 199, "-d", 1)
    finally:
        d.kill()
        d.wait()
    assert r.rc == 0, r.err
    assert f"pid {d.pid}, CPython 3.11" in r.err, r.err
    leaves = [py_frame(f[-1]) for f, _ in parse_folded(r.out)]
    assert leaves and all(x and x[0] == "spin_dl" for x in leaves), r.out
