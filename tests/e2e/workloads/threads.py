# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
# Named threads, one of them started only after the profiler is attached
# (when stdin gets a line), and the main thread busy too.
import sys
import threading
import time


def spin_alpha():
    while True: sum(range(1000))  # ALPHA_LINE


def spin_late():
    while True: sum(range(1000))  # LATE_LINE


def main_loop():
    while True: sum(range(1000))  # MAIN_LINE


threading.Thread(target=spin_alpha, name="worker-α", daemon=True).start()
print("ready", flush=True)
sys.stdin.readline()
threading.Thread(target=spin_late, name="late pool", daemon=True).start()
print("late", flush=True)
main_loop()
