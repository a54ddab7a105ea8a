# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
"""Threads at the edges (issue 16), on every interpreter present (Debian
unstable's 3.14 and 3.15 among them, from make deps' root):

- thread churn: waves of named threads that end and are replaced, so that
  pthread stacks (pthread_self(), the ident Python keeps) and thread-state
  memory are reused; every sample must carry the name its thread had, as
  the program itself logs it per tid;
- threads asleep before pyprof-bpf attaches: in wall mode (and --gil) each
  is counted from the first interval under the stack it rests in, with its
  Python name."""
import os
import re
import signal
import subprocess
import time

import pytest

from conftest import (WORKLOADS, marker_line, needs_root,
                      parse_folded, py_frame, python_params, run_pyprof,
                      start_pyprof)

pytestmark = pytest.mark.usefixtures("root")

EXIT_UNSUPPORTED = 7


@pytest.fixture
def root():
    needs_root()


class Target:
    """A workload of tests/e2e/workloads run by python.  Lines it prints
    before "ready" are kept in self.before."""

    def __init__(self, python, script, *args):
        self.path = os.path.join(WORKLOADS, script)
        argv = [python, "-u", self.path]
        self.script = script
        self.proc = subprocess.Popen(
            argv + [str(a) for a in args], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            encoding="utf-8")
        self.pid = self.proc.pid
        self.before = []
        for line in self.proc.stdout:
            if line.strip() == "ready":
                break
            self.before.append(line.strip())
        else:
            err = self.proc.stderr.read()
            self.stop()
            raise AssertionError(f"{script} did not start: {err}")

    def send(self, text):
        self.proc.stdin.write(text)
        self.proc.stdin.flush()

    def lines_until(self, last):
        out = []
        for line in self.proc.stdout:
            line = line.strip()
            if line == last:
                return out
            out.append(line)
        raise AssertionError(f"{self.script} ended before {last!r}")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for f in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            f.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def skip_if_unsupported(rc, err):
    if rc == EXIT_UNSUPPORTED:
        pytest.skip(f"pyprof-bpf cannot profile this Python: {err.strip()}")


def start_attached(tmp_path, *args):
    """pyprof-bpf ARGS writing its profile to a file every 0.2 s
    (--stream), once the first is there: it has attached and collected.
    (process, path of the profile)"""
    out = tmp_path / "out.folded"
    p = start_pyprof(*args, "--stream", "-o", out, "--interval", 0.2)
    deadline = time.monotonic() + 60
    while not out.exists():
        if p.poll() is not None:
            _, err = p.communicate()
            skip_if_unsupported(p.returncode, err)
            raise AssertionError(err)
        assert time.monotonic() < deadline, "no profile written in 60 s"
        time.sleep(0.05)
    return p, out


def wait_asleep(pid):
    """Waits until every thread of pid sleeps (state S), twice in a row
    0.1 s apart: a loaded machine may delay a thread on its way to the
    call it blocks in."""
    deadline, calm = time.monotonic() + 60, 0
    while calm < 2:
        assert time.monotonic() < deadline, f"threads of {pid} never slept"
        states = []
        for tid in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{tid}/stat") as f:
                    states.append(f.read().rsplit(")", 1)[1].split()[0])
            except FileNotFoundError:
                pass
        calm = calm + 1 if states and set(states) == {"S"} else 0
        time.sleep(0.1)


def tid_names(lines):
    """{tid: [names in order]} from "TID NAME" and "rename TID NAME"."""
    names = {}
    for line in lines:
        parts = line.split(" ", 2)
        if parts[0] == "rename":
            names[parts[1]].append(parts[2])
        elif parts[0].isdigit():
            names.setdefault(parts[0], []).append(parts[1])
    return names


THREAD = re.compile(r"^(?P<name>.*) \(tid (?P<tid>\d+)\)$")
SUMMARY_THREAD = re.compile(r"pid \d+ tid (\d+)(?: \"([^\"]*)\")?: \d+ samples")


def by_tid(stacks):
    """{tid: {thread name: samples}} of folded stacks written with --tid."""
    out = {}
    for frames, count in stacks:
        m = THREAD.match(frames[1])
        assert m, frames[1]
        names = out.setdefault(m.group("tid"), {})
        names[m.group("name")] = names.get(m.group("name"), 0) + count
    return out


# cpu, wall, --native.  --native symbolises each new native address as
# its samples come (~8 ms an address on the test VM, most at the first
# samples, when libpython's DWARF is loaded): a thread that starts and ends
# while the collector is busy with that cannot be read, and is named with
# a stand-in (tid-N), never with another thread's name.  The workload warms
# the symbols up with a burn of its main thread before the waves.
MODES = [pytest.param([], 0, id="cpu"),
         pytest.param(["--mode", "wall"], 0, id="wall"),
         pytest.param(["--native"], 2.0, id="native")]
STAND_IN = re.compile(r"^tid-\d+$")


@pytest.mark.parametrize("mode,warm", MODES)
@pytest.mark.parametrize("python", python_params())
def test_names_under_thread_churn(python, mode, warm, tmp_path):
    """Sixteen threads in eight waves of two, each burning 0.3 s of CPU
    (however long a loaded machine makes that), three of them renaming
    themselves half-way.  Every sample of a worker
    carries a name that thread had, by its tid as the thread logged it; a
    tid has one name unless it renamed itself (samples are named at each
    drain, so a renamed thread's may carry either name); and in wall mode
    the summary's per-thread table agrees with the folded output."""
    with Target(python, "churn.py", 8, 2, 0.3, warm) as w:
        # Attached first: the threads start at "go".
        p, path = start_attached(tmp_path, "-p", w.pid, "--tid", "-F", 499,
                                 *mode)
        w.send("go\n")
        log = tid_names(w.lines_until("done"))
        p.send_signal(signal.SIGINT)
        _, err = p.communicate(timeout=120)
        w.send("\n")
    assert p.returncode == 0, err
    out = path.read_text(encoding="utf-8")
    assert len(log) == 16, log
    seen = by_tid(parse_folded(out))
    right = wrong = unread = 0
    named = set()
    for tid, names in seen.items():
        if tid not in log:
            continue
        if "--native" in mode and len(names) == 1 and \
                STAND_IN.match(next(iter(names))):
            unread += sum(names.values())
            continue
        for name, count in names.items():
            if name in log[tid]:
                right += count
            else:
                wrong += count
        if len(log[tid]) == 1:
            assert len(names) == 1, (tid, names, log[tid])
        named.add(tid)
    assert wrong == 0, f"{wrong} of {right + wrong} samples misnamed:\n{out}"
    # The threads were sampled (each burns 0.3 s of CPU: ~150 samples),
    # and named: all of them, but with --native those the collector could
    # not read while they lived (see MODES).
    assert len(named) >= (12 if "--native" in mode else
                          len(set(seen) & set(log))), (seen, log)
    assert len(set(seen) & set(log)) >= 12, (sorted(seen), sorted(log))
    if "--mode" in mode:
        # The table lists the busiest 16 threads.
        rows = {tid: name for tid, name in SUMMARY_THREAD.findall(err)}
        assert len(set(rows) & set(log)) >= 12, err
        for tid in set(rows) & set(log):
            assert rows[tid] in seen.get(tid, {}), (tid, rows[tid],
                                                    seen.get(tid), err)


def asleep_expected(w):
    """{tid: (name, [Python frames as (func, line)], leaf)} of asleep.py."""
    line = lambda m: marker_line("asleep.py", m)
    want = {}
    for tid, names in tid_names(w.before).items():
        name = names[0]
        if name == "MainThread":
            want[tid] = (name, [("<module>", line("MAIN_LINE")),
                                ("longsleep", line("SLEEP_LINE"))],
                         "[off-cpu: sleep]")
        elif int(name.rsplit("-", 1)[1]) % 2:
            want[tid] = (name, [("worker", line("CALL_BLOCKED")),
                                ("blocked", line("ACQUIRE_LINE"))],
                         "[off-cpu: futex]")
        else:
            want[tid] = (name, [("worker", line("CALL_NAP")),
                                ("nap", line("NAP_LINE"))],
                         "[off-cpu: sleep]")
    return want


@pytest.mark.parametrize("mode", [["--mode", "wall"], ["--gil"]],
                         ids=["wall", "gil"])
@pytest.mark.parametrize("python", python_params())
def test_threads_asleep_at_attach(python, mode):
    """Ten named workers asleep in time.sleep or on a Lock and a main
    thread in time.sleep, all since before the attach, never waking: each
    is counted for the whole run under the stack it rests in, with its
    threading name, in every interval (five drains); none is
    "[asleep since the start]", tid-N or a 15-character kernel name."""
    with Target(python, "asleep.py") as w:
        wait_asleep(w.pid)
        r = run_pyprof("-p", w.pid, "--tid", "-d", 1.25, "--interval", 0.25,
                       *mode)
        want = asleep_expected(w)
    skip_if_unsupported(r.rc, r.err)
    assert r.rc == 0, r.err
    assert len(want) == 11, w.before
    stacks = parse_folded(r.out)
    assert not any("[asleep since the start]" in f for f, _ in stacks), r.out
    seen = {}
    for frames, count in stacks:
        m = THREAD.match(frames[1])
        tid = m.group("tid")
        assert tid in want, frames
        name, py, leaf = want[tid]
        assert m.group("name") == name, (frames[1], name)
        assert frames[-1] == leaf, frames
        # The script's frames end the stack (threading's come first for
        # the workers).
        tail = [py_frame(f) for f in frames[-1 - len(py):-1]]
        assert tail == [(fn, w.path, ln) for fn, ln in py], frames
        seen[tid] = seen.get(tid, 0) + count
    assert set(seen) == set(want), (seen, want)
    # Asleep for the whole run, all of them: the same share each.
    assert max(seen.values()) - min(seen.values()) <= 2, seen
    rows = dict(SUMMARY_THREAD.findall(r.err))
    assert {t: rows.get(t) for t in want} == \
        {t: n for t, (n, _, _) in want.items()}, r.err


@pytest.mark.parametrize("python", python_params())
def test_asleep_named_threads_stay_apart(python):
    """Without --tid the ten workers are ten thread frames: their threading
    names, not one merged 15-character kernel name (3.14 names OS threads
    after Thread.name, cut to "CustomThreadNam")."""
    with Target(python, "asleep.py") as w:
        wait_asleep(w.pid)
        r = run_pyprof("-p", w.pid, "--mode", "wall", "-d", 0.5)
    skip_if_unsupported(r.rc, r.err)
    assert r.rc == 0, r.err
    threads = {f[1] for f, _ in parse_folded(r.out)}
    assert threads == {"MainThread"} | {f"CustomThreadName-{i}"
                                        for i in range(10)}, threads


@pytest.mark.parametrize("python", python_params())
def test_stack_read_again_while_asleep(python, tmp_path):
    """The main thread sleeps for good while another thread makes the
    interpreter's thread list unreadable, then repairs it: the main
    thread's time is "[interpreter not readable]" until the repair, and
    after it, at a later collection, under the stack it still sleeps in
    (read again where it rests, as it never leaves the CPU again)."""
    with Target(python, "unreadable.py") as w:
        wait_asleep(w.pid)
        # Attached, and collected once, before the repair.
        p, path = start_attached(tmp_path, "-p", w.pid, "--mode", "wall",
                                 "-d", 2.5)
        w.send("go\n")
        assert w.proc.stdout.readline().strip() == "restored"
        _, err = p.communicate(timeout=120)
    assert p.returncode == 0, err
    out = path.read_text(encoding="utf-8")
    main = [(f, c) for f, c in parse_folded(out) if f[1] == "MainThread"]
    stack = [("<module>", w.path, marker_line("unreadable.py", "MAIN_LINE")),
             ("longsleep", w.path, marker_line("unreadable.py", "SLEEP_LINE"))]
    read = sum(c for f, c in main if f[-1] == "[off-cpu: sleep]"
               and [py_frame(x) for x in f[2:-1]] == stack)
    unreadable = sum(c for f, c in main if f[2:] == [
        "[interpreter not readable]", "[off-cpu: sleep]"])
    assert read + unreadable == sum(c for _, c in main), out
    assert unreadable > 0, out  # attached before the repair
    # Repaired soon after the start of 2.5 s; read again within two
    # collections.
    assert read >= 0.3 * (read + unreadable), out
