# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
"""--native and --kernel: native frames unwound with DWARF CFI from binaries
built without frame pointers and merged with the Python frames; kernel
frames below them; CPython 3.12's -X perf trampolines."""
import math
import os
import platform
import re
import shutil
import tempfile
import subprocess

import pytest

from conftest import (DEBIAN_BIN, DEBIAN_ROOT, EMULATED, PYTHONS, WORKLOADS,
                      extra_pythons, missing_reason, parse_folded, py_frame,
                      python_params, run_pyprof)

pytestmark = pytest.mark.usefixtures("root")

# a -> b -> c, each a real call, built without frame pointers.
SPIN_C = os.path.join(WORKLOADS, "spin.c")

CTYPES_PY = """\
import ctypes, sys, time
lib = ctypes.CDLL(sys.argv[1])
lib.a.argtypes = [ctypes.c_ulong]
lib.a.restype = ctypes.c_ulong


def outer(secs):
    end = time.time() + secs
    while time.time() < end:
        inner()


def inner():
    lib.a(2000000)  # CALL_A


outer(float(sys.argv[2]))  # MAIN
"""

SYSCALL_PY = """\
import os, sys, time


def reader(secs):
    fd = os.open("/dev/zero", os.O_RDONLY)
    end = time.time() + secs
    while time.time() < end:
        os.read(fd, 1 << 16)  # READ


t0 = os.times()
reader(float(sys.argv[1]))
t1 = os.times()
if len(sys.argv) > 2:
    with open(sys.argv[2], "w") as f:
        f.write("%f %f" % (t1.user - t0.user, t1.system - t0.system))
"""


def kernel_share(path):
    """The reader's own share of CPU time spent in the kernel, as the
    kernel accounted it (os.times)."""
    user, system = map(float, open(path).read().split())
    return system / (user + system)

# Frames of the eval loop that merging must have replaced (and its
# split-off parts, "_PyEval_EvalFrameDefault.cold").
EVAL = "_PyEval_EvalFrameDefault"
# What stands in place of an eval-loop frame whose Python frames were not
# read (src/sampler/collect.c, no_python_marker).
UNREAD_MARKERS = {"[interpreter not readable]", "[no Python thread state]",
                  "[unreadable frame]", "[exiting]", "[no Python frame]",
                  "[asleep since the start]"}


@pytest.fixture(scope="module")
def libspin(tmp_path_factory):
    """spin.c as a library: built with gcc, else the one make test-arm64
    cross-builds from it (PYPROF_TEST_LIBSPIN: its VM has no compiler)."""
    prebuilt = os.environ.get("PYPROF_TEST_LIBSPIN")
    if not shutil.which("gcc"):
        if prebuilt:
            return prebuilt
        pytest.skip("gcc is not installed (make deps)")
    lib = tmp_path_factory.mktemp("native") / "libspin.so"
    subprocess.run(["gcc", "-O2", "-fomit-frame-pointer", "-shared", "-fPIC",
                    "-o", str(lib), SPIN_C], check=True)
    return str(lib)


def line_of(text, marker):
    for n, line in enumerate(text.splitlines(), 1):
        if line.rstrip().endswith("# " + marker):
            return n
    raise AssertionError(marker)


def assert_evals_merged(frames):
    """Each eval-loop call of a --native stack is replaced by its Python
    frames; but one caught entering (its frame not the thread's yet) or
    leaving runs none, and shows as itself: only the leaf-most, with no
    Python frame nearer the leaf."""
    evals = [i for i, f in enumerate(frames) if f.startswith(EVAL)]
    assert len(evals) <= 1, frames
    assert not evals or not any(py_frame(f) for f in frames[evals[0]:]), \
        frames
    assert "[unmerged]" not in frames, frames


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return str(p)


@pytest.mark.parametrize("python", python_params())
def test_native_ctypes_merged(python, libspin, tmp_path):
    """... <module>; outer; inner; <ctypes call path>; a; b; c on every
    interpreter: native frames correct past the first without frame
    pointers, each eval-loop frame replaced by its Python frames."""
    script = write(tmp_path, "ct.py", CTYPES_PY)
    call_line = line_of(CTYPES_PY, "CALL_A")
    # Emulated (make test-arm64), the interpreter's start-up takes 2-3 s
    # of the run: the spin is longer, for the same share of it.
    r = run_pyprof("--native", "--folded", "-F", 199, "--", python, script,
                   libspin, 10 if EMULATED else 2)
    assert r.rc == 0, r.err
    stacks = parse_folded(r.out)
    total = sum(c for _, c in stacks)
    assert total > 50, r.err
    good = unread = own = spin = 0
    for frames, count in stacks:
        assert_evals_merged(frames)
        if any(py_frame(f) and py_frame(f)[1] == script for f in frames):
            own += count
        # An eval-loop frame whose Python frames were not read (start-up,
        # before the interpreter is readable) shows why, in their place,
        # and only in a stack with no Python frame.
        if any(f in UNREAD_MARKERS for f in frames):
            assert not any(py_frame(f) for f in frames), frames
            unread += count
            continue
        if frames[-3:] != ["a", "b", "c"]:
            continue
        spin += count
        # A code object not readable shows as [unknown] (never another
        # function's name): a Python-side matter, not counted as merged.
        if "[unknown]" in frames:
            continue
        pys = [(i, py_frame(f)) for i, f in enumerate(frames) if py_frame(f)]
        names = [p[1][0] for p in pys]
        # The Python frames, root to leaf, then only native frames.  The
        # <module> frame is ct.py's own, at its line (a code address
        # reused by an earlier module's <module> must not lend its name).
        assert names[-3:] == ["<module>", "outer", "inner"], frames
        assert pys[-3][1][1:] == (script, line_of(CTYPES_PY, "MAIN")), frames
        last_py, leaf_py = pys[-1]
        assert leaf_py[2] == call_line, frames
        assert os.path.basename(leaf_py[1]) == "ct.py", frames
        ctypes_path = frames[last_py + 1:-3]
        # The ctypes call path: at least libffi's entry and one frame of
        # the _ctypes module or of CPython's call machinery.  arm64's
        # libffi (Debian's 3.5) has ffi_call jump to a static function,
        # unnamed without its debug file: a libffi frame there.
        assert "ffi_call" in ctypes_path or (
            platform.machine() == "aarch64" and
            any(f.startswith("[libffi.so") for f in ctypes_path)), frames
        assert len(ctypes_path) >= 3, frames
        good += count
    # c spins; a handful of samples land in time.time() and the call path,
    # and start-up's.  Emulated, start-up is seconds of CPU time (more on a
    # loaded host: the spin is timed by the clock) and the interpreter's
    # loop a larger part of ct.py's own: there the spin is most of ct.py's
    # samples, and each of its samples is whole.
    if EMULATED:
        assert spin > 0.5 * own, (spin, own, total, r.out)
        assert good > 0.95 * spin, (good, spin, r.out)
    else:
        assert good > 0.7 * total, (good, total, r.out)
    assert unread < 0.1 * total, (unread, total, r.out)
    m = re.search(r"native stacks (\d+) .* (\d+) unmerged", r.err)
    assert m and int(m.group(2)) == 0, r.err


# A system call's entry and exit, the kernel's frames above its handler.
SYSCALL_ENTRY = {f + "_[k]" for f in (
    "entry_SYSCALL_64", "entry_SYSCALL_64_after_hwframe", "do_syscall_64",
    "syscall_exit_to_user_mode", "el0t_64_sync", "el0t_64_sync_handler",
    "el0_svc", "do_el0_svc", "el0_svc_common.constprop.0", "invoke_syscall",
    "invoke_syscall.constprop.0",
    # A PVM guest's kernel (this machine's since 6.18.44-fc-v1272) enables
    # interrupts in do_syscall_64 through these: the timer's sample, held
    # while they were off, lands there, in the system call's entry.
    "pvm_irq_enable", "__raw_callee_save_pvm_irq_enable")}


def frames_kinds(frames):
    """'p' Python, 'k' kernel, 'n' anything else, per frame after the
    process and thread frames."""
    out = ""
    for f in frames[2:]:
        out += "p" if py_frame(f) else "k" if f.endswith("_[k]") else "n"
    return out


@pytest.mark.parametrize("python", python_params())
def test_kernel_frames_below_python(python, tmp_path):
    """--kernel: a read(2) loop shows the kernel's read path below the
    Python frame that called it, and kernel frames only at the leaf."""
    script = write(tmp_path, "sys.py", SYSCALL_PY)
    read_line = line_of(SYSCALL_PY, "READ")
    times = tmp_path / "times"
    r = run_pyprof("--kernel", "--folded", "-F", 199, "--", python, script,
                   2, times)
    assert r.rc == 0, r.err
    stacks = parse_folded(r.out)
    total = sum(c for _, c in stacks)
    in_reader = in_kernel = in_read = 0
    for frames, count in stacks:
        kinds = frames_kinds(frames)
        assert re.fullmatch(r"[pn]*k*", kinds), frames
        leaf_py = [py_frame(f) for f in frames if py_frame(f)]
        if not leaf_py or leaf_py[-1][0] != "reader":
            continue  # start-up and exit: outside the timed loop
        in_reader += count
        if "k" not in kinds:
            continue
        in_kernel += count
        if leaf_py[-1][2] == read_line and (
                any(re.search(r"read.*_\[k\]$", f) for f in frames) or
                all(f in SYSCALL_ENTRY for f in frames if f.endswith("_[k]"))):
            in_read += count
    # Reading 64 KiB of zeroes is kernel time, mostly clearing the buffer:
    # how much depends on the machine, so the loop's own system time (the
    # kernel's accounting, os.times) says what share of its samples must
    # have kernel frames under it.
    share = kernel_share(times)
    assert share > 0.1, ("the read loop spent too little time in the "
                         "kernel to test", share)
    # The samples are a binomial draw of that time: at 300-400 samples
    # and a share near 0.3, one standard deviation is 8 samples, a tenth
    # of the expected count, so the bound is 4 of them below it (a flat
    # 0.8 of it failed a run under QEMU: 69 of 313 at a share of 0.28,
    # 2.4 deviations below).
    want = share * in_reader
    assert in_kernel > want - 4 * math.sqrt(want * (1 - share)), (
        in_kernel, in_reader, share, r.out)
    # ... and that kernel time is the read path, under the read line: the
    # read itself, or the system call's entry and exit around it.  (Under
    # QEMU, with pointer authentication emulated, arm64's entry and exit,
    # el0_svc, are a fifth of the loop's kernel samples.)
    assert in_read > 0.8 * in_kernel, (in_read, in_kernel, r.out)
    assert "kernel stacks:" in r.err


def test_native_and_kernel_order(tmp_path):
    """--native --kernel: Python, then native (os.read -> libc read), then
    kernel frames, in that order in one stack."""
    pys = [p for n, p in PYTHONS if n == "3.11" and os.access(p, os.X_OK)]
    if not pys:
        pytest.skip("CPython 3.11 (pyenv) is not installed")
    script = write(tmp_path, "sys.py", SYSCALL_PY)
    times = tmp_path / "times"
    r = run_pyprof("--native", "--kernel", "--folded", "-F", 199, "--",
                   pys[0], script, 2, times)
    assert r.rc == 0, r.err
    stacks = parse_folded(r.out)
    total = sum(c for _, c in stacks)
    ordered = in_reader = 0
    for frames, count in stacks:
        kinds = frames_kinds(frames)
        assert EVAL not in frames, frames
        names = [py_frame(f)[0] for f in frames if py_frame(f)]
        if not names or names[-1] != "reader":
            continue  # start-up and exit: outside the timed loop
        in_reader += count
        if re.fullmatch(r"n*p+n+k+", kinds) and "os_read" in "".join(frames):
            ordered += count
    share = kernel_share(times)
    assert share > 0.1, ("the read loop spent too little time in the "
                         "kernel to test", share)
    assert total > 50, r.err
    assert ordered > 0.7 * share * in_reader, (ordered, in_reader, share,
                                               r.out)


def perf_python():
    """A CPython 3.12+ run directly (-X perf's files are the process's own
    /tmp, not a chroot's): pyenv's 3.12, else one of PYPROF_TEST_PYTHONS
    (make test-arm64's python3.14), or None."""
    for name, path in PYTHONS:
        if name == "3.12" and os.access(path, os.X_OK):
            return path
    for name, path in extra_pythons():
        m = re.fullmatch(r"(?:python|debian-)3\.(\d+)", name)
        if m and int(m.group(1)) >= 12 and os.access(path, os.X_OK):
            return path
    return None


def test_perf_trampolines_resolved(tmp_path, libspin):
    """CPython 3.12+ -X perf: the trampolines' code is in anonymous memory,
    named only by /tmp/perf-PID.map; they show as py::func:file and the
    unwind goes on through them (their frame is the machine's: arm64's
    saves x29 and x30)."""
    python = perf_python()
    if not python:
        pytest.skip("no CPython 3.12+ to run directly: pyenv's 3.12 is not "
                    "installed, nor one given in PYPROF_TEST_PYTHONS")
    script = write(tmp_path, "ct.py", CTYPES_PY)
    r = run_pyprof("--native", "--folded", "-F", 199, "--", python, "-X",
                   "perf", script, libspin, 10 if EMULATED else 2)
    assert r.rc == 0, r.err
    stacks = parse_folded(r.out)
    total = sum(c for _, c in stacks)
    good = spin = own = 0
    for frames, count in stacks:
        if any(py_frame(f) and py_frame(f)[1] == script for f in frames):
            own += count
        if frames[-3:] != ["a", "b", "c"]:
            continue
        spin += count
        tramp = [f for f in frames if f.startswith("py::")]
        names = [py_frame(f)[0] for f in frames if py_frame(f)]
        # Unwound through every trampoline, down to main's frames.
        if (tramp == [f"py::<module>:{script}", f"py::outer:{script}",
                      f"py::inner:{script}"] and
                names == ["<module>", "outer", "inner"] and
                "Py_RunMain" in frames):
            good += count
    # Emulated, as test_native_ctypes_merged: the spin's own samples.
    if EMULATED:
        assert spin > 0.5 * own, (spin, own, total, r.out)
        assert good > 0.95 * spin, (good, spin, r.out)
    else:
        assert good > 0.7 * total, (good, total, r.out)


# b and c are static (gone from a stripped library's symbols) and mix is
# inlined into c: only the debug file knows them.
DEBUGLINK_C = r"""
volatile unsigned long sink;
static inline __attribute__((always_inline)) unsigned long
mix(unsigned long x, unsigned long i)
{
	/* A chain of dependent multiplies: nearly every instruction (and so
	 * nearly every sample) of c's loop is mix's, whatever the skid. */
	for (int k = 0; k < 16; k++)
		x = x * 0x9e3779b97f4a7c15ul + i;
	sink = x;
	return x;
}
static __attribute__((noinline)) unsigned long c(unsigned long n)
{
	unsigned long x = 0;
	for (unsigned long i = 0; i < n; i++)
		x = mix(x, i);
	return x;
}
static __attribute__((noinline)) unsigned long b(unsigned long n)
{
	unsigned long r = c(n);
	sink = r;
	return r + 1;
}
__attribute__((noinline)) unsigned long a(unsigned long n)
{
	unsigned long r = b(n);
	sink = r;
	return r + 2;
}
"""


def test_debuglink_symbols_and_inline_frames(tmp_path):
    """A stripped library with its debug info in a separate file found by
    .gnu_debuglink: static functions get their names and the inlined
    function its own frame; without the debug file, unknown addresses show
    as [file+0xoffset] and the unwind (.eh_frame stays) is still right."""
    pys = [p for n, p in PYTHONS if n == "3.11" and os.access(p, os.X_OK)]
    if not pys:
        pytest.skip("CPython 3.11 (pyenv) is not installed")
    for tool in ("gcc", "objcopy", "strip"):
        if not shutil.which(tool):
            pytest.skip(f"{tool} is not installed (make deps)")
    src = tmp_path / "dl.c"
    src.write_text(DEBUGLINK_C)
    lib, dbg = tmp_path / "libdl.so", tmp_path / "libdl.so.debug"
    for cmd in (["gcc", "-g", "-O2", "-fomit-frame-pointer", "-shared",
                 "-fPIC", "-o", lib, src],
                ["objcopy", "--only-keep-debug", lib, dbg],
                ["strip", "--strip-all", lib],
                ["objcopy", f"--add-gnu-debuglink={dbg}", lib]):
        subprocess.run(list(map(str, cmd)), check=True, cwd=tmp_path)
    script = write(tmp_path, "ct.py", CTYPES_PY)

    def leaf_tails():
        r = run_pyprof("--native", "--folded", "-F", 199, "--", pys[0],
                       script, lib, 2)
        assert r.rc == 0, r.err
        tails = {}
        for frames, count in parse_folded(r.out):
            if "inner" in "".join(frames) and "ffi_call" in frames:
                tail = tuple(frames[frames.index("ffi_call") + 1:])
                tails[tail] = tails.get(tail, 0) + count
        return tails, sum(tails.values())

    tails, total = leaf_tails()
    with_names = sum(c for t, c in tails.items()
                     if t[-4:] == ("a", "b", "c", "mix"))
    assert with_names > 0.8 * total, tails

    os.unlink(dbg)
    tails, total = leaf_tails()
    unnamed = re.compile(r"^\[libdl\.so\+0x[0-9a-f]+\]$")
    without = sum(c for t, c in tails.items()
                  if len(t) >= 3 and t[-3] == "a" and
                  all(unnamed.match(f) for f in t[-2:]))
    assert without > 0.8 * total, tails


CLOCK_PY = """\
import ctypes, sys, time
lib = ctypes.CDLL(sys.argv[1])
lib.spin_clock.argtypes = [ctypes.c_long]


def call_native():
    lib.spin_clock(200000)  # SPIN


end = time.time() + float(sys.argv[2])
while time.time() < end:
    call_native()
"""

# Clock sources the vDSO reads in user space (x86's vclock_mode, arm64's
# generic timer); any other makes clock_gettime a system call.
VDSO_CLOCKS = {"tsc", "kvm-clock", "hyperv_clocksource_tsc_page",
               "arch_sys_counter"}
# The vDSO's clock_gettime: x86-64's, arm64's.
VDSO_GETTIME = {"__vdso_clock_gettime", "__kernel_clock_gettime"}
VDSO_LOCAL = re.compile(r"\[\[vdso\]\+0x[0-9a-f]+\]")


def test_vdso_frames_unwound(tmp_path, libspin):
    """A C loop reading the clock (spin.c's spin_clock) spends its time in
    the vDSO: the vDSO's frames are named from its image in the process
    (__vdso_clock_gettime; arm64's __kernel_clock_gettime, a leaf without
    CFI) and the unwind goes on out of it, through the C caller, to the
    Python frames, not cut."""
    try:
        clock = open("/sys/devices/system/clocksource/clocksource0/"
                     "current_clocksource").read().strip()
    except OSError as e:
        pytest.skip(f"cannot tell the clock source: {e}")
    if clock not in VDSO_CLOCKS:
        pytest.skip(f"the clock source is {clock}: clock_gettime is a "
                    "system call here, not a vDSO call")
    python = perf_python()
    if not python:
        pytest.skip("no CPython 3.12+ to run directly: pyenv's 3.12 is not "
                    "installed, nor one given in PYPROF_TEST_PYTHONS")
    script = write(tmp_path, "clk.py", CLOCK_PY)
    r = run_pyprof("--native", "--folded", "-F", 199, "--", python, script,
                   libspin, 10 if EMULATED else 3)
    assert r.rc == 0, r.err
    stacks = parse_folded(r.out)
    total = sum(c for _, c in stacks)
    assert total > 50, r.err
    in_vdso = good = 0
    for frames, count in stacks:
        if not any(f.startswith(("__vdso_", "__kernel_")) for f in frames):
            continue
        in_vdso += count
        names = [py_frame(f)[0] for f in frames if py_frame(f)]
        # Under clock_gettime, a kernel's vDSO may call a function of its
        # own that its image names in no symbol table (this machine's
        # kvm-clock read): an address in [vdso], at the leaf only.
        gettime = frames[-2] if VDSO_LOCAL.fullmatch(frames[-1]) else frames[-1]
        if (gettime in VDSO_GETTIME and "spin_clock" in frames
                and names[-2:] == ["<module>", "call_native"] and
                "[native stack truncated]" not in frames and
                "[unknown]" not in frames):
            good += count
    # Most of the loop's time is in the vDSO's clock read.
    assert in_vdso > 0.3 * total, (in_vdso, total, r.out)
    assert good > 0.95 * in_vdso, (good, in_vdso, r.out)


BUSY_PY = """\
import sys, time


def work(n):
    s = 0
    for i in range(n):
        s += i * i  # WORK
    return s


def busy(secs):
    end = time.time() + secs
    while time.time() < end:
        work(10000)


busy(float(sys.argv[1]))
"""


@pytest.mark.parametrize("version", ["3.14", "3.15"])
def test_native_debian_stripped(version, tmp_path):
    """Debian unstable's python3.14 and python3.15 (stripped, PGO: the bulk
    of the eval loop is a split-off part no .dynsym symbol names), run in a
    chroot, or directly where given (debian-3.N=PATH): native frames
    unwound from .eh_frame, every eval-loop frame merged, and the summary
    says how many frames have no symbol and how to get them."""
    # Emulated, start-up is seconds of CPU time: a longer run keeps it
    # a small part.
    secs = 12 if EMULATED else 3
    direct = [p for n, p in extra_pythons()
              if n == f"debian-{version}" and os.access(p, os.X_OK)]
    if direct:
        # Given to run directly (the arm64 machine's own).
        with open(os.path.join(tmp_path, "busy.py"), "w") as f:
            f.write(BUSY_PY)
        r = run_pyprof("--native", "--folded", "-F", 199, "--", direct[0],
                       os.path.join(tmp_path, "busy.py"), secs)
    else:
        why = missing_reason(os.path.join(DEBIAN_BIN, f"python{version}"))
        if why:
            pytest.skip(why)
        d = tempfile.mkdtemp(dir=os.path.join(DEBIAN_ROOT, "tmp"))
        try:
            with open(os.path.join(d, "busy.py"), "w") as f:
                f.write(BUSY_PY)
            inner = "/" + os.path.relpath(os.path.join(d, "busy.py"),
                                          DEBIAN_ROOT)
            r = run_pyprof("--native", "--folded", "-F", 199, "--",
                           "chroot", DEBIAN_ROOT, f"python{version}", inner,
                           secs)
        finally:
            shutil.rmtree(d)
    assert r.rc == 0, r.err
    stacks = parse_folded(r.out)
    total = sum(c for _, c in stacks)
    assert total > 50, r.err
    good = 0
    for frames, count in stacks:
        assert_evals_merged(frames)
        names = [py_frame(f)[0] for f in frames if py_frame(f)]
        if (names[-2:] == ["busy", "work"] and "_start" in frames and
                "PyEval_EvalCode" in frames and
                "[native stack truncated]" not in frames):
            good += count
    assert good > 0.8 * total, (good, total, r.out)
    m = re.search(r"native frames without a symbol: (\d+) of (\d+) .*"
                  rf"python{re.escape(version)}.*DEBUGINFOD_URLS", r.err)
    assert m and 0 < int(m.group(1)) < int(m.group(2)), r.err
