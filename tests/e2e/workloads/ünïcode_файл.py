# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
# Non-ASCII function and file names must come out as UTF-8.
import time


class Ωmega:
    def 日本語(self):
        end = time.monotonic() + 3600
        while time.monotonic() < end: pass  # UNI_LINE


def héllo_wörld():
    Ωmega().日本語()


print("ready", flush=True)
héllo_wörld()
