# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
"""End-to-end: profile real Python processes of known shape on every
interpreter present and check exact frames, files, lines and proportions."""
import os
import re
import signal
import struct
import subprocess

import pytest

from conftest import (EMULATED, RAN_SECONDS, WORKLOADS as WORKLOADS_DIR, Run,
                      Workload, any_python, extra_pythons, interrupt,
                      marker_line, needs_root, parse_folded, py_frame,
                      python_params, run_pyprof, start_pyprof, wait_cpu)

pytestmark = pytest.mark.usefixtures("root")


def pyframes(frames):
    """The Python frames of a folded stack (after process and thread)."""
    return [py_frame(f) for f in frames[2:]]


@pytest.fixture(scope="module", params=python_params())
def shape_run(request):
    """shape.py profiled at 999 Hz for 4 s of its CPU time, however loaded
    the machine is: ~4000 samples, so that 3 points are 4 standard errors.
    One run per interpreter, for the two tests below."""
    python, freq = request.param, 999
    needs_root()
    with Workload(python, "shape.py") as w:
        p = start_pyprof("-p", w.pid, "-F", freq)
        before = w.split()
        wait_cpu(w.pid, 4.0)
        p.send_signal(signal.SIGINT)
        after = w.split()
        out, err = p.communicate(timeout=60)
    w.spent = [b - a for a, b in zip(before, after)]
    return w, freq, Run(p.returncode, out, err)


def test_shape_frames_lines_and_proportions(shape_run):
    """hot() does 3x the work of cold(): the split its own clock measured
    (~75/25) within 3 points, every frame exact, and every sample taken
    written."""
    w, _, r = shape_run
    hot_line = marker_line("shape.py", "HOT_LINE")
    cold_line = marker_line("shape.py", "COLD_LINE")
    main_line = marker_line("shape.py", "MAIN_CALL")
    call_hot = marker_line("shape.py", "CALL_HOT")
    call_cold = marker_line("shape.py", "CALL_COLD")
    assert r.rc == 0, r.err
    stacks = parse_folded(r.out)
    hot = cold = other = 0
    for frames, count in stacks:
        assert frames[0] == f"{w.comm}-{w.pid}"
        assert frames[1] == "MainThread"
        py = pyframes(frames)
        assert py[0] == ("<module>", w.path, main_line), frames
        if len(py) == 3 and py[2] == ("hot", w.path, hot_line):
            assert py[1] == ("main", w.path, call_hot), frames
            hot += count
        elif len(py) == 3 and py[2] == ("cold", w.path, cold_line):
            assert py[1] == ("main", w.path, call_cold), frames
            cold += count
        else:
            # Between the calls: main's own lines, or a call's first/last line.
            assert all(p is not None for p in py), frames
            other += count
    total = hot + cold + other
    assert other <= 0.02 * total, f"{other} of {total} samples outside hot/cold"
    share = 100.0 * hot / (hot + cold)
    # What the process spent while it was sampled, by its thread's clock:
    # 74.7-75.2 % here, quiet or with both CPUs busy.  It is the truth the
    # profile is held to; a CI run once measured 78.8 % against 75.
    truth = 100.0 * w.spent[0] / sum(w.spent)
    assert abs(truth - 75) <= 10, f"shape.py spent {truth:.1f}% in hot()"
    # 3 points are 4 standard errors of ~4000 samples; where the timer
    # fires fewer (emulated: ~20% of 999 Hz, ~800 samples), 4 of its own.
    band = max(3.0, 4 * 100 * (0.75 * 0.25 / (hot + cold)) ** 0.5)
    assert abs(share - truth) <= band, \
        (f"hot share {share:.1f}%, want {truth:.1f} +- {band:.1f} "
         f"({hot + cold} samples)")

    taken = int(r.summary_int(r"samples (\d+) taken"))
    written = int(r.summary_int(r"(\d+) written"))
    lost = int(r.summary_int(r"(\d+) lost"))
    assert lost == 0 and written == taken == total, r.err


@pytest.mark.skipif(bool(EMULATED), reason=f"{EMULATED}: its timer "
                    "interrupts come late, so fewer samples than -F asks")
def test_samples_follow_cpu_time(shape_run):
    """As many samples as the target's CPU time x frequency, within 5%."""
    _, freq, r = shape_run
    assert r.rc == 0, r.err
    taken = int(r.summary_int(r"samples (\d+) taken"))
    cpu = float(r.summary_int(r"from ([0-9.]+) s of CPU time"))
    expected = cpu * freq
    assert abs(taken - expected) <= 0.05 * expected, \
        f"{taken} samples for {cpu:.2f} CPU-seconds at {freq} Hz: want {expected:.0f} +- 5%"


BURSTS = """\
import sys, time
def burst():
    t = c = time.thread_time()
    w0 = w = time.monotonic()
    stalled = 0.0
    while c - t < 0.08:
        c1, w1 = time.thread_time(), time.monotonic()
        if w1 - w > 0.001:
            stalled += c1 - c
        c, w = c1, w1
    off.append(w - w0 - (c - t))
    stalls.append(stalled)
    return c - t
spent, off, stalls = [], [], []
time.sleep(0.25); spent.append(burst())  # BURST 0
time.sleep(0.25); spent.append(burst())  # BURST 1
time.sleep(0.25); spent.append(burst())  # BURST 2
time.sleep(0.25); spent.append(burst())  # BURST 3
time.sleep(0.25); spent.append(burst())  # BURST 4
print("CPU", *spent, file=sys.stderr)
print("off CPU", *off, file=sys.stderr)
print("stalled", *stalls, file=sys.stderr)
"""
# A burst off its CPU for longer than this in all was several stretches;
# one charged more CPU than this in turns of its loop over 1 ms stalled.
BURST_OFF_MAX = 0.005
BURST_STALL_MAX = 0.001


@pytest.mark.skipif(bool(EMULATED), reason=f"{EMULATED}: its timer "
                    "interrupts come late, so fewer samples than -F asks")
def test_short_bursts_follow_cpu_time(tmp_path):
    """Five bursts of 80 ms of CPU, each after a sleep: each has as many
    samples as its CPU time x 999 Hz, within 10.  The timers' rate varies
    from one re-arm (every 100 ms) to the next, the next one the opposite
    way: at 20% a burst took 67 to 94 samples (perf record beside it: 82
    to 84), and failed this 4 runs in 6; at 4%, a burst's two ends are
    off by at most 4 samples each, and half a sample is lost at each
    re-arm.

    That holds for a burst run whole.  Two things break one, and the
    script times each turn of its loop to see them:
    - preempted (off CPU over BURST_OFF_MAX in all), a burst is many
      stretches, each with its two ends: with 2 to 4 CPU hogs beside it,
      110 such bursts took 71 to 94 samples (perf record -a, whose timers
      do not vary: 58 to 144);
    - stalled (over BURST_STALL_MAX): turns of its loop of over 1 ms
      whose time the thread is charged as CPU.  This VM's host takes a
      vCPU for 3 to 30 ms a few times a minute; /proc/stat's steal did
      not count those (0 ticks over a minute with two of them), and
      thread_time does; perf record -a took no sample, or a few late
      ones, on that CPU in such a gap.  A CI run's burst of "80 ms" took
      61 samples.
    A broken burst is held to [(CPU - stalled) x 0.75, CPU x 1.25] x 999,
    and the script runs again, up to 4 times in all, until 5 bursts ran
    whole; fewer is a skip that says how busy the machine was."""
    needs_root()
    script = tmp_path / "bursts.py"
    script.write_text(BURSTS)
    call_line = {int(x[-1]): n for n, x in
                 enumerate(BURSTS.splitlines(), 1) if "# BURST " in x}

    def floats(err, name):
        m = re.search(rf"^{name}((?: [0-9.e-]+){{5}})$", err, re.M)
        assert m, err
        return [float(x) for x in m.group(1).split()]

    whole = 0
    for _ in range(4):
        r = run_pyprof("-F", 999, "--", any_python(), str(script))
        assert r.rc == 0, r.err
        spent, off, stalled = (floats(r.err, "CPU"),
                               floats(r.err, "off CPU"),
                               floats(r.err, "stalled"))
        got = [0] * 5
        for frames, count in parse_folded(r.out):
            py = pyframes(frames)
            if len(py) >= 2 and py[-1] is not None and py[-1][0] == "burst":
                for i, line in call_line.items():
                    if py[-2] == ("<module>", str(script), line):
                        got[i] += count
        why = (got, [round(s * 999) for s in spent],
               [f"off CPU {o * 1e3:.1f} ms" for o in off],
               [f"stalled {s * 1e3:.1f} ms" for s in stalled], r.err)
        for i in range(5):
            want = spent[i] * 999
            if off[i] <= BURST_OFF_MAX and stalled[i] <= BURST_STALL_MAX:
                assert abs(got[i] - want) <= 10, (i, *why)
                whole += 1
            else:
                low = (spent[i] - stalled[i]) * 999 * 0.75
                assert low <= got[i] <= want * 1.25, (i, *why)
        if whole >= 5:
            return
    pytest.skip(f"the machine is too busy: {whole} of 20 bursts of 80 ms "
                f"ran whole; the last run's: {why[2]}, {why[3]}")


@pytest.mark.parametrize("freq,cycles", [(99, 1), (99, 2), (199, 2)])
def test_a_loop_in_step_with_the_sampler(freq, cycles):
    """A loop whose cycle is a whole number of sampling periods, 3/4 in
    hot() and 1/4 in cold(): a timer firing at exact multiples of 1/F saw
    one phase of it, 100/0 or 50/50 (a CI run's shape.py, slowed to 20.2
    ms a cycle by the load, came out 52/48 at 99 Hz).  Sampled right, it
    is 75/25: 4 s of CPU time gives 400 samples at 99 Hz, 0.10 is 4
    standard errors."""
    needs_root()
    with Workload(any_python(), "in_step.py", str(freq), str(cycles)) as w:
        p = start_pyprof("-p", w.pid, "-F", freq)
        wait_cpu(w.pid, 4.0)
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=60)
    assert p.returncode == 0, err
    hot_line = marker_line("in_step.py", "HOT_LINE")
    cold_line = marker_line("in_step.py", "COLD_LINE")
    hot = cold = total = 0
    for frames, count in parse_folded(out):
        leaf = py_frame(frames[-1])
        hot += count if leaf == ("hot", w.path, hot_line) else 0
        cold += count if leaf == ("cold", w.path, cold_line) else 0
        total += count
    assert hot + cold >= 0.98 * total, out
    share = hot / (hot + cold)
    assert 0.65 <= share <= 0.85, f"hot {hot}, cold {cold}: {share:.2f}, want 0.75"


def remade_split(w):
    """remade.py's CPU seconds in alpha() and gamma() so far, and in how
    many of its changes of function the new code object took the freed
    one's address."""
    os.kill(w.pid, signal.SIGUSR1)
    line = w.readline().split()
    assert len(line) == 6 and line[0] == "split" and line[3] == "same", line
    return float(line[1]), float(line[2]), int(line[4]), int(line[5])


@pytest.mark.parametrize("python", python_params())
def test_code_objects_made_again_keep_their_names(python):
    """remade.py frees a function's code object and compiles the other of
    two in its place, round after round: alpha for 0.45 s of CPU, gamma
    for 0.15 s.  Each sample names the function that ran, with its own file and
    line, in the split the process measured within 5 points.  A fingerprint
    taken from the object that was at the address before gives every
    sample to one of them: 3.14+ keep fingerprints from sample to sample
    while no code object is freed (bpf/pystack.bpf.h code_fingerprint), and
    a build that ignored that count gave alpha 1.000 of the samples against
    0.750.  The test checks that most new code objects did take the freed
    one's address."""
    loop = 3  # of the source remade.py compiles (SRC)
    call = marker_line("remade.py", "CALL_LINE")
    with Workload(python, "remade.py") as w:
        p = start_pyprof("-p", w.pid, "-F", 999)
        a0, g0, _, _ = remade_split(w)
        wait_cpu(w.pid, 6.0)
        p.send_signal(signal.SIGINT)
        a1, g1, same, changes = remade_split(w)
        out, err = p.communicate(timeout=60)
    assert p.returncode == 0, err
    assert changes >= 6 and same >= changes / 2, \
        f"{same} of {changes} new code objects at the old one's address"
    counts = {"alpha": 0, "gamma": 0}
    total = at_loop = 0
    for frames, count in parse_folded(out):
        total += count
        py = pyframes(frames)
        leaf = py[-1]
        if leaf is None or leaf[0] not in counts:
            continue
        name, path, line = leaf
        # Mostly its loop; its other lines on the way in or out.
        assert path == f"/remade/{name}.py" and 1 <= line <= 4, frames
        at_loop += count if line == loop else 0
        assert py[-2] == ("main", w.path, call), frames
        counts[name] += count
    assert counts["alpha"] + counts["gamma"] >= 0.8 * total, \
        (counts, total, sorted(parse_folded(out), key=lambda x: -x[1])[:6])
    assert at_loop >= 0.9 * (counts["alpha"] + counts["gamma"]), out
    share = counts["alpha"] / (counts["alpha"] + counts["gamma"])
    truth = (a1 - a0) / ((a1 - a0) + (g1 - g0))
    assert abs(share - truth) <= 0.05, \
        f"alpha {share:.3f} of the samples, {truth:.3f} of the CPU: {counts}"


def counter(err, name):
    """A counter of -v's list ("pyprof-bpf:   NAME   N  what it counts")."""
    m = re.search(rf"^pyprof-bpf:\s+{name}\s+(\d+)\s", err, re.M)
    assert m, f"no {name} counter in -v's output: {err[-2000:]}"
    return int(m.group(1))


def elf_section_names(path):
    """The section names of ELF file path (64-bit, little-endian)."""
    with open(path, "rb") as f:
        data = f.read()
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3a)
    heads = [struct.unpack_from("<IIQQQQ", data, shoff + i * shentsize)
             for i in range(shnum)]
    strtab = heads[shstrndx][4]
    return {data[strtab + h[0]:data.index(b"\0", strtab + h[0])].decode()
            for h in heads}


def counts_code_objects(pid, version):
    """Whether the interpreter of process pid has a count the walk may keep
    fingerprints by (bpf/pyprof_shared.h, interp_code_gen): 3.14+'s of code
    objects freed; 3.12's of those made, _Py_next_func_version, when its
    file has the symbol (a local one, in the symbol table alone); 3.13's,
    in the interpreter, when its file has the DWARF that places it.  And
    the interpreter's file."""
    with open(f"/proc/{pid}/maps") as f:
        paths = [ln.split(None, 5)[5].strip() for ln in f
                 if len(ln.split(None, 5)) == 6]
    exe = os.readlink(f"/proc/{pid}/exe")
    lib = [p for p in paths if "/libpython3." in p]
    path = f"/proc/{pid}/root" + (lib[0] if lib else exe)
    if version >= (3, 14):
        return True, path
    if version == (3, 13):
        return ".debug_info" in elf_section_names(path), path
    if version == (3, 12):
        # nm (binutils, with gcc): the arm64 VM, which has no 3.12, has none.
        v = subprocess.run(["nm", path], capture_output=True, text=True)
        return any(ln.split()[-1] == "_Py_next_func_version"
                   for ln in v.stdout.splitlines() if ln.split()), path
    return False, path


@pytest.mark.parametrize("python", python_params())
def test_fingerprints_kept_from_sample_to_sample(python):
    """distinct.py runs a stack of 32 distinct functions.  Where the
    interpreter counts its code objects (3.14+ those freed, 3.12 and 3.13
    those made, bpf/pystack.bpf.h code_fingerprint), the walk reads each code
    object once and then keeps its fingerprint for as long as the count
    holds: over ~2000 samples, a few dozen code objects read in all.
    Elsewhere each sample reads each of its 33 code objects once.  The
    profile is the same either way: the whole stack, named."""
    version = tuple(int(x) for x in subprocess.run(
        [python, "-c", "import sys; print(*sys.version_info[:2])"],
        capture_output=True, text=True, check=True).stdout.split())
    with Workload(python, "distinct.py") as w:
        keeps, path = counts_code_objects(w.pid, version)
        p = start_pyprof("-p", w.pid, "-F", 999, "-v")
        wait_cpu(w.pid, 2.0)
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=60)
    assert p.returncode == 0, err
    # f00 ... f30 at their return line, f31 in its loop (lines 65-66).
    want = [("<module>", w.path)] + [
        (f"f{i:02d}", "/distinct/functions.py", 2 * i + 2) for i in range(31)]
    total = whole = 0
    for frames, count in parse_folded(out):
        total += count
        py = pyframes(frames)
        whole += count if (len(py) == 33 and py[0][:2] == want[0] and
                           py[1:32] == want[1:] and
                           py[32][:2] == ("f31", "/distinct/functions.py") and
                           py[32][2] in (65, 66)) else 0
    # Under emulation (the arm64 VM) the timer fires less often.
    assert total >= (100 if EMULATED else 500) and whole >= 0.95 * total, \
        (whole, total, sorted(parse_folded(out), key=lambda x: -x[1])[:3])
    reads, full = counter(err, "code_reads"), counter(err, "py_full")
    if keeps:
        # 33 codes in 64 sets of 4 ways (bpf/maps.bpf.h FPC_SLOTS): here
        # 33 or 66 reads in all; a set that got more than 4 of them would
        # cost a read or two a sample, still far from 33.
        assert reads < 8 * full, \
            f"{reads} code objects read in {full} samples ({path})"
    else:
        assert reads >= 30 * full, \
            f"{reads} code objects read in {full} samples ({path})"


@pytest.mark.parametrize("python", python_params())
def test_recursion_300_deep_is_whole(python):
    rec = marker_line("deep.py", "RECURSE_LINE")
    with Workload(python, "deep.py", "300") as w:
        r = run_pyprof("-p", w.pid, "-d", 1.5)
    assert r.rc == 0, r.err
    stacks = parse_folded(r.out)
    want = ([("<module>", w.path, marker_line("deep.py", "MODULE_LINE"))] +
            [("recurse", w.path, rec)] * 299 +
            [("recurse", w.path, marker_line("deep.py", "BOTTOM_LINE")),
             ("spin", w.path, marker_line("deep.py", "SPIN_LINE"))])
    main = [(f, c) for f, c in stacks if pyframes(f) == want]
    total = sum(c for _, c in stacks)
    assert main and sum(c for _, c in main) >= 0.95 * total, \
        f"the 300-deep stack is not whole: {[len(f) for f, _ in stacks]}"
    assert "0 truncated" in r.err


@pytest.mark.parametrize("python", python_params())
def test_max_depth_cut_is_visible(python):
    with Workload(python, "deep.py", "300") as w:
        r = run_pyprof("-p", w.pid, "-d", 1, "--max-depth", 50)
    assert r.rc == 0, r.err
    stacks = parse_folded(r.out)
    assert stacks
    spin = ("spin", w.path, marker_line("deep.py", "SPIN_LINE"))
    for frames, _ in stacks:
        # The root side is what a leaf-first walk loses: the marker stands
        # in its place, right under the thread, and the 50 leaf frames stay.
        assert frames[2] == "[truncated]", frames[:4]
        py = [py_frame(f) for f in frames[3:]]
        assert len(py) == 50 and py[-1] == spin, frames[-3:]
    assert int(r.summary_int(r"(\d+) truncated")) == sum(c for _, c in stacks)


@pytest.mark.parametrize("python", python_params())
def test_threads_named_and_late_threads_found(python):
    with Workload(python, "threads.py") as w:
        # The late thread starts once pyprof-bpf samples: after its attach.
        p = start_pyprof("-p", w.pid, "-d", 3, "--tid")
        w.send("go\n")
        assert w.readline().strip() == "late"
        out, err = p.communicate(timeout=30)
    assert p.returncode == 0, err
    stacks = parse_folded(out)
    leaves = {}
    for frames, count in stacks:
        thread = re.sub(r" \(tid \d+\)$", "", frames[1])
        leaf = py_frame(frames[-1])
        leaves.setdefault(thread, {})
        if leaf:
            leaves[thread][leaf[0]] = leaves[thread].get(leaf[0], 0) + count
    assert set(leaves) == {"MainThread", "worker-α", "late pool"}, leaves.keys()
    assert max(leaves["MainThread"], key=leaves["MainThread"].get) == "main_loop"
    assert max(leaves["worker-α"], key=leaves["worker-α"].get) == "spin_alpha"
    assert max(leaves["late pool"], key=leaves["late pool"].get) == "spin_late"
    # Each thread frame carries its own tid, and tids differ.
    tids = {f[1] for f, _ in stacks}
    assert len(tids) == 3, tids
    assert f"MainThread (tid {w.pid})" in tids


@pytest.mark.parametrize("python", python_params())
def test_unicode_names_and_files_are_utf8(python):
    script = "ünïcode_файл.py"
    with Workload(python, script) as w:
        r = run_pyprof("-p", w.pid, "-d", 1)
    assert r.rc == 0, r.err
    stacks = parse_folded(r.out)
    line = marker_line(script, "UNI_LINE")
    # co_qualname exists from 3.11 on; before, the plain name.
    names = {py_frame(f[-1]) for f, _ in stacks}
    assert names & {("Ωmega.日本語", w.path, line), ("日本語", w.path, line)}, names
    assert any(py_frame(f[-2]) == ("héllo_wörld", w.path, line + 4)
               for f, _ in stacks)


@pytest.mark.parametrize("python", python_params())
def test_target_exits_mid_run(python):
    """The target exits after 1 s of a 30 s run: pyprof-bpf stops, exits 0
    and writes what it collected, with names resolved."""
    with Workload(python, "exits.py", "1.0") as w:
        r = run_pyprof("-p", w.pid, "-d", 30)
    assert r.rc == 0, r.err
    # It ended at the exit, not at -d 30 (its own account of the run,
    # not the test's clock: a loaded machine stretches both).
    ran = float(r.summary_int(RAN_SECONDS))
    assert ran < 30, "did not notice the exit:\n" + r.err
    assert "; the process exited" in r.err
    stacks = parse_folded(r.out)
    busy = ("busy", w.path, marker_line("exits.py", "BUSY_LINE"))
    n = sum(c for f, c in stacks if py_frame(f[-1]) == busy)
    assert n >= 0.9 * sum(c for _, c in stacks), stacks


@pytest.mark.parametrize("python", python_params())
def test_short_lived_target_is_symbolised(python):
    """A target gone before the first drain still gets names, not [unknown]:
    code objects are read as the sampler first meets them."""
    with Workload(python, "exits.py", "0.4") as w:
        r = run_pyprof("-p", w.pid, "-d", 30, "--interval", 5)
    assert r.rc == 0, r.err
    stacks = parse_folded(r.out)
    assert stacks
    assert not any("[unknown]" in f for fr, _ in stacks for f in fr), stacks
    busy = ("busy", w.path, marker_line("exits.py", "BUSY_LINE"))
    assert any(py_frame(f[-1]) == busy for f, _ in stacks)


@pytest.mark.parametrize("python", python_params())
def test_ctrl_c_writes_output_to_file(python, tmp_path):
    out = tmp_path / "app.folded"
    with Workload(python, "shape.py") as w:
        p = start_pyprof("-p", w.pid, "-o", out)
        interrupt(p, w.pid, 1.5)
        _, err = p.communicate(timeout=30)
    assert p.returncode == 0, err
    assert "interrupted" in err
    stacks = parse_folded(out.read_text(encoding="utf-8"))
    assert sum(c for _, c in stacks) > 50
    assert [x for x in os.listdir(tmp_path)] == ["app.folded"], "temp file left"


@pytest.mark.parametrize("python", python_params())
def test_target_execs_another_program(python):
    """After exec the pid is another program: sampling it with the old
    offsets would read garbage, so the run ends there and writes what it had."""
    with Workload(python, "execs.py") as w:
        r = run_pyprof("-p", w.pid, "-d", 30)
    assert r.rc == 0, r.err
    # The run's end and why (not its wall time: the target execs
    # "sleep 30", so a run that missed the exec would end at -d 30, or
    # when sleep exits, saying so).
    assert "; the process exec'd another program" in r.err, r.err
    stacks = parse_folded(r.out)
    busy = ("busy", w.path, marker_line("execs.py", "BUSY_LINE"))
    assert sum(c for f, c in stacks if py_frame(f[-1]) == busy) >= \
        0.9 * sum(c for _, c in stacks)


@pytest.mark.parametrize("python", python_params())
def test_reentry_through_c_exact_depth(python):
    """100 levels that each re-enter the eval loop from C (3.12+ puts a shim
    frame between every two Python frames): with --max-depth equal to the
    stack's 102 Python frames it must come out whole, not truncated."""
    with Workload(python, "reentry.py", "100") as w:
        r = run_pyprof("-p", w.pid, "-d", 1.5, "--max-depth", 102)
    assert r.rc == 0, r.err
    stacks = parse_folded(r.out)
    want = ([("<module>", w.path, marker_line("reentry.py", "MODULE_LINE"))] +
            [("f", w.path, marker_line("reentry.py", "REENTRY_LINE"))] * 99 +
            [("f", w.path, marker_line("reentry.py", "BOTTOM_LINE")),
             ("spin", w.path, marker_line("reentry.py", "SPIN_LINE"))])
    whole = sum(c for f, c in stacks if pyframes(f) == want)
    assert whole >= 0.95 * sum(c for _, c in stacks), \
        [f[:4] for f, _ in stacks]
    assert "0 truncated" in r.err


@pytest.mark.parametrize("python", python_params())
def test_generator_and_coroutine_frames(python):
    with Workload(python, "gens.py") as w:
        r = run_pyprof("-p", w.pid, "-d", 2)
    assert r.rc == 0, r.err
    stacks = parse_folded(r.out)
    L = lambda m: marker_line("gens.py", m)  # noqa: E731
    root = [("<module>", w.path, L("MODULE_LINE"))]
    gen = root + [("main", w.path, L("CALL_CONSUME")),
                  ("consume", w.path, L("CONSUME_LINE")),
                  ("produce", w.path, L("GEN_LINE"))]
    coro = root + [("main", w.path, L("CALL_DRIVE")),
                   ("drive", w.path, L("SEND_LINE")),
                   ("outer", w.path, L("AWAIT_LINE")),
                   ("leaf", w.path, L("ASYNC_LINE"))]
    n_gen = sum(c for f, c in stacks if pyframes(f) == gen)
    n_coro = sum(c for f, c in stacks if pyframes(f) == coro)
    # Time in sum() (C) between resumptions is consume's own, and the
    # glue between calls shows as main/drive/outer on other lines: every
    # stack must follow one of the two call paths, by function name.
    names = lambda fr: [p[0] for p in fr]  # noqa: E731
    ok = sum(c for f, c in stacks
             if any(names(pyframes(f)) == names(shape[:k])
                    for shape in (gen, coro) for k in range(2, len(shape) + 1)))
    total = sum(c for _, c in stacks)
    assert ok == total, [pyframes(f) for f, _ in stacks]
    assert n_gen >= 0.1 * total and n_coro >= 0.1 * total, (n_gen, n_coro, total)


def _shared_code_profile(python, freq=499, cpu=3.0, *extra):
    """Profiles tests/e2e/workloads/shared.py; (run, {thread: (hot,
    cold, other)}), every frame checked exact."""
    hot_line = marker_line("shared.py", "HOT_LINE")
    cold_line = marker_line("shared.py", "COLD_LINE")
    call_hot = marker_line("shared.py", "CALL_HOT")
    call_cold = marker_line("shared.py", "CALL_COLD")
    with Workload(python, "shared.py") as w:
        p = start_pyprof("-p", w.pid, "-F", freq, *extra)
        wait_cpu(w.pid, cpu)
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=60)
    assert p.returncode == 0, err
    counts = {}
    for frames, count in parse_folded(out):
        if frames[1] not in ("left", "right"):
            continue
        c = counts.setdefault(frames[1], [0, 0, 0])
        py = [f for f in pyframes(frames) if f is not None]
        if len(py) < 2:
            c[2] += count
        elif py[-1] == ("hot", w.path, hot_line):
            assert py[-2] == ("work", w.path, call_hot), frames
            c[0] += count
        elif py[-1] == ("cold", w.path, cold_line):
            assert py[-2] == ("work", w.path, call_cold), frames
            c[1] += count
        else:
            c[2] += count
    return err, counts


@pytest.mark.parametrize("python", python_params())
def test_threads_running_the_same_code_have_exact_lines(python):
    """Two threads in the same functions: exact lines in both, 75/25
    within each (on a free-threaded build, through each thread's own
    bytecode copy)."""
    err, counts = _shared_code_profile(python)
    assert set(counts) == {"left", "right"}, err
    for name, (hot, cold, other) in counts.items():
        total = hot + cold + other
        assert total >= 100, (name, counts, err)
        assert other <= 0.03 * total, (name, counts)
        share = 100.0 * hot / (hot + cold)
        assert 70.0 <= share <= 80.0, f"{name}: hot share {share:.1f}%, want 75 +- 5"


def _free_threaded(python):
    r = subprocess.run([python, "-c", "import sysconfig; print("
                        "sysconfig.get_config_var('Py_GIL_DISABLED'))"],
                       capture_output=True, text=True, timeout=30)
    return r.stdout.strip() == "1"


def free_threaded_params():
    """The free-threaded interpreters of PYPROF_TEST_PYTHONS (none can be
    installed here: Debian ships none)."""
    pys = [p for _, p in extra_pythons()
           if os.access(p, os.X_OK) and _free_threaded(p)]
    if not pys:
        return [pytest.param(None, id="free-threaded", marks=pytest.mark.skip(
            reason="no free-threaded CPython (3.13t, 3.14t, 3.15t) in "
                   "PYPROF_TEST_PYTHONS: none could be installed here"))]
    return [pytest.param(p, id=os.path.basename(p)) for p in pys]


@pytest.mark.parametrize("python", free_threaded_params())
def test_free_threaded_build(python):
    """A free-threaded CPython: its version says 't', exact lines in two
    threads running the same code at once, and --gil says in one line that
    there is no GIL while wall mode still gives the off-CPU reasons."""
    err, counts = _shared_code_profile(python)
    assert re.search(r"CPython 3\.\d+\.\d+\S*t \(", err), err
    for name, (hot, cold, other) in counts.items():
        share = 100.0 * hot / (hot + cold)
        assert 70.0 <= share <= 80.0, (name, share, err)
    err, _ = _shared_code_profile(python, 199, 1.0, "--gil")
    gil = [l for l in err.splitlines() if "GIL" in l]
    assert len(gil) == 1 and "free-threaded" in gil[0] and "no GIL" in gil[0], err
    r = run_pyprof("--mode", "wall", "-F", 199, "--", python,
                   os.path.join(WORKLOADS_DIR, "wall.py"), "sleep", 1)
    assert r.rc == 0, r.err
    assert any(f[-1] == "[off-cpu: sleep]" for f, _ in parse_folded(r.out)), r.out


def test_every_counted_sample_is_in_the_profile():
    """The sampler counts a sample in its CPU's count cache, whose keys go
    to the counts map when another key takes their slot, and the drain
    takes the rest: over 15 drains, with one thread on a few keys (kept
    in the cache) and one on a new key at nearly every sample (pushing
    them out), the profile holds exactly the samples the sampler counted,
    each under its own thread."""
    with Workload(any_python(), "keys.py") as w:
        wait_cpu(w.pid, 0.5)
        r = run_pyprof("-p", w.pid, "-F", 999, "-d", 3, "--interval", 0.2,
                       "-v")
    assert r.rc == 0, r.err
    threads = {}
    churn_funcs = set()
    for frames, count in parse_folded(r.out):
        threads[frames[1]] = threads.get(frames[1], 0) + count
        leaf = py_frame(frames[-1])
        if leaf and leaf[0].startswith("churn_"):
            churn_funcs.add(leaf[0])
    total = sum(threads.values())
    assert total == counter(r.err, "counted") and total >= 1000, (
        total, threads, r.err[-3000:])
    assert not re.search(r"lost: .* [1-9]", r.err), r.err[-3000:]
    # Each thread ran about half the time (the GIL passes between them).
    for name in ("steady", "churn"):
        assert threads.get(name, 0) >= 0.2 * total, threads
    assert len(churn_funcs) >= 100, len(churn_funcs)
    # Both ways through the cache were taken: keys moved out to make
    # room, and samples added to a key the cache held.
    spills = counter(r.err, "count_spills")
    assert 100 <= spills <= 0.9 * total, (spills, total)
