# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
# Busy for a given CPU time (not wall time: a loaded machine still sees it
# run that long on a CPU), then exits on its own.
import sys
import time


def busy(seconds):
    end = time.process_time() + seconds
    while time.process_time() < end: pass  # BUSY_LINE


print("ready", flush=True)
busy(float(sys.argv[1]))
