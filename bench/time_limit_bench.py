"""Whole-call time limit (issue 15, item 3): wall time of ``rtgen_opt.solve`` (misses, 2
workers) against its ``time_limit`` on game_npc_heavy_4s and _15s (about 2k and 9k tasks), the
baseline (the package at a git revision, unpacked with ``git archive``) beside the working
tree's, each call in a fresh process, interleaved.

Writes ``bench/results/time_limit.md`` and ``time_limit.csv``.

Usage::

    flock /tmp/rtgen-bench.lock python bench/time_limit_bench.py --baseline 0b225f1
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from rtgen_opt.files import write_atomic

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ("game_npc_heavy_4s", "game_npc_heavy_15s")
CALL = """
import json, sys, time
from rtgen_opt.inputs import load_instance
import rtgen_opt
inst = load_instance(sys.argv[1])
t = time.perf_counter()
r = rtgen_opt.solve(inst, "misses", time_limit=float(sys.argv[2]), workers=2, seed=int(sys.argv[3]))
print(json.dumps({"tasks": len(inst.tasks), "elapsed_s": time.perf_counter() - t,
                  "status": str(r.status), "value": r.objective[0], "bound": r.bound[0],
                  "phases": r.stats.get("phases")}))
"""


def call(path: Path, limit: float, seed: int, pythonpath: str | None) -> dict:
    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    out = subprocess.run(
        [sys.executable, "-c", CALL, str(path), str(limit), str(seed)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
        cwd=tempfile.gettempdir(),  # not the work tree: the baseline must not import it
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--baseline", default="0b225f1", help="git revision of the baseline")
    p.add_argument("--limits", type=float, nargs="+", default=[10.0, 30.0])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out-dir", default=str(ROOT / "bench" / "results"))
    args = p.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as base:
        archive = subprocess.run(
            ["git", "archive", args.baseline, "rtgen_opt"],
            cwd=ROOT,
            check=True,
            capture_output=True,
        ).stdout
        subprocess.run(["tar", "-x", "-C", base], input=archive, check=True)
        impls = {"baseline": base, "new": str(ROOT)}
        k = 0
        for name in SCENARIOS:
            path = ROOT / "instances" / "scenarios" / f"{name}.yaml"
            for limit in args.limits:
                order = list(impls) if k % 2 == 0 else list(impls)[::-1]
                k += 1
                for impl in order:
                    got = call(path, limit, args.seed, impls[impl])
                    rows.append({"scenario": name, "time_limit": limit, "impl": impl, **got})
                    print(rows[-1], file=sys.stderr, flush=True)
    out = Path(args.out_dir)
    cols = ["scenario", "tasks", "time_limit", "impl", "elapsed_s", "status", "value", "bound"]
    buf = io.StringIO()
    w = csv.DictWriter(buf, cols, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    write_atomic(out / "time_limit.csv", buf.getvalue())
    lines = [
        "# Whole-call time limit",
        "",
        f"`python bench/time_limit_bench.py --baseline {args.baseline} --limits"
        f" {' '.join(f'{x:g}' for x in args.limits)} --seed {args.seed}`: wall seconds of"
        " rtgen_opt.solve (misses, 2 workers, a fresh process each, interleaved) against its"
        f" time_limit, baseline = git revision {args.baseline}; one run each (seed"
        f" {args.seed}). New: the phases of the call (starts, bound, search, finish).",
        "",
        "| scenario | tasks | time_limit (s) | baseline wall (s) | baseline misses |"
        " new wall (s) | new misses | new phases (s) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    by = {(r["scenario"], r["time_limit"], r["impl"]): r for r in rows}
    for name in SCENARIOS:
        for limit in args.limits:
            b, n = by[name, limit, "baseline"], by[name, limit, "new"]
            phases = ", ".join(f"{k} {v:.1f}" for k, v in (n.get("phases") or {}).items())
            lines.append(
                f"| {name} | {n['tasks']} | {limit:g} | {b['elapsed_s']:.1f} | {b['value']:g} |"
                f" {n['elapsed_s']:.1f} | {n['value']:g} | {phases} |"
            )
    write_atomic(out / "time_limit.md", "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
