# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
"""How a run ends when it is told to, or when its output cannot be written:
signals, a reader that stops reading, a full disk, paths that are not what
they seem.  Each ends with one clear line and a documented exit code, and an
output file is either complete or not there."""
import os
import signal
import stat
import subprocess

import pytest

from conftest import (PYPROF, Workload, any_python, needs_root, parse_folded,
                      py_frame, run_pyprof, start_pyprof, wait_cpu)

EXIT_FAILURE, EXIT_USAGE = 1, 2


def lines_of(err):
    return [l for l in err.splitlines() if l.strip()]


@pytest.mark.parametrize("sig,name", [(signal.SIGTERM, "SIGTERM"),
                                      (signal.SIGHUP, "SIGHUP")])
def test_signal_writes_whole_output(tmp_path, sig, name):
    needs_root()
    out = tmp_path / "app.folded"
    with Workload(any_python(), "shape.py") as w:
        p = start_pyprof("-p", w.pid, "-F", 199, "--interval", 0.2, "-o", out)
        wait_cpu(w.pid, 1.0)
        p.send_signal(sig)
        _, err = p.communicate(timeout=30)
        assert w.proc.poll() is None, "the target must outlive the profiler"
    assert p.returncode == 0, err
    assert f"interrupted ({name})" in err
    stacks = parse_folded(out.read_text(encoding="utf-8"))
    hot = sum(c for f, c in stacks if py_frame(f[-1]) and py_frame(f[-1])[0] == "hot")
    assert hot > 0.5 * sum(c for _, c in stacks)
    assert os.listdir(tmp_path) == ["app.folded"], "temporary file left"


def test_reader_closing_the_pipe_is_not_a_failure():
    """`pyprof-bpf ... | head`: the reader stops after a few lines of a big
    profile; pyprof-bpf says the output was cut short and exits 0."""
    needs_root()
    with Workload(any_python(), "many.py") as w:
        wait_cpu(w.pid, 0.2)
        p = subprocess.Popen([PYPROF, "-p", str(w.pid), "-F", "999", "-d", "2",
                              "--folded"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
        head = p.stdout.readline() + p.stdout.readline()
        p.stdout.close()
        err = p.stderr.read().decode()
        p.wait(timeout=60)
    assert p.returncode == 0, err
    assert "broken pipe" in err and "-o FILE" in err
    for line in head.decode().splitlines():
        stack, count = line.rsplit(" ", 1)
        assert "many.py" in stack and int(count) > 0
    assert "writing stdout failed" not in err


def test_stream_ends_when_its_reader_goes():
    """--stream to a pipe whose reader took one line: the run ends at the
    next snapshot instead of profiling for nobody; the target runs on."""
    needs_root()
    with Workload(any_python(), "shape.py") as w:
        p = subprocess.Popen([PYPROF, "-p", str(w.pid), "--folded", "--stream",
                              "--interval", "0.2"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
        first = p.stdout.readline()
        p.stdout.close()
        err = p.stderr.read().decode()
        p.wait(timeout=60)
        assert w.proc.poll() is None
    assert first.strip(), err
    assert p.returncode == 0, err
    assert "broken pipe" in err


def test_full_disk_leaves_no_file(tmp_path):
    needs_root()
    small = tmp_path / "small"
    small.mkdir()
    m = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16k", "pyprof-test",
                        str(small)], capture_output=True, text=True)
    if m.returncode:
        pytest.skip(f"cannot mount a small tmpfs: {m.stderr.strip()}")
    try:
        with Workload(any_python(), "many.py") as w:
            r = run_pyprof("-p", w.pid, "-F", 999, "-d", 1.5,
                           "-o", small / "big.folded")
        listing = os.listdir(small)
    finally:
        subprocess.run(["umount", str(small)])
    assert r.rc == EXIT_FAILURE, r.err
    assert any("writing" in l and "big.folded" in l and
               "No space left on device" in l for l in lines_of(r.err)), r.err
    assert listing == [], f"partial output left: {listing}"


def test_full_stdout():
    needs_root()
    with Workload(any_python(), "shape.py") as w:
        with open("/dev/full", "w") as full:
            p = subprocess.run([PYPROF, "-p", str(w.pid), "-d", "1", "--folded"],
                               stdout=full, stderr=subprocess.PIPE, text=True,
                               timeout=60)
    assert p.returncode == EXIT_FAILURE, p.stderr
    assert "writing stdout failed: No space left on device" in p.stderr


def test_planted_symlink_is_replaced_not_followed(tmp_path):
    """-o names a symlink someone planted to a file they want overwritten:
    the link is replaced by the profile; its target is untouched."""
    needs_root()
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    (tmp_path / "out").mkdir()
    link = tmp_path / "out" / "profile.folded"
    link.symlink_to(victim)
    with Workload(any_python(), "shape.py") as w:
        r = run_pyprof("-p", w.pid, "-d", 1, "-o", link)
    assert r.rc == 0, r.err
    assert victim.read_text() == "precious\n"
    assert not link.is_symlink()
    assert parse_folded(link.read_text(encoding="utf-8"))
    assert os.listdir(tmp_path / "out") == ["profile.folded"]


def test_output_that_is_a_directory_is_refused_before_profiling(tmp_path):
    needs_root()
    d = tmp_path / "results.folded"
    d.mkdir()
    with Workload(any_python(), "shape.py") as w:
        r = run_pyprof("-p", w.pid, "-d", 30, "-o", d)
    assert r.rc == EXIT_USAGE
    assert lines_of(r.err) == [
        f"pyprof-bpf: cannot write {d}: it is a directory: give a file name "
        f"with -o, e.g. {d}/profile.folded"]


def test_devices_and_pipes_are_written_in_place(tmp_path):
    """-o /dev/null and -o /dev/stdout are written, not replaced (a rename
    over /dev/null would leave a regular file there for every program);
    their format defaults to folded."""
    needs_root()
    with Workload(any_python(), "shape.py") as w:
        r = run_pyprof("-p", w.pid, "-d", 1, "-o", "/dev/null")
        assert r.rc == 0, r.err
        st = os.stat("/dev/null")
        assert stat.S_ISCHR(st.st_mode), "/dev/null is no longer a device"
        r = run_pyprof("-p", w.pid, "-d", 1, "-o", "/dev/stdout")
    assert r.rc == 0, r.err
    assert any(py_frame(f[-1]) and py_frame(f[-1])[0] == "hot"
               for f, _ in parse_folded(r.out))


def test_planted_symlink_to_a_device_is_replaced(tmp_path):
    """A symlink outside /dev and /proc that points to a device is replaced
    by the profile like any other: never written through."""
    needs_root()
    link = tmp_path / "profile.folded"
    link.symlink_to("/dev/null")
    with Workload(any_python(), "shape.py") as w:
        r = run_pyprof("-p", w.pid, "-d", 1, "-o", link)
    assert r.rc == 0, r.err
    assert not link.is_symlink() and link.is_file()
    assert parse_folded(link.read_text(encoding="utf-8"))
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
