"""arm64 (issue 24): the tests that matter most, run again on an emulated
arm64 machine.  `make deps` makes the machine once (scripts/arm64-vm build:
Debian unstable's arm64 root and kernel, booted by qemu-system-aarch64, no
KVM needed); `make arm64` cross-builds pyprof-bpf and the C unit tests for it
with the host's clang.  One boot then runs there the whole C unit suite and
ARM64_TESTS, on Debian's CPython 3.14 of that machine, with pyprof-bpf of
arm64.  Each is reported here under its own name: one that fails there fails
here with its own message, one skipped there is skipped here with its
reason.  `make test-arm64` runs this file alone."""
import os
import re
import shlex
import subprocess
import xml.etree.ElementTree as ET

import pytest

from conftest import ROOT

VM_DIR = os.path.join(ROOT, ".deps", "arm64")
OUT = os.path.join(ROOT, "build-arm64")
RESULTS = os.path.join(OUT, "vm-results")
PYTHON = "/usr/bin/python3.14"

# What each feature needs checked on arm64: exact frames, lines and shares;
# samples against CPU time; deep stacks; code objects freed and made again,
# and 3.14's fingerprints kept across samples (at arm64's own offset); thread
# names, asleep, late or churning; --native through a library without frame
# pointers, through -X perf's trampolines, out of the vDSO and through
# Debian's stripped interpreter; --kernel; wall mode; -a; --async's task
# frames.
ARM64_TESTS = [
    "tests/test_e2e.py::test_shape_frames_lines_and_proportions",
    "tests/test_e2e.py::test_samples_follow_cpu_time",
    "tests/test_e2e.py::test_recursion_300_deep_is_whole",
    "tests/test_e2e.py::test_code_objects_made_again_keep_their_names",
    "tests/test_e2e.py::test_fingerprints_kept_from_sample_to_sample",
    "tests/test_e2e.py::test_threads_named_and_late_threads_found",
    "tests/test_threads.py::test_threads_asleep_at_attach",
    "tests/test_threads.py::test_asleep_named_threads_stay_apart",
    "tests/test_native.py::test_native_ctypes_merged",
    "tests/test_native.py::test_perf_trampolines_resolved",
    "tests/test_native.py::test_kernel_frames_below_python",
    "tests/test_native.py::test_vdso_frames_unwound",
    "tests/test_native.py::test_native_debian_stripped",
    "tests/test_threads.py::test_names_under_thread_churn",
    "tests/test_wall.py::test_cpu_bound_and_lock_blocked_threads_told_apart",
    "tests/test_wall.py::test_sleeping_thread_has_its_wall_share",
    "tests/test_system.py::test_all_finds_processes_that_start_later",
    "tests/test_async.py::test_tree_task_frames_and_shares",
]

# The VM's own env: its CPython under the id --async's tests know it by
# (it is Debian's 3.14, run directly), Debian unstable's root at / (not the
# host's x86-64 one, shared too), and the test library built here with
# pointer authentication, as Debian builds its arm64 packages (the VM has
# no gcc).
VM_ENV = {
    "PYPROF_DEBIAN_ROOT": "/",
    "PYPROF_BIN": os.path.join(OUT, "pyprof-bpf"),
    "PYPROF_TEST_LIBSPIN": os.path.join(OUT, "libspin.so"),
    "PYPROF_TEST_PYTHONS": "debian-3.14=" + PYTHON,
    "PYPROF_TEST_PYTHONS_ONLY": "1",
    "PYPROF_TEST_EMULATED": "an arm64 machine emulated by QEMU (TCG)",
}


def vm_missing():
    """Why there is no arm64 machine to run on, or None."""
    if os.path.isfile(os.path.join(VM_DIR, ".complete")):
        return None
    try:
        with open(VM_DIR + ".failed", encoding="utf-8") as f:
            return "the arm64 VM could not be made: " + f.read().strip()
    except OSError:
        return (f"no arm64 VM in {VM_DIR}: `make deps` (scripts/arm64-vm "
                "build) makes it, as root")


def host_env():
    """This process's environment without the calling make's: a make run
    from here must not look for a job server it was not given."""
    return {k: v for k, v in os.environ.items()
            if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES")}


@pytest.fixture(scope="module")
def vm_run():
    why = vm_missing()
    if why:
        pytest.skip(why)
    b = subprocess.run(["make", "-j2", "--no-print-directory", "arm64",
                        "build-arm64/libspin.so"], cwd=ROOT, env=host_env(),
                       capture_output=True, text=True, timeout=1800)
    assert b.returncode == 0, ("make arm64 failed", b.stdout[-4000:],
                               b.stderr[-4000:])
    os.makedirs(RESULTS, exist_ok=True)
    for f in ("unit.txt", "unit.rc", "junit.xml", "pytest.txt"):
        try:
            os.unlink(os.path.join(RESULTS, f))
        except FileNotFoundError:
            pass
    env = " ".join(f"{k}={shlex.quote(v)}" for k, v in VM_ENV.items())
    q = {k: shlex.quote(v) for k, v in (("root", ROOT), ("out", OUT),
                                         ("res", RESULTS))}
    script = (
        f"cd {q['root']} && "
        f"env {env} {q['out']}/unit_tests > {q['res']}/unit.txt 2>&1; "
        f"echo $? > {q['res']}/unit.rc; "
        f"env {env} python3 -m pytest -ra -p no:cacheprovider "
        f"--junitxml={q['res']}/junit.xml {' '.join(ARM64_TESTS)} "
        f"> {q['res']}/pytest.txt 2>&1; true")
    r = subprocess.run([os.path.join(ROOT, "scripts", "arm64-vm"), "run",
                        "--share", ROOT, "--timeout", "2400", "--", "sh", "-c",
                        script], cwd=ROOT, env=host_env(),
                       capture_output=True, text=True, timeout=2500)
    assert r.returncode == 0, ("the arm64 VM run failed", r.returncode,
                               r.stdout[-4000:], r.stderr[-4000:])
    return RESULTS


def read(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read()


def test_unit_suite_on_arm64(vm_run):
    """The whole C unit suite, built for arm64, passes there (what only
    another machine's files can check SKIPs there with its reason)."""
    out = read(os.path.join(vm_run, "unit.txt"))
    rc = read(os.path.join(vm_run, "unit.rc")).strip()
    summary = re.search(r"^(\d+) passed, (\d+) failed, (\d+) skipped$", out,
                        re.M)
    assert summary, out[-4000:]
    failed = re.findall(r"^FAIL \S+", out, re.M)
    assert rc == "0" and summary.group(2) == "0" and not failed, (
        failed, out[-6000:])
    # Cannot pass by running nothing: arm64's own unwinding tests ran.
    for name in ("cfi_cached_rows_step_as_fresh_ones",
                 "arch_arm64_branch_targets", "arch_arm64_frameless_leaves",
                 "arch_arm64_signed_return_addresses", "offcpu_leaf_names"):
        assert re.search(rf"^ok {name}$", out, re.M), (name, out[-4000:])


def cases(results):
    """{nodeid: (outcome, message)} of the VM's pytest run."""
    path = os.path.join(results, "junit.xml")
    assert os.path.exists(path), read(os.path.join(results, "pytest.txt"))
    out = {}
    for tc in ET.parse(path).iter("testcase"):
        mod = tc.get("classname", "").replace(".", "/") + ".py"
        nodeid = f"{mod}::{tc.get('name')}"
        outcome, msg = "passed", ""
        for kind in ("failure", "error", "skipped"):
            el = tc.find(kind)
            if el is not None:
                outcome = kind
                msg = (el.get("message") or "") + "\n" + (el.text or "")
                break
        out[nodeid] = (outcome, msg)
    return out


@pytest.mark.parametrize("test", ARM64_TESTS,
                         ids=[t.split("::")[1] for t in ARM64_TESTS])
def test_on_arm64(vm_run, test):
    """ARM64_TESTS' test, each of its parameters, as it went on the arm64
    machine."""
    ran = {k: v for k, v in cases(vm_run).items()
           if k == test or k.startswith(test + "[")}
    assert ran, ("did not run on arm64",
                 read(os.path.join(vm_run, "pytest.txt"))[-4000:])
    bad = {k: msg[-6000:] for k, (o, msg) in ran.items()
           if o in ("failure", "error")}
    assert not bad, bad
    if all(o == "skipped" for o, _ in ran.values()):
        pytest.skip("on arm64: " + "; ".join(
            msg.strip().splitlines()[0] for _, msg in ran.values()
            if msg.strip()))
