"""Simulated tasks per second of every online policy (issue 4, item 5).

Workloads: every ``instances/scenarios/*_medium.yaml`` as written, and a long run, the game-NPC
medium scenario compiled with ``horizon_ms=60000`` (60 s of play). For each (workload, policy)
the replay is timed ``--repeat`` times and the best is kept (the machine is shared, so the best
run is the least disturbed one). Reported:

- ``tasks/s``: tasks / (simulator setup + event loop), the throughput of ``simulate`` without
  validation; the setup turns the instance into flat arrays once per replay, so it is counted;
- ``tasks/CPU-s``: the same over this process's CPU time (less disturbed on a shared machine);
- ``loop tasks/s``: tasks / event loop only;
- ``replay s``: a full ``rtgen_opt.replay`` including the validator, once;
- misses and DVR of the schedule, for context.

Compilation of the scenario is not timed. Usage::

    python bench/replay_bench.py [--repeat 3] [--out bench/results/replay.md]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sys
import time
from pathlib import Path

from rtgen_opt.compile import compile
from rtgen_opt.files import write_atomic
from rtgen_opt.inputs import load_instance
from rtgen_opt.objectives import missed_jobs
from rtgen_opt.online import policy_names, simulate
from rtgen_opt.spec import load

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "instances" / "scenarios"
TARGETS = {"fcfs-fixed": 100_000, "edf-eft": 30_000}


def workloads() -> list[tuple[str, object]]:
    out = []
    for path in sorted(SCENARIOS.glob("*_medium.yaml")):
        out.append((path.stem, load_instance(path)))
    out.append(
        (
            "game_npc_medium @ 60 s",
            load_instance(SCENARIOS / "game_npc_medium.yaml", horizon_ms=60000),
        )
    )
    # The targets are stated for 3 processors: the same long run with one CPU processor
    # (cpu, gpu, npu) instead of the shipped platform's two CPU core complexes.
    spec = load(SCENARIOS / "game_npc_medium.yaml")
    procs = [p.model_copy(update={"count": 1}) for p in spec.platform.processors]
    three = spec.model_copy(
        update={"platform": spec.platform.model_copy(update={"processors": procs})}
    )
    out.append(("game_npc_medium @ 60 s, 3 processors", compile(three, horizon_ms=60000)))
    return out


def measure(instance, policy: str, repeat: int) -> dict[str, float]:
    best_total, best_loop, best_cpu = float("inf"), float("inf"), float("inf")
    for _ in range(repeat):
        st = simulate(instance, policy, validate=False).stats
        best_total = min(best_total, st["setup_s"] + st["run_s"])
        best_loop = min(best_loop, st["run_s"])
        best_cpu = min(best_cpu, st["setup_cpu_s"] + st["run_cpu_s"])
    t0 = time.perf_counter()
    checked = simulate(instance, policy)  # validated
    replay_s = time.perf_counter() - t0
    missed = len(missed_jobs(instance, checked.schedule))
    n = len(instance.tasks)
    return {
        "tasks_per_s": n / best_total,
        "tasks_per_cpu_s": n / best_cpu,
        "loop_tasks_per_s": n / best_loop,
        "replay_s": replay_s,
        "misses": missed,
        "dvr": missed / len(instance.jobs),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "replay.md")
    ap.add_argument(
        "--dedicated",
        action="store_true",
        help="state that nothing else ran on the machine (default: the shared-machine caveat)",
    )
    args = ap.parse_args()
    if args.dedicated:
        conditions = [
            "Nothing else ran on the machine while this ran (numbers are the best of the",
            "repeats).",
        ]
    else:
        conditions = [
            "**Caveat:** the 2 cores were shared with other engineers' jobs while this ran;"
            " numbers",
            "are the best of the repeats and may be low by up to ~2x. The lead may re-run it.",
        ]

    lines = [
        "# Replay benchmark: simulated tasks per second",
        "",
        f"`python bench/replay_bench.py --repeat {args.repeat}"
        + (" --dedicated" if args.dedicated else "")
        + f"`, {dt.date.today().isoformat()}, "
        f"Python {platform.python_version()}, {os.cpu_count()} cores ({platform.machine()}).",
        "",
        *conditions,
        "",
        "tasks/s = tasks / (simulator setup + event loop), without validation, by wall clock;",
        "tasks/CPU-s = the same by this process's CPU time; loop = event loop",
        "only; replay s = one full `rtgen_opt.replay` with the validator. The platform is",
        "`ryzen_ai_hx370` (4 processors: cpu0, cpu1, gpu, npu). Targets (3 processors):",
        ", ".join(f"{p} >= {t:,} tasks/s" for p, t in TARGETS.items()) + ".",
        "",
    ]
    worst: dict[str, float] = {}
    worst_cpu: dict[str, float] = {}
    for name, inst in workloads():
        header = (
            f"## {name}: {len(inst.tasks):,} tasks, {len(inst.jobs):,} jobs, "
            f"miss mode {inst.miss_mode}"
        )
        print(header, file=sys.stderr)
        lines += [
            header,
            "",
            "| policy | tasks/s | tasks/CPU-s | loop tasks/s | replay s | misses | DVR |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for pol in policy_names():
            m = measure(inst, pol, args.repeat)
            worst[pol] = min(worst.get(pol, float("inf")), m["tasks_per_s"])
            worst_cpu[pol] = min(worst_cpu.get(pol, float("inf")), m["tasks_per_cpu_s"])
            lines.append(
                f"| {pol} | {m['tasks_per_s']:,.0f} | {m['tasks_per_cpu_s']:,.0f} | "
                f"{m['loop_tasks_per_s']:,.0f} | "
                f"{m['replay_s']:.2f} | {m['misses']} | {m['dvr']:.1%} |"
            )
            print(f"  {pol:15s} {m['tasks_per_s']:>10,.0f} tasks/s", file=sys.stderr)
        lines.append("")
    lines += [
        "## Targets",
        "",
        "Lowest throughput over the workloads, by wall clock and by CPU time of this process",
        "(the CPU-time figure is what an unshared core would give, less cache effects).",
        "",
        "| policy | tasks/s (wall) | tasks/CPU-s | target | met (wall / CPU) |",
        "|---|---:|---:|---:|---|",
    ]
    for pol, target in TARGETS.items():
        ok = "/".join("yes" if x >= target else "no" for x in (worst[pol], worst_cpu[pol]))
        lines.append(f"| {pol} | {worst[pol]:,.0f} | {worst_cpu[pol]:,.0f} | {target:,} | {ok} |")
    lines.append("")
    write_atomic(args.out, "\n".join(lines))
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
