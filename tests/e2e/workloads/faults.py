# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
# A process whose interpreter state leads to memory that cannot be read, so
# that the sampler's reads fault (as opposed to reading a NULL): it spins on
# the CPU while the state is bad, then repairs it and exits 0.  Like
# hostile.py, no offsets are taken from a table: the thread list's head and
# PyThreadState.thread_id are found by scanning for the values they hold.
#
#   faults.py frame SECONDS  the thread list's head is a fake thread state
#                            for this thread (its thread_id is right) whose
#                            current-frame pointer lies in a page that
#                            cannot be read
#   faults.py list SECONDS   the thread list's head is a fake thread state
#                            of another thread whose next link leads into
#                            that page
import ctypes
import mmap
import sys
import threading
import time

PAGE = mmap.PAGESIZE
PROT_NONE = 0


def words(addr, n):
    return (ctypes.c_uint64 * n).from_address(addr)


def find(addr, n, value):
    """Index of the first pointer-sized word of the n at addr equal to value."""
    w = words(addr, n)
    for i in range(n):
        if w[i] == value:
            return i
    raise SystemExit(f"faults.py: {value:#x} not found near {addr:#x}")


def spin(seconds):
    end = time.monotonic() + seconds
    x = 0
    while time.monotonic() < end:
        for i in range(20000): x += i  # SPIN_LINE
    return x


def main(mode, seconds):
    api = ctypes.pythonapi
    api.PyThreadState_Get.restype = ctypes.c_void_p
    tstate = api.PyThreadState_Get()
    if sys.version_info < (3, 9):
        interp = words(tstate, 3)[2]  # PyThreadState: prev, next, interp
    else:
        api.PyInterpreterState_Get.restype = ctypes.c_void_p
        interp = api.PyInterpreterState_Get()
    head = words(interp, find(interp, 8192, tstate) + 1)
    tid_at = 8 * find(tstate, 64, threading.get_ident())

    # Two pages: the first cannot be read, the second can.
    m = mmap.mmap(-1, 2 * PAGE)
    base = ctypes.addressof(ctypes.c_char.from_buffer(m))
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.mprotect(ctypes.c_void_p(base), PAGE, PROT_NONE):
        raise SystemExit("faults.py: mprotect failed")
    if mode == "frame":
        # thread_id is the second page's first word; every field before it
        # (the current frame among them) is in the first.
        fake = base + PAGE - tid_at
        words(base + PAGE, 1)[0] = threading.get_ident()
    else:
        # Every word, thread_id and next among them, points into the
        # first page.
        keep = (ctypes.c_uint64 * 512)()
        for k in range(512):
            keep[k] = base
        fake = ctypes.addressof(keep)
    saved = head[-1]
    head[-1] = fake
    print("ready", flush=True)
    spin(seconds)
    head[-1] = saved


if __name__ == "__main__":
    main(sys.argv[1], float(sys.argv[2]))
    print("survived", flush=True)
