"""List schedule scaling (issue 15, item 3): the built-in list schedule (all four rules, the
instance's windows precomputed) on game_npc_heavy_4s / 15s / 60s (about 2k, 9k and 35k
tasks), the baseline (``rtgen_opt/exact/list_schedule.py`` at a git revision, loaded from
``git show``) beside the working tree's, interleaved, several repeats; the fitted exponent is
the least-squares slope of log(time) over log(tasks) of the medians. Every baseline schedule
must equal the new one (the change is a faster search, not a different answer).

Writes ``bench/results/list_schedule.md`` and ``list_schedule.csv``.

Usage::

    flock /tmp/rtgen-bench.lock python bench/list_schedule_bench.py --baseline 0b225f1 --repeats 3
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import statistics
import subprocess
import sys
import time
import types
from pathlib import Path

from rtgen_opt.exact import list_schedule as current
from rtgen_opt.exact.windows import windows
from rtgen_opt.files import write_atomic
from rtgen_opt.inputs import load_instance

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ("game_npc_heavy_4s", "game_npc_heavy_15s", "game_npc_heavy_60s")


def baseline_module(rev: str) -> types.ModuleType:
    source = subprocess.run(
        ["git", "show", f"{rev}:rtgen_opt/exact/list_schedule.py"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    module = types.ModuleType("list_schedule_baseline")
    exec(compile(source, f"{rev}:list_schedule.py", "exec"), module.__dict__)
    return module


def slope(xs: list[float], ys: list[float]) -> float:
    lx, ly = [math.log(x) for x in xs], [math.log(y) for y in ys]
    mx, my = statistics.fmean(lx), statistics.fmean(ly)
    return sum((a - mx) * (b - my) for a, b in zip(lx, ly, strict=True)) / sum(
        (a - mx) ** 2 for a in lx
    )


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--baseline", default="0b225f1", help="git revision of the baseline")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--out-dir", default=str(ROOT / "bench" / "results"))
    args = p.parse_args(argv)
    old = baseline_module(args.baseline)
    impls = {"baseline": old.list_schedule, "new": current.list_schedule}
    rows = []
    for name in SCENARIOS:
        inst = load_instance(ROOT / "instances" / "scenarios" / f"{name}.yaml")
        win = windows(inst)
        times: dict[str, list[float]] = {k: [] for k in impls}
        results = {}
        for r in range(args.repeats):
            order = list(impls) if r % 2 == 0 else list(impls)[::-1]
            for impl in order:
                started = time.perf_counter()
                results[impl] = impls[impl](inst, "misses", win=win)
                times[impl].append(time.perf_counter() - started)
        same = results["baseline"].rows() == results["new"].rows()
        if not same:
            sys.exit(f"{name}: the new list schedule differs from the baseline's")
        for impl, ts in times.items():
            rows.append(
                {
                    "scenario": name,
                    "tasks": len(inst.tasks),
                    "impl": impl,
                    "median_s": statistics.median(ts),
                    "min_s": min(ts),
                    "max_s": max(ts),
                    "repeats": len(ts),
                    "identical": same,
                }
            )
            print(rows[-1], file=sys.stderr, flush=True)
    out = Path(args.out_dir)
    buf = io.StringIO()
    w = csv.DictWriter(buf, list(rows[0]), lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    write_atomic(out / "list_schedule.csv", buf.getvalue())
    lines = [
        "# List schedule scaling",
        "",
        f"`python bench/list_schedule_bench.py --baseline {args.baseline} --repeats"
        f" {args.repeats}`: the built-in list schedule (rules edf, cp, fifo, energy; objective"
        " misses; windows precomputed, not timed), the baseline (git revision"
        f" {args.baseline}) and the new one interleaved, median (min-max) seconds over"
        f" {args.repeats} repeats. Both return the same schedule on every scenario.",
        "",
        "| scenario | tasks | baseline (s) | new (s) | speed-up |",
        "|---|---|---|---|---|",
    ]
    by = {(r["scenario"], r["impl"]): r for r in rows}
    for name in SCENARIOS:
        b, n = by[name, "baseline"], by[name, "new"]
        lines.append(
            f"| {name} | {b['tasks']} | {b['median_s']:.2f} ({b['min_s']:.2f}-{b['max_s']:.2f})"
            f" | {n['median_s']:.2f} ({n['min_s']:.2f}-{n['max_s']:.2f})"
            f" | {b['median_s'] / n['median_s']:.1f}x |"
        )
    lines.append("")
    for impl in impls:
        sel = [by[name, impl] for name in SCENARIOS]
        k = slope([r["tasks"] for r in sel], [r["median_s"] for r in sel])
        lines.append(f"- {impl}: time ~ n^{k:.2f} (least squares over the three sizes)")
    write_atomic(out / "list_schedule.md", "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
