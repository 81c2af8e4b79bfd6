"""Kasahara STG benchmark (issue 15, items 1 and 5): ``P|prec|Cmax`` on the 50-task graphs of
``../shared/external/stg`` at m = 2, 4, 8, our CP-SAT against a plain CP-SAT model.

The *plain model* is written here, apart from rtgen_opt: one interval per task, ``end(u) <=
start(v)`` per edge, one cumulative of capacity m, the makespan as the max of the ends,
minimised -- the textbook model of ``P|prec|Cmax``. *Ours* is ``rtgen_opt.solve(instance,
"makespan", "cpsat")`` as shipped (list-schedule hint, pools of identical processors,
redundant loads, probes); ``--variant nopool`` adds ours with ``pool=False`` (one optional
interval per processor and a no-overlap each: the model before issue 15). Same workers, same
time limit, same seeds; per (seed, m, graph) the models run back to back, in an order that
alternates with the seed, so that machine load hits them alike.

Writes ``bench/results/stg.md`` and ``stg.csv``: per m, the proven count of each model
(median [min-max] over the seeds), the graphs the plain model proves and ours does not, our
values against the listed optima (``optima/Case50_{m}_OPT.csv``), and the geometric mean of
our time over the plain model's.

Usage (the committed tables: 12 graphs x 3 m x 3 seeds x 3 models at 10 s, 9 min; then the
four graphs whose optimum the list leaves open at both m = 4 and m = 8, at m = 8)::

    flock /tmp/rtgen-bench.lock python bench/stg_bench.py --graphs 12 --variant nopool
    flock /tmp/rtgen-bench.lock python bench/stg_bench.py --variant nopool --procs 8 \
        --only rand0093 rand0110 rand0117 rand0177 --out bench/results/stg_open

Smoke test::

    python bench/stg_bench.py --graphs 2 --procs 4 --seeds 0 --time-limit 2 --out /tmp/stg
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import statistics
import time
from pathlib import Path

from ortools.sat.python import cp_model
from summary import median_range  # noqa: E402  (bench/ is on sys.path)

from rtgen_opt.exact.solve import solve
from rtgen_opt.files import write_atomic
from rtgen_opt.importers.stg import read_stg
from rtgen_opt.instance import Instance

ROOT = Path(__file__).resolve().parent.parent
STG = ROOT.parent / "shared" / "external" / "stg"
COLUMNS = ("seed", "m", "graph", "model", "status", "value", "bound", "time_s", "listed_opt")


def plain_model(inst: Instance, m: int, time_limit: float, workers: int, seed: int) -> dict:
    """The textbook CP-SAT model of ``P|prec|Cmax`` (see the module docstring)."""
    model = cp_model.CpModel()
    dur = {t: round(next(iter(inst.durations(t).values()))) for t in inst.tasks}
    horizon = sum(dur.values())
    start, end, intervals = {}, {}, []
    for t in inst.tasks:
        start[t] = model.NewIntVar(0, horizon, f"s{t}")
        end[t] = model.NewIntVar(0, horizon, f"e{t}")
        intervals.append(model.NewIntervalVar(start[t], dur[t], end[t], f"i{t}"))
    for u, v in inst.graph.edges:
        model.Add(end[u] <= start[v])
    model.AddCumulative(intervals, [1] * len(intervals), m)
    makespan = model.NewIntVar(0, horizon, "makespan")
    model.AddMaxEquality(makespan, list(end.values()))
    model.Minimize(makespan)
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = time_limit
    solver.parameters.num_workers = workers
    solver.parameters.random_seed = seed
    started = time.perf_counter()
    code = solver.Solve(model)
    wall = time.perf_counter() - started
    found = code in (cp_model.OPTIMAL, cp_model.FEASIBLE)
    return {
        "status": {cp_model.OPTIMAL: "optimal", cp_model.FEASIBLE: "feasible"}.get(code, "unknown"),
        "value": solver.ObjectiveValue() if found else None,
        "bound": solver.BestObjectiveBound() if found else None,
        "time_s": wall,
    }


def ours(inst: Instance, time_limit: float, workers: int, seed: int, **options) -> dict:
    started = time.perf_counter()
    r = solve(
        inst, "makespan", "cpsat", time_limit=time_limit, workers=workers, seed=seed, **options
    )
    return {
        "status": str(r.status.value),
        "value": r.objective[0] if r.objective else None,
        "bound": r.bound[0] if r.bound else None,
        "time_s": time.perf_counter() - started,
    }


def listed_optima(m: int) -> dict[str, float]:
    """Graph -> the listed optimum at ``m`` processors (open graphs are left out)."""
    out = {}
    for line in (STG / "optima" / f"Case50_{m}_OPT.csv").read_text().splitlines():
        parts = line.strip().split(",")
        if len(parts) == 3:
            out[Path(parts[0]).stem] = float(parts[2])
    return out


def summarise(rows: list[dict], seeds: list[int], procs: list[int], models: list[str]) -> str:
    out = io.StringIO()
    graphs = sorted({r["graph"] for r in rows})
    limit = rows[0]["limit"] if rows else 0
    out.write("# Kasahara STG, 50-task graphs: our CP-SAT vs a plain CP-SAT model\n\n")
    out.write(
        f"`bench/stg_bench.py`: {len(graphs)} graphs ({', '.join(graphs)}), m = "
        f"{', '.join(map(str, procs))}, seeds {', '.join(map(str, seeds))}, {limit:g} s per "
        f"solve, {rows[0]['workers'] if rows else 0} workers. Plain = intervals + precedence + "
        "one cumulative of capacity m (written in the bench); ours = `rtgen_opt.solve(..., "
        '"makespan", "cpsat")` as shipped'
        + ("; nopool = ours with `pool=False`" if "nopool" in models else "")
        + ". Models run back to back per (seed, m, graph), order alternating with the seed.\n\n"
    )
    by = {(r["seed"], r["m"], r["graph"], r["model"]): r for r in rows}
    header = ["m"] + [f"proven {k}" for k in models]
    header += ["plain proves, ours not", "ours proven = listed opt", "time ours/plain (geomean)"]
    header += [f"median time {k} (s)" for k in models]
    out.write("| " + " | ".join(header) + " |\n|" + "---|" * len(header) + "\n")
    for m in procs:
        opt = listed_optima(m)
        counts = {
            k: [sum(by[s, m, g, k]["status"] == "optimal" for g in graphs) for s in seeds]
            for k in models
        }
        lost = sorted(
            {
                f"{g} (seed {s})"
                for s in seeds
                for g in graphs
                if by[s, m, g, "plain"]["status"] == "optimal"
                and by[s, m, g, "ours"]["status"] != "optimal"
            }
        )
        proven = [
            (s, g) for s in seeds for g in graphs if by[s, m, g, "ours"]["status"] == "optimal"
        ]
        listed = [(s, g) for s, g in proven if g in opt]
        match = sum(math.isclose(by[s, m, g, "ours"]["value"], opt[g]) for s, g in listed)
        ratios = [
            by[s, m, g, "ours"]["time_s"] / max(by[s, m, g, "plain"]["time_s"], 1e-3)
            for s in seeds
            for g in graphs
        ]
        geo = math.exp(statistics.fmean(math.log(x) for x in ratios))
        cells = [str(m)] + [median_range(counts[k]) + f" / {len(graphs)}" for k in models]
        cells += [
            str(len(lost)) + (f": {', '.join(lost)}" if lost else ""),
            f"{match}/{len(listed)}",
        ]
        cells.append(f"{geo:.2f}")
        for k in models:
            cells.append(
                f"{statistics.median(by[s, m, g, k]['time_s'] for s in seeds for g in graphs):.2f}"
            )
        out.write("| " + " | ".join(cells) + " |\n")
    out.write(
        '\nProven counts: median [min-max] over the seeds. "ours proven = listed opt": proven '
        "runs whose value equals the listed optimum, over proven runs of graphs with a listed "
        "optimum. Time ratio: per (seed, graph), wall time of ours (hint, model, solve, "
        "validation) over the plain model's solve, geometric mean.\n\n"
    )
    for m in procs:
        opt = listed_optima(m)
        closed = sorted(
            {
                f"{g} = {by[s, m, g, 'ours']['value']:g}"
                for s in seeds
                for g in graphs
                if g not in opt and by[s, m, g, "ours"]["status"] == "optimal"
            }
        )
        if closed:
            out.write(
                f"Listed as open at m = {m} and proven by ours (validated schedule, bound = "
                f"value): {', '.join(closed)}.\n\n"
            )
    out.write("## Per graph (status value/bound time, seed by seed)\n\n")
    out.write(
        "| m | graph | listed | " + " | ".join(models) + " |\n|" + "---|" * (3 + len(models)) + "\n"
    )
    for m in procs:
        opt = listed_optima(m)
        for g in graphs:
            cells = [str(m), g, f"{opt[g]:g}" if g in opt else "open"]
            for k in models:
                runs = [by[s, m, g, k] for s in seeds]
                cells.append(
                    "; ".join(
                        f"{r['status'][:3]} {_num(r['value'])}/{_num(r['bound'])} {r['time_s']:.2f}s"
                        for r in runs
                    )
                )
            out.write("| " + " | ".join(cells) + " |\n")
    return out.getvalue()


def _read_csv(path: str, limit: float, workers: int) -> list[dict]:
    rows = []
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            rows.append(
                {
                    **r,
                    "seed": int(r["seed"]),
                    "m": int(r["m"]),
                    "value": float(r["value"]) if r["value"] else None,
                    "bound": float(r["bound"]) if r["bound"] else None,
                    "time_s": float(r["time_s"]),
                    "limit": limit,
                    "workers": workers,
                }
            )
    return rows


def _num(x: float | None) -> str:
    return "-" if x is None else f"{x:g}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--graphs", type=int, default=12, help="the first N graphs (rand0000...)")
    ap.add_argument("--only", nargs="+", help="these graphs instead (e.g. rand0093)")
    ap.add_argument("--procs", type=int, nargs="+", default=[2, 4, 8])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--time-limit", type=float, default=10.0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--variant", action="append", default=[], choices=["nopool"])
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "stg"))
    ap.add_argument("--from-csv", action="store_true", help="only rewrite OUT.md from OUT.csv")
    args = ap.parse_args()
    if args.from_csv:
        rows = _read_csv(args.out + ".csv", args.time_limit, args.workers)
        seeds = sorted({r["seed"] for r in rows})
        models = list(dict.fromkeys(r["model"] for r in rows))
        procs = sorted({r["m"] for r in rows})
        write_atomic(Path(args.out + ".md"), summarise(rows, seeds, procs, models))
        return
    files = sorted((STG / "50").glob("rand*.stg"))[: args.graphs]
    if args.only:
        files = [STG / "50" / f"{g}.stg" for g in args.only]
    models = ["ours", "plain", *args.variant]
    rows: list[dict] = []
    for seed in args.seeds:
        for m in args.procs:
            for f in files:
                inst = read_stg(f, processors=m)
                opt = listed_optima(m).get(f.stem)
                order = models if seed % 2 == 0 else list(reversed(models))
                for k in order:
                    lim, w = args.time_limit, args.workers
                    if k == "plain":
                        res = plain_model(inst, m, lim, w, seed)
                    else:
                        res = ours(inst, lim, w, seed, **({"pool": False} if k == "nopool" else {}))
                    row = dict(seed=seed, m=m, graph=f.stem, model=k, listed_opt=opt, **res)
                    rows.append({**row, "limit": lim, "workers": w})
                    print(
                        f"seed {seed} m {m} {f.stem} {k}: {res['status']} {res['value']} "
                        f"{res['bound']} {res['time_s']:.2f}s",
                        flush=True,
                    )
        # After every seed, so that a run cut short still leaves the seeds it finished.
        write(args.out, rows, args.seeds[: args.seeds.index(seed) + 1], args.procs, models)


def write(
    out: str, rows: list[dict], seeds: list[int], procs: list[int], models: list[str]
) -> None:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for r in rows:
        writer.writerow({**r, "time_s": f"{r['time_s']:.3f}"})
    write_atomic(Path(out + ".csv"), buf.getvalue())
    write_atomic(Path(out + ".md"), summarise(rows, seeds, procs, models))


if __name__ == "__main__":
    main()
