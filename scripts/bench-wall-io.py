# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
"""A GIL-heavy I/O workload for the wall-mode benchmark (scripts/bench-wall):
PAIRS pairs of threads ping-pong one byte over socketpairs N times, so every
message is a context switch and a GIL hand-off.  Prints the elapsed seconds
and the messages per second."""
import socket
import sys
import threading
import time

N = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
PAIRS = int(sys.argv[2]) if len(sys.argv) > 2 else 4


def ping(s, n):
    for _ in range(n):
        s.sendall(b"x")
        s.recv(1)


def pong(s, n):
    for _ in range(n):
        s.sendall(s.recv(1))


def main():
    threads = []
    for _ in range(PAIRS):
        a, b = socket.socketpair()
        threads.append(threading.Thread(target=ping, args=(a, N)))
        threads.append(threading.Thread(target=pong, args=(b, N)))
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    dt = time.perf_counter() - t0
    print(f"{dt:.4f} {2 * N * PAIRS / dt:.0f}")


main()
