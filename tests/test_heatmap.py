# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
"""The source heatmap (-o FILE.heatmap.html): a live workload whose hot line is
known, read in headless Chromium; a chrooted target's source taken from its
own root, not the host's file of the same name; a file edited after the
target started and a file deleted, shown as README says; convert reading the
source from the local disk and naming what it could not find.  Screenshots
land in build/screenshots/heatmap-*.png (look at them)."""
import json
import os
import shutil
import subprocess
import time
import xml.etree.ElementTree as ET

import pytest

from conftest import (ROOT, PYTHONS, WORKLOADS, marker_line, needs_root,
                      run_pyprof)

GOLDEN = os.path.join(ROOT, "tests", "fixtures", "golden")
BROWSER = os.path.join(ROOT, "tests", "browser")
DRIVE = os.path.join(BROWSER, "drive.mjs")
SHOTS = os.path.join(ROOT, "build", "screenshots")
CHROMIUM = "/usr/bin/chromium"
SHAPE = os.path.join(WORKLOADS, "shape.py")
HOT = marker_line("shape.py", "HOT_LINE")
COLD = marker_line("shape.py", "COLD_LINE")


def heat_drive(path, shots, frame_re):
    """tests/browser/drive.mjs heatmap: what a reader sees, as JSON."""
    if not os.access(CHROMIUM, os.X_OK) or not shutil.which("node"):
        pytest.skip(f"{CHROMIUM} or node is not installed: run make deps")
    if not os.path.isdir(os.path.join(BROWSER, "node_modules", "playwright-core")):
        pytest.skip("tests/browser/node_modules is missing: run make deps")
    os.makedirs(SHOTS, exist_ok=True)
    r = subprocess.run(["node", DRIVE, "heatmap", str(path),
                        os.path.join(SHOTS, shots), frame_re],
                       capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert r.returncode == 0, f"drive.mjs heatmap failed:\n{r.stderr}"
    d = json.loads(r.stdout)
    assert d["errors"] == [], d["errors"]
    assert d["external"] == [], d["external"]
    return d


def a_python():
    for _, path in PYTHONS:
        if os.access(path, os.X_OK):
            return path
    pytest.skip("no CPython from tests/conftest.py is installed")


def sections(path):
    """{file name: section} of a heatmap read as XML: each section's status
    and its rows {line: (own, total, text)}, source and not-shown apart."""
    with open(path, encoding="utf-8") as f:
        root = ET.fromstring(f.read().split("\n", 1)[1])  # past <!DOCTYPE>
    out = {}
    for sec in root.iter("section"):
        rows, outside = {}, {}
        for table in sec.iter("table"):
            dest = outside if "out" in table.get("class", "").split() else rows
            for tr in table.find("tbody"):
                cells = ["".join(td.itertext()) for td in tr]
                dest[cells[0]] = (int(cells[1] or 0), int(cells[2] or 0),
                                  cells[3])
        name = "".join(sec.find("h3").itertext())
        status = "".join(sec.find("p[@class='status']").itertext())
        out[name] = {"id": sec.get("id"), "status": status, "rows": rows,
                     "outside": outside}
    return out


class Started:
    """python script..., started and 'ready' (as conftest's Workload, for
    a script outside tests/e2e/workloads, or a command that wraps it)."""

    def __init__(self, argv):
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if line.strip() != "ready":
            self.stop()
            raise AssertionError(f"{argv} did not start: {line!r} "
                                 f"{self.proc.stderr.read()}")
        self.pid = self.proc.pid

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.proc.stdout.close()
        self.proc.stderr.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def record_heatmap(pid, out, seconds=2.5):
    r = run_pyprof("-p", pid, "-d", seconds, "-F", 499, "-o", out)
    assert r.rc == 0, r.err
    text = out.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>"), text[:200]
    return text


# --- a live workload, in Chromium ------------------------------------------

def test_heatmap_live_hot_line_in_chromium(tmp_path):
    """shape.py: its HOT_LINE is the hottest line, with its text, the count
    of the flame graph's box, and the box leads to it."""
    needs_root()
    out = tmp_path / "shape.heatmap.html"
    with Started([a_python(), SHAPE]) as w:
        record_heatmap(w.pid, out, 3)
    d = heat_drive(out, "heatmap-live", "^hot ")
    hot_id = f"f1-{HOT}"
    # The index: shape.py, all of the samples, its source shown.
    assert d["files"][0][0] == SHAPE and d["files"][0][5] == "shown", d["files"]
    assert d["files"][0][3] == d["summary"][-2][1].split()[0]  # every sample
    sec = d["sections"][0]
    assert sec["name"] == SHAPE
    assert sec["status"].endswith("read from the profiled process's files "
                                  "while it ran"), sec["status"]
    with open(SHAPE, encoding="utf-8") as f:
        assert sec["lines"] == len(f.read().splitlines())
    # The hottest line: HOT_LINE, its text, the darkest colour.
    h = d["hottest"]
    assert h["id"] == hot_id, (h, sec["rows"])
    assert h["text"].endswith("x ^= i  # HOT_LINE")
    assert h["level"] == "10" and h["background"] != "rgba(0, 0, 0, 0)"
    rows = {r["line"]: r for r in sec["rows"]}
    cold = int(rows[str(COLD)]["own"])
    assert h["own"] > 2 * cold > 0, rows
    assert all(int(r["own"] or 0) <= h["own"] for r in sec["rows"])
    # The functions: hot first, linked to its def line.
    assert d["functions"][0][:2] == ["hot", f"{SHAPE}:{HOT - 2}"]
    assert d["functionLinks"][0] == f"#f1-{HOT - 2}"
    # The flame graph's hot box leads to the line, with the same count.
    assert d["goto"] == f"Source of hot ({SHAPE}:{HOT})"
    j = d["jump"]
    assert j["hash"] == "#" + hot_id and j["inView"], j
    assert int(j["own"]) == h["own"] == d["flameSamples"], (j, d["flameSamples"])
    assert j["outline"] == "solid"
    # Coloured by total samples: the line is still coloured.
    assert d["byTotal"]["body"] == "by-total"
    assert d["byTotal"]["background"] != "rgba(0, 0, 0, 0)"


def test_heatmap_golden_in_chromium():
    """The fixed profile (tests/unit/test_out_heatmap.c): every case of a
    file or line that cannot be shown, as a reader sees it."""
    d = heat_drive(os.path.join(GOLDEN, "heatmap.heatmap.html"),
                   "heatmap-golden", r"^hot \(/src/app.py:40\)")
    by_name = {s["name"]: s for s in d["sections"]}
    assert d["hottest"]["id"] == "f1-3" and d["hottest"]["own"] == 74
    app = by_name["/src/app.py"]
    assert "3 sampled lines not in the file" in app["status"]
    assert [r["line"] for r in app["outside"]] == ["?", "0", "40"]
    assert app["outside"][2]["text"].startswith("past the end of the file (12 lines)")
    assert "not UTF-8: 2 bytes shown as \ufffd" in by_name["/src/latin1.py"]["status"]
    assert by_name["/gone/missing.py"]["status"] == \
        "source not found (No such file or directory)"
    assert by_name["/gone/missing.py"]["outside"][0]["own"] == "3"
    assert "modified after the process started" in by_name["/src/a&b <c>.py"]["status"]
    # The box of a line past the end leads to its row below the source.
    assert d["jump"]["hash"] == "#f1-40" and d["jump"]["inView"]


# --- a container: the source from the target's own root ---------------------

def test_heatmap_container_source_from_its_own_root(tmp_path):
    """A chrooted Python (own mount and PID namespace) runs /tmp/NAME/app.py
    of its root; the host has a different file at that same path.  The
    heatmap holds the container's."""
    needs_root()
    py = "/root/.pyenv/versions/3.12.1/bin/python3"
    if not os.access(py, os.X_OK) or not shutil.which("unshare"):
        pytest.skip("needs pyenv 3.12.1 and unshare")
    home = os.path.dirname(os.path.dirname(py))
    root = tmp_path / "root"
    name = os.path.basename(tmp_path)  # unique: /tmp/NAME in both roots
    inside = root / "tmp" / name
    for d in ("usr", "opt/py", "proc", "dev", f"tmp/{name}"):
        (root / d).mkdir(parents=True, exist_ok=True)
    mounts = [f"mount --bind /usr {root}/usr"]
    for d in ("lib", "lib64", "bin"):
        if os.path.islink("/" + d):
            os.symlink(os.readlink("/" + d), root / d)
        elif os.path.isdir("/" + d):
            (root / d).mkdir()
            mounts.append(f"mount --bind /{d} {root}/{d}")
    mounts.append(f"mount --bind {home} {root}/opt/py")
    with open(SHAPE, encoding="utf-8") as f:
        src = f.read()
    (inside / "app.py").write_text(
        src.replace("# HOT_LINE", "# HOT_LINE, inside the container"))
    decoy = f"/tmp/{name}/app.py"
    os.makedirs(os.path.dirname(decoy), exist_ok=True)
    with open(decoy, "w", encoding="utf-8") as f:
        f.write(src.replace("# HOT_LINE", "# the host's file"))
    inner = (" && ".join(mounts) + f" && LD_LIBRARY_PATH=/opt/py/lib exec "
             f"chroot {root} /opt/py/bin/python3 /tmp/{name}/app.py 60")
    out = tmp_path / "c.heatmap.html"
    try:
        with Started(["unshare", "--pid", "--mount", "--fork", "--mount-proc",
                      "sh", "-c", inner]):
            kids = subprocess.run(["pgrep", "-f", f"/tmp/{name}/app.py 60"],
                                  capture_output=True, text=True).stdout.split()
            pids = [int(k) for k in kids
                    if open(f"/proc/{k}/cmdline", "rb").read()
                    .startswith(b"/opt/py/bin/python3\0")]
            assert pids, kids
            try:
                record_heatmap(pids[0], out)
            finally:
                subprocess.run(["kill", "-9", str(pids[0])])
    finally:
        shutil.rmtree(os.path.dirname(decoy), ignore_errors=True)
    secs = sections(out)
    assert list(secs) == [decoy], list(secs)
    sec = secs[decoy]
    assert sec["status"].endswith("read from the profiled process's files "
                                  "while it ran"), sec["status"]
    own, total, text = sec["rows"][str(HOT)]
    assert text.endswith("# HOT_LINE, inside the container"), text
    assert own == max(r[0] for r in sec["rows"].values()) > 0


# --- a file edited, a file gone --------------------------------------------

def test_heatmap_file_edited_after_start(tmp_path):
    """The script is cut to 8 lines after the process started: the file
    says it changed, the hot line is listed as past its end."""
    needs_root()
    app = tmp_path / "app.py"
    shutil.copy(SHAPE, app)
    out = tmp_path / "e.heatmap.html"
    with Started([a_python(), str(app)]) as w:
        time.sleep(1.5)  # the start time is known to the second
        with open(SHAPE, encoding="utf-8") as f:
            app.write_text("".join(f.readlines()[:8]))
        record_heatmap(w.pid, out)
    sec = sections(out)[str(app)]
    assert "8 lines" in sec["status"], sec["status"]
    assert "modified after the process started: the lines shown may not " \
           "be the ones that ran" in sec["status"], sec["status"]
    assert "sampled lines not in the file (listed below it)" in sec["status"]
    own, total, why = sec["outside"][str(HOT)]
    assert own > 0 and why == "past the end of the file (8 lines): edited " \
        "since the code ran?", sec["outside"]
    assert set(sec["rows"]) == {str(n) for n in range(1, 9)}


def test_heatmap_file_deleted(tmp_path):
    """The script is gone when the profile starts: its sampled lines are
    listed with their counts, and the file says why there is no text."""
    needs_root()
    app = tmp_path / "gone.py"
    shutil.copy(SHAPE, app)
    out = tmp_path / "d.heatmap.html"
    with Started([a_python(), str(app)]) as w:
        app.unlink()
        record_heatmap(w.pid, out)
    sec = sections(out)[str(app)]
    assert sec["status"] == "source not found (No such file or directory)"
    assert sec["rows"] == {}
    own, total, why = sec["outside"][str(HOT)]
    assert own > 0 and why == "source not shown"
    assert own == max(r[0] for r in sec["outside"].values())


# --- convert: the local files ----------------------------------------------

def test_convert_heatmap_reads_local_files(tmp_path):
    src = tmp_path / "app.py"
    src.write_text("def f():\n    return 1  # here\n")
    latin = tmp_path / "latin.py"
    latin.write_bytes(b"# coding: latin-1\ns = 'caf\xe9'\n")
    missing = tmp_path / "nope.py"
    folded = tmp_path / "p.folded"
    folded.write_text(
        f"py-1;MainThread;<module> (<frozen runpy>:1);f ({src}:2) 7\n"
        f"py-1;MainThread;<module> (<frozen runpy>:1);f ({src}:9) 1\n"
        f"py-1;MainThread;g ({latin}:2) 2\n"
        f"py-1;MainThread;h ({missing}:4) 3\n", encoding="utf-8")
    out = tmp_path / "p.heatmap.html"
    r = run_pyprof("convert", folded, "-o", out)
    assert r.rc == 0, r.err
    assert r.err.splitlines() == [
        f"pyprof-bpf convert: source of {missing} not found (No such file or "
        "directory): the heatmap lists its sampled lines without it",
        "pyprof-bpf convert: 1 of 3 source files could not be read: run "
        "convert where the profiled files are, or record with -o "
        "FILE.heatmap.html, which keeps them"], r.err
    secs = sections(out)
    assert secs[str(src)]["status"] == ("2 lines, 30 bytes, read from this "
                                        "machine's files when converting; "
                                        "1 sampled line not in the file "
                                        "(listed below it)")
    assert secs[str(src)]["rows"]["2"] == (7, 7, "    return 1  # here")
    assert secs[str(src)]["outside"]["9"][0] == 1
    assert "not UTF-8: 1 byte shown as \ufffd" in secs[str(latin)]["status"]
    assert secs[str(latin)]["rows"]["2"][2] == "s = 'caf\ufffd'"
    assert secs[str(missing)]["outside"]["4"] == (3, 3, "source not shown")
    assert secs["<frozen runpy>"]["status"].startswith("source not a file")
    # --format and stdout.
    with open(folded) as f:
        r = run_pyprof("convert", "-", "-o", "-", "--format", "heatmap",
                       stdin=f)
    assert r.rc == 0 and r.out.startswith("<!DOCTYPE html>"), r.err
