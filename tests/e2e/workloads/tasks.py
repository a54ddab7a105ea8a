# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
# asyncio shapes for --async (tests/test_async.py), one per argv[1]; each
# runs for about SECS seconds (argv[2]) and exits.
#   tree:  gather() of three tasks parent-0..2, each awaiting its task
#          child-i, which burns CPU in burn() in turns, i + 1 units a
#          turn: child-i's share of burn() is (i + 1) / 6.  SECS of CPU.
#          At the end it prints, on stderr, "burn-split S0 S1 S2": the
#          thread CPU seconds each child spent in burn(), as measured.
#   sleep: a task "sleeper" spins for 50 ms of wall time, then awaits
#          asyncio.sleep(0.05), for SECS seconds of wall time: half of
#          its life it is waiting.
#   cycle: like tree (SECS of CPU), but awaited-by fields corrupted with
#          ctypes: parent-0's points at itself; child-2's is a set
#          {parent-2, child-1} and both of those point back at child-2.
#   many:  N (argv[3], default 100,000) pending tasks awaiting an Event,
#          and one task "busy" burning CPU in burn(); SECS of CPU.
#   ready: prints "ready" with the running loop, then runs "tree" until
#          killed (for -p and the live view).
import asyncio
import ctypes
import os
import sys
import time

SHAPE = sys.argv[1] if len(sys.argv) > 1 else "tree"
SECS = float(sys.argv[2]) if len(sys.argv) > 2 else 2.0
UNIT = 20000  # loop turns per unit of burn: about a millisecond


def burn(units):
    x = 0
    for i in range(units * UNIT):
        x += i  # BURN_LINE
    return x


class Clock:
    """Until SECS seconds of CPU time (tree, cycle, many) or of wall time
    (sleep) have passed; forever with SECS 0."""

    def __init__(self, wall=False):
        self.now = time.monotonic if wall else time.process_time
        self.end = self.now() + SECS

    def over(self):
        return SECS > 0 and self.now() >= self.end


SPENT = [0.0, 0.0, 0.0]  # tree: thread CPU seconds of child-i in burn()


async def child(i, clock):
    while not clock.over():
        t = time.thread_time()
        burn(i + 1)  # CHILD_LINE
        SPENT[i] += time.thread_time() - t
        await asyncio.sleep(0)


async def parent(i, clock):
    await asyncio.create_task(child(i, clock), name=f"child-{i}")  # PARENT_LINE


async def tree(clock):
    parents = [asyncio.create_task(parent(i, clock), name=f"parent-{i}")
               for i in range(3)]
    await asyncio.gather(*parents)  # MAIN_LINE
    print("burn-split", *(f"{s:.6f}" for s in SPENT), file=sys.stderr,
          flush=True)


def spin(secs):
    end = time.monotonic() + secs
    while time.monotonic() < end:
        pass  # SPIN_LINE


async def sleeper(clock):
    while not clock.over():
        spin(0.05)
        await asyncio.sleep(0.05)  # SLEEP_LINE


# ---- hostile: corrupted awaited-by fields (ctypes) ----

def awaited_by_offset():
    """The offset of a Task's awaited-by pointer, found by recording an
    awaiter and looking for its address in the task's memory."""
    loop = asyncio.get_running_loop()
    t, w = loop.create_future(), loop.create_future()
    before = ctypes.string_at(id(t), 168)
    asyncio.future_add_to_awaited_by(t, w)
    after = ctypes.string_at(id(t), 168)
    want = id(w).to_bytes(8, "little")
    for off in range(16, 168 - 8, 8):
        if after[off:off + 8] == want and before[off:off + 8] != want:
            asyncio.future_discard_from_awaited_by(t, w)
            return off
    raise SystemExit("awaited-by offset not found")


def point_awaited_by(task, at, off):
    """task's awaited-by := at (a single awaiter, not a set), keeping a
    reference for it: the memory the profiler reads loops."""
    ctypes.pythonapi.Py_IncRef(ctypes.py_object(at))
    ctypes.c_uint64.from_address(id(task) + off).value = id(at)
    # fut_awaited_by_is_set follows fut_is_task, 12 bytes past the pointer
    # (int fut_state in between) in 3.14's and 3.15's FutureObj.
    ctypes.c_uint8.from_address(id(task) + off + 13).value = 0


async def cycle(clock):
    off = awaited_by_offset()
    parents = [asyncio.create_task(parent(i, clock), name=f"parent-{i}")
               for i in range(3)]
    # gather() records this task as each parent's awaiter now: corrupt
    # after it, so that the loops are what the profiler finds.
    gathered = asyncio.gather(*parents)
    await asyncio.sleep(0.1)  # the children exist and are awaited
    tasks = {t.get_name(): t for t in asyncio.all_tasks()}
    # parent-0 awaited by itself alone.
    point_awaited_by(parents[0], parents[0], off)
    # child-2 awaited by a set {parent-2, child-1}, and both of them by
    # child-2: whichever path is taken loops.
    asyncio.future_add_to_awaited_by(tasks["child-2"], tasks["child-1"])
    point_awaited_by(parents[2], tasks["child-2"], off)
    point_awaited_by(tasks["child-1"], tasks["child-2"], off)
    print("corrupted", file=sys.stderr, flush=True)
    await gathered
    os._exit(0)  # the corrupted fields must not be cleaned up


async def event_wait(ev):
    await ev.wait()


async def busy(clock):
    while not clock.over():
        burn(1)  # BUSY_LINE
        await asyncio.sleep(0)


async def many(clock):
    ev = asyncio.Event()
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 100000
    waiting = [asyncio.create_task(event_wait(ev)) for _ in range(n)]
    print("created", file=sys.stderr, flush=True)  # for scripts
    await asyncio.create_task(busy(clock), name="busy")
    ev.set()
    await asyncio.gather(*waiting)


async def main():
    if SHAPE == "tree":
        await tree(Clock())
    elif SHAPE == "sleep":
        await asyncio.create_task(sleeper(Clock(wall=True)), name="sleeper")
    elif SHAPE == "cycle":
        await cycle(Clock())
    elif SHAPE == "many":
        await many(Clock())
    elif SHAPE == "ready":
        print("ready", flush=True)
        await tree(Clock())
    else:
        raise SystemExit(f"unknown shape {SHAPE}")


asyncio.run(main())
