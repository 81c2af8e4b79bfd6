"""MILP build benchmark (issue 13, item 1): building the model, handing it to HiGHS, peak memory,
and the end-to-end time of ``rtgen-opt solve --solver milp-highs -t 60``.

For each size -- small (video_call_small, 37 tasks), ~300 tasks (video_call_medium at load 0.3,
317 tasks) and medium (video_call_medium, 1,044 tasks) -- the baseline (a checkout of
``--baseline``, main's HEAD when the work started) and this branch each build the MILP of the
``misses`` objective (no pair cap) in a fresh process: ``build_model`` time, the time to hand the
model to HiGHS (``_Highs.buildSolverModel``: PuLP's row-by-row loop on the baseline, the bulk
arrays here), and the process's peak resident memory. Runs are interleaved (baseline, branch,
baseline, ...) ``--reps`` times; the tables give the median and the range.

Then, for this branch only, the wall time of whole ``rtgen-opt solve`` calls with
``--solver milp-highs -t 60``: the issue's command on video_call_medium, game_npc_heavy_1s
(610 tasks, 185,000 pairs, its start not proven by the bound), whose model is built and
searched until the limit, and the same with ``-t 10``, where the limit stops the build; plus,
once, the baseline on the second command (``--no-baseline-e2e`` skips it).

Writes ``bench/results/milp_build.md`` and ``milp_build.csv``. Run it alone on the machine::

    flock /tmp/rtgen-bench.lock python bench/milp_build_bench.py --baseline 0b225f1

Smoke test (a minute)::

    python bench/milp_build_bench.py --baseline 0b225f1 --reps 1 --sizes small --no-e2e
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
SCENARIOS = ROOT / "instances" / "scenarios"

#: name -> (scenario, load)
SIZES = {
    "small": ("video_call_small.yaml", 1.0),
    "300": ("video_call_medium.yaml", 0.3),
    "medium": ("video_call_medium.yaml", 1.0),
}

#: name -> (scenario, extra arguments) of the end-to-end solves (``-t 60`` unless given).
E2E = {
    "issue: video_call_medium": ("video_call_medium.yaml", []),
    "game_npc_heavy_1s, cap lifted": ("game_npc_heavy_1s.yaml", ["--max-pairs", "1000000"]),
    "game_npc_heavy_1s -t 10 (build cut)": ("game_npc_heavy_1s.yaml", ["-t", "10"]),
}

WORKER = r"""
import inspect, json, resource, sys, time
sys.path.insert(0, sys.argv[1])
import rtgen_opt
assert rtgen_opt.__file__.startswith(sys.argv[1]), rtgen_opt.__file__
from rtgen_opt.inputs import load_instance
from rtgen_opt.exact.milp import build_model
from rtgen_opt.exact.milp.engines import _Highs
inst = load_instance(sys.argv[2], load=float(sys.argv[3]))
kw = {"max_pairs": None} if "max_pairs" in inspect.signature(build_model).parameters else {}
t0 = time.perf_counter()
model = build_model(inst, "misses", **kw)
build = time.perf_counter() - t0
peak_build = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
problem = model.problem
problem.fixObjective()
solver = _Highs(start=None, on_progress=None, msg=False, timeLimit=1.0)
t0 = time.perf_counter()
solver.createAndConfigureSolver(problem)
solver.buildSolverModel(problem)
handover = time.perf_counter() - t0
assert problem.solverModel.getNumRow() == problem.numConstraints()
size = model.size()
print(json.dumps({
    "tasks": len(inst.tasks), "pairs": size["disjunctive_pairs"],
    "rows": size["constraints"], "columns": size["variables"],
    "build_s": build, "handover_s": handover, "peak_build_mb": peak_build,
    "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
}))
"""


def _build_run(src: Path, size: str) -> dict:
    scenario, load = SIZES[size]
    out = subprocess.run(
        [sys.executable, "-c", WORKER, str(src), str(SCENARIOS / scenario), str(load)],
        capture_output=True,
        text=True,
        check=True,
        cwd=tempfile.gettempdir(),
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _e2e_run(src: Path, case: str) -> dict:
    scenario, extra = E2E[case]
    cmd = [
        sys.executable,
        "-c",
        f"import sys; sys.path.insert(0, {str(src)!r}); from rtgen_opt.cli import main; main()",
        "solve",
        str(SCENARIOS / scenario),
        "--solver",
        "milp-highs",
        *([] if "-t" in extra else ["-t", "60"]),
        "-q",
        *extra,
    ]
    t0 = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=tempfile.gettempdir())
    wall = time.perf_counter() - t0
    lines = dict(
        line.split(None, 1) for line in out.stdout.splitlines()[:12] if len(line.split()) > 1
    )
    status = lines.get("status", "").strip() or out.stderr.strip().splitlines()[-1][:90]
    return {"wall_s": wall, "exit": out.returncode, "status": status}


def _checkout(commit: str) -> Path:
    path = Path(tempfile.mkdtemp(prefix="rtgen-baseline-"))
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(path), commit],
        check=True,
        capture_output=True,
    )
    return path


def _fmt(values: list[float], digits: int = 1) -> str:
    med = statistics.median(values)
    if len(values) == 1:
        return f"{med:.{digits}f} (1 run)"
    lo, hi = min(values), max(values)
    return f"{med:.{digits}f} ({lo:.{digits}f}-{hi:.{digits}f}, {len(values)} runs)"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--baseline", required=True, help="Commit to compare with (main's HEAD).")
    ap.add_argument(
        "--branch", default="HEAD", help="Commit measured as the branch (a checkout of it)."
    )
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument(
        "--baseline-medium-reps", type=int, default=1, help="Baseline reps at 1,044 tasks."
    )
    ap.add_argument("--medium-reps", type=int, default=None, help="Branch reps at 1,044 tasks.")
    ap.add_argument("--sizes", default=",".join(SIZES))
    ap.add_argument("--no-e2e", action="store_true")
    ap.add_argument("--name", default="milp_build", help="Results file name (bench/results/).")
    ap.add_argument("--e2e-reps", type=int, default=None, help="Reps of each solve (--reps).")
    ap.add_argument(
        "--no-baseline-e2e", action="store_true", help="Skip the baseline's end-to-end solve."
    )
    args = ap.parse_args(argv)
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", args.baseline],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    head = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", args.branch],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    base = _checkout(commit)
    branch = _checkout(head)  # a snapshot: edits to the work tree during the run do not count
    rows: list[dict] = []
    e2e: list[dict] = []
    try:
        for size in args.sizes.split(","):
            reps = args.reps
            if size == "medium":
                reps = max(args.medium_reps or args.reps, args.baseline_medium_reps)
            for rep in range(reps):
                impls = []
                if size != "medium" or rep < args.baseline_medium_reps:
                    impls.append(("baseline", base))
                if size != "medium" or rep < (args.medium_reps or args.reps):
                    impls.append(("branch", branch))
                for impl, src in impls:
                    r = _build_run(src, size)
                    rows.append({"size": size, "impl": impl, "rep": rep, **r})
                    print(f"{size} {impl} rep {rep}: {r}", file=sys.stderr, flush=True)
        if not args.no_e2e:
            for case in E2E:
                for rep in range(args.e2e_reps or args.reps):
                    r = _e2e_run(branch, case)
                    e2e.append({"case": case, "impl": "branch", "rep": rep, **r})
                    print(f"e2e {case} rep {rep}: {r}", file=sys.stderr, flush=True)
            if not args.no_baseline_e2e:
                case = "game_npc_heavy_1s, cap lifted"
                r = _e2e_run(base, case)
                e2e.append({"case": case, "impl": "baseline", "rep": 0, **r})
                print(f"e2e {case} baseline: {r}", file=sys.stderr, flush=True)
    finally:
        for path in (base, branch):
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(path)],
                capture_output=True,
            )
    _write(rows, e2e, commit, head, args)
    return 0


def _write(rows: list[dict], e2e: list[dict], commit: str, head: str, args) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    buf = io.StringIO()
    fields = ["kind", "size", "case", "impl", "rep", "tasks", "pairs", "rows", "columns"]
    fields += ["build_s", "handover_s", "peak_build_mb", "peak_mb", "wall_s", "exit", "status"]
    w = csv.DictWriter(buf, fieldnames=fields, extrasaction="ignore")
    w.writeheader()
    for r in rows:
        w.writerow({"kind": "build", **r})
    for r in e2e:
        w.writerow({"kind": "e2e", **r})
    (RESULTS / f"{args.name}.csv").write_text(buf.getvalue())

    md = [
        "# MILP build: time, memory, and the time limit end to end",
        "",
        f"`flock /tmp/rtgen-bench.lock python bench/milp_build_bench.py {' '.join(sys.argv[1:])}`"
        f" (branch at {head}; interleaved reps, median (min-max), runs per cell as shown; "
        f"{os.cpu_count()} cores, other helpers' tests running beside it).",
        "",
        f"Baseline: `{commit}` (main when issue 13 started): every row made with PuLP's "
        "expression arithmetic and `+=`, handed to HiGHS one `addRow` at a time. Branch: the "
        "disjunctive rows (nearly all of them) made from coefficient arrays straight into PuLP "
        "constraints, the model handed to HiGHS in one `addVars` and one `addRows`. Objective "
        "`misses`, no pair cap. Peak memory is the build process's peak resident set (Python "
        "and the imports included, about 110 MB).",
        "",
        "## Build and hand-over",
        "",
        "| size | tasks | pairs | rows | impl | build (s) | hand-over to HiGHS (s) | peak after build (MB) | peak (MB) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for size in dict.fromkeys(r["size"] for r in rows):
        for impl in ("baseline", "branch"):
            sel = [r for r in rows if r["size"] == size and r["impl"] == impl]
            if not sel:
                continue
            r0 = sel[0]
            md.append(
                f"| {size} | {r0['tasks']} | {r0['pairs']:,} | {r0['rows']:,} | {impl} | "
                f"{_fmt([r['build_s'] for r in sel], 2)} | "
                f"{_fmt([r['handover_s'] for r in sel], 2)} | "
                f"{_fmt([r['peak_build_mb'] for r in sel], 0)} | "
                f"{_fmt([r['peak_mb'] for r in sel], 0)} |"
            )
    md += ["", "Speed-up (baseline median / branch median):", ""]
    for size in dict.fromkeys(r["size"] for r in rows):
        b = [r for r in rows if r["size"] == size and r["impl"] == "baseline"]
        n = [r for r in rows if r["size"] == size and r["impl"] == "branch"]
        if b and n:
            med = statistics.median
            md.append(
                f"- {size}: build x{med(r['build_s'] for r in b) / med(r['build_s'] for r in n):.1f},"
                f" hand-over x{med(r['handover_s'] for r in b) / med(r['handover_s'] for r in n):.1f},"
                f" peak memory branch / baseline {med(r['peak_mb'] for r in n) / med(r['peak_mb'] for r in b):.2f}"
            )
    if e2e:
        md += [
            "",
            "## End to end: `rtgen-opt solve FILE --solver milp-highs -t 60 -q` (wall clock)",
            "",
            "| case | impl | runs | wall (s) | exit | status |",
            "|---|---|---|---|---|---|",
        ]
        for case in dict.fromkeys(r["case"] for r in e2e):
            for impl in ("branch", "baseline"):
                sel = [r for r in e2e if r["case"] == case and r["impl"] == impl]
                if sel:
                    statuses = ", ".join(sorted({str(r["status"]) for r in sel}))
                    exits = ", ".join(sorted({str(r["exit"]) for r in sel}))
                    md.append(
                        f"| {case} | {impl} | {len(sel)} | {_fmt([r['wall_s'] for r in sel])} |"
                        f" {exits} | {statuses} |"
                    )
    (RESULTS / f"{args.name}.md").write_text("\n".join(md) + "\n")


if __name__ == "__main__":
    sys.exit(main())
