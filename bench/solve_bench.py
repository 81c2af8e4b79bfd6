"""Solve benchmark (issue 3, item 7; seeds from issue 15, item 5): every scenario in
instances/scenarios and every flexible job shop instance in ../shared/external/fjsp, at a fixed
time limit and worker count, with PyJobShop's CP-SAT model on the same FJSP instances side by
side, interleaved per instance and seed (the order alternates so neither always runs first).

Writes ``bench/results/solve.md`` and ``solve.csv``: one CSV row per instance and seed (status,
value, bound, gap, time; for FJSP the best known value (bks.csv), our gap to it, and
PyJobShop's status, value, bound, time and gap to the best known value). The table gives per
instance the median over the seeds with the range; the summary per set the proven count and
the mean gap to the best known value, as the median over the seeds with their range.

Usage (the full table at 3 seeds; most instances close in seconds)::

    flock /tmp/rtgen-bench.lock python bench/solve_bench.py --time-limit 60 --seeds 0 1 2

Brandimarte only::

    python bench/solve_bench.py --time-limit 60 --seeds 0 1 2 --sets Brandimarte

Smoke test::

    python bench/solve_bench.py --time-limit 2 --only 179 --only 1.txt --only small --seeds 0

PyJobShop is optional (``pip install pyjobshop==0.0.9``; ``--no-pyjobshop`` to skip).
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import statistics
import sys
import time
from pathlib import Path

import rtgen_opt
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
    "seed",
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

    started = time.perf_counter()  # the model build counts, as ours does
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
    r = m.solve(
        "ortools",
        time_limit=max(0.01, time_limit - (time.perf_counter() - started)),
        display=False,
        num_workers=workers,
        random_seed=seed,
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

    jobs: list[tuple[str, str, Path, tuple[str, ...]]] = []
    if not args.sets or "rtgen" in args.sets:
        for path in sorted(Path(args.scenarios).glob("*.yaml")):
            if wanted(path.name):
                jobs.extend(
                    ("rtgen", "rtgen", path, Objective.parse(obj).names) for obj in args.objective
                )
    fjsp_dir = Path(args.fjsp)
    bks = {}
    if (fjsp_dir / "bks.csv").exists():
        for row in csv.DictReader((fjsp_dir / "bks.csv").open()):
            bks[row["instance"]] = (row["category"], float(row["bks"]))
    fjsp = sorted(fjsp_dir.glob("*.txt"), key=lambda p: int(p.stem) if p.stem.isdigit() else 0)
    for p in fjsp:
        group = bks.get(p.name, ("fjsp",))[0]
        if wanted(p.name) and (not args.sets or group in args.sets):
            jobs.append(("fjsp", group, p, ("makespan",)))

    rows: list[dict] = []
    for k, (kind, group, path, objective) in enumerate(jobs):
        inst = read_fjsp(path) if kind == "fjsp" else load_instance(path)
        for s, seed in enumerate(args.seeds):
            row = {"set": group, "instance": path.name, "objective": ",".join(objective)}
            row["seed"] = seed
            best = bks[path.name][1] if kind == "fjsp" and path.name in bks else None
            theirs = best is not None and not args.no_pyjobshop
            order = ("ours", "theirs") if (k + s) % 2 == 0 else ("theirs", "ours")
            for who in order:
                if who == "ours":
                    row.update(ours(inst, objective, args, seed))
                elif theirs:
                    try:
                        row.update(pyjobshop_solve(inst, args.time_limit, args.workers, seed))
                        row["pjs_gap_to_best"] = _gap(row["pjs_value"], best)
                    except ImportError:
                        print("pyjobshop not installed: skipping it", file=sys.stderr)
                        args.no_pyjobshop = True
            if best is not None:
                row["best_known"] = best
                row["gap_to_best"] = _gap(row["value"], best)
            rows.append(row)
            print(_line(row), file=sys.stderr, flush=True)
            write(rows, args)  # partial results survive an interruption
    return rows


def ours(inst: Instance, objective: tuple[str, ...], args: argparse.Namespace, seed: int) -> dict:
    """rtgen_opt.solve (the front door: starts, method by size, CP-SAT)."""
    started = time.perf_counter()
    r = rtgen_opt.solve(
        inst, objective, time_limit=args.time_limit, workers=args.workers, seed=seed
    )
    return {
        "status": str(r.status),
        "value": _first_or_all(r.objective),
        "bound": _first_or_all(r.bound),
        "gap": r.gap,
        "time_s": time.perf_counter() - started,
    }


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


def _spread(values: list, fmt) -> str:
    """Median (min-max) of per-seed values; one value alone."""
    values = [v for v in values if v is not None]
    if not values:
        return ""
    if isinstance(values[0], tuple):  # lexicographic: per seed, listed
        return "; ".join(fmt(v) for v in values)
    med = statistics.median(values)
    if min(values) == max(values):
        return fmt(med)
    return f"{fmt(med)} ({fmt(min(values))}-{fmt(max(values))})"


def _pct(v) -> str:
    return "" if v is None else f"{v:.2%}"


def write(rows: list[dict], args: argparse.Namespace) -> None:
    out = Path(args.out_dir)
    buf = io.StringIO()
    w = csv.DictWriter(buf, COLUMNS, lineterminator="\n")
    w.writeheader()
    for row in rows:
        w.writerow({k: _fmt(row.get(k)) for k in COLUMNS})
    write_atomic(out / "solve.csv", buf.getvalue())

    seeds = sorted({r["seed"] for r in rows})
    command = (
        f"python bench/solve_bench.py --time-limit {args.time_limit:g} --workers {args.workers}"
        f" --seeds {' '.join(map(str, args.seeds))}"
        + "".join(f" --sets {s}" for s in args.sets)
        + "".join(f" --only {o}" for o in args.only)
    )
    lines = [
        "# Solve benchmark",
        "",
        f"`{command}`: rtgen_opt.solve (CP-SAT) beside PyJobShop 0.0.9's CP-SAT model on the"
        f" FJSP sets, OR-Tools 9.15, the same limit, {args.workers} workers and seed,"
        f" interleaved per instance and seed; {len(seeds)} seed(s) run: {', '.join(map(str, seeds))}."
        " Each cell: the median over the seeds (min-max when they differ); proven = how many"
        " seeds proved optimality.",
        "",
        "| set | instance | objective | proven | value | bound | time (s) | best known |"
        " gap to best | PyJobShop proven | PyJobShop value | PyJobShop bound | PyJobShop time (s)"
        " | PyJobShop gap to best |",
        "|" + "---|" * 14,
    ]
    keys = list(dict.fromkeys((r["set"], r["instance"], r["objective"]) for r in rows))
    for key in keys:
        sel = [r for r in rows if (r["set"], r["instance"], r["objective"]) == key]
        n = len(sel)
        has_pjs = any(r.get("pjs_status") for r in sel)
        cells = [
            *key,
            f"{sum(r['status'] == 'optimal' for r in sel)}/{n}",
            _spread([r["value"] for r in sel], _fmt),
            _spread([r["bound"] for r in sel], _fmt),
            _spread([r["time_s"] for r in sel], lambda v: f"{v:.1f}"),
            _fmt(sel[0].get("best_known")),
            _spread([r.get("gap_to_best") for r in sel], _pct),
            f"{sum(r.get('pjs_status') == 'optimal' for r in sel)}/{n}" if has_pjs else "",
            _spread([r.get("pjs_value") for r in sel], _fmt),
            _spread([r.get("pjs_bound") for r in sel], _fmt),
            _spread([r.get("pjs_time_s") for r in sel], lambda v: f"{v:.1f}"),
            _spread([r.get("pjs_gap_to_best") for r in sel], _pct),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "Summary per set (median over the seeds, range in brackets):", ""]
    for group in sorted({r["set"] for r in rows}):
        text = f"- {group}:"
        for label, status, gap in (
            ("rtgen_opt", "status", "gap_to_best"),
            ("PyJobShop", "pjs_status", "pjs_gap_to_best"),
        ):
            proven, gaps = [], []
            for seed in seeds:
                sel = [r for r in rows if r["set"] == group and r["seed"] == seed]
                if not sel or not any(r.get(status) for r in sel):
                    continue
                proven.append(sum(r.get(status) == "optimal" for r in sel))
                g = [r[gap] for r in sel if r.get(gap) is not None]
                if g:
                    gaps.append(sum(g) / len(g))
            if not proven:
                continue
            n = len({r["instance"] for r in rows if r["set"] == group})
            text += f" {label} proven {_spread(proven, lambda v: f'{v:g}')}/{n}"
            if gaps:
                text += f", mean gap to best known {_spread(gaps, _pct)}"
            text += ";"
        lines.append(text.rstrip(";"))
    write_atomic(out / "solve.md", "\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--time-limit", type=float, default=60.0)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument(
        "--sets",
        action="append",
        default=[],
        help="only these sets (rtgen, Brandimarte, Kacem, Fattahi; repeatable)",
    )
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
