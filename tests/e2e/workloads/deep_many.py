# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
# Deep and all different: chains of 300-400 calls through 3000 generated
# functions picked at random, so that nearly every sample is a new stack of
# ~17 KB of folded text. A few seconds of them since the start are more
# than a stream block may hold (64 MiB).
import random
import sys

sys.setrecursionlimit(5000)
N = 3000
SRC = "\n".join(
    f"def function_with_a_long_name_{i:04d}(d):\n"
    f"    if d <= 0:\n"
    f"        return sum(range(200))\n"
    f"    return F[random.randrange(N)](d - 1)\n"
    for i in range(N))
NS = {"random": random, "N": N}
exec(compile(SRC, "/generated/deep_many_functions.py", "exec"), NS)
F = NS["F"] = [NS[f"function_with_a_long_name_{i:04d}"] for i in range(N)]

print("ready", flush=True)
while True:
    F[random.randrange(N)](random.randrange(300, 400))
