"""Schedule files: JSON and CSV round trips (hypothesis) and malformed files."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rtgen_opt.errors import SpecError
from rtgen_opt.schedule import Placement, Schedule

# ids as users write them (no line breaks: a schedule file is line-oriented)
ids = st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), min_size=1, max_size=12)
times = st.floats(0, 1e7, allow_nan=False, allow_infinity=False)
provenance = st.dictionaries(
    st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=8),
    st.none() | st.booleans() | st.integers(-(10**9), 10**9) | times | st.text(max_size=10),
    max_size=4,
)


@st.composite
def schedules(draw):
    rows = []
    for task in draw(st.lists(ids, unique=True, max_size=12)):
        start = draw(times)
        rows.append((task, draw(ids), start, start + draw(times)))
    # any provenance key, "dropped" and "rows" included: with_provenance takes them all
    dropped = draw(st.frozensets(ids, max_size=4))
    return Schedule.build(rows, dropped).with_provenance(**draw(provenance))


@settings(max_examples=80, deadline=None)
@given(schedules())
def test_json_round_trip(schedule):
    again = Schedule.from_dict(json.loads(json.dumps(schedule.to_dict())))
    assert again == schedule
    assert list(again.placements) == list(schedule.placements)  # order kept: (start, task)


@settings(max_examples=80, deadline=None)
@given(schedules())
def test_csv_round_trip(schedule):
    again = Schedule.from_csv(schedule.to_csv())
    assert again == schedule  # floats are written with repr: exact


@settings(max_examples=20, deadline=None)
@given(schedules(), st.sampled_from(["s.json", "s.csv"]))
def test_save_load_by_suffix(tmp_path_factory, schedule, name):
    path = tmp_path_factory.mktemp("s") / name
    schedule.save(path)
    assert Schedule.load(path) == schedule
    if name.endswith(".csv"):
        assert path.read_text().splitlines()[1] == "record,id,processor,start,end"


def test_build_orders_rows_and_makespan():
    s = Schedule.build([("b", "p", 2.0, 3.0), ("a", "q", 2.0, 5.0), ("c", "p", 0.0, 1.0)])
    assert list(s.placements) == ["c", "a", "b"]
    assert s.placements["a"] == Placement("q", 2.0, 5.0)
    assert s.makespan == 5.0 and Schedule({}).makespan == 0.0


def test_provenance_is_made_json_safe():
    s = Schedule.build([("a", "p", 0, 1)], bound=math.inf, gap=math.nan, parts=(1, 2))
    data = json.loads(json.dumps(s.to_dict(), allow_nan=False))
    assert data["provenance"] == {"bound": None, "gap": None, "parts": [1, 2]}


def test_malformed_files(tmp_path):
    with pytest.raises(SpecError) as err:
        Schedule.from_dict({"format": "nope"})
    assert err.value.field == "format"
    with pytest.raises(SpecError) as err:
        Schedule.from_dict({"format": "rtgen-opt-schedule", "tasks": [{"task": "a"}]})
    assert err.value.field == "tasks[0]"
    with pytest.raises(SpecError) as err:
        Schedule.from_csv("task,proc\n")
    assert err.value.field == "header"
    with pytest.raises(SpecError) as err:
        Schedule.from_csv("record,id,processor,start,end\ntask,a,p,zero,1\n")
    assert err.value.field == "line 2"
    bad = tmp_path / "s.json"
    bad.write_text("[")
    with pytest.raises(SpecError, match="invalid JSON"):
        Schedule.load(bad)
    with pytest.raises(SpecError, match="cannot read"):
        Schedule.load(tmp_path / "absent.csv")
