# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
# One churner of scripts/soak: forever, start short-lived threads (their
# thread ids are reused as they come and go), fork children that work a
# little and exit, exec a program that is not Python, or exec Python again
# (a new interpreter in the same pid).  Runs until killed.
import os
import random
import sys
import threading
import time
import warnings

# The threads are joined before each fork; 3.12+ warns all the same.
warnings.filterwarnings("ignore", category=DeprecationWarning)


def work(n):
    x = 0
    for i in range(n): x += i
    return x


def short_thread():
    work(random.randint(20000, 200000))


def child(kind):
    if kind == 0:
        work(200000)
        os._exit(0)
    if kind == 1:
        # A process that stops being Python.
        os.execv("/bin/sleep", ["sleep", "0.05"])
    # A process that is Python again, from its first instruction.
    os.execv(sys.executable, [sys.executable, "-c",
                              "x = 0\nfor i in range(300000): x += i"])


def main():
    rnd = random.Random(os.getpid())
    n = 0
    while True:
        threads = [threading.Thread(target=short_thread, name="worker")
                   for _ in range(rnd.randint(1, 4))]
        for t in threads:
            t.start()
        work(50000)
        for t in threads:
            t.join()
        n += 1
        if n % 5 == 0:
            pid = os.fork()
            if pid == 0:
                child(n // 5 % 3)
            os.waitpid(pid, 0)
        time.sleep(rnd.uniform(0.0, 0.02))


if __name__ == "__main__":
    main()
