# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
"""The output edge (issue 16, item 10): where the profile goes when -o is not
a plain file, and what is left when a writer is stopped.  /dev/stdout and
/proc/self/fd/N are written through, never replaced; a FIFO without a reader
holds up nothing and says it waits; no temporary file is ever left behind;
`-o -` is stdout; contradictions and dead outputs end with one line and the
documented code."""
import os
import random
import select
import shutil
import signal
import stat
import subprocess
import time

import pytest

from conftest import (PYPROF, PYTHONS, RAN_SECONDS, Workload, needs_root,
                      parse_folded, py_frame, run_pyprof, start_pyprof,
                      wait_cpu)

EXIT_FAILURE, EXIT_USAGE = 1, 2


def a_python():
    for _, path in PYTHONS:
        if os.access(path, os.X_OK):
            return path
    pytest.skip("no CPython from tests/conftest.py PYTHONS is installed")


def err_lines(err):
    return [l for l in err.splitlines() if l.strip()]


def has_hot(text):
    return any(py_frame(f[-1]) and py_frame(f[-1])[0] == "hot"
               for f, _ in parse_folded(text))


# A /dev of our own, in a private mount namespace: a writer that replaced
# /dev/stdout there would break this machine's /dev/stdout for every program
# (it did: the old file writer renamed over the symlink).
PRIVATE_DEV = r'''
mount --make-rprivate / 2>/dev/null
mount -t tmpfs pyprof-test-dev /dev || exit 90
ln -s /proc/self/fd /dev/fd
ln -s /proc/self/fd/0 /dev/stdin
ln -s /proc/self/fd/1 /dev/stdout
ln -s /proc/self/fd/2 /dev/stderr
mknod -m 666 /dev/null c 1 3
mknod -m 666 /dev/full c 1 7
out=$1 err=$2 mode=$3 links=$4; shift 4
if [ "$mode" = append ]; then "$@" >>"$out" 2>"$err"; else "$@" >"$out" 2>"$err"; fi
rc=$?
ls -l /dev/stdout /dev/stderr >"$links"
exit $rc
'''


def run_in_private_dev(tmp_path, args, mode="truncate"):
    """Runs args with stdout to tmp_path/out and stderr to tmp_path/err in a
    mount namespace with a /dev of its own; (rc, out, err, ls of the
    /dev/std* links afterwards)."""
    if not shutil.which("unshare"):
        pytest.skip("unshare (util-linux) is not installed")
    out, err, links = tmp_path / "out", tmp_path / "err", tmp_path / "links"
    if mode == "append":
        out.write_text("first line\n")
    p = subprocess.run(["unshare", "--mount", "sh", "-c", PRIVATE_DEV, "sh",
                        out, err, mode, links, *map(str, args)],
                       capture_output=True, text=True, timeout=120)
    if p.returncode == 90:
        pytest.skip(f"cannot mount a private /dev: {p.stderr.strip()}")
    return (p.returncode, out.read_text(encoding="utf-8"),
            err.read_text(encoding="utf-8"), links.read_text())


def assert_links_intact(links):
    for line in links.splitlines():
        assert line.startswith("l"), f"a /dev/std* link was replaced: {line}"


def test_dev_stdout_is_written_through_not_replaced(tmp_path):
    """`-o /dev/stdout --format folded > out.folded`: the profile lands in
    out.folded, and /dev/stdout stays the system's symlink."""
    needs_root()
    with Workload(a_python(), "shape.py") as w:
        wait_cpu(w.pid, 0.2)
        rc, out, err, links = run_in_private_dev(
            tmp_path, [PYPROF, "-p", w.pid, "-d", 1, "-o", "/dev/stdout",
                       "--format", "folded"])
    assert rc == 0, err
    assert_links_intact(links)
    assert has_hot(out), f"the profile is not in the redirected stdout:\n{err}"


def test_dev_stdout_appends_under_double_redirect(tmp_path):
    """`>> log`: written through the descriptor, the profile is appended
    after what the file held, not written over it."""
    needs_root()
    with Workload(a_python(), "shape.py") as w:
        wait_cpu(w.pid, 0.2)
        rc, out, err, links = run_in_private_dev(
            tmp_path, [PYPROF, "-p", w.pid, "-d", 1, "-o", "/dev/stdout"],
            mode="append")
    assert rc == 0, err
    assert_links_intact(links)
    first, rest = out.split("\n", 1)
    assert first == "first line"
    assert has_hot(rest)


def test_convert_to_dev_stderr_is_written_through(tmp_path):
    """`convert ... -o /dev/stderr 2>err`: the output is in err, and
    /dev/stderr stays a symlink."""
    src = tmp_path / "in.folded"
    src.write_text("p-1;MainThread;main (a.py:1);hot (a.py:2) 7\n")
    rc, out, err, links = run_in_private_dev(
        tmp_path, [PYPROF, "convert", src, "-o", "/dev/stderr", "--format",
                   "folded"])
    assert rc == 0, err
    assert_links_intact(links)
    assert err == "p-1;MainThread;main (a.py:1);hot (a.py:2) 7\n"


def test_proc_self_fd_is_written_through(tmp_path):
    """-o /proc/self/fd/1 with stdout redirected to a file is pyprof-bpf's
    stdout (it said "No such file or directory": the temporary file went
    into /proc/self/fd)."""
    needs_root()
    out = tmp_path / "out.folded"
    with Workload(a_python(), "shape.py") as w, open(out, "w") as f:
        wait_cpu(w.pid, 0.2)
        p = subprocess.run([PYPROF, "-p", str(w.pid), "-d", "1", "-o",
                            "/proc/self/fd/1"], stdout=f,
                           stderr=subprocess.PIPE, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert has_hot(out.read_text(encoding="utf-8"))


def test_a_descriptor_that_is_not_open_is_refused_before_profiling():
    needs_root()
    with Workload(a_python(), "shape.py") as w:
        r = run_pyprof("-p", w.pid, "-d", 30, "-o", "/dev/fd/9")
    assert r.rc == EXIT_USAGE
    assert err_lines(r.err) == [
        "pyprof-bpf: cannot write /dev/fd/9: it names a descriptor of "
        "pyprof-bpf that is not open for writing: open it (e.g. 3>FILE) or "
        "choose a file with -o"]


def fifo(tmp_path):
    path = tmp_path / "profile.fifo"
    os.mkfifo(path)
    return path


def read_err_until(p, needle, timeout):
    """p's stderr up to the line holding needle (or p's end, or the
    timeout), read from the descriptor: no thread, no text-mode buffer."""
    fd, seen, end = p.stderr.fileno(), b"", time.monotonic() + timeout
    while time.monotonic() < end and needle.encode() not in seen:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if not ready:
            continue
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        seen += chunk
    return seen.decode()


def rest_of(p, timeout=30):
    """What p writes on stderr until it exits (after read_err_until)."""
    fd, seen = p.stderr.fileno(), b""
    while True:
        ready, _, _ = select.select([fd], [], [], timeout)
        if not ready:
            break
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        seen += chunk
    p.wait(timeout=timeout)
    return seen.decode()


def test_fifo_without_reader_profiles_then_waits_and_says_so(tmp_path):
    """-o FIFO with no reader: the run samples for its -d (it used to block
    before profiling, silently and forever), then says it waits for a
    reader, and writes the profile once one comes."""
    needs_root()
    path = fifo(tmp_path)
    with Workload(a_python(), "shape.py") as w:
        p = start_pyprof("-p", w.pid, "-d", 1, "-o", path)
        try:
            err = read_err_until(p, "waiting for a reader", 60)
            assert f"waiting for a reader of {path}" in err, err
            assert "samples" in err, "the summary comes first: it sampled"
            with open(path, encoding="utf-8") as f:
                text = f.read()
            rest = rest_of(p)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
    assert p.returncode == 0, err + rest
    assert has_hot(text)


def test_interrupt_while_waiting_for_a_reader_is_called_an_interruption(
        tmp_path):
    needs_root()
    path = fifo(tmp_path)
    with Workload(a_python(), "shape.py") as w:
        p = start_pyprof("-p", w.pid, "-d", 0.5, "-o", path)
        try:
            err = read_err_until(p, "waiting for a reader", 60)
            assert "waiting for a reader" in err, err
            p.send_signal(signal.SIGINT)
            err += rest_of(p)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
    assert p.returncode == EXIT_FAILURE, err
    assert err_lines(err)[-1] == (
        f"pyprof-bpf: interrupted (SIGINT) while waiting for a reader of "
        f"{path}: the profile was not written")
    assert "choose a writable path" not in err


def test_convert_to_a_fifo_says_it_waits(tmp_path):
    path = fifo(tmp_path)
    src = tmp_path / "in.folded"
    src.write_text("p-1;MainThread;hot (a.py:2) 3\n")
    p = subprocess.Popen([PYPROF, "convert", src, "-o", path, "--format",
                          "folded"], stderr=subprocess.PIPE)
    try:
        err = read_err_until(p, "waiting for a reader", 30)
        assert f"waiting for a reader of {path}" in err, err
        with open(path) as f:
            text = f.read()
        rest_of(p)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == 0
    assert text == "p-1;MainThread;hot (a.py:2) 3\n"


def sampling(pid):
    """Whether pyprof-bpf (pid) has its sampler loaded: perf events open."""
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except FileNotFoundError:
        return False
    for fd in fds:
        try:
            if "perf_event" in os.readlink(f"/proc/{pid}/fd/{fd}"):
                return True
        except OSError:
            pass
    return False


def test_a_live_run_has_no_temporary_file_until_it_writes(tmp_path):
    """kill -9 during the run leaves nothing: the temporary file used to be
    made at start-up."""
    needs_root()
    out = tmp_path / "out"
    out.mkdir()
    with Workload(a_python(), "shape.py") as w:
        p = start_pyprof("-p", w.pid, "-d", 60, "-o", out / "app.folded")
        try:
            end = time.monotonic() + 60
            while not sampling(p.pid) and p.poll() is None and \
                    time.monotonic() < end:
                time.sleep(0.05)
            assert sampling(p.pid), p.communicate(timeout=5)[1]
            listing = os.listdir(out)
            p.kill()
            p.wait()
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
    assert listing == [], f"made before the write: {listing}"
    assert os.listdir(out) == [], "left behind by kill -9"


def folded_input(path, nstacks):
    rnd = random.Random(16)
    lines = set()
    while len(lines) < nstacks:
        frames = ";".join(f"f{rnd.randint(0, 400)} (/x/m{rnd.randint(0, 40)}"
                          f".py:{rnd.randint(1, 900)})"
                          for _ in range(rnd.randint(3, 40)))
        lines.add(f"python3-1;MainThread;{frames} {rnd.randint(1, 99)}")
    path.write_text("\n".join(sorted(lines)) + "\n")


def writing(pid, directory, inputs):
    """Whether process pid has a file open in directory that is not one of
    inputs: its output (named, or unnamed "#N (deleted)")."""
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except FileNotFoundError:
        return False
    for fd in fds:
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith(str(directory) + "/") and \
                target not in inputs:
            return True
    return False


def kill_while_writing(tmp_path, args, inputs, sig):
    """Starts pyprof-bpf args, sends sig once it writes its output; its
    return code, or None when it finished first."""
    p = subprocess.Popen([PYPROF, *map(str, args)], stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, cwd=tmp_path)
    try:
        while p.poll() is None and not writing(p.pid, tmp_path, inputs):
            time.sleep(0.002)
        if p.poll() is not None:
            return None
        p.send_signal(sig)
        p.communicate(timeout=60)
        return p.returncode
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


SIGNALS = [signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGPIPE]


@pytest.mark.parametrize("sig", SIGNALS, ids=lambda s: s.name)
@pytest.mark.parametrize("command", ["convert", "diff"])
def test_killed_while_writing_leaves_no_temporary_file(tmp_path, command,
                                                       sig):
    """convert and diff killed while writing: FILE is not there, nor any
    FILE.tmp.XXXXXX (README: complete or not there)."""
    for nstacks in (6000, 24000, 96000):
        a, b = tmp_path / "a.folded", tmp_path / "b.folded"
        folded_input(a, nstacks)
        inputs = {str(a)}
        if command == "convert":
            args = ["convert", a, "-o", "out.svg"]
        else:
            folded_input(b, nstacks)
            inputs.add(str(b))
            args = ["diff", a, b, "--fail-above", "off", "-o", "out.svg"]
        rc = kill_while_writing(tmp_path, args, inputs, sig)
        left = sorted(set(os.listdir(tmp_path)) - {"a.folded", "b.folded"})
        if rc is not None:
            break
        for name in left:
            os.unlink(tmp_path / name)
    else:
        pytest.fail("the writer finished before it could be interrupted")
    assert rc == -sig, f"not ended by {sig.name}: {rc}"
    assert left == [], f"left behind: {left}"


def test_dash_is_stdout_in_a_live_run_too(tmp_path):
    """`-o - --format folded` wrote a file named '-'; convert's '-' is
    stdout, and so is record's now."""
    needs_root()
    with Workload(a_python(), "shape.py") as w:
        wait_cpu(w.pid, 0.2)
        p = subprocess.run([PYPROF, "-p", str(w.pid), "-d", "1", "-o", "-",
                            "--format", "folded"], capture_output=True,
                           text=True, cwd=tmp_path, timeout=60)
    assert p.returncode == 0, p.stderr
    assert not (tmp_path / "-").exists()
    assert has_hot(p.stdout)


def test_folded_and_an_output_file_contradict():
    r = run_pyprof("-p", os.getpid(), "--folded", "-o", "x.folded")
    assert r.rc == EXIT_USAGE
    assert err_lines(r.err) == [
        "pyprof-bpf: --folded writes the profile to stdout and -o FILE to "
        "FILE: give one (--format folded -o FILE writes folded stacks to "
        "FILE)"]


def test_stream_to_a_dead_output_stops_at_once():
    """--stream -o /dev/full repeated its error every interval and went on:
    it stops at the first, with one line and exit 1."""
    needs_root()
    with Workload(a_python(), "shape.py") as w:
        r = run_pyprof("-p", w.pid, "--stream", "--interval", 0.2, "-d", 30,
                       "-o", "/dev/full")
    assert r.rc == EXIT_FAILURE, r.err
    failed = [l for l in err_lines(r.err) if "failed" in l]
    assert failed == ["pyprof-bpf: writing /dev/full failed: No space left "
                      "on device"], r.err
    # Stopped at the first failure, not at -d 30: the run's own account
    # of how long it sampled, not the test's clock.
    ran = float(r.summary_int(RAN_SECONDS))
    assert ran < 30, f"went on for {ran} s:\n{r.err}"


def test_convert_refuses_a_profile_without_samples(tmp_path):
    """As view and diff do: exit 1, one line."""
    empty = tmp_path / "empty.folded"
    empty.write_text("")
    p = subprocess.run([PYPROF, "convert", str(empty), "-o",
                        str(tmp_path / "x.svg")], capture_output=True,
                       text=True, timeout=30)
    assert p.returncode == EXIT_FAILURE
    assert err_lines(p.stderr) == [
        f"pyprof-bpf convert: {empty} holds no samples: nothing to convert "
        f"(is it the output of a run that ended at once?)"]
    assert os.listdir(tmp_path) == ["empty.folded"]


def test_dev_null_stays_a_device(tmp_path):
    """Anything under /dev is written in place: /dev/null too."""
    src = tmp_path / "in.folded"
    src.write_text("p-1;MainThread;hot (a.py:2) 3\n")
    p = subprocess.run([PYPROF, "convert", str(src), "-o", "/dev/null",
                        "--format", "svg"], capture_output=True, text=True,
                       timeout=30)
    assert p.returncode == 0, p.stderr
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
