# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
"""Render scripts/bench's results as BENCHMARKS.md and a PNG plot.

write(results, md_path, png_path, repo_root) renders it; the numbers come
from scripts/bench (or its build/bench/results.json, with --from-json).
splice(path, begin, end, section) puts the section of a script that measures
apart (scripts/bench-serve, scripts/bench-discovery) into BENCHMARKS.md
between its own markers.
"""
import os
import re
import statistics

GOALS = {99: 0.5, 999: 2.0}  # target slowdown, percent
BPF_GOAL_US = 3.0  # median BPF cost per sample at 32 frames (issue 3)
# Issue 17: at 32 frames, every version, median: quiet, and both CPUs busy.
BPF_GOALS = {"quiet": 1.5, "busy": 3.0}
NATIVE_GOAL_US = 15.0  # --native: pyprof-bpf CPU per sample, steady state


def loadavg():
    """The 1, 5 and 15-minute load averages."""
    with open("/proc/loadavg") as f:
        return [float(x) for x in f.read().split()[:3]]


def cpu_times():
    """The machine's CPU time so far, in seconds, from /proc/stat's "cpu"
    line: (busy, steal, total)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    hz = os.sysconf("SC_CLK_TCK")
    # user nice system idle iowait irq softirq steal guest guest_nice;
    # guest time is inside user already.
    idle = v[3] + v[4]
    steal = v[7] if len(v) > 7 else 0
    total = sum(v[:8])
    return ((total - idle - steal) / hz, steal / hz, total / hz)


def mmm(xs):
    xs = [x for x in xs if x is not None]
    if not xs:
        return None
    return (min(xs), statistics.median(xs), max(xs))


def fmt3(t, f="%.2f", unit=""):
    if t is None:
        return "n/a"
    return "%s / **%s** / %s%s" % (f % t[0], f % t[1], f % t[2], unit)


def pct(t):
    if t is None:
        return "n/a"
    return "%+.2f / **%+.2f** / %+.2f %%" % t


def med(xs):
    m = mmm(xs)
    return None if m is None else m[1]


def cond_runs(row, cond):
    """A bpfcost row's runs under a load condition; results from before
    the conditions existed have only "runs", taken quiet."""
    conds = row.get("conds")
    if conds is not None:
        return conds.get(cond, [])
    return row["runs"] if cond == "quiet" else []


def load_of(runs):
    """The load the runs had, as one phrase: the median CPUs used by work
    other than the benchmark's, the steal, the 1-minute load average."""
    ls = [x.get("load") for x in runs if x.get("load")]
    if not ls:
        return "not recorded"
    return "others %.2f CPUs, steal %.2f, load %.1f" % (
        statistics.median(x["others_cpus"] for x in ls),
        statistics.median(x["steal_cpus"] for x in ls),
        statistics.median(x["load1"] for x in ls))


# A run is at full speed when the target did at least this share of the
# work per CPU-second of the row's fastest quiet run (see speed_of).
FULL_SPEED = 0.9


def speed_of(row, runs):
    """Each run's speed: the target's work per second of its own CPU time,
    as a share of the row's fastest quiet run (None where not recorded).
    The target runs the same code every run, and the sampler takes 0.2 %
    of it at most, so a run where this falls is one where the CPU itself
    ran slower: on a VM, most likely the host giving its core's time,
    SMT sibling or caches to other guests, which the guest sees neither
    as steal nor as load."""
    ref = [x["speed"] for x in cond_runs(row, "quiet") if x.get("speed")]
    if not ref:
        return [None for _ in runs]
    top = max(ref)
    return [x["speed"] / top if x.get("speed") else None for x in runs]


def full_speed(row, cond):
    """The runs of a condition whose CPU ran at full speed."""
    rs = cond_runs(row, cond)
    return [x for x, v in zip(rs, speed_of(row, rs))
            if v is not None and v >= FULL_SPEED]


def slow_runs_note(res):
    """How many quiet runs ran below full speed, and what they cost per
    sample against their row's full-speed median."""
    n = slow = 0
    ratios = []
    for r in res["bpfcost"]:
        rs = cond_runs(r, "quiet")
        fast = med([x.get("per_sample_us") for x in full_speed(r, "quiet")])
        for x, v in zip(rs, speed_of(r, rs)):
            if v is None:
                continue
            n += 1
            if v < FULL_SPEED:
                slow += 1
                if fast and x.get("per_sample_us"):
                    ratios.append(x["per_sample_us"] / fast)
    if not n:
        return ""
    out = " In this run %d of %d quiet runs were below full speed" % (
        slow, n)
    if ratios:
        out += (", and cost %.1f / **%.1f** / %.1f times their row's "
                "full-speed median per sample" % mmm(ratios))
    return out + "."


def others_cpus(runs):
    ls = [x["load"]["others_cpus"] for x in runs if x.get("load")]
    return statistics.median(ls) if ls else None


def slow_pcts(row, key="wall"):
    """Rounds went A B A B ... A: each B against the mean of the A before
    and the A after it, which cancels a steady drift of the machine."""
    a, b = row["a"], row["b"]
    out = []
    for i, x in enumerate(b):
        ref = (a[i][key] + a[i + 1][key]) / 2
        if ref:
            out.append(100 * (x[key] / ref - 1))
    return out


def prof_cpu_pct(row, key="prof_cpu"):
    return [100 * b[key] / b["wall"] for b in row["b"]
            if b.get(key) is not None and b.get("wall")]


def mib(kib):
    return None if kib is None else kib / 1024


SHAPE_DEPTH = {"flat": 8, "calls": 8, "deep128": 128}  # section 2's row


def iqr(xs):
    xs = sorted(x for x in xs if x is not None)
    if len(xs) < 4:
        return None
    q = statistics.quantiles(xs, n=4)
    return (q[0], q[2])


def noise_iqr(res, key):
    """The middle half of the noise row's ratios: what this run can tell
    apart from nothing."""
    xs = [x for r in res["slowdown"] if not r["freq"]
          for x in slow_pcts(r, key)]
    return iqr(xs)


def bpf_share(res, row):
    """The sampler's run time as a share of the target's CPU time, from
    section 2: frequency x BPF cost per sample, for the same Python and a
    stack at least as deep (noise-free, but without the interrupt)."""
    depth = SHAPE_DEPTH.get(row["shape"])
    for r in res["bpfcost"]:
        if r["python"] == row["python"] and r["depth"] == depth:
            c = med([x.get("per_sample_us") for x in r["runs"]])
            if c is not None:
                return row["freq"] * c / 1e4  # percent
    return None


def judge(res, rows, key, goal):
    """met / MISSED / not resolved, for the worst median of rows."""
    worst = max((med(slow_pcts(r, key)), r["shape"]) for r in rows)
    n = noise_iqr(res, key)
    if n is not None and n[1] - n[0] > goal:
        return ("not resolved (worst median %+.2f %%, %s; the noise row's "
                "middle half spans %+.2f .. %+.2f %%, wider than the goal)"
                % (worst[0], worst[1], n[0], n[1]))
    return "%s (worst median %+.2f %%, %s)" % (
        "met" if worst[0] <= goal else "**MISSED**", *worst)


def verdict_slowdown(res, freq):
    goal = GOALS[freq]
    rows = [r for r in res["slowdown"] if r["freq"] == freq and r["b"]]
    if not rows:
        return "not measured"
    parts = ["%s: %s" % (name, judge(res, rows, key, goal))
             for key, name in (("cpu", "CPU time"), ("wall", "wall time"))]
    shares = [(bpf_share(res, r), r["shape"]) for r in rows]
    shares = [x for x in shares if x[0] is not None]
    if shares:
        worst = max(shares)
        parts.append("BPF run time alone (section 2, no noise): %.2f %% of "
                     "the target's CPU at most (%s)%s" % (
                         worst[0], worst[1],
                         ": already over the goal" if worst[0] > goal
                         else ", plus the timer interrupt it rides on"))
    return "<br>".join(parts)


def write(res, md_path, png_path, root):
    png_rel = os.path.relpath(png_path, os.path.dirname(md_path))
    plot_ok = plot(res, png_path)
    lines = render(res, png_rel if plot_ok else None, plot_ok)
    kept = spliced_blocks(md_path)
    with open(md_path, "w") as f:
        f.write("\n".join(lines) + "\n")
        for block in kept:
            f.write("\n" + block)


SPLICED = re.compile(r"^<!-- ([\w-]+): begin .*?-->\n.*?^<!-- \1: end -->\n",
                     re.M | re.S)


def spliced_blocks(path):
    """The sections that other scripts put into the file at path between
    their markers (bench-serve, bench-discovery: see splice), so that a new
    full run keeps them instead of dropping them."""
    try:
        with open(path) as f:
            return [m.group(0) for m in SPLICED.finditer(f.read())]
    except FileNotFoundError:
        return []


def splice(path, begin, end, section):
    """Put section (markdown, ending in a newline) into the file at path
    between the lines begin and end (HTML comments), replacing what was
    there; without both markers, append them to the file (after a blank
    line if it ends in one newline), or create it."""
    text = f"{begin}\n{section}{end}\n"
    try:
        with open(path) as f:
            old = f.read()
    except FileNotFoundError:
        old = ""
    if begin in old and end in old:
        new = old[:old.index(begin)] + text + old[old.index(end) + len(end) + 1:]
    else:
        new = old + ("\n" if old and not old.endswith("\n\n") else "") + text
    with open(path, "w") as f:
        f.write(new)


# --------------------------------------------------------------- markdown
def render(res, png_rel, plot_ok):
    m = res["machine"]
    c = res["cfg"]
    L = []
    w = L.append
    quick = res["mode"] == "quick"
    w("# Benchmarks")
    w("")
    w("What pyprof-bpf costs the profiled program, and what it costs itself, "
      "measured by `scripts/bench` (`sudo make bench`). Generated %s by "
      "`%s` (%s mode, %.0f s) from `%s` (git %s). "
      "Raw numbers: `build/bench/results.json` (re-render with "
      "`scripts/bench --from-json FILE`)." % (
          m["date"], " ".join(["scripts/bench"] + res.get("argv", [])),
          res["mode"],
          res.get("elapsed_s", 0), m["pyprof"], m["git"]))
    w("")
    w("Every figure is **min / median / max** over the runs named beside "
      "it. The machine is a shared 2-CPU VM where other builds and tests ran "
      "at the same time, so absolute times mean little: slowdowns are ratios "
      "of adjacent runs (without, with, without, with, ...), and the spread "
      "is printed so that noise is visible rather than hidden.")
    if quick:
        w("")
        w("> This is a **--quick** run: one shape, few and short runs. Use it "
          "to catch a regression, not to quote.")
    w("")

    # ---- summary of goals
    w("## Goals")
    w("")
    w("| goal | result |")
    w("|---|---|")
    for freq, goal in sorted(GOALS.items()):
        w("| target slowdown ≤ %.1f %% at %d Hz (median of B/A over "
          "rounds; section 1) | %s |" % (goal, freq,
                                         verdict_slowdown(res, freq)))
    for cond, goal in BPF_GOALS.items():
        cost32 = [(r["python"], med([x.get("per_sample_us")
                                     for x in cond_runs(r, cond)]),
                   cond_runs(r, cond))
                  for r in res["bpfcost"] if r["depth"] == 32]
        cost32 = [c for c in cost32 if c[1] is not None]
        what = ("on a quiet machine" if cond == "quiet" else
                "with both CPUs busy with other work")
        if not cost32:
            w("| BPF cost ≤ %.1f µs per sample (median) at 32 frames, every "
              "version, %s | not measured |" % (goal, what))
            continue
        worst = max(cost32, key=lambda x: x[1])
        over = [p for p, v, _ in cost32 if v > goal]
        oth = others_cpus([x for _, _, rs in cost32 for x in rs])
        note = ""
        if cond == "quiet" and oth is not None and oth > 0.25:
            note = ("; not a quiet machine: other work used %.2f CPUs "
                    "(median), rerun when it is quiet" % oth)
        full = ""
        if cond == "quiet":
            fs = [(r["python"], med([x.get("per_sample_us")
                                     for x in full_speed(r, cond)]))
                  for r in res["bpfcost"] if r["depth"] == 32]
            fs = [f for f in fs if f[1] is not None]
            if fs:
                fw = max(fs, key=lambda x: x[1])
                fo = [p for p, v in fs if v > goal]
                full = ("<br>runs at full CPU speed only (section 2): %s: "
                        "worst median %.2f µs (Python %s)%s, over %d "
                        "interpreters" % (
                            "met" if not fo else "**MISSED**", fw[1], fw[0],
                            "; over the goal: " + ", ".join(fo) if fo
                            else "", len(fs)))
        w("| BPF cost ≤ %.1f µs per sample (median) at 32 frames, every "
          "version, %s | %s%s: worst median %.2f µs (Python %s)%s, over %d "
          "interpreter%s%s%s |" % (
              goal, what, "all runs: " if full else "",
              "met" if not over else "**MISSED**", worst[1],
              worst[0], "; over the goal: " + ", ".join(over) if over
              else "", len(cost32), "s" if len(cost32) > 1 else "", note,
              full))
    for r in res.get("steady", []):
        st = med([x.get("steady_us") for x in r["runs"]])
        if st is None:
            continue
        w("| `--native`: pyprof-bpf's CPU ≤ %.0f µs per sample, steady "
          "state | %s: median %.1f µs (%s at %d Hz, section 2) |" % (
              NATIVE_GOAL_US, "met" if st <= NATIVE_GOAL_US else
              "**MISSED**", st, r["python"], r["freq"]))
    w("")

    # ---- machine
    w("## Machine and settings")
    w("")
    w("- CPU: %s, %d CPUs (%d online)%s; %d MiB RAM" % (
        m["model"], m["nproc"], m["online"],
        ", " + m["virt"] if m["virt"] else "", m["mem_mib"]))
    w("- Kernel: Linux %s; load average %s before, %s after" % (
        m["kernel"], " ".join(m["load"]), " ".join(m.get("load_after", []))))
    w("- Pythons: " + "; ".join("%s = %s" % kv for kv in m["pythons"].items())
      + ("; missing here: " + ", ".join(m["missing"]) if m["missing"] else ""))
    w("- Peers: " + ("; ".join("%s" % v for v in m["peers"].values())
                     or "none installed"))
    others = sorted(set(m.get("others", []) + m.get("others_after", [])))
    w("- Other profilers running on the machine during the run, sampling "
      "the A and B rounds alike: " + ("; ".join("`%s`" % o for o in others)
                                      if others else "none seen at start "
                                      "or end"))
    w("- Slowdown: %d B rounds between %d A rounds per row, ~%.1f s of work "
      "per round, at %s Hz; "
      "shapes: %s" % (c["runs"], c["runs"] + 1, c["work_s"],
                      ", ".join(str(f) for f in c["freqs"]),
                      ", ".join(c["shapes"])))
    w("- BPF cost: %d run%s of %.0f s per row at %d Hz; own CPU: %d run%s "
      "of %.0f s at %s Hz; attribution: %d run%s of ~%.0f s at %s Hz; "
      "peers: %d B rounds per row at %s Hz" % (
          c["cost_runs"], "s" if c["cost_runs"] > 1 else "", c["cost_s"],
          c["cost_hz"], c["own_runs"], "s" if c["own_runs"] > 1 else "",
          c["own_s"], ", ".join(str(f) for f in c["own_freqs"]),
          c["split_runs"], "s" if c["split_runs"] > 1 else "", c["split_s"],
          ", ".join(str(f) for f in c["split_freqs"]), c["peer_runs"],
          ", ".join(str(f) for f in c["peer_freqs"])))
    w("- A workload process waits (idle) on stdin between rounds, so a "
      "profiler can be attached or stopped between them; it times each "
      "round itself (`scripts/bench-workloads/_harness.py`). Each row "
      "reproduces alone with `sudo scripts/bench --row ID` (add `--quick` "
      "for the quick settings); the commands it runs are listed under "
      "each table.")
    w("")
    if png_rel:
        w("![pyprof-bpf benchmarks](%s)" % png_rel)
        w("")
    elif not plot_ok:
        w("(No plot: python3-matplotlib is not installed; `make deps` "
          "installs it.)")
        w("")

    # ---- 1. slowdown
    w("## 1. Target slowdown")
    w("")
    w("One interpreter runs a single-threaded CPU-bound workload and does "
      "the same round of work again and again: A rounds alone, B rounds "
      "with `pyprof-bpf -p PID -F HZ` attached just before the round and "
      "stopped (SIGINT) after it, in the order warm-up, A, B, A, B, ..., A. "
      "Each B is compared with the mean of the A before and the A after it, "
      "which cancels a steady drift of the machine: slowdown = "
      "B / mean(A, A′) − 1. A and B share one process, so they share its "
      "memory layout and hash seed (fixed, `PYTHONHASHSEED=0`). The "
      "`noise:` row does the same with no profiler in the B rounds either: "
      "what the machine's noise alone produces by this method.")
    w("")
    w("*Wall* is the round's elapsed time, what a user waits. *CPU* is the "
      "round's CPU time. %s Goals are judged on both, on the median, and only "
      "where the noise row's middle half (its interquartile range) is "
      "narrower than the goal; otherwise the goal is *not resolved* by the "
      "run, whatever the median says. *BPF share* is the noise-free part: "
      "frequency × the sampler's cost per sample from section 2 (same "
      "Python; 8 frames for the flat and small-function shapes, which are "
      "shallower, 128 for the deep one), as a share of the target's CPU "
      "time; the timer interrupt it runs in costs more on top. "
      "*Profiler CPU* is "
      "pyprof-bpf's CPU time during the round, as a share of one CPU (run "
      "time of its threads from `/proc/PID/task/*/schedstat`: the "
      "nanosecond sum that `/proc/PID/stat` rounds to 10 ms ticks as "
      "utime+stime)." % irq_note(m))
    w("")
    w("| row | shape | Hz | B rounds | wall slowdown | CPU-time slowdown | "
      "BPF share | profiler CPU | goal |")
    w("|---|---|---:|---:|---|---|---|---|---|")
    for r in res["slowdown"]:
        goal = GOALS.get(r["freq"])
        g = "–"
        if goal is not None and r["b"]:
            g = "≤ %.1f %%: CPU %s; wall %s" % (goal, *(
                judge(res, [r], k, goal).split(" (")[0]
                for k in ("cpu", "wall")))
        elif not r["freq"]:
            g = "the noise: no profiler in either"
        share = bpf_share(res, r) if r["freq"] else None
        w("| `%s` | %s | %s | %d | %s | %s | %s | %s | %s |" % (
            r["row"], r["desc"], r["freq"] or "none", len(r["b"]),
            pct(mmm(slow_pcts(r))), pct(mmm(slow_pcts(r, "cpu"))),
            "–" if share is None else "%.2f %%" % share,
            fmt3(mmm(prof_cpu_pct(r)), "%.2f", " %") if r["freq"] else "–",
            g))
    w("")
    reproduce(w, res, res["slowdown"], "pyprof")
    w("")

    # ---- 2. BPF cost
    w("## 2. BPF cost per sample")
    w("")
    w("From the kernel's own statistics (`sysctl kernel.bpf_stats_enabled=1`, "
      "`run_time_ns / run_cnt` of the program `sample`, as printed by "
      "`pyprof-bpf -v`), while `deep.py` holds exactly the stated number of "
      "Python frames (checked: *seen* is the depth of the most common "
      "stack in the profile). The sampler runs on every CPU for every "
      "process and returns after one map lookup for non-targets, so its "
      "run time mixes both. *Per target sample*: the sampler's run time "
      "and runs over the round (from its `/proc/PID/fdinfo`), less what "
      "its other runs cost, divided by the target's samples: (round's run "
      "time − (round's runs − samples) × other) / samples, where *other* "
      "is the mean cost of a run measured for 1 s just before the round "
      "while the target waited (same profiler, same machine, same other "
      "tasks). An earlier estimate charged the other runs the empty "
      "program's cost, the *floor*; on a loaded machine, where the target "
      "gets few samples and the other runs cost more than an empty "
      "program (a hash lookup that misses the cache), that overstated "
      "the per-sample cost by tens of µs (it stays in `results.json`: "
      "`per_sample_floor_us`). The target runs at nice -20 so that, "
      "however loaded the machine, a round has enough of its samples to "
      "tell their cost from the others' (it still shares its CPU, caches "
      "and TLB with the other tasks); a run with fewer than 200 target "
      "samples gives no figure. The *floor* is an empty perf_event program "
      "(`build/bench/bench-floor`) on the same cpu-clock events at the "
      "same rate, in the same run. "
      "Stats are read per run, so the median is over runs' means, not over "
      "single samples. What the timer interrupt itself costs (entering and "
      "leaving it, in a VM a trip through the hypervisor) is in neither "
      "figure; it shows in section 1.")
    w("")
    w("Each row is measured in two conditions, side by side: *quiet* (no "
      "other work of the benchmark's own; what the rest of the machine did "
      "meanwhile is stated: *others* is the CPUs used by work that is "
      "neither the target, the burners nor the profilers, from "
      "`/proc/stat` minus their run time) and *busy* (every CPU also busy "
      "with other work: one process per CPU copying 1 MiB blocks between "
      "two 32 MiB buffers, which keeps the CPU busy and sweeps its caches "
      "and TLB). The runs are interleaved: each round runs both "
      "conditions (in alternating order) and, within each, every row once "
      "(in rotating order), so that a change of the machine's load "
      "during the section falls on every row and condition alike; the "
      "median is over the rounds.")
    w("")
    w("*CPU speed* is the state of the machine under the VM, which load "
      "and steal do not show: the target's work per second of its own CPU "
      "time in the run, as a share of the row's fastest quiet run. The "
      "target runs the same code every run and the sampler takes 0.2 %% "
      "of it at most, so a run at 0.5 is one where the CPU itself ran at "
      "half speed, for the target's Python as for the sampler: most "
      "likely the host giving the core's time, or its SMT sibling and "
      "caches, to other guests. *Quiet at full speed* is the "
      "median over the quiet runs whose CPU speed was at least %.1f, with "
      "how many of the row's runs that was; the goal's verdict is given "
      "for it and for all runs.%s" % (FULL_SPEED, slow_runs_note(res)))
    w("")
    conds = [c for c in ("quiet", "busy")
             if any(cond_runs(r, c) for r in res["bpfcost"])]
    head = "| row | Python | frames (seen) |"
    rule = "|---|---|---|"
    for c in conds:
        head += " %s: per target sample (µs) | %s: load |" % (c, c)
        rule += "---|---|"
        if c == "quiet":
            head += (" quiet at full speed (µs) | quiet: CPU speed |")
            rule += "---|---|"
    w(head + " runs | target samples a run | other run (µs) | floor "
      "(µs) |")
    w(rule + "---:|---|---|---|")
    for r in res["bpfcost"]:
        allruns = [x for c in conds for x in cond_runs(r, c)]
        seen = sorted({x.get("target_depth") for x in allruns}, key=str)
        line = "| `%s` | %s | %d (%s) |" % (
            r["row"], r["python"], r["depth"],
            ", ".join(str(s) for s in seen))
        for c in conds:
            rs = cond_runs(r, c)
            line += " %s | %s |" % (
                fmt3(mmm([x.get("per_sample_us") for x in rs])),
                load_of(rs))
            if c == "quiet":
                fr = full_speed(r, c)
                line += " %s (%d of %d) | %s |" % (
                    fmt3(mmm([x.get("per_sample_us") for x in fr])),
                    len(fr), len(rs), fmt3(mmm(speed_of(r, rs))))
        w(line + " %s | %s | %s | %s |" % (
            " + ".join(str(len(cond_runs(r, c))) for c in conds),
            fmt3(mmm([x.get("target_runs") for x in allruns]), "%.0f"),
            fmt3(mmm([x.get("other_run_us") for x in allruns])),
            fmt3(mmm([x.get("floor_us") for x in allruns]))))
    if res["bpfcost"]:
        r0 = res["bpfcost"][0]
        w("")
        w("*Mean over all runs*, and the target samples among all runs, "
          "are in `results.json`. Each row, with `kernel.bpf_stats_enabled=1` "
          "(restored after), for each run:")
        w("")
        w("```")
        w("PY scripts/bench-workloads/deep.py --depth D --seconds S --wait "
          "# one round per 'go'")
        w("build/bench/bench-floor -F %d          # the floor, SIGTERM "
          "after the round" % r0["freq"])
        w("./pyprof-bpf -p PID -F %d -v -o OUT     # SIGINT after the "
          "round" % r0["freq"])
        w("```")
        w("")
        w("with PY, D, S: " + "; ".join(
            "`%s`: `%s %s`" % (r["row"], res["machine"]["pythons"].get(
                r["python"], r["python"]).split()[-1], " ".join(r["wargs"]))
            for r in res["bpfcost"]) + ". Busy: `scripts/bench --load "
          "busy` starts the burners (`BURNER` in `scripts/bench`).")
    w("")

    # ---- 2a. the floor of a read
    fl = res.get("floor")
    if fl:
        w("### The floor: one `bpf_probe_read_user`")
        w("")
        w("What the walk's memory reads cost at the least: a perf_event "
          "program (`read_prog` in `scripts/bench-floor.bpf.c`) on the "
          "samples of a process holding a 64 MiB buffer, every page "
          "touched, reads it with `bpf_probe_read_user`: 32 reads of 8 "
          "bytes, 32 of 64 and 32 of 512, each block timed with "
          "`bpf_ktime_get_ns` (the clock's own cost taken off), each read "
          "at its own cache line(s), as a walk of 32 frames touches its "
          "frames. *Warm*: the same addresses each sample (the "
          "interpreter's own frames are as warm); *cold*: a new region "
          "each sample. *First read*: the sample's first read, timed alone "
          "before the others: it also pays for the helper's code and the "
          "page tables left cold by whatever ran before the interrupt. "
          "ns per read, min / median / max over the rounds of the section "
          "above, %d Hz, %.0f s each." % (fl["freq"], fl["secs"]))
        w("")
        w("| condition | reads | 8 bytes (ns) | 64 bytes (ns) | 512 bytes "
          "(ns) | first read (ns) | load |")
        w("|---|---|---|---|---|---|---|")
        for c in ("quiet", "busy"):
            rounds = fl["conds"].get(c) or []
            for kind in ("warm", "cold"):
                xs = [x[kind] for x in rounds if kind in x]
                if not xs:
                    continue
                w("| %s | %s | %s | %s | %s | %s | %s |" % (
                    c, kind, fmt3(mmm([x["ns8"] for x in xs]), "%.0f"),
                    fmt3(mmm([x["ns64"] for x in xs]), "%.0f"),
                    fmt3(mmm([x["ns512"] for x in xs]), "%.0f"),
                    fmt3(mmm([x["first_ns"] for x in xs]), "%.0f"),
                    load_of(xs)))
        q = [x["warm"] for x in fl["conds"].get("quiet") or [] if "warm" in x]
        c32 = [med([y.get("per_sample_us") for y in cond_runs(r, "quiet")])
               for r in res["bpfcost"] if r["depth"] == 32]
        c32 = [x for x in c32 if x is not None]
        if q and c32:
            ns8 = med([x["ns8"] for x in q])
            first = med([x["first_ns"] for x in q])
            if ns8 and ns8 > 0:
                w("")
                w("At these figures a sample's budget buys few reads: the "
                  "quiet goal of %.1f µs at 32 frames is the first read "
                  "(%.0f ns) and %.0f more 8-byte reads, %.1f a frame; the "
                  "walk at 32 frames costs %.2f–%.2f µs (quiet medians "
                  "above), the time of %.0f–%.0f reads." % (
                      BPF_GOALS["quiet"], first,
                      max(0, (BPF_GOALS["quiet"] * 1000 - first) / ns8),
                      max(0, (BPF_GOALS["quiet"] * 1000 - first) / ns8 / 32),
                      min(c32), max(c32), min(c32) * 1000 / ns8,
                      max(c32) * 1000 / ns8))
        w("")
        w("```")
        w("python3 -c READ_BUFFER      # scripts/bench: prints ADDR LEN, "
          "then spins")
        w("build/bench/bench-floor -F %d -d %.0f -p PID -a ADDR -l LEN "
          "[-r]   # -r: cold" % (fl["freq"], fl["secs"]))
        w("```")
        w("")

    # ---- 2b. the modes
    if res.get("modes"):
        r0 = res["modes"][0]
        w("### What each mode costs")
        w("")
        w("The same measure for each mode, on %s at %d Hz, 32 frames: the "
          "BPF sampler's cost per target sample (as above, the floor "
          "charged to other runs), and pyprof-bpf's own CPU per sample "
          "kept (userspace: draining, and with `--native` unwinding and "
          "symbolising every sample). Wall mode adds a `sched_switch` "
          "program whose cost is per context switch, not per sample: "
          "`scripts/bench-wall` measures it. Measured %s at git %s." % (
              r0["python"], r0["freq"], r0.get("date", "?"),
              r0.get("git", "?")))
        w("")
        w("| row | options | runs | BPF per target sample (µs) | "
          "pyprof-bpf CPU per sample kept (µs) | samples kept | BPF maps "
          "(MiB) | load |")
        w("|---|---|---:|---|---|---|---|---|")
        for r in res["modes"]:
            runs = r["runs"]
            per = [x["prof_cpu"] * 1e6 / x["kept"]
                   if x.get("prof_cpu") is not None and x.get("kept")
                   else None for x in runs]
            w("| `%s` | `%s` | %d | %s | %s | %s | %s | %s |" % (
                r["row"], " ".join(r["extra"]) or "(none)", len(runs),
                fmt3(mmm([x.get("per_sample_us") for x in runs])),
                fmt3(mmm(per)),
                ", ".join(str(x.get("kept")) for x in runs),
                fmt3(mmm([None if x.get("map_bytes") is None else
                          x["map_bytes"] / 2**20 for x in runs]), "%.1f"),
                load_of(runs)))
        w("")
        w("The pyprof-bpf CPU of a %.0f-second run includes, with "
          "`--native`, naming every address it meets for the first time; "
          "the steady state is below." % res["cfg"]["cost_s"])
        w("")
    for r in res.get("steady", []):
        w("### `--native`: steady state and the one-off naming cost")
        w("")
        w("pyprof-bpf's CPU per sample with `--native` (run time from "
          "`/proc/PID/task/*/schedstat`, per %.0f s window, divided by the "
          "samples of the window: frequency × the target's CPU time), on "
          "%s at %d Hz, `deep.py` at 32 frames, %.0f s a run. The first "
          "windows name each new address once (ELF symbols and DWARF "
          "inline ranges, indexed once per file: `src/native/symidx.c`); "
          "windows that start %.0f s or more into the run are the *steady "
          "state*. *One-off naming* is the summary's symbolising time: "
          "addresses × µs an address; spread over a run's samples it "
          "costs what the last two columns say." % (
              r["win"], r["python"], r["freq"], r["secs"],
              r.get("warm_s", 10)))
        w("")
        w("| row | runs | steady state (µs per sample) | first window (µs "
          "per sample) | unwinding (µs per sample) | one-off naming (ms: "
          "addresses × µs) | one-off over 10 s / 60 s (µs per sample) | "
          "load |")
        w("|---|---:|---|---|---|---|---|---|")
        runs = r["runs"]
        oneoff = [x["addresses"] * x["sym_us"] / 1000 for x in runs
                  if x.get("addresses") is not None]
        rate = [sum(w_["samples"] for w_ in x["windows"]) /
                max(1e-9, x["windows"][-1]["end_s"]) for x in runs
                if x.get("windows")]
        am = med(oneoff)
        rt = med(rate)
        amort = ("%.1f / %.1f" % (am * 1000 / (rt * 10),
                                  am * 1000 / (rt * 60))
                 if am is not None and rt else "n/a")
        w("| `%s` | %d | %s | %s | %s | %s | %s | %s |" % (
            r["row"], len(runs),
            fmt3(mmm([x.get("steady_us") for x in runs]), "%.1f"),
            fmt3(mmm([x.get("first_us") for x in runs]), "%.1f"),
            fmt3(mmm([x.get("unwind_us") for x in runs]), "%.1f"),
            "%s (%s addresses)" % (
                fmt3(mmm(oneoff), "%.0f"),
                "/".join(str(x.get("addresses")) for x in runs)),
            amort, load_of(runs)))
        w("")
        w("The target made about %.0f samples a second in these runs (a "
          "whole CPU would give %d), so the one-off cost per sample is the "
          "naming time over 10 or 60 seconds of that. Reproduce: `sudo "
          "scripts/bench --row native:steady`." % (rt or 0, r["freq"]))
        w("")

    # ---- 3. own CPU and memory
    w("## 3. pyprof-bpf's own CPU and memory")
    w("")
    w("pyprof-bpf's CPU per second of profiling (run time from "
      "`/proc/PID/task/*/schedstat` over the steady window, after attaching "
      "and before the final write), as a share of one CPU; its peak RSS "
      "(`VmHWM` at the end of the window); and the kernel memory of its BPF "
      "maps (the `memlock` of each map it holds, from `/proc/PID/fdinfo`), "
      "which RSS does not include. One target busy 100 %, or 20 targets "
      "each busy 5 % of every 100 ms (cycling through every interpreter "
      "present). They make different numbers of samples, so *CPU per 1000 "
      "samples* divides the CPU by the samples expected in the window "
      "(frequency × the targets' CPU time): the cost of a sample, and of "
      "the processes it comes from.")
    w("")
    w("| row | targets | Hz | runs | CPU (% of one CPU) | CPU per 1000 "
      "samples (ms) | peak RSS (MiB) | BPF maps (MiB) | target CPU (CPUs) |")
    w("|---|---:|---:|---:|---|---|---|---|---|")
    for r in res["own"]:
        runs = r["runs"]
        if runs and runs[0].get("unsupported"):
            w("| `%s` | %d | %d | 0 | not measured: multi-pid -p not "
              "supported by this build (`%s`) | | | | |" % (
                  r["row"], r["ntargets"], r["freq"],
                  runs[0]["stderr"].replace("|", "\\|")))
            continue
        w("| `%s` | %d | %d | %d | %s | %s | %s | %s | %s |" % (
            r["row"], r["ntargets"], r["freq"], len(runs),
            fmt3(mmm([100 * x["cpu_per_s"] for x in runs]), "%.2f", " %"),
            fmt3(mmm([x.get("cpu_per_ksample") for x in runs]), "%.2f"),
            fmt3(mmm([mib(x["hwm_kib"]) for x in runs]), "%.1f"),
            fmt3(mmm([None if x.get("map_bytes") is None else
                      x["map_bytes"] / 2**20 for x in runs]), "%.1f"),
            fmt3(mmm([x["target_cpu_per_s"] for x in runs]), "%.2f")))
    if res["own"]:
        s = res["cfg"]["own_s"]
        w("")
        w("Each row: start the targets "
          "(`PY scripts/bench-workloads/flat.py --seconds %s --wait` for "
          "one, with `--duty 0.05` for twenty), then "
          "`./pyprof-bpf -p PID[,PID...] -F HZ -o OUT`, send each target "
          "`go`, measure %.0f s, then SIGINT." % (s + 30, s))
    w("")

    # ---- 4. fidelity and attribution
    w("## 4. Sample fidelity and attribution")
    w("")
    w("*Fidelity* = samples in the profile / (frequency × the target's "
      "CPU time while profiled: its run time from "
      "`/proc/PID/task/*/schedstat`, i.e. utime+stime, read after the "
      "profiler attached and again after the round); 1.00 is every timer "
      "tick on the target accounted for. From the B rounds of section 1 "
      "and the runs of section 2.")
    w("")
    w("| runs of | Hz | runs | fidelity |")
    w("|---|---:|---:|---|")
    for r in res["slowdown"]:
        if not r["freq"]:
            continue
        w("| `%s` | %d | %d | %s |" % (
            r["row"], r["freq"], len(r["b"]),
            fmt3(mmm([b.get("fidelity") for b in r["b"]]), "%.3f")))
    for r in res["bpfcost"]:
        w("| `%s` | %d | %d | %s |" % (
            r["row"], r["freq"], len(r["runs"]),
            fmt3(mmm([x.get("fidelity") for x in r["runs"]]), "%.3f")))
    w("")
    w("*Attribution*: `split.py` calls `hot()` and `cold()`, the same loop "
      "with 3× and 1× the iterations (about 75 % / 25 %). The truth is what "
      "the workload measured itself (thread CPU time around each call), not "
      "the nominal 75 %; the error is the profile's hot share minus it, in "
      "percentage points. *Noise* is the binomial standard deviation of a "
      "share from that many samples: errors within about twice it are "
      "sampling noise.")
    w("")
    w("| row | Hz | runs | true hot share | profile's hot share | error "
      "(points) | noise (points) |")
    w("|---|---:|---:|---|---|---|---|")
    for r in res["split"]:
        runs = r["runs"]
        w("| `%s` | %d | %d | %s | %s | %s | %s |" % (
            r["row"], r["freq"], len(runs),
            fmt3(mmm([100 * x["truth"] for x in runs]), "%.2f", " %"),
            fmt3(mmm([100 * x["seen"] if x["seen"] is not None else None
                      for x in runs]), "%.2f", " %"),
            fmt3(mmm([x["error_pts"] for x in runs]), "%+.2f"),
            fmt3(mmm([x["sd_pts"] for x in runs]), "%.2f")))
    if res["split"]:
        w("")
        w("Each row: `%s scripts/bench-workloads/split.py %s --wait`, with "
          "`./pyprof-bpf -p PID -F HZ -o OUT` attached around each round." % (
              res["machine"]["pythons"].get("3.11-debian",
                                            "python3").split()[-1],
              " ".join(res["split"][0]["wargs"])))
    w("")

    # ---- 5. peers
    w("## 5. Peers, same workload, same rate")
    w("")
    w("`deep.py` at 32 frames on Python 3.10 (austin supports ≤ 3.10), "
      "A and B rounds as in section 1, with each profiler attached in turn: "
      "`pyprof-bpf -p PID -F HZ`; `austin -i 1e6/HZ µs -p PID` (samples "
      "wall-clock time from another process with `process_vm_readv`); "
      "`perf record -e cpu-clock -c 1e9/HZ -g -p PID` (frame-pointer "
      "unwinding in the kernel: it sees only native frames, "
      "`_PyEval_EvalFrameDefault`, not Python functions). *Profiler CPU, "
      "round* is the profiler process's CPU time during the round (as in "
      "section 1); *whole life* is all of it, from start to exit "
      "(attaching, and the final write: perf record, for one, does most of "
      "its work only when stopped), both as a share of the round's wall "
      "time. Peak RSS is GNU time's `%M`. The in-kernel work of pyprof-bpf "
      "and perf (the BPF program, the callchain copy) is charged to the "
      "target instead, and shows in its slowdown.")
    w("")
    w("| row | profiler | Hz | B rounds | wall slowdown | CPU-time slowdown | "
      "profiler CPU, round | profiler CPU, whole life | "
      "profiler peak RSS (MiB) |")
    w("|---|---|---:|---:|---|---|---|---|---|")
    for r in res["peers"]:
        w("| `%s` | %s | %d | %d | %s | %s | %s | %s | %s |" % (
            r["row"], r["kind"], r["freq"], len(r["b"]),
            pct(mmm(slow_pcts(r))), pct(mmm(slow_pcts(r, "cpu"))),
            fmt3(mmm(prof_cpu_pct(r)), "%.2f", " %"),
            fmt3(mmm(prof_cpu_pct(r, "prof_total_cpu")), "%.2f", " %"),
            fmt3(mmm([mib(b.get("prof_maxrss_kib")) for b in r["b"]]),
                 "%.1f")))
    w("")
    reproduce(w, res, res["peers"], None)
    for n in res["notes"]:
        w("")
        w("Note: " + n)
    w("")
    return L


def irq_note(m):
    acct = m.get("irq_time_acct")
    if acct is False:
        return ("This kernel does no IRQ time accounting "
                "(`CONFIG_IRQ_TIME_ACCOUNTING` is off), so the timer "
                "interrupt and the BPF program are charged to the "
                "interrupted target: CPU time includes the sampler's whole "
                "cost to the target, and leaves out the time the target "
                "waited for a CPU behind other programs, which on a shared "
                "machine is most of the wall-time noise.")
    if acct is True:
        return ("This kernel accounts IRQ time separately "
                "(`CONFIG_IRQ_TIME_ACCOUNTING=y`), so CPU time leaves out "
                "the timer interrupt and the BPF program: it understates "
                "the cost, and wall time is the figure to trust.")
    return ("Whether this kernel charges interrupt time to the interrupted "
            "task is unknown (no kernel config found), so CPU time may "
            "leave out the sampler's own cost: trust wall time.")


def reproduce(w, res, rows, kind):
    if not rows:
        return
    w("Commands: the workload, which does one round per `go` line on its "
      "stdin; and the profiler, started before each B round and stopped "
      "with SIGINT after it:")
    w("")
    w("```")
    for r in rows:
        py = r.get("python", "3.10")
        exe = res["machine"]["pythons"].get(py, py).split()[-1]
        k = kind or r["kind"]
        f = r["freq"]
        w("%-22s %s scripts/bench-workloads/%s %s --wait" % (
            r["row"], exe, r.get("script", "deep.py"), " ".join(r["wargs"])))
        if not f:
            w("%-22s (no profiler)" % "")
            continue
        prof = {"pyprof": "./pyprof-bpf -p PID -F %d -o OUT" % f,
                "austin": "austin -i %d -p PID -o OUT" % round(1e6 / f),
                "perf": "perf record -q -e cpu-clock -c %d -g -p PID -o OUT"
                        % (1000000000 // f)}[k]
        w("%-22s %s" % ("", prof))
    w("```")


# ------------------------------------------------------------------- plot
def plot(res, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fig, axes = plt.subplots(2, 2, figsize=(15, 10.5), dpi=100)
    fig.suptitle("pyprof-bpf benchmarks (%s, %s mode): bars/points are "
                 "medians, whiskers span min..max" % (
                     res["machine"]["date"], res["mode"]), fontsize=13)

    def bars(ax, groups, series, values, ylabel, title, labels=False):
        """values[(series, group)] = (min, med, max) or None."""
        n = max(1, len(series))
        width = 0.8 / n
        for i, s in enumerate(series):
            xs, ys, lo, hi = [], [], [], []
            for j, g in enumerate(groups):
                v = values.get((s, g))
                if v is None:
                    continue
                xs.append(j - 0.4 + width * (i + 0.5))
                ys.append(v[1])
                lo.append(v[1] - v[0])
                hi.append(v[2] - v[1])
            if xs:
                ax.bar(xs, ys, width * 0.9, yerr=[lo, hi], capsize=3,
                       label=s)
                if labels:
                    for x, y in zip(xs, ys):
                        ax.annotate("%.2g" % y, (x, y), xytext=(0, 3),
                                    textcoords="offset points",
                                    ha="center", fontsize=8)
        ax.set_xticks(range(len(groups)))
        ax.set_xticklabels([str(g) for g in groups])
        ax.set_ylabel(ylabel)
        ax.set_title(title, fontsize=11)
        ax.axhline(0, color="black", lw=0.8)
        ax.grid(axis="y", alpha=0.3)

    # (a) slowdown, CPU time and wall time
    ax = axes[0][0]
    sd = res["slowdown"]
    groups = (["none"] if any(not r["freq"] for r in sd) else []) + sorted(
        {r["freq"] for r in sd if r["freq"]})
    series, vals = [], {}
    for key, name in (("cpu", "CPU"), ("wall", "wall")):
        for r in sd:
            s = "%s, %s" % (r["shape"], name)
            if s not in series:
                series.append(s)
            vals[(s, r["freq"] or "none")] = mmm(slow_pcts(r, key))
    bars(ax, groups, series, vals, "slowdown (%)",
         "1. Target slowdown (B/A − 1), Python 3.11 (Debian); "
         "'none' = noise row")
    for j, f in enumerate(groups):
        if f in GOALS:
            ax.plot([j - 0.45, j + 0.45], [GOALS[f]] * 2, color="red",
                    ls="--", lw=1.5, label="goal" if f == 99 else None)
    if sd:
        ax.legend(fontsize=8, ncol=2)
    ax.set_xlabel("sampling rate (Hz)")

    # (b) BPF cost vs depth
    ax = axes[0][1]
    bc = res["bpfcost"]
    pys = []
    for r in bc:
        if r["python"] not in pys:
            pys.append(r["python"])
    colors = {}
    for cond, ls in (("quiet", "-"), ("busy", "--")):
        for py in pys:
            rows = sorted([r for r in bc if r["python"] == py],
                          key=lambda r: r["depth"])
            xs, ys, lo, hi = [], [], [], []
            for r in rows:
                v = mmm([x.get("per_sample_us")
                         for x in cond_runs(r, cond)])
                if v is None:
                    continue
                xs.append(r["depth"])
                ys.append(v[1])
                lo.append(v[1] - v[0])
                hi.append(v[2] - v[1])
            if xs:
                eb = ax.errorbar(xs, ys, yerr=[lo, hi], marker="o",
                                 capsize=3, ls=ls, color=colors.get(py),
                                 label="Python %s, %s" % (py, cond))
                colors.setdefault(py, eb[0].get_color())
    fl = mmm([x.get("floor_us") for r in bc for x in r["runs"]])
    if fl:
        ax.axhline(fl[1], color="gray", ls=":", lw=1.5,
                   label="floor: empty program (%.2f µs)" % fl[1])
    if bc:
        for cond, goal in BPF_GOALS.items():
            ax.plot([32], [goal], marker="*" if cond == "quiet" else "P",
                    color="red", ms=12, ls="",
                    label="goal, %s: ≤ %.1f µs at 32 frames" % (cond, goal))
        ax.set_xscale("log", base=2)
        ax.set_xticks([8, 32, 128])
        ax.set_xticklabels(["8", "32", "128"])
        ax.legend(fontsize=8, ncol=2)
        ax.set_ylim(bottom=0)
    ax.set_xlabel("Python frames on the stack")
    ax.set_ylabel("µs per target sample")
    ax.set_title("2. BPF cost per sample (kernel.bpf_stats_enabled); "
                 "solid quiet, dashed busy", fontsize=11)
    ax.grid(alpha=0.3)

    # (c) peers: slowdown
    ax = axes[1][0]
    pr = res["peers"]
    pfreqs = sorted({r["freq"] for r in pr})
    kinds = []
    for r in pr:
        if r["kind"] not in kinds:
            kinds.append(r["kind"])
    names = {"pyprof": "pyprof-bpf", "austin": "austin",
             "perf": "perf record -g"}
    series, vals = [], {}
    for key, name in (("cpu", "CPU"), ("wall", "wall")):
        for r in pr:
            s = "%s, %s" % (names[r["kind"]], name)
            if s not in series:
                series.append(s)
            vals[(s, r["freq"])] = mmm(slow_pcts(r, key))
    bars(ax, pfreqs, series, vals, "slowdown (%)",
         "5. Peers: target slowdown, deep.py 32 frames, Python 3.10")
    if pr:
        ax.legend(fontsize=8, ncol=2)
    ax.set_xlabel("sampling rate (Hz)")

    # (d) profiler's own CPU
    ax = axes[1][1]
    series, vals = [], {}
    for r in pr:
        s = names[r["kind"]] + " (5., whole life)"
        if s not in series:
            series.append(s)
        vals[(s, r["freq"])] = mmm(prof_cpu_pct(r, "prof_total_cpu"))
    for r in res["own"]:
        if r["runs"] and r["runs"][0].get("unsupported"):
            continue
        s = "pyprof-bpf, %d target%s (3., steady)" % (
            r["ntargets"], "s" if r["ntargets"] > 1 else "")
        if s not in series:
            series.append(s)
        vals[(s, r["freq"])] = mmm([100 * x["cpu_per_s"] for x in r["runs"]])
    ofreqs = sorted({g for _, g in vals})
    bars(ax, ofreqs, series, vals, "profiler CPU (% of one CPU, log scale)",
         "3 and 5. The profiler process's own CPU", labels=True)
    if vals:
        ax.set_yscale("log")
    if vals:
        ax.legend(fontsize=8)
    ax.set_xlabel("sampling rate (Hz)")

    fig.tight_layout(rect=(0, 0, 1, 0.96))
    fig.savefig(path)
    plt.close(fig)
    return True
