# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
# Thread churn (tests/test_threads.py): waves of named threads that each
# burn CPU for a while and end, so that the next wave reuses their pthread
# stacks (pthread_self() values) and thread-state memory.  Each thread
# prints "TID NAME" (its kernel tid) as it starts; every fifth renames
# itself half-way and prints "rename TID NEWNAME".
#
# argv: waves, threads per wave, CPU seconds each thread works, CPU
# seconds the main thread burns first (a warm-up: e.g. for --native to load
# symbols).  Work is counted in CPU time, so that a loaded machine
# stretches the threads' lives rather than cutting their work.  Prints
# "ready", burns until a line comes on stdin, warms up, runs the waves,
# prints "done" and waits for another line.
import select
import sys
import threading
import time

WAVES = int(sys.argv[1]) if len(sys.argv) > 1 else 8
PER_WAVE = int(sys.argv[2]) if len(sys.argv) > 2 else 2
WORK = float(sys.argv[3]) if len(sys.argv) > 3 else 0.3
WARM = float(sys.argv[4]) if len(sys.argv) > 4 else 0.0
out_lock = threading.Lock()


def log(text):
    with out_lock:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()


def burn(cpu_seconds):
    end = time.thread_time() + cpu_seconds
    while time.thread_time() < end:
        sum(range(200))  # BURN_LINE


def work(rename):
    me = threading.current_thread()
    log(f"{threading.get_native_id()} {me.name}")
    burn(WORK / 2)
    if rename:
        me.name = me.name + "-renamed"
        log(f"rename {threading.get_native_id()} {me.name}")
    burn(WORK / 2)


print("ready", flush=True)
# On a CPU until told to go, so that a profiler attached has samples.
while not select.select([sys.stdin], [], [], 0)[0]:
    burn(0.01)
sys.stdin.readline()
burn(WARM)
n = 0
for wave in range(WAVES):
    threads = []
    for i in range(PER_WAVE):
        n += 1
        threads.append(threading.Thread(target=work, args=(n % 5 == 0,),
                                        name=f"churn-{n}"))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
log("done")
sys.stdin.readline()
