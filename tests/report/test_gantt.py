"""Gantt charts: one lane per processor, bars where the schedule says, misses marked in red."""

import networkx as nx
import pytest
from matplotlib.colors import to_hex

from rtgen_opt.errors import InvalidScheduleError, SpecError
from rtgen_opt.instance import Instance, Platform, Processor
from rtgen_opt.report.gantt import MISS_COLOUR, draw_gantt, save_gantt, stream_colours
from rtgen_opt.schedule import Schedule


def _instance():
    platform = Platform(
        "p", (Processor("cpu", "cpu"), Processor("gpu", "gpu"), Processor("npu", "npu"))
    )
    g = nx.DiGraph()
    g.add_node("a", durations={"cpu": 2.0, "npu": 1.0}, job="A", stream="cam", deadline=4.0)
    g.add_node("b", durations={"cpu": 2.0}, job="A", stream="cam", deadline=4.0)
    g.add_node("c", durations={"npu": 1.0}, job="C", stream="mic", deadline=2.0)
    g.add_edge("a", "b", delay=0.5)
    return Instance.from_networkx(g, platform, name="tiny")


SCHEDULE = Schedule.build(
    [("a", "npu", 0, 1), ("b", "cpu", 1.5, 3.5), ("c", "npu", 1.5, 2.5)], method="hand"
)


def _bars(ax):
    """(lane, start, width, facecolour) of every filled bar."""
    out = []
    for coll in ax.collections:
        for path, fc in zip(coll.get_paths(), coll.get_facecolors(), strict=False):
            (x0, y0), (x1, y1) = path.vertices.min(axis=0), path.vertices.max(axis=0)
            out.append((round((y0 + y1) / 2), x0, x1 - x0, to_hex(fc)))
    return sorted(out)


def test_bars_lanes_and_colours():
    inst = _instance()
    fig = draw_gantt(inst, SCHEDULE)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["cpu (cpu)", "gpu (gpu)", "npu (npu)"]
    colours = stream_colours(inst)
    assert colours == {"cam": "#1f77b4", "mic": "#ff7f0e"}  # sorted stream order
    assert _bars(ax) == [
        (0, 1.5, 2.0, colours["cam"]),
        (2, 0.0, 1.0, colours["cam"]),
        (2, 1.5, 1.0, colours["mic"]),
    ]
    assert "1 missed job" in ax.get_title(loc="left") and ax.get_title(loc="left").startswith(
        "hand"
    )


def test_misses_are_outlined_and_their_deadline_ticked():
    inst = _instance()
    ax = draw_gantt(inst, SCHEDULE).axes[0]
    # outline-only bars (facecolor "none") mark the last task of a late job
    outlines = [coll for coll in ax.collections if not coll.get_facecolors().size]
    assert len(outlines) == 1  # only job C misses (ends 2.5 > 2.0); A ends 3.5 <= 4.0
    (x0, _), (x1, _) = (
        outlines[0].get_paths()[0].vertices.min(0),
        outlines[0].get_paths()[0].vertices.max(0),
    )
    assert (x0, x1) == (1.5, 2.5) and to_hex(outlines[0].get_edgecolors()[0]) == MISS_COLOUR
    ticks = [
        ln for ln in ax.lines if to_hex(ln.get_color()) == MISS_COLOUR and ln.get_linestyle() == "-"
    ]
    assert [tuple(ln.get_xdata()) for ln in ticks] == [(2.0, 2.0)]
    # on time: no outline, no tick
    ok = Schedule.build([("a", "npu", 0, 1), ("b", "cpu", 1.5, 3.5), ("c", "npu", 1, 2)])
    ax_ok = draw_gantt(inst, ok).axes[0]
    assert not [ln for ln in ax_ok.lines if to_hex(ln.get_color()) == MISS_COLOUR]


@pytest.mark.parametrize(
    "suffix, magic", [(".png", b"\x89PNG"), (".svg", b"<?xml"), (".pdf", b"%PDF")]
)
def test_files_are_written_and_deterministic(tmp_path, suffix, magic):
    inst = _instance()
    p1 = save_gantt(inst, SCHEDULE, tmp_path / f"one{suffix}")
    p2 = save_gantt(inst, SCHEDULE, tmp_path / f"two{suffix}")
    assert p1.read_bytes().startswith(magic)
    assert p1.read_bytes() == p2.read_bytes()


def test_refuses_invalid_schedules_and_unknown_formats(tmp_path):
    inst = _instance()
    with pytest.raises(InvalidScheduleError):
        draw_gantt(inst, Schedule.build([("a", "gpu", 0, 1)]))
    with pytest.raises(SpecError, match="picture format"):
        save_gantt(inst, SCHEDULE, tmp_path / "g.jpg")
