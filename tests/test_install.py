# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
"""What a user gets beyond the build: `make install` and `make uninstall`
(into a DESTDIR, no root needed), the manual page pyprof-bpf(8) (rendered
by man without a warning, naming every option --help names), the bash
completion (driven in a real bash), and `make demo` off a terminal (root).
The demo on a terminal is in test_top.py, with the other tmux tests."""
import os
import re
import shutil
import stat
import subprocess
import xml.etree.ElementTree as ET

import pytest

from conftest import PYPROF, ROOT, SAMPLING_LINE, needs_root, parse_folded

MAN = os.path.join(ROOT, "src", "pyprof-bpf.8")
COMPLETION = os.path.join(ROOT, "scripts", "pyprof-bpf.bash")
PY_CLIENT = os.path.join(ROOT, "src", "client", "pyprof_bpf.py")
C_CLIENT = os.path.join(ROOT, "src", "client", "pyprof_bpf.h")
SUBCOMMANDS = ("view", "convert", "diff", "serve")


def make(*args, timeout=600):
    """make in the source tree, as a user would type it.  The variables a
    `make test` above passes down (jobserver fds this process does not
    have) are left out; SAN, if set, still picks the build folder."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES")}
    return subprocess.run(["make", "--no-print-directory", "-C", ROOT, *args],
                          capture_output=True, text=True, env=env,
                          timeout=timeout)


def built():
    """The build make install copies: build/ or, with SAN=1, build-san/."""
    out = "build-san" if os.environ.get("SAN") == "1" else "build"
    path = os.path.join(ROOT, out, "pyprof-bpf")
    if not os.path.exists(path):
        pytest.fail(f"{path} is not built: run make")
    return path


def files_under(d):
    return sorted(os.path.relpath(os.path.join(top, f), d)
                  for top, _, fs in os.walk(d) for f in fs)


def help_text(sub=None):
    r = subprocess.run([PYPROF, *([sub] if sub else []), "--help"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return r.stdout


def formats_of(sub=None):
    """--format's names, in the order --help lists them ("the profile's
    format: folded, svg, ..., pstats (default: ...", convert's "folded,
    ..., heatmap or pstats (default: ...")."""
    m = re.search(r"--format NAME\s+(?:the profile's format: )?(.*?)\s*"
                  r"\(default", help_text(sub), re.S)
    assert m, help_text(sub)
    names = [n for n in re.split(r"[,\s]+", m.group(1)) if n and n != "or"]
    assert "folded" in names and "svg" in names, names
    return names


def options_of(text):
    """The options a --help text defines: the -x and --long at the start
    of its option lines ("  -p, --pid PID...", "      --children ...")."""
    opts = set()
    for line in text.splitlines():
        m = re.match(r"^\s+(-[a-zA-Z])?(?:, )?(--[a-z][a-z-]*)?(?=\s|$)",
                     line)
        if m:
            opts.update(o for o in m.groups() if o)
    assert opts, f"no options found in:\n{text}"
    return opts


@pytest.mark.parametrize("prefix", ["/usr/local", "/usr"])
def test_install_and_uninstall(tmp_path, prefix):
    binary = built()
    dest = tmp_path / "dest"
    args = [f"DESTDIR={dest}"] + ([] if prefix == "/usr/local"
                                  else [f"PREFIX={prefix}"])
    r = make("install", *args)
    assert r.returncode == 0, r.stdout + r.stderr
    p = prefix.lstrip("/")
    want = {
        f"{p}/bin/pyprof-bpf": (binary, 0o755),
        f"{p}/share/man/man8/pyprof-bpf.8": (MAN, 0o644),
        f"{p}/share/bash-completion/completions/pyprof-bpf":
            (COMPLETION, 0o644),
        f"{p}/lib/pyprof-bpf/python/pyprof_bpf.py": (PY_CLIENT, 0o644),
        f"{p}/include/pyprof_bpf.h": (C_CLIENT, 0o644),
    }
    # The agent's systemd unit, its paths filled in (test_serve.py).
    unit = f"{p}/lib/systemd/system/pyprof-bpf.service"
    assert files_under(dest) == sorted([*want, unit])
    for rel, (src, mode) in want.items():
        path = dest / rel
        assert stat.S_IMODE(path.stat().st_mode) == mode, rel
        with open(src, "rb") as a, open(path, "rb") as b:
            assert a.read() == b.read(), f"{rel} differs from {src}"
    v = subprocess.run([dest / p / "bin" / "pyprof-bpf", "--version"],
                       capture_output=True, text=True, timeout=30)
    assert v.returncode == 0 and v.stdout.startswith("pyprof-bpf "), v
    r = make("uninstall", *args)
    assert r.returncode == 0, r.stdout + r.stderr
    assert files_under(dest) == [], "make uninstall left files"


def test_man_page_renders_without_warnings():
    if not shutil.which("man") or not shutil.which("groff"):
        pytest.skip("man-db or groff is not installed (make deps)")
    env = {k: v for k, v in os.environ.items() if k != "MAN_KEEP_FORMATTING"}
    r = subprocess.run(["man", "--warnings", "-l", MAN], capture_output=True,
                       text=True, env={**env, "MANWIDTH": "80",
                                       "LC_ALL": "C.UTF-8"}, timeout=60)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    page = re.sub(".\b", "", r.stdout)  # overstrike bold, if any
    assert "PYPROF-BPF(8)" in page and "EXIT STATUS" in page
    # Every warning groff has, not only man's default set.
    r = subprocess.run(["groff", "-ww", "-z", "-man", "-Tutf8", MAN],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stderr == "", r.stderr


def man_source_text():
    """The page's text with roff's escapes for '-' and fonts undone."""
    with open(MAN, encoding="utf-8") as f:
        text = f.read()
    text = re.sub(r"\\f[BIRP]", "", text).replace("\\-", "-")
    return text.replace("\\&", "")


@pytest.mark.parametrize("sub", [None, *SUBCOMMANDS])
def test_man_page_names_every_option(sub):
    """The page says at least what --help says: every option of the
    command and of each subcommand, under the subcommand's heading."""
    text = man_source_text()
    if sub:
        m = re.search(rf'^\.SS "pyprof-bpf {sub} .*?(?=^\.S[SH] )', text,
                      re.M | re.S)
        assert m, f"no .SS section for {sub}"
        text = m.group(0)
    missing = sorted(o for o in options_of(help_text(sub))
                     if not re.search(rf"(?<![\w-]){re.escape(o)}(?![\w-])",
                                      text))
    assert not missing, f"pyprof-bpf {sub or ''} --help names {missing}, " \
        "the manual page does not"


@pytest.mark.parametrize("sub", [None, "convert"])
def test_man_page_names_every_format(sub):
    """Its --format paragraph (the command's, convert's) names every format
    --help names."""
    text = man_source_text()
    if sub:
        text = re.search(rf'^\.SS "pyprof-bpf {sub} .*?(?=^\.S[SH] )', text,
                         re.M | re.S).group(0)
    para = re.search(r"^\.BI? --format .*?(?=^\.TP|^\.S[SH])", text,
                     re.M | re.S)
    assert para, "no --format paragraph"
    missing = [f for f in formats_of(sub)
               if not re.search(rf"^\.BR? {f}\b", para.group(0), re.M)]
    assert not missing, f"--format paragraph lacks {missing}"


def test_man_page_exit_status_and_sampling_line():
    text = man_source_text()
    status = re.search(r"^\.SH EXIT STATUS$(.*?)^\.SH ", text,
                       re.M | re.S).group(1)
    for code in range(8):
        assert f"\n.B {code}\n" in status, code
    assert "126" in status and "127" in status
    # The line it documents is the one the tests wait for.
    lines = re.findall(r"^pyprof-bpf: sampling .*$", text, re.M)
    assert len(lines) == 5 and all(SAMPLING_LINE.match(l) for l in lines)


def complete(*words, env=None):
    """What the completion offers for the command line `words` (the last
    one being completed), in a bash with the script sourced."""
    script = (f"source {COMPLETION}\n"
              'COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMPREPLY=()\n'
              "_pyprof_bpf\n"
              'printf "%s\\n" "${COMPREPLY[@]}"\n')
    r = subprocess.run(["bash", "--norc", "-c", script, "bash",
                        "pyprof-bpf", *words], capture_output=True, text=True,
                       timeout=30, env=env)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    return [l for l in r.stdout.splitlines() if l]


def test_completion_is_valid_bash():
    r = subprocess.run(["bash", "-n", COMPLETION], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    r = subprocess.run(["bash", "--norc", "-c",
                        f"source {COMPLETION}; complete -p pyprof-bpf"],
                       capture_output=True, text=True, timeout=30)
    assert "-F _pyprof_bpf pyprof-bpf" in r.stdout, r.stdout + r.stderr


def test_completion_subcommands_and_options():
    assert set(complete("")) == set(SUBCOMMANDS)
    assert complete("con") == ["convert"]
    for sub in (None, *SUBCOMMANDS):
        words = [sub] if sub else []
        offered = set(complete(*words, "-"))
        want = options_of(help_text(sub))
        assert want <= offered, \
            f"{sub or 'record'}: not offered: {sorted(want - offered)}"
    assert set(complete("--f")) == {"--frequency", "--folded", "--format",
                                    "--focus"}
    assert complete("diff", "--fo") == ["--focus"]
    assert complete("serve", "--no-s") == ["--no-socket"]


def test_completion_values():
    formats = formats_of()
    assert complete("--format", "") == formats
    assert complete("--format", "=") == formats
    assert complete("--format", "=", "") == formats
    assert complete("-F", "99", "--format", "sp") == ["speedscope"]
    assert complete("convert", "a.folded", "--format", "") == \
        formats_of("convert")
    assert complete("--mode", "") == ["cpu", "wall"]
    assert complete("serve", "--mode", "") == ["cpu", "wall"]
    assert complete("-d", "") == []
    # serve's -l is --listen (no list to offer); view's -p is a pid on the
    # agent's host, not this one's.
    assert complete("serve", "-l", "") == []
    assert complete("view", "-p", "") == []
    assert "root" in complete("serve", "--socket-group", "")


def test_completion_pids_of_python_processes(tmp_path):
    """-p offers the pids of Python processes (by their maps or argv[0]),
    also after a comma, and not the others'."""
    py = subprocess.Popen(["/usr/bin/python3", "-c",
                           "import sys, time; print('ready', flush=True); "
                           "time.sleep(60)"], stdout=subprocess.PIPE,
                          text=True)
    other = subprocess.Popen(["sleep", "60"])
    try:
        assert py.stdout.readline() == "ready\n"
        offered = complete("-p", "")
        assert str(py.pid) in offered
        assert str(other.pid) not in offered
        assert f"{other.pid},{py.pid}" in complete("-p", f"{other.pid},")
    finally:
        for p in (py, other):
            p.kill()
            p.wait()
        py.stdout.close()


def test_completion_files_and_command(tmp_path):
    (tmp_path / "app.folded").write_text("a;b 1\n")
    env = {**os.environ, "PWD": str(tmp_path)}
    r = subprocess.run(
        ["bash", "--norc", "-c",
         f"cd {tmp_path} && source {COMPLETION} && "
         'COMP_WORDS=(pyprof-bpf view ap); COMP_CWORD=2; _pyprof_bpf; '
         'echo "${COMPREPLY[@]}"; '
         'COMP_WORDS=(pyprof-bpf -o ap); COMP_CWORD=2; _pyprof_bpf; '
         'echo "${COMPREPLY[@]}"'],
        capture_output=True, text=True, timeout=30, env=env)
    assert r.stdout.splitlines() == ["app.folded", "app.folded"], r
    assert "python3" in complete("-F", "99", "--", "python")
    assert "python3" in complete("serve", "--", "python")
    r = subprocess.run(
        ["bash", "--norc", "-c",
         f"cd {tmp_path} && source {COMPLETION} && "
         'COMP_WORDS=(pyprof-bpf view --token-file ap); COMP_CWORD=3; '
         '_pyprof_bpf; echo "${COMPREPLY[@]}"'],
        capture_output=True, text=True, timeout=30, env=env)
    assert r.stdout.splitlines() == ["app.folded"], r


def test_make_demo_off_a_terminal(tmp_path):
    """`make demo` with its output in a pipe, as in CI: it profiles the
    bundled workload under -- python3, writes the flame graph, the report
    and the folded stacks, says where, and shows the hottest functions."""
    needs_root()
    r = make("demo", f"DEMO_DIR={tmp_path}", "DEMO_SECS=3")
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    assert SAMPLING_LINE.search(r.stderr), out
    svg, html, folded = (tmp_path / f"demo.{x}"
                         for x in ("svg", "html", "folded"))
    for f in (svg, html, folded):
        assert f.exists() and f"{f}" in r.stdout, (f, out)
    stacks = parse_folded(folded.read_text(encoding="utf-8"))
    threads = {f[1] for f, _ in stacks}
    assert {"worker-1", "worker-2"} <= threads, threads
    total = sum(c for _, c in stacks)
    leaves = {}
    for frames, count in stacks:
        leaf = frames[-1].split(" (")[0]
        leaves[leaf] = leaves.get(leaf, 0) + count
    hot = max(leaves, key=leaves.get)
    assert hot == "crunch" and leaves[hot] > 0.5 * total, leaves
    assert ET.parse(svg).getroot().tag.endswith("svg")
    assert "crunch" in svg.read_text(encoding="utf-8")
    assert "crunch" in html.read_text(encoding="utf-8")
    # The table of the hottest functions, crunch first.
    rows = [l for l in r.stdout.splitlines() if re.match(r"^ +\d+\.\d%", l)]
    assert rows and "crunch (" in rows[0], r.stdout
