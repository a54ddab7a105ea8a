# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
# Busy for a given time, then exits on its own.
import sys
import time


def busy(seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end: pass  # BUSY_LINE


print("ready", flush=True)
busy(float(sys.argv[1]))
