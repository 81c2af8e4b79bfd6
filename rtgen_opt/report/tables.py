"""The numbers of a gap report: one row per instance x method, the gap definition, the
aggregate per policy, and the Markdown report.

Gap
---
For a method's schedule with objective value ``v`` on an instance whose best proven lower bound
(over every exact solver, and the solver-free combinatorial bound) is ``b``:

- ``gap_abs = v - b`` (the objective's units: weighted missed jobs, ms or mJ);
- ``gap`` is the headline number: for a *count* objective (``misses``) it is ``gap_abs``, the
  number of (weighted) missed jobs more than the optimum could have; for the others it is the
  relative gap ``(v - b) / |v|`` (:func:`rtgen_opt.grid.relative_gap`), in [0, 1], 0 when ``v``
  equals the bound.
- ``optimal`` is true when ``v`` equals ``b`` (within the solvers' tolerance): the schedule is
  *provably* optimal. When an exact solver proved optimality, ``b`` is the optimum itself, so
  "optimal" is "equal to the optimum".

For a lexicographic objective (e.g. ``misses,tardiness``) the gap is taken on the first component
where ``v`` and ``b`` differ (earlier components are closed), as in
:attr:`rtgen_opt.exact.result.Result.gap`, in that component's unit; the ``gap_of`` column names
the component (empty when the schedule is optimal). ``value`` and ``bound`` show the first
component and the ``values``/``bounds`` columns all of them; ``first_gap`` is the gap of the
first component alone, which the aggregate over the suite averages (a mean of gaps of different
components, in different units, would mean nothing).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from rtgen_opt.grid import leq, relative_gap
from rtgen_opt.instance import Instance
from rtgen_opt.metrics import Metrics, placement
from rtgen_opt.objectives import Objective
from rtgen_opt.report.records import Outcome
from rtgen_opt.report.suite import SuiteEntry, method_file

#: Columns of the results table that change from run to run on the same inputs: they are kept
#: out of results.csv (and every committed file) and written to timings.csv instead.
RUN_COLUMNS = ("wall_s",)

COLUMNS = (
    "instance",
    "method",
    "kind",
    "objective",
    "value",
    "bound",
    "gap",
    "gap_abs",
    "optimal",
    "status",
    "jobs",
    "misses",
    "dvr",
    "ttft_p50_ms",
    "ttft_p99_ms",
    "ttft_attainment",
    "tokens_per_s",
    "energy_mj",
    "makespan_ms",
    "missed_streams",
    "solver_bound",
    "wall_s",
    "schedule",
    "error",
)


def gap(
    values: Sequence[float], bound: Sequence[float], objective: Objective
) -> tuple[float, float]:
    """``(gap, gap_abs)`` of an objective value against a lower bound (see the module docstring).

    Examples
    --------
    >>> gap((3.0,), (1.0,), Objective.parse("misses"))
    (2.0, 2.0)
    >>> gap((8.0,), (6.0,), Objective.parse("makespan"))
    (0.25, 2.0)
    >>> gap((1.0, 10.0), (1.0, 5.0), Objective.parse("misses,tardiness"))
    (0.5, 5.0)
    >>> gap((2.0,), (2.0,), Objective.parse("misses"))
    (0.0, 0.0)
    """
    k = open_component(values, bound)
    if k is None:
        return 0.0, 0.0
    v, b = values[k], bound[k]
    return (v - b if objective[k].counts_jobs else relative_gap(v, b)), v - b


def open_component(values: Sequence[float], bound: Sequence[float]) -> int | None:
    """The index of the first component where ``values`` is above ``bound`` (the one a
    lexicographic gap is of), or None when every component equals its bound.

    >>> open_component((1.0, 10.0), (1.0, 5.0)), open_component((2.0,), (2.0,))
    (1, None)
    """
    for k, (v, b) in enumerate(zip(values, bound, strict=True)):
        if not leq(v, b):
            return k
    return None


def missed_streams(metrics: Metrics | None) -> str:
    """``"cam 3/30; llm 1/4"``: the streams with misses, in the metrics' stream order."""
    if metrics is None:
        return ""
    streams = metrics.streams.drop(index="overall", errors="ignore")
    return "; ".join(
        f"{s} {int(r.misses)}/{int(r.jobs)}" for s, r in streams.iterrows() if r.misses > 0
    )


def results_table(
    entries: Sequence[SuiteEntry],
    policies: Sequence[str],
    solvers: Sequence[str],
    outcomes: Mapping[tuple[str, str], Outcome],
    bounds: Mapping[str, tuple[float, ...]],
    objective: Objective,
) -> pd.DataFrame:
    """One row per instance x method (solvers first, then policies, in the given orders)."""
    rows = []
    lexicographic = len(objective) > 1
    for e in entries:
        bound = bounds[e.name]
        for method in (*solvers, *policies):
            o = outcomes[(e.name, method)]
            s = o.metrics.summary if o.metrics is not None else {}
            row: dict[str, Any] = {
                "instance": e.name,
                "method": method,
                "kind": o.kind,
                "objective": str(objective),
                "value": o.values[0] if o.values else math.nan,
                "bound": bound[0],
                "gap": math.nan,
                "gap_abs": math.nan,
                "optimal": False,
                "status": o.status,
                "jobs": s.get("jobs", math.nan),
                "misses": s.get("misses", math.nan),
                "dvr": s.get("dvr", math.nan),
                "ttft_p50_ms": s.get("ttft_p50_ms", math.nan),
                "ttft_p99_ms": s.get("ttft_p99_ms", math.nan),
                "ttft_attainment": s.get("ttft_attainment", math.nan),
                "tokens_per_s": s.get("tokens_per_s", math.nan),
                "energy_mj": s.get("energy_mj", math.nan),
                "makespan_ms": s.get("makespan_ms", math.nan),
                "missed_streams": missed_streams(o.metrics),
                "solver_bound": o.solver_bound[0] if o.solver_bound else math.nan,
                "wall_s": o.wall_s,
                "schedule": f"schedules/{e.name}/{method_file(method)}.json"
                if o.schedule is not None
                else "",
                "error": o.error or "",
            }
            if o.values is not None:
                g, g_abs = gap(o.values, bound, objective)
                row |= {"gap": g, "gap_abs": g_abs, "optimal": g_abs == 0.0}
            if lexicographic:
                row["values"] = ";".join(f"{v:.10g}" for v in o.values) if o.values else ""
                row["bounds"] = ";".join(f"{b:.10g}" for b in bound)
                k = open_component(o.values, bound) if o.values is not None else None
                row["gap_of"] = objective[k].name if k is not None else ""
                row["first_gap"] = (
                    gap(o.values[:1], bound[:1], Objective.parse(objective.first.name))[0]
                    if o.values is not None
                    else math.nan
                )
            rows.append(row)
    columns = list(COLUMNS) + (LEX_COLUMNS if lexicographic else [])
    df = pd.DataFrame(rows, columns=columns)
    return df.astype({"optimal": bool})


#: The extra columns of a lexicographic objective's table (see the module docstring).
LEX_COLUMNS = ["values", "bounds", "gap_of", "first_gap"]


def aggregate(table: pd.DataFrame) -> pd.DataFrame:
    """Per policy (in table order): instances, mean and max gap (of the first component, for a
    lexicographic objective), times optimal, mean DVR."""
    gaps = "first_gap" if "first_gap" in table.columns else "gap"
    policies = table[table["kind"] == "policy"]
    order = list(dict.fromkeys(policies["method"]))
    rows = []
    for method in order:
        t = policies[policies["method"] == method]
        ran = t[t["status"] != "error"]
        rows.append(
            {
                "policy": method,
                "instances": len(t),
                "mean_gap": ran[gaps].mean() if len(ran) else math.nan,
                "max_gap": ran[gaps].max() if len(ran) else math.nan,
                "optimal": int(ran["optimal"].sum()),
                "mean_dvr": ran["dvr"].mean() if len(ran) else math.nan,
                "errors": len(t) - len(ran),
            }
        )
    return pd.DataFrame(
        rows,
        columns=["policy", "instances", "mean_gap", "max_gap", "optimal", "mean_dvr", "errors"],
    )


# --------------------------------------------------------------------------- formatting
def fmt_num(x: Any, digits: int = 4) -> str:
    """A number for a table: ``–`` for missing, integers without decimals, else ``digits``
    significant digits."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    if isinstance(x, (bool,)):
        return "yes" if x else "no"
    x = float(x)
    if math.isinf(x):
        return "∞" if x > 0 else "-∞"
    if x == int(x) and abs(x) < 1e15:
        return str(int(x))
    if abs(x) >= 10**digits:
        return f"{x:.0f}"  # 27790, not 2.779e+04
    return f"{x:.{digits}g}"


def fmt_pct(x: Any) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    return f"{100 * float(x):.1f}%"


def fmt_gap(x: Any, objective: Objective, of: str | None = None) -> str:
    """A gap in its unit: a count for a criterion that counts jobs, a percentage otherwise; of
    the first component, or of the component named ``of``."""
    criterion = next((c for c in objective if c.name == of), objective.first)
    if criterion.counts_jobs:
        return fmt_num(x)
    return fmt_pct(x)


def _unit(criterion) -> str:
    if criterion.counts_jobs:
        return (
            "the absolute gap: (weighted) missed jobs above the best proven lower bound "
            "(the optimum when a solver proved it)"
        )
    return (
        "the relative gap (objective - best proven lower bound) / objective (0% = provably optimal)"
    )


def gap_definition(objective: Objective) -> str:
    """One sentence defining the gap for this objective (printed in every report)."""
    name = str(objective)
    if len(objective) == 1:
        return (
            f"Objective `{name}`. Gap = {_unit(objective.first)}. *optimal* = equal to the bound."
        )
    parts = "; ".join(f"on {c.name}, {_unit(c)}" for c in objective)
    return (
        f"Objective `{name}` (lexicographic). A schedule's gap is taken on the first component "
        f"where it is above the best proven bound, and each gap cell names that component: "
        f"{parts}. The mean and max gap over the suite are of the first component, "
        f"{objective.first.name}. *optimal* = equal to the bound on every component."
    )


INSTANCE_COLUMNS = (
    ("method", "method"),
    ("value", "objective"),
    ("gap", "gap"),
    ("optimal", "optimal"),
    ("misses", "misses"),
    ("dvr", "DVR"),
    ("ttft_p50_ms", "TTFT p50 ms"),
    ("ttft_p99_ms", "TTFT p99 ms"),
    ("tokens_per_s", "tok/s"),
    ("energy_mj", "energy mJ"),
    ("status", "status"),
)


def instance_rows(table: pd.DataFrame, instance: str, objective: Objective) -> list[list[str]]:
    """Formatted cells of an instance's table (header first)."""
    t = table[table["instance"] == instance]
    lexicographic = len(objective) > 1
    labels = {
        "value": f"objective ({'; '.join(objective.names)})",
        "gap": "gap (of the component)",
    }
    out = [[labels.get(col, label) if lexicographic else label for col, label in INSTANCE_COLUMNS]]
    for _, r in t.iterrows():
        cells = []
        for col, _ in INSTANCE_COLUMNS:
            v = r[col]
            if col == "value" and lexicographic:
                values = [float(x) for x in str(r["values"]).split(";") if x and x != "nan"]
                cells.append("; ".join(fmt_num(x) for x in values) or "–")
            elif col == "gap" and lexicographic and r["gap_of"]:
                cells.append(f"{fmt_gap(v, objective, r['gap_of'])} ({r['gap_of']})")
            elif col == "gap":
                cells.append(fmt_gap(v, objective))
            elif col == "dvr":
                cells.append(fmt_pct(v))
            elif col in ("method", "status"):
                cells.append(str(v))
            elif col == "optimal":
                cells.append("yes" if v else "")
            else:
                cells.append(fmt_num(v))
        out.append(cells)
    return out


def stream_rows(
    outcomes: Mapping[tuple[str, str], Outcome], instance: str, methods: Sequence[str]
) -> list[list[str]]:
    """Misses per stream (``missed/jobs``) of each method on one instance (header first)."""
    streams: list[str] = []
    per: dict[str, Any] = {}
    for m in methods:
        o = outcomes[(instance, m)]
        if o.metrics is None:
            continue
        df = o.metrics.streams.drop(index="overall", errors="ignore")
        per[m] = df
        streams += [s for s in df.index if s not in streams]
    out = [["method", *streams]]
    for m in methods:
        if m not in per:
            out.append([m, *("–" for _ in streams)])
            continue
        df = per[m]
        out.append(
            [
                m,
                *(
                    f"{int(df.loc[s, 'misses'])}/{int(df.loc[s, 'jobs'])}" if s in df.index else "–"
                    for s in streams
                ),
            ]
        )
    return out


#: A processor's share of a stream's work shown in the placement table from this on.
SHARE_SHOWN = 0.05


def placement_rows(
    instance: Instance,
    outcomes: Mapping[tuple[str, str], Outcome],
    name: str,
    methods: Sequence[str],
) -> list[list[str]]:
    """Why a method misses (header first): per stream, the processors its work ran on (share of
    its busy time, from 5% up); the transfers paid; and the time processors sat idle while a task
    they could run was waiting (:func:`rtgen_opt.metrics.placement`)."""
    rows: list[list[str]] = []
    streams: list[str] = []
    for m in methods:
        schedule = outcomes[(name, m)].schedule
        if schedule is None:
            continue
        p = placement(instance, schedule)
        streams += [s for s in p.work.index if s not in streams]
        cells = {}
        for stream, shares in p.work.iterrows():
            shown = sorted(
                ((v, proc) for proc, v in shares.items() if v >= SHARE_SHOWN), reverse=True
            )
            cells[stream] = ", ".join(f"{proc} {v:.0%}" for v, proc in shown) or "–"
        paid = p.transfers.sum()
        idle = p.idle["idle_waiting_ms"]
        worst = idle.idxmax() if len(idle) and idle.max() > 0 else None
        idle_cell = (
            "0" if worst is None else f"{fmt_num(idle.sum())} ({worst} {fmt_num(idle.max())})"
        )
        rows.append(
            [m, cells, f"{int(paid['transfers'])} / {fmt_num(paid['transfer_ms'])}", idle_cell]
        )
    out = [["method", *streams, "transfers / ms", "idle while work waited, ms (most)"]]
    for m, cells, paid, idle_cell in rows:
        out.append([m, *(cells.get(s, "–") for s in streams), paid, idle_cell])
    return out


def headline_rows(table: pd.DataFrame, objective: Objective) -> list[list[str]]:
    """The RTGen headline, per instance (header first): the DVR of the best and the worst
    policy, their spread, and the best policy's gap to the optimum (or the best bound), then
    the mean spread over the suite. RTGen (Ryzen AI) reports that the policy choice moves DVR
    by 41.7% on average; this is the same figure on our instances."""
    out = [
        ["instance", "best policy (DVR)", "worst policy (DVR)", "DVR spread (points)", "best gap"]
    ]
    spreads = []
    for name in dict.fromkeys(table["instance"]):
        t = table[(table["instance"] == name) & (table["kind"] == "policy")]
        t = t[t["dvr"].notna()]
        if t.empty:
            continue
        best = t.sort_values(["dvr", "method"]).iloc[0]
        worst = t.sort_values(["dvr", "method"], ascending=[False, True]).iloc[0]
        spread = worst["dvr"] - best["dvr"]
        spreads.append(spread)
        gaps = t["first_gap" if "first_gap" in t.columns else "gap"].dropna()
        out.append(
            [
                name,
                f"{best['method']} ({fmt_pct(best['dvr'])})",
                f"{worst['method']} ({fmt_pct(worst['dvr'])})",
                fmt_pct(spread),
                fmt_gap(gaps.min(), objective) if len(gaps) else "–",
            ]
        )
    if spreads:
        mean = sum(spreads) / len(spreads)
        out.append([f"mean over {len(spreads)}", "", "", fmt_pct(mean), ""])
    return out


def aggregate_rows(table: pd.DataFrame, objective: Objective) -> list[list[str]]:
    agg = aggregate(table)
    of = f" ({objective.first.name})" if len(objective) > 1 else ""
    out = [["policy", f"mean gap{of}", f"max gap{of}", "optimal", "mean DVR", "errors"]]
    for _, r in agg.iterrows():
        out.append(
            [
                r["policy"],
                fmt_gap(r["mean_gap"], objective),
                fmt_gap(r["max_gap"], objective),
                f"{int(r['optimal'])}/{int(r['instances'])}",
                fmt_pct(r["mean_dvr"]),
                str(int(r["errors"])),
            ]
        )
    return out


def miss_rows(table: pd.DataFrame) -> list[list[str]]:
    """Which streams miss under which method, over the whole suite (header first); the exact
    solvers come first, so misses that no schedule avoids are told from a policy's own."""
    out = [["method", "streams that miss (instance/stream missed/jobs)"]]
    for method in dict.fromkeys(table["method"]):
        t = table[table["method"] == method]
        parts = [
            f"{r['instance']}/{part}"
            for _, r in t.iterrows()
            for part in str(r["missed_streams"]).split("; ")
            if part
        ]
        out.append([method, ", ".join(parts) if parts else "none"])
    return out


def markdown_table(rows: Sequence[Sequence[str]]) -> str:
    head, *body = rows

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    numeric = [all(_looks_numeric(r[i]) for r in body) and bool(body) for i in range(len(head))]
    sep = "| " + " | ".join("---:" if n else "---" for n in numeric) + " |"
    return "\n".join([line(head), sep, *(line(r) for r in body)])


def _looks_numeric(cell: str) -> bool:
    c = cell.rstrip("%").replace("–", "0").replace("/", "")
    try:
        float(c)
    except ValueError:
        return False
    return True
