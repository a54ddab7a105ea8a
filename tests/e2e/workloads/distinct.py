# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
# A stack of 32 distinct functions, f00 calling f01 ... f31, which spins:
# every frame a code object of its own, as a program's stacks mostly are
# (tests/test_e2e.py, the walk's fingerprint reads).  All are compiled
# once, before "ready"; no code object is made or freed after.
SRC = "".join(
    f"def f{i:02d}():\n    return f{i + 1:02d}()\n" for i in range(31)) + (
    "def f31():\n    x = 0\n    while True:\n        x += 1\n")
NS = {}
exec(compile(SRC, "/distinct/functions.py", "exec"), NS)

print("ready", flush=True)
NS["f00"]()
