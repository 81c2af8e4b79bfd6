"""Load sweeps: where each policy breaks, against where the optimum does.

``rtgen-opt sweep SCENARIO --load 0.25:3:0.25`` compiles the scenario at every load point
(:func:`rtgen_opt.compile` with ``load=``), runs every policy and exact solver on each point as a
report does (same cache, resume, parallel and Dask behaviour: it *is* a report over the loaded
instances), and adds what a sweep is for:

- the **frontier**: DVR against load for every policy, the exact schedule's DVR as a line and,
  where the solver did not prove optimality, the band between a certified lower bound on the
  optimum's DVR and the incumbent's; TTFT-SLO attainment against load likewise;
- each method's **breaking load**: the largest load up to which its *excess* DVR -- its missed
  jobs beyond the sure misses (:func:`rtgen_opt.exact.bounds.sure_misses`: jobs that end too
  late even alone on the idle platform, so every schedule misses them), over all jobs -- stays
  within the threshold (1% by default) at every point; the optimum's beside it (certified: at least the
  incumbent's, at most the first load where the bound proves a miss rate above the threshold),
  and their ratio, the headroom a policy wastes;
- with ``noise > 0``, every policy replayed over ``seeds`` noise seeds at every point: bands of
  DVR over the seeds.

DVR counts jobs; the exact bound is on *weighted* misses, so its DVR lower bound is
``bound / (max job weight x jobs)`` (a schedule with ``k`` missed jobs has weighted misses at most
``k x max weight``).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from rtgen_opt.compile import compile as compile_scenario
from rtgen_opt.errors import ArgumentError
from rtgen_opt.exact.bounds import sure_misses
from rtgen_opt.files import write_atomic
from rtgen_opt.metrics import evaluate
from rtgen_opt.online import perturb
from rtgen_opt.parallel import Executor, available_cores
from rtgen_opt.report.executor import Cache, progress_bar, run_units
from rtgen_opt.report.gantt import save_figure
from rtgen_opt.report.html import write_report, write_results
from rtgen_opt.report.records import Sweep
from rtgen_opt.report.run import sweep as run_sweep
from rtgen_opt.report.suite import SuiteEntry
from rtgen_opt.report.tables import markdown_table
from rtgen_opt.report.units import Settings, make_unit
from rtgen_opt.schedule import Schedule
from rtgen_opt.validate import check

#: A method "holds" at a load while its DVR is at most this (``--threshold``).
DEFAULT_THRESHOLD = 0.01


def parse_loads(text: str) -> list[float]:
    """``"0.25:3:0.25"`` (start:stop:step, stop included) or ``"0.5,1,2"`` -> sorted loads.

    >>> parse_loads("0.5:2:0.5"), parse_loads("1, 0.5,3")
    ([0.5, 1.0, 1.5, 2.0], [0.5, 1.0, 3.0])
    """
    try:
        if ":" in text:
            start, stop, step = (float(x) for x in text.split(":"))
            if not (start > 0 and step > 0 and stop >= start):
                raise ValueError
            count = int(math.floor((stop - start) / step + 1e-9)) + 1
            loads = [round(start + k * step, 10) for k in range(count)]
        else:
            loads = sorted({float(x) for x in text.split(",")})
    except ValueError:
        raise ArgumentError(
            "--load", f"expected START:STOP:STEP (0.25:3:0.25) or a list (0.5,1,2), got {text!r}"
        ) from None
    if not loads or any(not (0 < x < math.inf) for x in loads):
        raise ArgumentError("--load", f"expected loads > 0, got {text!r}")
    return loads


def point_name(stem: str, load: float) -> str:
    """The report name of a load point: ``game_npc_small-load1.5``."""
    return f"{stem}-load{load:g}"


@dataclass(frozen=True)
class LoadSweep:
    """A finished load sweep: the report over the load points, and the frontier."""

    scenario: str
    loads: tuple[float, ...]
    report: Sweep
    table: pd.DataFrame  # the report's rows with a ``load`` column
    noise: pd.DataFrame  # one row per (load, policy, seed) when noise > 0
    breaking: pd.DataFrame  # one row per method
    threshold: float
    streams: tuple[str, ...] = ()  # the loaded streams; () = every stream


def run(
    scenario: str | os.PathLike[str],
    loads: Sequence[float],
    *,
    out: str | os.PathLike[str] | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    noise: float = 0.0,
    seeds: int = 1,
    quiet: bool = False,
    force: bool = False,
    streams: Sequence[str] | None = None,
    **report_options: Any,
) -> LoadSweep:
    """Sweep ``scenario`` over ``loads`` (see the module docstring); ``streams`` loads only the
    named streams (the others keep their rates); ``report_options`` are those of
    :func:`rtgen_opt.report.run` (objective, policies, solvers, time_limit, workers,
    solver_threads, seed, scheduler)."""
    if not 0 <= threshold < 1:
        raise ArgumentError("threshold", f"expected a DVR in [0, 1), got {threshold!r}")
    if not (isinstance(seeds, int) and seeds >= 1):
        raise ArgumentError("seeds", f"expected an integer >= 1, got {seeds!r}")
    path = Path(scenario)
    loads = tuple(sorted(loads))
    entries = []
    for load in loads:
        inst = compile_scenario(path, load={s: load for s in streams} if streams else load)
        name = point_name(path.stem, load)
        entries.append(SuiteEntry(name, replace(inst, name=name), path.as_posix()))
    report = run_sweep(entries, out=out, quiet=quiet, force=force, **report_options)
    load_of = {point_name(path.stem, x): x for x in loads}
    table = report.table.copy()
    table.insert(1, "load", table["instance"].map(load_of))
    sure = {e.name: len(sure_misses(e.instance)) for e in entries}
    table.insert(2, "sure_misses", table["instance"].map(sure))
    table["excess_dvr"] = (table["misses"] - table["sure_misses"]).clip(lower=0) / table["jobs"]
    noisy = (
        _noise_runs(report, load_of, noise, seeds, out, quiet, force)
        if noise > 0
        else _empty_noise()
    )
    breaking = breaking_loads(table, report, threshold)
    result = LoadSweep(
        path.as_posix(), loads, report, table, noisy, breaking, threshold, tuple(streams or ())
    )
    if out is not None:
        write_sweep(result, Path(out), quiet=quiet)
    return result


# --------------------------------------------------------------------------- noise
def _empty_noise() -> pd.DataFrame:
    return pd.DataFrame(columns=["load", "method", "seed", "dvr", "ttft_attainment"])


def _noise_runs(
    report: Sweep,
    load_of: dict[str, float],
    noise: float,
    seeds: int,
    out: str | os.PathLike[str] | None,
    quiet: bool,
    force: bool,
) -> pd.DataFrame:
    """Every policy at every point over ``seeds`` noise seeds: DVR and TTFT attainment, each
    schedule validated against its perturbed instance."""
    settings = report.settings
    units = []
    for e in report.entries:
        d = e.instance.to_dict()
        for p in report.policies:
            for s in range(seeds):
                noisy = Settings(
                    settings.objective, settings.time_limit, settings.solver_threads, s
                )
                unit = make_unit(e.name, d, p, "policy", noisy, noise=noise)
                units.append(replace(unit, method=f"{p}~{s}"))
    cache = Cache(None if out is None else Path(out) / "cache", force=force)
    stats: dict[str, int] = {}
    with Executor(available_cores()) as executor:
        raw = run_units(units, cache, executor=executor, desc="noise", quiet=quiet, stats=stats)
    by_name = {e.name: e for e in report.entries}
    rows = []
    for (name, method), result in sorted(raw.items()):
        policy, _, seed = method.rpartition("~")
        if result.get("schedule") is None:
            continue
        actual = perturb(by_name[name].instance, noise, int(seed))
        schedule = check(actual, Schedule.from_dict(result["schedule"]))
        m = evaluate(actual, schedule).summary
        rows.append(
            {
                "load": load_of[name],
                "method": policy,
                "seed": int(seed),
                "dvr": m["dvr"],
                "ttft_attainment": m["ttft_attainment"],
            }
        )
    return pd.DataFrame(rows, columns=_empty_noise().columns)


# --------------------------------------------------------------------------- breaking loads
def _dvr_lower_bound(report: Sweep, name: str, bound: float, *, excess: bool = False) -> float:
    """A certified lower bound on the optimum's DVR from its bound on weighted misses; with
    ``excess``, on its DVR beyond the sure misses (every schedule misses those, so the other
    missed jobs weigh at least ``bound`` - their weight, each at most the heaviest)."""
    instance = report_instance(report, name)
    jobs = instance.jobs
    counted = [j for j in jobs.values() if j.deadline is not None]
    if not counted or not math.isfinite(bound) or bound <= 0:
        return 0.0
    heaviest = max(j.weight for j in counted)
    if heaviest <= 0:
        return 0.0
    sure = sure_misses(instance)
    if excess:
        rest = bound - sum(jobs[j].weight for j in sure)
        return min(1.0, max(0.0, rest) / (heaviest * len(jobs)))
    return min(1.0, max(len(sure), bound / heaviest) / len(jobs))


def report_instance(report: Sweep, name: str):  # -> Instance
    return next(e.instance for e in report.entries if e.name == name)


def breaking_loads(table: pd.DataFrame, report: Sweep, threshold: float) -> pd.DataFrame:
    """Per method: the largest load up to which its DVR stays within ``threshold`` at every
    load point, and for the optimum the certified interval (see the module docstring)."""
    rows = []
    exact = set(report.solvers)
    best_exact = _best_exact(table, exact)
    for method in dict.fromkeys(table.loc[table["kind"] == "policy", "method"]):
        t = table[table["method"] == method].sort_values("load")
        rows.append({"method": method, "kind": t["kind"].iloc[0], **_holds(t, threshold)})
    if best_exact is not None:
        lower = _holds(best_exact, threshold)["breaking_load"]
        # The optimum surely breaks at the first load whose DVR lower bound exceeds the threshold.
        upper = math.inf
        for _, r in best_exact.sort_values("load").iterrows():
            if _dvr_lower_bound(report, r["instance"], r["bound"], excess=True) > threshold:
                upper = r["load"]
                break
        proven = bool(best_exact["optimal"].all())
        rows.insert(
            0,
            {
                "method": "optimum",
                "kind": "optimum",
                "breaking_load": lower,
                "broken_at": upper if math.isfinite(upper) else math.nan,
                "certified": proven,
            },
        )
    df = pd.DataFrame(rows)
    opt = df.loc[df["method"] == "optimum", "breaking_load"]
    if len(opt):
        o = float(opt.iloc[0])
        df["headroom"] = [
            (o / b if b and b > 0 and not math.isnan(b) else math.nan) if m != "optimum" else 1.0
            for m, b in zip(df["method"], df["breaking_load"], strict=True)
        ]
    return df


def _holds(rows: pd.DataFrame, threshold: float) -> dict[str, Any]:
    """The last load before the first one with an excess DVR (beyond the sure misses; the DVR
    where a table has no ``excess_dvr``) above ``threshold`` (0 when the first point already
    breaks it; the largest load when none does)."""
    column = "excess_dvr" if "excess_dvr" in rows else "dvr"
    last = 0.0
    for _, r in rows.sort_values("load").iterrows():
        if not (r[column] <= threshold + 1e-12):
            return {"breaking_load": last, "broken_at": r["load"], "certified": True}
        last = r["load"]
    return {"breaking_load": last, "broken_at": math.nan, "certified": True}


def _best_exact(table: pd.DataFrame, exact: set[str]) -> pd.DataFrame | None:
    """Per load, the exact row with the lowest value (the incumbent), with the best bound."""
    ex = table[table["method"].isin(exact) & table["value"].notna()]
    if ex.empty:
        return None
    out = []
    for _, group in ex.groupby("load", sort=True):
        best = group.sort_values(["value", "method"]).iloc[0].copy()
        best["bound"] = group["bound"].max()
        best["optimal"] = bool(best["optimal"])
        out.append(best)
    return pd.DataFrame(out)


# --------------------------------------------------------------------------- pictures
def frontier_figure(sweep: LoadSweep, column: str = "dvr", label: str = "DVR") -> Figure:
    """``column`` against load: one line per policy (a band over noise seeds), the exact line
    and its bound band."""
    fig = Figure(figsize=(8.0, 4.6))
    ax = fig.subplots()
    t = sweep.table
    policies = [m for m in dict.fromkeys(t.loc[t["kind"] == "policy", "method"])]
    colours = _colours(len(policies))
    for method, colour in zip(policies, colours, strict=True):
        rows = t[t["method"] == method].sort_values("load")
        ax.plot(rows["load"], rows[column], marker="o", ms=3, lw=1.2, color=colour, label=method)
        noisy = sweep.noise[sweep.noise["method"] == method]
        if len(noisy):
            band = noisy.groupby("load")[column].agg(["min", "max"]).sort_index()
            ax.fill_between(band.index, band["min"], band["max"], color=colour, alpha=0.15, lw=0)
    best = _best_exact(t, set(sweep.report.solvers))
    if best is not None:
        ax.plot(
            best["load"], best[column], color="black", lw=2.4, label="optimum (exact)", zorder=5
        )
        if column == "dvr":
            lower = [
                _dvr_lower_bound(sweep.report, r["instance"], r["bound"])
                for _, r in best.iterrows()
            ]
            unproven = ~best["optimal"].astype(bool)
            if unproven.any():
                ax.fill_between(
                    best["load"],
                    lower,
                    best[column],
                    where=unproven.to_numpy(),
                    color="black",
                    alpha=0.18,
                    lw=0,
                    label="optimum: certified band",
                )
    if column == "dvr":
        points = t.drop_duplicates("load").sort_values("load")
        floor = points["sure_misses"] / points["jobs"]
        if (floor > 0).any():
            ax.plot(
                points["load"], floor, color="grey", ls="--", lw=1, label="jobs no schedule saves"
            )
        ax.plot(
            points["load"],
            floor + sweep.threshold,
            color="grey",
            ls=":",
            lw=1,
            label=f"threshold ({sweep.threshold:.0%} above those)",
        )
    ax.set_xlabel("load (x the scenario's rates)")
    ax.set_ylabel(label)
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2, loc="upper left")
    ax.set_title(f"{Path(sweep.scenario).stem}: {label} against load")
    fig.tight_layout()
    return fig


def _colours(n: int) -> list:
    from matplotlib import colormaps

    cmap = colormaps["tab10"]
    return [cmap(i % 10) for i in range(n)]


# --------------------------------------------------------------------------- files
def breaking_rows(sweep: LoadSweep) -> list[list[str]]:
    def fmt(x: float) -> str:
        return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:g}"

    out = [["method", "holds up to load", "breaks at", "headroom (optimum / method)"]]
    for _, r in sweep.breaking.iterrows():
        holds = fmt(r["breaking_load"])
        if r["method"] == "optimum" and not r["certified"]:
            holds = f">= {holds}"
        head = r.get("headroom", math.nan)
        out.append(
            [
                str(r["method"]),
                holds,
                fmt(r["broken_at"]),
                "–" if math.isnan(head) else f"{head:.2f}x",
            ]
        )
    return out


def write_sweep(sweep: LoadSweep, out: Path, *, quiet: bool = True) -> None:
    """The report of every load point (:func:`rtgen_opt.report.html.write_report`), then the
    sweep's own files over it: results.csv with the load, the frontier plots, report.md and
    report.html with the breaking loads first."""
    write_report(sweep.report, out, quiet=quiet)
    write_results(sweep.table, out)
    if len(sweep.noise):
        write_atomic(out / "noise.csv", sweep.noise.to_csv(index=False, float_format="%.10g"))
    with progress_bar(2, "frontier", quiet) as bar:
        save_figure(frontier_figure(sweep), out / "figures" / "frontier.png")
        bar.update(1)
        save_figure(
            frontier_figure(sweep, "ttft_attainment", "TTFT-SLO attainment"),
            out / "figures" / "ttft.png",
        )
        bar.update(1)
    head = [
        f"# Load sweep: {sweep.scenario}",
        "",
        f"Loads {', '.join(f'{x:g}' for x in sweep.loads)} (x the rate of"
        f" {', '.join(sweep.streams) if sweep.streams else 'every stream'}). A method"
        f" *holds* at a load while its DVR beyond the jobs no schedule can save (sure misses:"
        " those that end too late even alone on the idle chip; column `sure_misses` of"
        f" results.csv) is at most {sweep.threshold:.0%}; its breaking load is"
        " the last load up to which it holds at every point. The optimum's is certified from the"
        " exact solver: at least the incumbent's, and broken where the proven bound forces a"
        " higher DVR. Headroom = the optimum's breaking load / the method's.",
        "",
        markdown_table(breaking_rows(sweep)),
        "",
        "![DVR against load](figures/frontier.png)",
        "",
        "![TTFT-SLO attainment against load](figures/ttft.png)",
        "",
    ]
    body = (out / "report.md").read_text()
    write_atomic(out / "report.md", "\n".join(head) + "\n" + body)
    html = (out / "report.html").read_text()
    intro = (
        f"<h1>Load sweep: {sweep.scenario}</h1>"
        + _html_table(breaking_rows(sweep))
        + '<p><img src="figures/frontier.png" alt="DVR against load"></p>'
        + '<p><img src="figures/ttft.png" alt="TTFT-SLO attainment against load"></p>'
    )
    write_atomic(out / "report.html", html.replace("<body>", "<body>" + intro, 1))


def _html_table(rows: list[list[str]]) -> str:
    import html as h

    head, *body = rows
    cells = "".join(f"<th>{h.escape(c)}</th>" for c in head)
    lines = "".join("<tr>" + "".join(f"<td>{h.escape(c)}</td>" for c in r) + "</tr>" for r in body)
    return f"<table><thead><tr>{cells}</tr></thead><tbody>{lines}</tbody></table>"


__all__ = ["DEFAULT_THRESHOLD", "LoadSweep", "breaking_loads", "parse_loads", "run"]
