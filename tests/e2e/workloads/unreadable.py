# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
# A main thread asleep in longsleep() for good while another thread makes
# the interpreter's thread list unreadable (tests/test_threads.py): it
# points the list's head at a fake thread state whose next is itself (as
# tests/e2e/workloads/hostile.py does), prints "ready", and when stdin gets
# a line, restores the head, prints "restored" and blocks on a lock.  The
# main thread never wakes: its stack can be read only after the repair.
import ctypes
import sys
import threading
import time


def words(addr, n):
    return (ctypes.c_uint64 * n).from_address(addr)


def longsleep():
    time.sleep(3600)  # SLEEP_LINE


def corrupter():
    time.sleep(0.3)  # let the main thread fall asleep first
    api = ctypes.pythonapi
    api.PyThreadState_Get.restype = ctypes.c_void_p
    tstate = api.PyThreadState_Get()
    if sys.version_info < (3, 9):
        interp = words(tstate, 3)[2]  # PyThreadState: prev, next, interp
    else:
        api.PyInterpreterState_Get.restype = ctypes.c_void_p
        interp = api.PyInterpreterState_Get()
    # The newest thread state heads the list: this one.
    w = words(interp, 8192)
    i = next(k for k in range(8192) if w[k] == tstate)
    fake = (ctypes.c_uint64 * 512)()
    for k in range(512):
        fake[k] = ctypes.addressof(fake)
    saved = w[i]
    w[i] = ctypes.addressof(fake)
    print("ready", flush=True)
    sys.stdin.readline()
    w[i] = saved
    print("restored", flush=True)
    lock = threading.Lock()
    lock.acquire()
    lock.acquire()


threading.Thread(target=corrupter, name="corrupter", daemon=True).start()
longsleep()  # MAIN_LINE
