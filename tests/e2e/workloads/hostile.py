# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
# A process that corrupts its own interpreter state with ctypes, the way a
# buggy extension (or someone who wants to hurt the profiler) could, spins on
# the CPU while it is corrupt, then repairs it and exits 0.  The offsets are
# not taken from any table: each pointer is found by scanning the struct for
# the value it must hold, so the same script serves every CPython version.
#
#   hostile.py loop SECONDS     this frame's back link points to itself
#   hostile.py loop2 SECONDS    the caller's back link points back here
#   hostile.py names SECONDS    co_name/co_qualname/co_filename point to a
#                               str of length 2**31-1, line table to a
#                               bytes of length 2**40
#   hostile.py threads SECONDS  the interpreter's thread list starts at a
#                               fake thread state whose next is itself
import ctypes
import sys
import time

P = ctypes.sizeof(ctypes.c_void_p)


def words(addr, n):
    return (ctypes.c_uint64 * n).from_address(addr)


def find(addr, n, value):
    """Index of the first pointer-sized word of the n at addr equal to value."""
    w = words(addr, n)
    for i in range(n):
        if w[i] == value:
            return i
    raise SystemExit(f"hostile.py: pointer {value:#x} not found near {addr:#x}")


def iframe(frame):
    """The frame's own record in the frame chain: the PyFrameObject on 3.8 to
    3.10, its _PyInterpreterFrame (PyFrameObject.f_frame, the word after
    f_back) on 3.11+."""
    if sys.version_info < (3, 11):
        return id(frame)
    return words(id(frame), 4)[3]


def back_link(frame):
    """(array, index) of frame's link to its caller's record."""
    me, caller = iframe(frame), iframe(frame.f_back)
    return words(me, 16), find(me, 16, caller)


def spin(seconds):
    end = time.monotonic() + seconds
    x = 0
    while time.monotonic() < end:
        for i in range(20000): x += i  # SPIN_LINE
    return x


class Relinked:
    """With it, frame's link to its caller points to the record of `to`;
    the link is restored on exit.  Announces the corruption ("ready")."""

    def __init__(self, frame, to):
        self.w, self.i = back_link(frame)
        self.to = iframe(to)

    def __enter__(self):
        self.saved = self.w[self.i]
        self.w[self.i] = self.to
        print("ready", flush=True)

    def __exit__(self, *exc):
        self.w[self.i] = self.saved


def corrupt_loop(seconds):
    me = sys._getframe()
    with Relinked(me, me):
        end, x = time.monotonic() + seconds, 0
        while time.monotonic() < end:
            for j in range(20000): x += j  # LOOP_LINE


def corrupt_loop2_inner(seconds):
    me = sys._getframe()
    with Relinked(me.f_back, me):
        end, x = time.monotonic() + seconds, 0
        while time.monotonic() < end:
            for j in range(20000): x += j  # LOOP2_LINE


def corrupt_loop2(seconds):
    corrupt_loop2_inner(seconds)


def fake_object(type_obj, fields):
    """A buffer laid out as an object header (refcount, type) followed by
    fields (pointer-sized words); kept alive by the caller."""
    buf = (ctypes.c_uint64 * (2 + len(fields) + 8))()
    buf[0] = 1 << 30
    buf[1] = id(type_obj)
    for k, v in enumerate(fields):
        buf[2 + k] = v
    return buf


def victim():
    x = 0
    end = time.monotonic() + float(sys.argv[2])
    print("ready", flush=True)
    while time.monotonic() < end:
        for j in range(20000): x += j  # VICTIM_LINE
    return x


def corrupt_names(seconds):
    code = victim.__code__
    # PyASCIIObject: length, hash, state (compact | ascii | ready bits set).
    big_str = fake_object(str, [2**31 - 1, 2**64 - 1, 0xFFFFFFFF])
    # PyBytesObject: ob_size, ob_shash.
    big_bytes = fake_object(bytes, [2**40, 2**64 - 1])
    n = 24
    w = words(id(code), n)
    table = getattr(code, "co_linetable", None) or code.co_lnotab
    targets = {id(code.co_name), id(code.co_filename), id(table)}
    if hasattr(code, "co_qualname"):
        targets.add(id(code.co_qualname))
    saved = {}
    for k in range(n):
        if w[k] in targets:
            saved[k] = w[k]
            w[k] = ctypes.addressof(big_bytes) if w[k] == id(table) \
                else ctypes.addressof(big_str)
    if len(saved) < 3:
        raise SystemExit(f"hostile.py: found {len(saved)} of the code's pointers")
    victim()
    for k, v in saved.items():
        w[k] = v


def corrupt_threads(seconds):
    api = ctypes.pythonapi
    api.PyThreadState_Get.restype = ctypes.c_void_p
    tstate = api.PyThreadState_Get()
    if sys.version_info < (3, 9):
        interp = words(tstate, 3)[2]  # PyThreadState: prev, next, interp
    else:
        api.PyInterpreterState_Get.restype = ctypes.c_void_p
        interp = api.PyInterpreterState_Get()
    # The first word of the interpreter that points to this (the only)
    # thread state is the head of its thread list; 3.13 puts the list after
    # ~10 KB of pending-call slots.
    i = find(interp, 8192, tstate)
    w = words(interp, i + 1)
    # Every word of the fake thread state points to the fake itself: its
    # next is itself, its thread id matches no thread.
    fake = (ctypes.c_uint64 * 512)()
    for k in range(512):
        fake[k] = ctypes.addressof(fake)
    saved = w[i]
    w[i] = ctypes.addressof(fake)
    print("ready", flush=True)
    spin(seconds)
    w[i] = saved


if __name__ == "__main__":
    mode, secs = sys.argv[1], float(sys.argv[2])
    {"loop": corrupt_loop, "loop2": corrupt_loop2, "names": corrupt_names,
     "threads": corrupt_threads}[mode](secs)
    print("survived", flush=True)
