# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
# Threads asleep before the profiler attaches (tests/test_threads.py): ten
# named workers, the even ones in time.sleep, the odd ones blocked on a
# Lock, and the main thread in time.sleep under longsleep(), all until
# killed.  Prints "TID NAME" for each thread, then "ready" once all block.
import threading
import time


def longsleep():
    time.sleep(3600)  # SLEEP_LINE


def nap():
    time.sleep(3600)  # NAP_LINE


def blocked(lock):
    lock.acquire()  # ACQUIRE_LINE


lock = threading.Lock()
lock.acquire()
started = []


def worker(i):
    started.append(f"{threading.get_native_id()} {threading.current_thread().name}")
    if i % 2:
        blocked(lock)  # CALL_BLOCKED
    else:
        nap()  # CALL_NAP


for i in range(10):
    threading.Thread(target=worker, args=(i,),
                     name=f"CustomThreadName-{i}", daemon=True).start()
while len(started) < 10:
    time.sleep(0.01)
time.sleep(0.3)  # let the last ones block
for line in started:
    print(line)
print(f"{threading.get_native_id()} MainThread")
print("ready", flush=True)
longsleep()  # MAIN_LINE
