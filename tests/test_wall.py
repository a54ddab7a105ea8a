# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
"""Wall-clock mode (--mode wall, off-CPU time) and GIL state (--gil), on
every interpreter present: real workloads of known shape
(tests/e2e/workloads/wall.py), checked by their proportions, never by
wall-clock time."""
import os
import re

import pytest

from conftest import (EMULATED, WORKLOADS, Workload, marker_line,
                      parse_folded, py_frame, python_params, run_pyprof)

pytestmark = pytest.mark.usefixtures("root")

SCRIPT = os.path.join(WORKLOADS, "wall.py")


def by_thread(stacks):
    """{thread frame: [(frames, count), ...]}"""
    out = {}
    for frames, count in stacks:
        out.setdefault(frames[1], []).append((frames, count))
    return out


def total(stacks):
    return sum(c for _, c in stacks)


def under(stacks, leaf, func, line):
    """Samples whose leaf is `leaf` right under Python frame func:line."""
    return sum(c for f, c in stacks
               if len(f) >= 2 and f[-1] == leaf
               and py_frame(f[-2]) == (func, SCRIPT, line))


def run(python, *args, shape, secs=2):
    r = run_pyprof(*args, "--", python, SCRIPT, shape, secs, timeout=120)
    assert r.rc == 0, r.err
    return r, parse_folded(r.out)


@pytest.mark.parametrize("python", python_params())
def test_sleeping_thread_has_its_wall_share(python):
    """The main thread spins exactly as long as another thread sleeps in
    wait_here(): in wall mode each is half of the time.  ±10 points: the
    interpreter's start-up and exit (a few % of 2 s, main thread only),
    one sample period of rounding per stack, and the on-CPU sampling noise
    at 199 Hz over ~2 s (~400 samples, 2 sigma ~ 5 points)."""
    r, stacks = run(python, "--mode", "wall", "-F", 199, shape="sleep")
    threads = by_thread(stacks)
    all_ = total(stacks)
    assert all_ > 0, r.err
    sleep = under(threads.get("sleeper", []), "[off-cpu: sleep]",
                  "wait_here", marker_line("wall.py", "SLEEP_LINE"))
    main = total(threads.get("MainThread", []))
    # While both threads live, the main thread spins: as much as the
    # sleeper sleeps.
    spin = sum(c for f, c in threads.get("MainThread", [])
               if any(py_frame(x) and py_frame(x)[0] == "spin_until"
                      for x in f))
    assert sleep > 0 and spin > 0, r.out
    if EMULATED:
        # QEMU's timer (TCG) fires about half the cpu-clock ticks asked
        # for (196 of ~398 at 199 Hz over 2 s, measured), so on-CPU counts
        # cannot be weighed against off-CPU time there: the time asleep
        # alone is checked, 2 s of sample-equivalents at 199 Hz.
        assert abs(sleep / (2 * 199) - 1) < 0.10, (sleep, r.out)
    else:
        assert abs(sleep / (sleep + spin) - 0.5) < 0.10, (sleep, spin,
                                                          r.out)
        # Of the whole run: start-up and exit are a few % of it.
        assert abs(sleep / all_ - 0.5) < 0.10, (sleep, all_, r.out)
        assert abs(main / all_ - 0.5) < 0.10, (main, all_, r.out)
    # The sleeper spends (almost) all of its life in that one call: asleep,
    # then waiting to take the GIL back from the spinning main thread
    # ([off-cpu: futex], ~150 ms of 2 s seen on a loaded 3.9).
    regain = under(threads["sleeper"], "[off-cpu: futex]", "wait_here",
                   marker_line("wall.py", "SLEEP_LINE"))
    assert sleep + regain >= 0.95 * total(threads["sleeper"]), r.out
    assert re.search(r"wall mode: \d+ sample-equivalents, on-CPU \d+ "
                     r"\([\d.]+%\), off-CPU \d+", r.err), r.err


@pytest.mark.parametrize("python", python_params())
def test_cpu_mode_does_not_see_the_sleeper(python):
    """The sleeper's one second asleep would be ~199 samples if cpu mode
    counted it; what it has is its start and end on a CPU, a few ms.  The
    bound is 5% of the second at -F 199, not a share of the run: on a
    loaded machine the spinning main thread gets fewer samples, the
    sleeper's few ms do not shrink (the 2% share failed once at load 15)."""
    r, stacks = run(python, "-F", 199, shape="sleep", secs=1)
    assert not any(f[-1].startswith("[off-cpu") for f, _ in stacks), r.out
    sleeper = total(by_thread(stacks).get("sleeper", []))
    assert total(stacks) > 0 and sleeper <= 0.05 * 199, r.out
    assert "wall mode" not in r.err


@pytest.mark.parametrize("python", python_params())
def test_cpu_bound_and_lock_blocked_threads_told_apart(python):
    """A thread crunching and one blocked in Lock.acquire(): the second's
    time is off-CPU in futex under blocked() at the acquire line; the first
    is on a CPU or waiting for one.  Bounds at 80 %, not 100 %: starting
    threads wait for the GIL (a futex too, at thread start or under
    crunch) and, on a loaded machine, for a CPU; one failure at 90 % was
    seen in ~60 runs on the shared test VM."""
    r, stacks = run(python, "--idle", "-F", 199, shape="lock")
    threads = by_thread(stacks)
    waiter, cruncher = threads.get("waiter", []), threads.get("cruncher", [])
    futex = under(waiter, "[off-cpu: futex]", "blocked",
                  marker_line("wall.py", "ACQUIRE_LINE"))
    assert total(waiter) > 0 and futex >= 0.8 * total(waiter), r.out
    running = sum(c for f, c in cruncher
                  if f[-1] == "[off-cpu: preempted]"
                  or (py_frame(f[-1]) or ("",))[0] == "crunch")
    assert total(cruncher) > 0 and running >= 0.8 * total(cruncher), r.out
    # Its only futex waits are for the GIL, while the main thread starts
    # the other thread: a few samples at most.
    cr_futex = sum(c for f, c in cruncher if f[-1] == "[off-cpu: futex]")
    if EMULATED:
        # QEMU fires about half the cpu-clock ticks asked for (fewer on a
        # loaded host) while off-CPU time counts in full: the cruncher's
        # GIL waits weigh double or more against its on-CPU samples, and
        # its samples cannot be weighed against the waiter's time.
        assert cr_futex <= 0.25 * total(cruncher), r.out
        return
    assert cr_futex <= 0.1 * total(cruncher), r.out
    # Both lived for about the same ~2 s (the waiter a little longer: main
    # releases the lock after the cruncher's end): comparable shares.
    assert abs(total(waiter) - total(cruncher)) < 0.2 * total(stacks), r.out


GIL_LINE = re.compile(r"pid \d+ tid (\d+)(?: \"[^\"]*\")?: \d+ samples, "
                      r"on-CPU [\d.]+%, "
                      r"off-CPU [\d.]+%, GIL held ([\d.]+)%, waiting ([\d.]+)%")


@pytest.mark.parametrize("python", python_params())
def test_two_cpu_bound_threads_wait_half_for_the_gil(python):
    """Two threads burning CPU in Python take turns with the GIL: each holds
    it about half of the time (±20 points: 1/HZ rounding, start-up and
    exit when one thread runs alone, and the other tenants of a shared
    machine preempting one thread while the other keeps the GIL: 68.7 %
    seen once in ~30 runs here) and never both at once, and each
    waits for it, asleep on the GIL, much of the rest.  How much of the
    rest depends on the machine: a thread that has just dropped the GIL and
    is preempted by the thread it woke waits for a CPU, not on the GIL, and
    is counted as preempted (on the shared 2-CPU test VM: waiting 22-46 %,
    preempted without the GIL the remainder)."""
    r, stacks = run(python, "--gil", "--tid", "-F", 499, shape="gil")
    names = {}
    for frames, _ in stacks:
        m = re.match(r"(burner\d) \(tid (\d+)\)$", frames[1])
        if m:
            names[m.group(2)] = m.group(1)
    assert sorted(names.values()) == ["burner0", "burner1"], r.out
    shares = {names[m.group(1)]: (float(m.group(2)), float(m.group(3)))
              for m in GIL_LINE.finditer(r.err) if m.group(1) in names}
    assert set(shares) == {"burner0", "burner1"}, r.err
    for name, (held, waiting) in shares.items():
        assert 30 <= held <= 70, (name, held, r.err)
        assert 15 <= waiting <= 65, (name, waiting, r.err)
        assert held + waiting <= 100.5, (name, r.err)
    assert sum(h for h, _ in shares.values()) <= 105, r.err
    burn_line = marker_line("wall.py", "BURN_LINE")
    for t in ("burner0", "burner1"):
        mine = [(f, c) for f, c in stacks if f[1].startswith(t + " ")]
        assert under(mine, "[off-cpu: gil]", "burn", burn_line) > 0, r.out
    assert re.search(r"GIL: held [\d.]+%, waiting [\d.]+%", r.err), r.err


@pytest.mark.parametrize("python", python_params())
def test_gil_only_keeps_the_holders(python):
    r, stacks = run(python, "--gil-only", "-F", 499, shape="gil", secs=1)
    assert stacks, r.err
    # Waiting for the GIL, joining threads, sleeping: none holds it.
    for frames, _ in stacks:
        assert frames[-1] not in ("[off-cpu: gil]", "[off-cpu: futex]",
                                  "[off-cpu: sleep]"), r.out
    # The burners hold it burning.  (The main thread holds it while it
    # imports at start-up: on a loaded machine that is a larger share of a
    # one-second run, 40% seen at load 10, so it is not counted here.)
    burners = [(f, c) for f, c in stacks if re.match(r"burner\d$", f[1])]
    held_burning = sum(c for f, c in burners if any(
        (py_frame(x) or ("",))[0] == "burn" for x in f[-2:]))
    assert held_burning >= 0.8 * total(burners) > 0, r.out
    assert re.search(r"--gil-only: \d+ others left out", r.err), r.err


@pytest.mark.parametrize("python", python_params())
def test_thread_asleep_at_the_end_is_counted(python):
    """-d ends the profile while the sleeper is still in time.sleep: its
    time up to the end is flushed from the kernel, not lost, so the two
    threads still share the time about half and half (±10 points, as in
    test_sleeping_thread_has_its_wall_share).  Drains every 0.2 s: the
    stack recorded when the thread fell asleep must still resolve after
    the counts buffers have been swapped many times."""
    r, stacks = run(python, "--mode", "wall", "-F", 199, "-d", 1.5,
                    "--interval", 0.2,
                    shape="sleep", secs=3)
    threads = by_thread(stacks)
    sleep = under(threads.get("sleeper", []), "[off-cpu: sleep]",
                  "wait_here", marker_line("wall.py", "SLEEP_LINE"))
    main = total(threads.get("MainThread", []))
    all_ = total(stacks)
    assert all_ > 0, r.err
    assert abs(sleep / all_ - 0.5) < 0.10, (sleep, all_, r.out)
    assert abs(main / all_ - 0.5) < 0.10, (main, all_, r.out)


@pytest.mark.parametrize("python", python_params())
def test_threads_asleep_since_before_the_start_are_counted(python):
    """A process whose two threads sleep for the whole profile (one in
    time.sleep, one on a Lock) never leaves a CPU while profiled: its
    threads are still accounted, for all of the time, under the stacks
    they rest in, read at the attach (tests/test_threads.py has more)."""
    with Workload(python, "wall.py", "idle", "60") as w:
        r = run_pyprof("--mode", "wall", "-p", w.pid, "-d", 1.5)
    assert r.rc == 0, r.err
    stacks = parse_folded(r.out)
    all_ = total(stacks)
    sleep = sum(c for f, c in stacks if f[1] == "MainThread"
                and under([(f, c)], "[off-cpu: sleep]", "wait_here",
                          marker_line("wall.py", "SLEEP_LINE")))
    futex = sum(c for f, c in stacks if f[1] == "waiter"
                and under([(f, c)], "[off-cpu: futex]", "blocked",
                          marker_line("wall.py", "ACQUIRE_LINE")))
    # Both threads for the same time: half each, up to 1/HZ of rounding.
    assert sleep + futex == all_, r.out
    assert abs(sleep - futex) <= 2, r.out
    assert all_ > 0, r.err
