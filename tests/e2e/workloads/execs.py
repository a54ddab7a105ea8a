# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
# Busy for a moment, then exec()s a program that is not Python.
import os
import time


def busy(seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end: pass  # BUSY_LINE


print("ready", flush=True)
busy(1.0)
os.execv("/bin/sleep", ["sleep", "30"])
