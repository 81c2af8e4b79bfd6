"""MILP scaling benchmark (issue 5, item 5): CP-SAT and the MILP backends side by side.

Solves every RTGen scenario in instances/scenarios (objective ``misses`` by default) and every
flexible job shop instance of ../shared/external/fjsp (makespan) with each solver of
``--solvers``, at one time limit and worker count, and reports per family (Kacem, Fattahi,
Brandimarte, RTGen small, RTGen medium) the largest instance each solver *proves optimal* within
the limit. Writes ``bench/results/milp.md`` and ``milp.csv``: instance, tasks, solver, status,
value, bound, gap, LP-relaxation bound (MILP), time, best known value.

Full run (the lead's machine, nothing else running; instances smallest first per family, a MILP
backend skipped on the rest of a family after its first unproven instance; ``--no-skip`` runs
everything, about 31 instances x 3 solvers x <= 60 s)::

    python bench/milp_scaling.py --time-limit 60 --workers 2

Smoke test (seconds)::

    python bench/milp_scaling.py --time-limit 2 --only 179 --only small --solvers milp-highs
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import sys
from pathlib import Path

from rtgen_opt.exact import solver_names
from rtgen_opt.exact.solve import solve
from rtgen_opt.files import write_atomic
from rtgen_opt.importers.fjsp import read_fjsp
from rtgen_opt.inputs import load_instance
from rtgen_opt.objectives import Objective

ROOT = Path(__file__).resolve().parent.parent
SOLVERS = solver_names()
COLUMNS = (
    "family",
    "instance",
    "tasks",
    "objective",
    "solver",
    "status",
    "value",
    "bound",
    "gap",
    "lp_bound",
    "time_s",
    "best_known",
)


def _family(path: Path, categories: dict[str, str]) -> str:
    if path.suffix == ".txt":
        return categories.get(path.name, "FJSP")
    return "RTGen medium" if "medium" in path.stem else "RTGen small"


def instances(args: argparse.Namespace) -> list[tuple[str, Path, tuple[str, ...], float | None]]:
    """``(family, path, objective, best known)`` for every selected instance."""

    def wanted(name: str) -> bool:
        return not args.only or any(o in name for o in args.only)

    out = []
    for path in sorted(Path(args.scenarios).glob("*.yaml")):
        if wanted(path.name):
            out.append((_family(path, {}), path, Objective.parse(args.objective).names, None))
    fjsp = Path(args.fjsp)
    bks: dict[str, tuple[str, float]] = {}
    if (fjsp / "bks.csv").exists():
        for row in csv.DictReader((fjsp / "bks.csv").open()):
            bks[row["instance"]] = (row["category"], float(row["bks"]))
    categories = {k: v[0] for k, v in bks.items()}
    for path in sorted(fjsp.glob("*.txt"), key=lambda p: int(p.stem) if p.stem.isdigit() else 0):
        if wanted(path.name):
            best = bks.get(path.name, (None, None))[1]
            out.append((_family(path, categories), path, ("makespan",), best))
    return out


def run(args: argparse.Namespace) -> list[dict]:
    loaded = []
    for family, path, objective, best in instances(args):
        inst = read_fjsp(path) if path.suffix == ".txt" else load_instance(path)
        loaded.append((family, path, objective, best, inst))
    # Within a family, smallest first: a MILP that fails an instance is not run on larger ones.
    order = {fam: i for i, fam in enumerate(dict.fromkeys(x[0] for x in loaded))}
    loaded.sort(key=lambda x: (order[x[0]], len(x[4].tasks), x[1].name))
    failed: dict[tuple[str, str], str] = {}  # (family, solver) -> smallest instance not proven
    rows = []
    for family, path, objective, best, inst in loaded:
        for solver in args.solvers:
            too_big = solver.startswith("milp") and len(inst.tasks) > args.milp_max_tasks
            if too_big:
                failed.setdefault((family, solver), f"over {args.milp_max_tasks} tasks")
            if not args.no_skip and solver.startswith("milp") and (family, solver) in failed:
                rows.append(
                    {
                        "family": family,
                        "instance": path.name,
                        "tasks": len(inst.tasks),
                        "objective": ",".join(objective),
                        "solver": solver,
                        "status": f"skipped ({failed[family, solver]} not proven)",
                        "value": None,
                        "bound": None,
                        "gap": None,
                        "lp_bound": None,
                        "time_s": 0.0,
                        "best_known": best,
                    }
                )
                continue
            r = solve(
                inst,
                objective,
                solver=solver,
                time_limit=args.time_limit,
                workers=args.workers,
                seed=args.seed,
            )
            row = {
                "family": family,
                "instance": path.name,
                "tasks": len(inst.tasks),
                "objective": ",".join(objective),
                "solver": solver,
                "status": str(r.status),
                "value": r.objective[0] if r.objective else None,
                "bound": r.bound[0] if r.bound else None,
                "gap": r.gap,
                "lp_bound": r.stats.get("lp_bound"),
                "time_s": r.runtime,
                "best_known": best,
            }
            rows.append(row)
            if row["status"] != "optimal":
                failed.setdefault((family, solver), path.name)
            print(" ".join(f"{k}={_fmt(row[k])}" for k in COLUMNS), file=sys.stderr, flush=True)
    return rows


def _fmt(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.6g}" if math.isfinite(v) else ""
    return str(v)


def largest_proven(rows: list[dict]) -> dict[tuple[str, str], dict | None]:
    """Per (family, solver): the row of the largest instance (by tasks) proven optimal."""
    out: dict[tuple[str, str], dict | None] = {}
    for row in rows:
        key = (row["family"], row["solver"])
        out.setdefault(key, None)
        if row["status"] == "optimal":
            best = out[key]
            if best is None or (row["tasks"], row["instance"]) > (best["tasks"], best["instance"]):
                out[key] = row
    return out


def write(rows: list[dict], args: argparse.Namespace) -> None:
    out = Path(args.out_dir)
    buf = io.StringIO()
    w = csv.DictWriter(buf, COLUMNS, lineterminator="\n")
    w.writeheader()
    for row in rows:
        w.writerow({k: _fmt(row[k]) for k in COLUMNS})
    write_atomic(out / "milp.csv", buf.getvalue())

    def pct(v):
        return "" if v is None else f"{v:.2%}"

    solvers = list(dict.fromkeys(r["solver"] for r in rows))
    families = list(dict.fromkeys(r["family"] for r in rows))
    lines = [
        "# CP-SAT and MILP side by side",
        "",
        f"`python bench/milp_scaling.py --time-limit {args.time_limit:g} --workers"
        f" {args.workers} --seed {args.seed} --solvers {','.join(args.solvers)}"
        + (" --no-skip" if args.no_skip else "")
        + f" --milp-max-tasks {args.milp_max_tasks}`",
        "",
        "Instances run smallest first within each family."
        + (
            ""
            if args.no_skip
            else " A MILP backend is not run on an instance of a family once it failed to prove"
            " a smaller (or equal-size) one of that family within the limit (status"
            " `skipped`); CP-SAT runs on every instance."
        )
        + (
            f" MILP backends skip instances of more than {args.milp_max_tasks} tasks"
            f" (`--milp-max-tasks`): building the big-M model of a 1,000-task RTGen medium"
            f" scenario alone took over 4 minutes and 5 GB."
        ),
        "",
        "## Largest instance proven optimal within the limit",
        "",
        "| family | " + " | ".join(solvers) + " |",
        "|---|" + "---|" * len(solvers),
    ]
    largest = largest_proven(rows)
    for fam in families:
        cells = []
        for s in solvers:
            row = largest.get((fam, s))
            n_fam = sum(1 for r in rows if r["family"] == fam and r["solver"] == s)
            n_opt = sum(
                1
                for r in rows
                if r["family"] == fam and r["solver"] == s and r["status"] == "optimal"
            )
            best = "none" if row is None else f"{row['instance']} ({row['tasks']} tasks)"
            cells.append(f"{best}; {n_opt}/{n_fam} proven")
        lines.append(f"| {fam} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "## Every run",
        "",
        "| family | instance | tasks | objective | solver | status | value | bound | gap"
        " | LP bound | time (s) | best known |",
        "|" + "---|" * 12,
    ]
    for r in rows:
        cells = [
            r["family"],
            r["instance"],
            str(r["tasks"]),
            r["objective"],
            r["solver"],
            r["status"],
            _fmt(r["value"]),
            _fmt(r["bound"]),
            pct(r["gap"]),
            _fmt(r["lp_bound"]),
            f"{r['time_s']:.2f}",
            _fmt(r["best_known"]),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    write_atomic(out / "milp.md", "\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--time-limit", type=float, default=60.0)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--solvers", default=",".join(SOLVERS), help="comma-separated backends")
    p.add_argument("--objective", default="misses", help="objective of the RTGen scenarios")
    p.add_argument("--only", action="append", default=[], help="substring of file names")
    p.add_argument("--scenarios", default=str(ROOT / "instances" / "scenarios"))
    p.add_argument("--fjsp", default=str(ROOT.parent / "shared" / "external" / "fjsp"))
    p.add_argument("--out-dir", default=str(ROOT / "bench" / "results"))
    p.add_argument(
        "--no-skip",
        action="store_true",
        help="run a MILP even on instances larger than one of the same family it did not prove",
    )
    p.add_argument(
        "--milp-max-tasks",
        type=int,
        default=500,
        help="MILP backends skip larger instances (building the big-M model of a 1,000-task"
        " instance alone took over 4 minutes and 5 GB)",
    )
    args = p.parse_args(argv)
    args.solvers = tuple(s.strip() for s in args.solvers.split(",") if s.strip())
    write(run(args), args)


if __name__ == "__main__":
    main()
