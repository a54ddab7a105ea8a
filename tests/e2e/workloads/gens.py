# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
# Generator and coroutine frames: on 3.11+ they live in the generator object
# on the heap, not on the thread's frame stack, and link in while running.
import time


def produce(n):
    for i in range(n): yield i  # GEN_LINE


def consume():
    return sum(produce(200000))  # CONSUME_LINE


async def leaf():
    x = 0
    for i in range(200000): x += i  # ASYNC_LINE
    return x


async def outer():
    return await leaf()  # AWAIT_LINE


def drive():
    coro = outer()
    try:
        coro.send(None)  # SEND_LINE
    except StopIteration as stop:
        return stop.value


def main():
    print("ready", flush=True)
    end = time.monotonic() + 3600
    while time.monotonic() < end:
        consume()  # CALL_CONSUME
        drive()  # CALL_DRIVE


main()  # MODULE_LINE
