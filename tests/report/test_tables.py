"""The report tables of a lexicographic objective say which component each gap is of."""

from __future__ import annotations

import math

import pandas as pd

from rtgen_opt.objectives import Objective
from rtgen_opt.report.tables import (
    COLUMNS,
    LEX_COLUMNS,
    aggregate_rows,
    gap,
    gap_definition,
    instance_rows,
    open_component,
)

LEX = Objective.parse("misses,tardiness")


def _row(method: str, kind: str, values: tuple[float, float], bound=(1.0, 6.0)) -> dict:
    g, g_abs = gap(values, bound, LEX)
    k = open_component(values, bound)
    row = dict.fromkeys(COLUMNS, math.nan) | {
        "instance": "toy",
        "method": method,
        "kind": kind,
        "status": "optimal" if kind == "exact" else "feasible",
        "value": values[0],
        "bound": bound[0],
        "gap": g,
        "gap_abs": g_abs,
        "optimal": g_abs == 0.0,
        "values": ";".join(f"{v:g}" for v in values),
        "bounds": ";".join(f"{b:g}" for b in bound),
        "gap_of": LEX[k].name if k is not None else "",
        "first_gap": gap(values[:1], bound[:1], Objective.parse("misses"))[0],
    }
    return row


TABLE = pd.DataFrame(
    [
        _row("cpsat", "exact", (1.0, 6.0)),
        _row("more-misses", "policy", (3.0, 2.0)),  # fewer tardiness, but 2 misses more
        _row("later", "policy", (1.0, 8.0)),  # misses closed; tardiness 25% above
    ],
    columns=list(COLUMNS) + LEX_COLUMNS,
)


def test_instance_table_names_the_component_of_each_gap():
    head, *rows = instance_rows(TABLE, "toy", LEX)
    assert head[1:3] == ["objective (misses; tardiness)", "gap (of the component)"]
    cells = {r[0]: r[1:4] for r in rows}
    assert cells["cpsat"] == ["1; 6", "0", "yes"]
    assert cells["more-misses"] == ["3; 2", "2 (misses)", ""]
    assert cells["later"] == ["1; 8", "25.0% (tardiness)", ""]


def test_aggregate_is_of_the_first_component_and_says_so():
    head, *rows = aggregate_rows(TABLE, LEX)
    assert head[:3] == ["policy", "mean gap (misses)", "max gap (misses)"]
    # a gap of 25% on tardiness is not averaged as 0.25 missed jobs
    assert {r[0]: r[1:4] for r in rows} == {
        "more-misses": ["2", "2", "0/1"],
        "later": ["0", "0", "0/1"],
    }


def test_the_definition_gives_each_components_unit():
    text = gap_definition(LEX)
    assert "on misses, the absolute gap" in text and "on tardiness, the relative gap" in text
    assert "of the first component, misses" in text
    single = gap_definition(Objective.parse("misses"))
    assert single.startswith("Objective `misses`. Gap = the absolute gap: (weighted) missed jobs")
