"""Probe benchmark: how long the CP-SAT feasibility probe takes to prove "makespan <= z* - 1"
infeasible on the hardest flexible job shop proofs, with three searches side by side in one run.

- ``probe``: the shipped probe (:meth:`CpsatModel.probe`: no-LP and default-LP subsolvers,
  per-set loads, symmetry breaking C12);
- ``probe-no-c12``: the same without the symmetry breaking of interchangeable jobs;
- ``shared-tree``: the shipped probe model, searched by CP-SAT's shared tree workers (they
  split one search tree) without LP and with the strongest no-overlap propagation.

Fattahi MFJS10 (193.txt, optimum 1196) is the instance issue 3 could not prove in 60 s; the
probe at 1195 is the proof it needs. Writes ``bench/results/probe.md``.

Usage (about 10 minutes on 2 workers)::

    python bench/probe_bench.py --time-limit 120 --workers 2
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from rtgen_opt.exact.cpsat.model import CpsatModel, probe_search
from rtgen_opt.exact.list_schedule import list_schedule
from rtgen_opt.files import write_atomic
from rtgen_opt.importers.fjsp import read_fjsp

ROOT = Path(__file__).resolve().parent.parent
FJSP = ROOT.parent / "shared" / "external" / "fjsp"
#: (file, set, name, value to probe = best known - 1)
CASES = (
    ("183.txt", "Kacem", "Kacem 5", 10),
    ("192.txt", "Fattahi", "MFJS9", 1054),
    ("193.txt", "Fattahi", "MFJS10", 1195),
)


def searches(workers: int) -> dict[str, dict]:
    """The keyword arguments of :meth:`CpsatModel.probe` per search."""
    # The shipped search of a classic job shop's probes, here on flexible shops too.
    shared_tree = probe_search(workers, job_shop=True)
    return {
        "probe": {},
        "probe-no-c12": {"symmetry": False},
        "shared-tree": {"parameters": shared_tree},
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--time-limit", type=float, default=120.0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--only", action="append", help="run only these files (repeatable)")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "probe.md")
    args = ap.parse_args(argv)
    rows = []
    for file, family, name, at in CASES:
        if args.only and file not in args.only:
            continue
        inst = read_fjsp(FJSP / file)
        model = CpsatModel(inst, ("makespan",), list_schedule(inst, "makespan"))
        at_int = round(at / model.win.scale.unit_ms)
        for search, options in searches(args.workers).items():
            started = time.perf_counter()
            r = model.probe(
                0,
                at_int,
                time_limit=args.time_limit,
                workers=args.workers,
                seed=args.seed,
                **options,
            )
            wall = time.perf_counter() - started
            rows.append((family, file, name, at, search, r.status, wall))
            print(f"{name:8} <= {at:5} {search:13} {r.status:10} {wall:7.1f} s", file=sys.stderr)
    lines = [
        f"# Feasibility probes at best known - 1 ({args.time_limit:g} s, {args.workers} workers,"
        f" seed {args.seed})",
        "",
        "`python bench/probe_bench.py --time-limit "
        f"{args.time_limit:g} --workers {args.workers}`. 'infeasible' proves the best known"
        " value optimal; 'unknown' is a timeout.",
        "",
        "| set | instance | name | makespan <= | search | status | time_s |",
        "|---|---|---|---|---|---|---|",
    ]
    lines += [f"| {a} | {b} | {c} | {d} | {e} | {f} | {g:.2f} |" for a, b, c, d, e, f, g in rows]
    write_atomic(args.out, "\n".join(lines) + "\n")
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
