"""Solve benchmark (issue 3, item 7): every scenario in instances/scenarios and every flexible
job shop instance in ../shared/external/fjsp, at a fixed time limit and worker count, with
PyJobShop's CP-SAT model on the same FJSP instances side by side.

Writes ``bench/results/solve.md`` and ``solve.csv``: instance, objective, status, objective
value, bound, gap, time; for FJSP also the best known value (bks.csv), our gap to it, and
PyJobShop's status, value, bound, time and gap to the best known value.

Usage (the full table; takes about 25 x 2 x 60 s on 2 workers)::

    python bench/solve_bench.py --time-limit 60 --workers 2

Smoke test::

    python bench/solve_bench.py --time-limit 2 --only 179 --only 1.txt --only small

PyJobShop is optional (``pip install pyjobshop==0.0.9``; ``--no-pyjobshop`` to skip).
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import sys
import time
from pathlib import Path

from rtgen_opt.exact.solve import solve
from rtgen_opt.files import write_atomic
from rtgen_opt.importers.fjsp import read_fjsp
from rtgen_opt.inputs import load_instance
from rtgen_opt.instance import Instance
from rtgen_opt.objectives import Objective

ROOT = Path(__file__).resolve().parent.parent
COLUMNS = (
    "set",
    "instance",
    "objective",
    "status",
    "value",
    "bound",
    "gap",
    "time_s",
    "best_known",
    "gap_to_best",
    "pjs_status",
    "pjs_value",
    "pjs_bound",
    "pjs_time_s",
    "pjs_gap_to_best",
)


def pyjobshop_solve(inst: Instance, time_limit: float, workers: int, seed: int) -> dict:
    """PyJobShop 0.0.9's CP-SAT model on a flexible job shop instance (makespan)."""
    from pyjobshop import Model

    m = Model()
    machines = {p: m.add_machine(name=p) for p in inst.processors}
    tasks = {}
    for jid, job in inst.jobs.items():
        pj = m.add_job(name=jid)
        for t in job.tasks:
            tasks[t] = m.add_task(job=pj, name=t)
            for p, d in inst.durations(t).items():
                m.add_mode(tasks[t], machines[p], round(d))
    for u, v in inst.graph.edges:
        m.add_end_before_start(tasks[u], tasks[v])
    started = time.perf_counter()
    r = m.solve(
        "ortools", time_limit=time_limit, display=False, num_workers=workers, random_seed=seed
    )
    return {
        "pjs_status": str(r.status.value).lower(),
        "pjs_value": r.objective,
        "pjs_bound": r.lower_bound,
        "pjs_time_s": time.perf_counter() - started,
    }


def _gap(value, best):
    """Relative gap to the best known value: (value - best) / best."""
    if value is None or best is None or not math.isfinite(value):
        return None
    return (value - best) / max(abs(best), 1e-9)


def run(args: argparse.Namespace) -> list[dict]:
    def wanted(name: str) -> bool:
        return not args.only or any(o in name for o in args.only)

    jobs: list[tuple[str, Path, tuple[str, ...]]] = []
    for path in sorted(Path(args.scenarios).glob("*.yaml")):
        if wanted(path.name):
            jobs.extend(("rtgen", path, Objective.parse(obj).names) for obj in args.objective)
    fjsp_dir = Path(args.fjsp)
    bks = {}
    if (fjsp_dir / "bks.csv").exists():
        for row in csv.DictReader((fjsp_dir / "bks.csv").open()):
            bks[row["instance"]] = (row["category"], float(row["bks"]))
    fjsp = sorted(fjsp_dir.glob("*.txt"), key=lambda p: int(p.stem) if p.stem.isdigit() else 0)
    jobs.extend(("fjsp", p, ("makespan",)) for p in fjsp if wanted(p.name))

    rows = []
    for kind, path, objective in jobs:
        inst = read_fjsp(path) if kind == "fjsp" else load_instance(path)
        r = solve(inst, objective, time_limit=args.time_limit, workers=args.workers, seed=args.seed)
        row = {
            "set": bks.get(path.name, ("rtgen",))[0] if kind == "fjsp" else "rtgen",
            "instance": path.name,
            "objective": ",".join(objective),
            "status": str(r.status),
            "value": _first_or_all(r.objective),
            "bound": _first_or_all(r.bound),
            "gap": r.gap,
            "time_s": r.runtime,
        }
        if kind == "fjsp" and path.name in bks:
            best = bks[path.name][1]
            row["best_known"] = best
            row["gap_to_best"] = _gap(row["value"], best)
            if not args.no_pyjobshop:
                try:
                    row.update(pyjobshop_solve(inst, args.time_limit, args.workers, args.seed))
                    row["pjs_gap_to_best"] = _gap(row["pjs_value"], best)
                except ImportError:
                    print("pyjobshop not installed: skipping it", file=sys.stderr)
                    args.no_pyjobshop = True
        rows.append(row)
        print(_line(row), file=sys.stderr, flush=True)
    return rows


def _first_or_all(values):
    """A single component as a number; a lexicographic tuple as is."""
    if not values:
        return None
    return values[0] if len(values) == 1 else tuple(values)


def _fmt(v) -> str:
    if v is None:
        return ""
    if isinstance(v, tuple):
        return ", ".join(_fmt(x) for x in v)
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


def _line(row: dict) -> str:
    return " ".join(f"{k}={_fmt(row.get(k))}" for k in COLUMNS if row.get(k) is not None)


def write(rows: list[dict], args: argparse.Namespace) -> None:
    out = Path(args.out_dir)
    buf = io.StringIO()
    w = csv.DictWriter(buf, COLUMNS, lineterminator="\n")
    w.writeheader()
    for row in rows:
        w.writerow({k: _fmt(row.get(k)) for k in COLUMNS})
    write_atomic(out / "solve.csv", buf.getvalue())

    def pct(v):
        return "" if v is None else f"{v:.2%}"

    lines = [
        "# Solve benchmark",
        "",
        f"`python bench/solve_bench.py --time-limit {args.time_limit:g} --workers {args.workers}"
        f" --seed {args.seed}` (rtgen-opt CP-SAT; PyJobShop 0.0.9 CP-SAT side by side on FJSP).",
        "",
        "| set | instance | objective | status | value | bound | gap | time (s) | best known |"
        " gap to best | PyJobShop status | PyJobShop value | PyJobShop bound | PyJobShop time (s)"
        " | PyJobShop gap to best |",
        "|" + "---|" * 15,
    ]
    for r in rows:
        lines.append(
            "| "
            + " | ".join(
                [
                    r["set"],
                    r["instance"],
                    r["objective"],
                    r["status"],
                    _fmt(r["value"]),
                    _fmt(r["bound"]),
                    pct(r["gap"]),
                    f"{r['time_s']:.2f}",
                    _fmt(r.get("best_known")),
                    pct(r.get("gap_to_best")),
                    _fmt(r.get("pjs_status")),
                    _fmt(r.get("pjs_value")),
                    _fmt(r.get("pjs_bound")),
                    "" if r.get("pjs_time_s") is None else f"{r['pjs_time_s']:.2f}",
                    pct(r.get("pjs_gap_to_best")),
                ]
            )
            + " |"
        )
    lines.append("")
    for group in sorted({r["set"] for r in rows}):
        sel = [r for r in rows if r["set"] == group]
        proven = sum(r["status"] == "optimal" for r in sel)
        text = f"- {group}: {proven}/{len(sel)} proven optimal"
        ours = [r["gap_to_best"] for r in sel if r.get("gap_to_best") is not None]
        theirs = [r["pjs_gap_to_best"] for r in sel if r.get("pjs_gap_to_best") is not None]
        if ours:
            text += f"; mean gap to best known {sum(ours) / len(ours):.2%}"
        if theirs:
            text += f" (PyJobShop {sum(theirs) / len(theirs):.2%})"
        lines.append(text)
    write_atomic(out / "solve.md", "\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--time-limit", type=float, default=60.0)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--objective",
        action="append",
        default=None,
        help="objective(s) for the RTGen scenarios (repeatable; default misses)",
    )
    p.add_argument("--only", action="append", default=[], help="substring of file names")
    p.add_argument("--scenarios", default=str(ROOT / "instances" / "scenarios"))
    p.add_argument("--fjsp", default=str(ROOT.parent / "shared" / "external" / "fjsp"))
    p.add_argument("--no-pyjobshop", action="store_true")
    p.add_argument("--out-dir", default=str(ROOT / "bench" / "results"))
    args = p.parse_args(argv)
    args.objective = args.objective or ["misses"]
    write(run(args), args)


if __name__ == "__main__":
    main()
