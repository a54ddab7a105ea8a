# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
# Thread churn (tests/test_threads.py): waves of named threads that each
# burn CPU for a while and end, so that the next wave reuses their pthread
# stacks (pthread_self() values) and thread-state memory.  Each thread logs
# "tid NAME" (its kernel tid) when it starts; some rename themselves
# half-way and log "rename tid NEW".  Prints "ready" first, then waits for
# a line on stdin before starting the waves (argv[1]: waves, argv[2]:
# threads per wave, argv[3]: seconds each thread works).
import sys
import threading
import time

WAVES = int(sys.argv[1]) if len(sys.argv) > 1 else 8
PER_WAVE = int(sys.argv[2]) if len(sys.argv) > 2 else 2
WORK = float(sys.argv[3]) if len(sys.argv) > 3 else 0.3
out_lock = threading.Lock()


def log(text):
    with out_lock:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()


def burn(deadline):
    while time.monotonic() < deadline:
        sum(range(200))  # BURN_LINE


def work(rename):
    me = threading.current_thread()
    log(f"{threading.get_native_id()} {me.name}")
    half = time.monotonic() + WORK / 2
    burn(half)
    if rename:
        me.name = me.name + "-renamed"
        log(f"rename {threading.get_native_id()} {me.name}")
    burn(half + WORK / 2)


print("ready", flush=True)
sys.stdin.readline()
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
