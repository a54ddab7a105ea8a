# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
"""Shared helpers for the end-to-end tests: the interpreters to test, running
workloads of known shape, running pyprof-bpf (and waiting until it says it
is sampling), and parsing folded output and error lines strictly."""
import os
import re
import select
import signal
import subprocess
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# What the tests run on is an emulated machine (make test-arm64 sets it to
# what it is): the few checks of timing that emulation cannot meet SKIP,
# saying so.
EMULATED = os.environ.get("PYPROF_TEST_EMULATED", "")

# The binary under test: ./pyprof-bpf, or another build (make test-arm64
# runs the arm64 one, build-arm64/pyprof-bpf, in its VM).
PYPROF = os.environ.get("PYPROF_BIN", os.path.join(ROOT, "pyprof-bpf"))
WORKLOADS = os.path.join(ROOT, "tests", "e2e", "workloads")

# ---- The interpreters under test (issue 18) --------------------------------
# Every CPython the project supports that this machine may have: pyenv builds,
# Debian 12's own 3.11, and Debian unstable's 3.14 and 3.15 (stripped, non-PIE,
# libpython linked in) from the root `make deps` makes (scripts/debian-root),
# run with chroot through its launchers, which makes them the container case
# too.  More can be added with PYPROF_TEST_PYTHONS="/path/to/python3.14t ...".
DEPS = os.path.join(ROOT, ".deps")
DEBIAN_ROOT = os.environ.get("PYPROF_DEBIAN_ROOT",
                             os.path.join(DEPS, "debian-unstable"))
DEBIAN_BIN = os.path.join(os.path.dirname(DEBIAN_ROOT), "bin")

PYTHONS = [
    ("3.8", "/root/.pyenv/versions/3.8.18/bin/python3"),
    ("3.9", "/root/.pyenv/versions/3.9.18/bin/python3"),
    ("3.10", "/root/.pyenv/versions/3.10.13/bin/python3"),
    ("3.11", "/root/.pyenv/versions/3.11.7/bin/python3"),
    ("3.12", "/root/.pyenv/versions/3.12.1/bin/python3"),
    ("3.13", "/root/.pyenv/versions/3.13.0/bin/python3"),
    ("debian-3.11", "/usr/bin/python3.11"),
    ("debian-3.14", os.path.join(DEBIAN_BIN, "python3.14")),
    ("debian-3.15", os.path.join(DEBIAN_BIN, "python3.15")),
]
# PYPROF_TEST_PYTHONS_ONLY=1: those alone (the arm64 machine of
# tests/test_arm64.py, which has none of the others).  An entry ID=PATH
# names its tests' parameter ID (debian-3.14=/usr/bin/python3.14 runs
# --async's tests too); a bare PATH is named by its file name.
def extra_pythons():
    """PYPROF_TEST_PYTHONS as (ID, PATH) pairs."""
    out = []
    for extra in os.environ.get("PYPROF_TEST_PYTHONS", "").split():
        name, eq, path = extra.rpartition("=")
        out.append((name if eq else os.path.basename(path), path))
    return out


if os.environ.get("PYPROF_TEST_PYTHONS_ONLY") == "1":
    PYTHONS = []
PYTHONS += extra_pythons()


def missing_reason(path):
    """Why interpreter path cannot be run here, or None if it can."""
    debian = path.startswith(DEBIAN_BIN + os.sep)
    if os.access(path, os.X_OK):
        if debian and os.geteuid() != 0:
            return f"{path} runs Debian's interpreter with chroot: root only"
        return None
    if not debian or os.path.isdir(os.path.join(DEBIAN_ROOT, "usr", "bin")):
        return f"{path} is not installed"
    try:
        with open(DEBIAN_ROOT + ".failed", encoding="utf-8") as f:
            why = f.read().strip()
        return f"the Debian unstable root could not be made: {why}"
    except OSError:
        return (f"no Debian unstable root at {DEBIAN_ROOT}: "
                "`make deps` (scripts/debian-root) makes it, as root")


def python_params():
    params = []
    for name, path in PYTHONS:
        marks = []
        why = missing_reason(path)
        if why:
            marks.append(pytest.mark.skip(reason=why))
        params.append(pytest.param(path, id=name, marks=marks))
    return params
# ---- end of the interpreters under test --------------------------------------


def any_python():
    """The first interpreter of PYTHONS that is installed; skips if none is."""
    for _, path in PYTHONS:
        if os.access(path, os.X_OK):
            return path
    pytest.skip("no CPython of tests/conftest.py's PYTHONS is installed")


def needs_root():
    if os.geteuid() != 0:
        pytest.skip("end-to-end tests need root (BPF and perf events)")
    if not os.path.exists(PYPROF):
        pytest.fail(f"{PYPROF} is not built: run make")


@pytest.fixture
def root():
    """For tests that profile (pytestmark = usefixtures("root")): skips
    without root, fails if ./pyprof-bpf is not built."""
    needs_root()


def one_line(err, prefix="pyprof-bpf: "):
    """The one non-empty line of err, which must start with prefix: every
    bad input gets exactly one line on stderr."""
    lines = [l for l in err.splitlines() if l.strip()]
    assert len(lines) == 1, f"want one line on stderr, got:\n{err}"
    assert lines[0].startswith(prefix), lines[0]
    return lines[0]


def marker_line(script, marker):
    """The line number of the line of script holding '# MARKER'."""
    with open(os.path.join(WORKLOADS, script), encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if line.rstrip().endswith("# " + marker):
                return n
    raise AssertionError(f"no {marker} in {script}")


class Workload:
    """A Python process running one of tests/e2e/workloads, started with an
    absolute path (so co_filename is absolute on every version), ready once it
    printed 'ready'."""

    def __init__(self, python, script, *args):
        self.path = os.path.join(WORKLOADS, script)
        self.proc = subprocess.Popen(
            [python, self.path, *args],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, encoding="utf-8")
        line = self.proc.stdout.readline()
        if line.strip() != "ready":
            err = self.proc.stderr.read() if self.proc.poll() is not None else ""
            self.stop()
            raise AssertionError(f"workload {script} did not start: {line!r} {err}")
        self.pid = self.proc.pid
        with open(f"/proc/{self.pid}/comm") as f:
            self.comm = f.read().strip()

    def send(self, text):
        self.proc.stdin.write(text)
        self.proc.stdin.flush()

    def readline(self):
        return self.proc.stdout.readline()

    def split(self):
        """shape.py's own CPU seconds in hot() and in cold() so far."""
        os.kill(self.pid, signal.SIGUSR1)
        line = self.readline().split()
        assert len(line) == 3 and line[0] == "split", line
        return float(line[1]), float(line[2])

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for f in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            f.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


class Run:
    def __init__(self, rc, out, err):
        self.rc, self.out, self.err = rc, out, err

    def summary_int(self, pattern):
        m = re.search(pattern, self.err)
        assert m, f"summary lacks {pattern!r}:\n{self.err}"
        return m.group(1)


def run_pyprof(*args, timeout=60, stdin=None):
    p = subprocess.run([PYPROF, *map(str, args)], capture_output=True,
                       text=True, encoding="utf-8", timeout=timeout,
                       stdin=stdin)
    return Run(p.returncode, p.stdout, p.stderr)


# The line pyprof-bpf prints on stderr once sampling has begun (README, "Run
# summary"): its programs are attached, the targets are in its maps, a
# launched command has been released.
SAMPLING_LINE = re.compile(r"^pyprof-bpf: sampling .+ at \d+ Hz$", re.M)
# The summary's account of how long it sampled ("9.9 s at 99 Hz"), with
# the note a busy machine adds ("9.9 s (after 1.1 s loading the sampler)
# at 99 Hz"): for Run.summary_int.
RAN_SECONDS = r"([\d.]+) s (?:\(after [\d.]+ s loading the sampler\) )?at \d+ Hz"
# How long pyprof-bpf may take to get there: a bound for a loaded machine
# (loading the BPF programs takes about 0.2 s), not a measurement.
SAMPLING_TIMEOUT = 60


class Pyprof:
    """pyprof-bpf running in the background (start_pyprof).  Its stderr so
    far, including what came before the sampling line, is in communicate()'s
    answer."""

    def __init__(self, args):
        self.proc = subprocess.Popen([PYPROF, *map(str, args)],
                                     stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
        self.pid = self.proc.pid
        self._err = b""
        self._ended = None

    def wait_sampling(self, timeout=SAMPLING_TIMEOUT):
        """Returns once pyprof-bpf has said it is sampling; fails with its
        stderr if it exits first or says nothing within timeout seconds.
        Reads the pipe itself (os.read, not the file object) so that
        communicate() goes on where this stopped."""
        fd = self.proc.stderr.fileno()
        end = time.monotonic() + timeout
        while not SAMPLING_LINE.search(self._err.decode("utf-8", "replace")):
            left = end - time.monotonic()
            if left <= 0:
                self.proc.kill()
                _, err = self.communicate(timeout=30)
                pytest.fail(f"pyprof-bpf did not say it was sampling within "
                            f"{timeout} s; its stderr:\n{err}")
            if not select.select([fd], [], [], left)[0]:
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                _, err = self.communicate(timeout=30)
                pytest.fail(f"pyprof-bpf exited with {self.returncode} "
                            f"before sampling began; its stderr:\n{err}")
            self._err += chunk

    def communicate(self, timeout=None):
        """(stdout, stderr) as text once pyprof-bpf has exited."""
        if self._ended is None:
            out, err = self.proc.communicate(timeout=timeout)
            self._ended = (out.decode("utf-8"),
                           (self._err + err).decode("utf-8"))
        return self._ended

    @property
    def returncode(self):
        return self.proc.returncode

    def send_signal(self, sig):
        self.proc.send_signal(sig)

    def poll(self):
        return self.proc.poll()

    def wait(self, timeout=None):
        return self.proc.wait(timeout=timeout)

    @property
    def stderr(self):
        """The pipe itself, for tests that read on from where
        wait_sampling() stopped (what came before is in communicate())."""
        return self.proc.stderr

    def kill(self):
        self.proc.kill()


def start_pyprof(*args, timeout=SAMPLING_TIMEOUT):
    """Starts pyprof-bpf with args and returns (a Pyprof) once it says it is
    sampling: what the test does next is seen by the profiler."""
    p = Pyprof(args)
    try:
        p.wait_sampling(timeout)
    except BaseException:
        if p.poll() is None:
            p.kill()
            p.proc.wait()
        raise
    return p


FOLDED_LINE = re.compile(r"^(?P<stack>[^\n]+) (?P<count>[1-9][0-9]*)$")
PY_FRAME = re.compile(r"^(?P<name>.+) \((?P<file>.+):(?P<line>\d+)\)$")


def parse_folded(text):
    """Parses folded output, asserting the format: every line terminated,
    sorted, unique, one space before an integer count, no empty frame."""
    assert text == "" or text.endswith("\n"), "last line not newline-terminated"
    lines = text.splitlines()
    assert lines == sorted(lines, key=lambda s: s.rsplit(" ", 1)[0].encode()), \
        "lines are not sorted"
    stacks = []
    for line in lines:
        m = FOLDED_LINE.match(line)
        assert m, f"malformed folded line: {line!r}"
        frames = m.group("stack").split(";")
        assert all(frames), f"empty frame in {line!r}"
        stacks.append((frames, int(m.group("count"))))
    keys = [";".join(f) for f, _ in stacks]
    assert len(keys) == len(set(keys)), "duplicate stacks"
    return stacks


def py_frame(frame):
    """(name, file, line) of a Python frame, or None for other frames."""
    m = PY_FRAME.match(frame)
    if not m:
        return None
    return m.group("name"), m.group("file"), int(m.group("line"))


def cpu_seconds(pid):
    """User + system CPU time of process pid so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def own_autogroup(pid):
    """Puts process pid (started with start_new_session=True: an autogroup
    of its own) at nice -20, so that other load on the machine does not
    decide how much CPU it gets: for tests whose target must run in each
    interval, or at its own pace."""
    try:
        with open(f"/proc/{pid}/autogroup", "w") as f:
            f.write("-20")
    except OSError:
        pass  # no autogroup: the plain scheduler decides


def wait_cpu(pid, seconds):
    """Waits until process pid has used `seconds` more CPU time, so that a
    profile of it has samples however loaded the machine is.  Asserts
    nothing about time itself."""
    end = cpu_seconds(pid) + seconds
    while cpu_seconds(pid) < end:
        time.sleep(0.05)


def interrupt(proc, pid, cpu):
    """Sends proc SIGINT once process pid has used cpu more CPU seconds."""
    wait_cpu(pid, cpu)
    proc.send_signal(signal.SIGINT)
