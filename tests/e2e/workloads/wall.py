# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
# Wall-clock shapes (tests/test_wall.py), one per argv[1]; each runs for
# about SECS seconds (argv[2]) and exits.
#   sleep: the main thread spins while a thread sleeps in wait_here()
#   lock:  a thread crunches while another is blocked on a Lock
#   gil:   two CPU-bound threads contend for the GIL
#   idle:  prints "ready", then the main thread sleeps and another thread
#          waits on a Lock, both until killed
import sys
import threading
import time

SECS = float(sys.argv[2]) if len(sys.argv) > 2 else 2.0


def wait_here():
    time.sleep(SECS)  # SLEEP_LINE


def sleeper():
    wait_here()


def spin_until(stop):
    while not stop():
        sum(range(100))  # SPIN_LINE


def crunch(deadline):
    while time.monotonic() < deadline:
        sum(range(100))  # CRUNCH_LINE


def blocked(lock):
    lock.acquire()  # ACQUIRE_LINE
    lock.release()


def burn(deadline):
    while time.monotonic() < deadline:
        sum(range(100))  # BURN_LINE


def main():
    shape = sys.argv[1]
    if shape == "sleep":
        t = threading.Thread(target=sleeper, name="sleeper")
        t.start()
        # Spin exactly as long as the sleeper lives: both threads exist
        # for the same wall time.
        spin_until(lambda: not t.is_alive())
        t.join()
    elif shape == "lock":
        lock = threading.Lock()
        lock.acquire()
        deadline = time.monotonic() + SECS
        threads = [threading.Thread(target=crunch, args=(deadline,),
                                    name="cruncher"),
                   threading.Thread(target=blocked, args=(lock,),
                                    name="waiter")]
        for t in threads:
            t.start()
        threads[0].join()
        lock.release()
        threads[1].join()
    elif shape == "gil":
        deadline = time.monotonic() + SECS
        threads = [threading.Thread(target=burn, args=(deadline,),
                                    name=f"burner{i}") for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    elif shape == "idle":
        lock = threading.Lock()
        lock.acquire()
        threading.Thread(target=blocked, args=(lock,), name="waiter",
                         daemon=True).start()
        time.sleep(0.2)  # let the waiter block first
        print("ready", flush=True)
        while True:
            wait_here()
    else:
        sys.exit(f"unknown shape {shape}")


main()
