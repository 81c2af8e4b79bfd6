"""Gap reports end to end on tiny instances: the numbers, the files, the cache, the executors."""

import html.parser
import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import networkx as nx
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

import rtgen_opt
import rtgen_opt.parallel
from rtgen_opt.errors import ArgumentError, SpecError
from rtgen_opt.instance import Instance, Platform, Processor
from rtgen_opt.metrics import evaluate
from rtgen_opt.objectives import Objective, objective_values
from rtgen_opt.online import Policy
from rtgen_opt.report import executor as executor_module
from rtgen_opt.report import run
from rtgen_opt.report.tables import gap
from rtgen_opt.report.units import Settings, make_unit, plugin_fingerprint
from rtgen_opt.schedule import Schedule
from rtgen_opt.validate import validate
from tests.online.test_policies import PLUGIN

POLICIES = ("fcfs-fixed", "edf-eft", "heft")
FAST = {"policies": POLICIES, "solvers": ("cpsat",), "time_limit": 5.0, "quiet": True}


def frames(name: str, n: int, miss_mode: str = "late") -> Instance:
    """Two periodic streams on a CPU + NPU: ``cam`` (two-task frames, a transfer between its
    tasks when they are split) and ``mic``; every 2.5 ms, tight enough that greedy policies miss
    more than the optimum (late3: optimum 1, policies 2-3; drop2: optimum 1, policies 1-2)."""
    platform = Platform(
        "soc", (Processor("cpu", "cpu", 6.0, 1.0), Processor("npu", "npu", 2.0, 0.5))
    )
    g = nx.DiGraph()
    for k in range(n):
        r = 2.5 * k
        g.add_node(
            f"cam{k}.a",
            durations={"cpu": 2.0, "npu": 1.0},
            job=f"cam{k}",
            stream="cam",
            release=r,
            deadline=r + 3.0,
        )
        g.add_node(
            f"cam{k}.b",
            durations={"cpu": 1.0, "npu": 1.5},
            job=f"cam{k}",
            stream="cam",
            release=r,
            deadline=r + 3.0,
        )
        g.add_edge(f"cam{k}.a", f"cam{k}.b", delay=0.5)
        g.add_node(
            f"mic{k}",
            durations={"cpu": 2.5, "npu": 1.0},
            job=f"mic{k}",
            stream="mic",
            release=r,
            deadline=r + 1.5,
        )
    return Instance.from_networkx(g, platform, name=name, miss_mode=miss_mode)


@pytest.fixture(scope="module")
def suite(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("suite")
    frames("late3", 3).save(folder / "late3.json")
    frames("drop2", 2, "drop").save(folder / "drop2.json")
    return folder


@pytest.fixture(scope="module")
def report(suite, tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    df = run(suite, out=out, workers=1, **FAST)
    return out, df


# --------------------------------------------------------------------------- the numbers
def test_one_row_per_instance_and_method(report):
    out, df = report
    assert list(df["instance"]) == ["drop2"] * 4 + ["late3"] * 4  # sorted files
    assert list(df["method"]) == ["cpsat", *POLICIES] * 2
    assert list(df["kind"]) == (["exact"] + ["policy"] * 3) * 2
    assert df.attrs == {"computed": 8, "cached": 0}
    csv = pd.read_csv(out / "results.csv")
    for col in (
        "value",
        "dvr",
        "ttft_p50_ms",
        "ttft_p99_ms",
        "tokens_per_s",
        "energy_mj",
        "bound",
        "gap",
        "status",
    ):
        assert col in csv.columns
    pd.testing.assert_frame_equal(
        csv.drop(columns=["missed_streams", "error"]),
        df.drop(columns=["missed_streams", "error", "wall_s"]).reset_index(drop=True),
        check_dtype=False,
    )
    # Wall times change from run to run: only in timings.csv, never in a committed file.
    timings = pd.read_csv(out / "timings.csv")
    assert "wall_s" not in csv.columns
    assert list(timings.columns) == ["instance", "method", "kind", "wall_s"]
    assert (timings["wall_s"] > 0).all()
    md = (out / "report.md").read_text()
    assert "wall s" not in md and "wall_s" not in md
    assert "timings.csv" in md  # the footer says where the wall times went


def test_every_number_comes_from_the_validated_schedule(report, suite):
    out, df = report
    for _, row in df.iterrows():
        inst = Instance.load(suite / f"{row['instance']}.json")
        sched = Schedule.load(out / row["schedule"])
        assert validate(inst, sched) == []
        m = evaluate(inst, sched)
        assert row["value"] == objective_values(inst, sched, "misses")[0]
        assert row["misses"] == m.summary["misses"]
        assert row["dvr"] == pytest.approx(m.summary["dvr"])
        assert row["energy_mj"] == pytest.approx(m.summary["energy_mj"])
        assert row["makespan_ms"] == pytest.approx(sched.makespan)


def test_exact_optimum_bounds_every_policy_and_gaps_follow_the_definition(report):
    _, df = report
    for name, t in df.groupby("instance"):
        exact = t[t["kind"] == "exact"].iloc[0]
        assert exact["status"] == "optimal", name  # tiny instances: proven within the limit
        assert exact["value"] == exact["bound"] and exact["optimal"] and exact["gap"] == 0
        for _, r in t[t["kind"] == "policy"].iterrows():
            assert r["value"] >= exact["value"]  # the exact answer bounds every heuristic
            assert r["gap"] == r["value"] - exact["value"]  # misses: absolute gap
            assert r["optimal"] == (r["value"] == exact["value"])
    # the instances are tight: some policy is not optimal, so the report has something to say
    assert not df[df["kind"] == "policy"]["optimal"].all()


def test_markdown_aggregate_and_stream_misses(report):
    out, df = report
    md = (out / "report.md").read_text()
    assert "## drop2" in md and "## late3" in md
    pol = df[df["kind"] == "policy"]
    for method, t in pol.groupby("method"):
        line = next(ln for ln in md.splitlines() if ln.startswith(f"| {method} |"))
        assert f"{int(t['optimal'].sum())}/2" in line  # how often optimal
        assert f"| {t['gap'].max():g} |" in line  # max gap (a count for misses)
    worst = pol.sort_values(["value", "method"]).iloc[-1]
    assert worst["missed_streams"], "the worst policy misses some stream"
    for part in worst["missed_streams"].split("; "):
        assert f"{worst['instance']}/{part}" in md


# --------------------------------------------------------------------------- the files
class _Links(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.images, self.links = [], []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "img":
            self.images.append(a["src"])
        if tag == "a" and "href" in a and not a["href"].startswith(("#", "http")):
            self.links.append(a["href"])


def test_html_references_existing_files(report):
    out, df = report
    parser = _Links()
    parser.feed((out / "report.html").read_text())
    # aggregate gap chart + per instance: gap chart, optimal, best and worst policy (2-3 each)
    assert "figures/gaps.png" in parser.images
    assert len(parser.images) >= 1 + 2 * 3
    for ref in parser.images + parser.links:
        assert (out / ref).is_file(), ref
    for ref in parser.images:
        assert (out / ref).read_bytes().startswith(b"\x89PNG")
    for name in ("drop2", "late3"):
        assert f"figures/{name}/gantt-cpsat.png" in parser.images
        trace = json.loads((out / "traces" / name / "cpsat.json").read_text())
        assert trace["otherData"]["method"] == "cpsat"
    assert all((out / p).is_file() for p in df["schedule"])


@pytest.mark.skipif(
    not Path("/usr/bin/chromium").exists(), reason="Debian's chromium not installed"
)
def test_html_renders_in_headless_chromium(report, tmp_path):
    out, _ = report
    page = tmp_path / "page"
    shutil.copytree(out, page)
    (page / "figures" / "late3" / "gaps.png").unlink()  # one broken picture must be detected
    dom = subprocess.run(
        [
            "/usr/bin/chromium",
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--virtual-time-budget=10000",
            "--dump-dom",
            (page / "report.html").as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    states = {}
    parser = html.parser.HTMLParser()
    parser.handle_starttag = lambda tag, attrs: (
        states.__setitem__(dict(attrs)["src"], dict(attrs).get("data-state"))
        if tag == "img"
        else None
    )
    parser.feed(dom)
    assert "Optimality-gap report" in dom
    assert states["figures/late3/gaps.png"] == "missing"
    del states["figures/late3/gaps.png"]
    assert states and set(states.values()) == {"loaded"}, states


# --------------------------------------------------------------------------- cache and resume
def test_a_resumed_report_recomputes_nothing(report, suite, monkeypatch):
    out, df = report
    before = (out / "results.csv").read_bytes()

    def boom(spec):
        raise AssertionError(f"recomputed {spec['method']}")

    monkeypatch.setattr(executor_module, "compute_unit", boom)
    again = run(suite, out=out, workers=1, **FAST)
    assert again.attrs == {"computed": 0, "cached": 8}
    assert (out / "results.csv").read_bytes() == before


def test_an_interrupted_report_resumes_where_it_stopped(suite, tmp_path, monkeypatch):
    real = executor_module.compute_unit
    calls = []

    def interrupted_after_three(spec):
        if len(calls) == 3:
            raise KeyboardInterrupt
        calls.append(spec["method"])
        return real(spec)

    monkeypatch.setattr(executor_module, "compute_unit", interrupted_after_three)
    with pytest.raises(KeyboardInterrupt):
        run(suite, out=tmp_path, workers=1, **FAST)
    assert len(list((tmp_path / "cache").glob("*.json"))) == 3
    monkeypatch.setattr(executor_module, "compute_unit", real)
    df = run(suite, out=tmp_path, workers=1, **FAST)
    assert df.attrs == {"computed": 5, "cached": 3}


def test_changed_settings_are_recomputed(report, suite, tmp_path):
    out, _ = report
    shutil.copytree(out / "cache", tmp_path / "cache")
    df = run(suite, out=tmp_path, workers=1, **{**FAST, "time_limit": 4.0})
    # policies do not depend on the time limit; exact solves do
    assert df.attrs == {"computed": 2, "cached": 6}


def test_force_recomputes_every_run(report, suite, tmp_path):
    out, _ = report
    shutil.copytree(out / "cache", tmp_path / "cache")
    df = run(suite, out=tmp_path, workers=1, force=True, **FAST)
    assert df.attrs == {"computed": 8, "cached": 0}
    assert run(suite, out=tmp_path, workers=1, **FAST).attrs == {"computed": 0, "cached": 8}


def test_editing_a_plugin_policy_invalidates_its_cached_runs(tmp_path, monkeypatch):
    source = tmp_path / "edited_plugin_mod.py"
    source.write_text(PLUGIN)
    monkeypatch.syspath_prepend(str(tmp_path))
    settings = Settings(Objective.parse("misses"), 5.0, 1, 0)
    d = frames("late3", 3).to_dict()
    plugin = "edited_plugin_mod:LastFirst"
    try:
        before = make_unit("late3", d, plugin, "policy", settings).key
        assert make_unit("late3", d, plugin, "policy", settings).key == before
        source.write_text(PLUGIN + "\n# edited\n")
        assert make_unit("late3", d, plugin, "policy", settings).key != before
        # a built-in policy's key does not depend on any plug-in file
        assert plugin_fingerprint("edf-eft") is None
    finally:
        sys.modules.pop("edited_plugin_mod", None)


# --------------------------------------------------------------------------- executors
def test_local_processes_give_the_same_results(report, suite, tmp_path):
    out, _ = report
    df = run(suite, out=tmp_path, workers=2, **FAST)
    assert df.attrs["computed"] == 8
    pd.testing.assert_frame_equal(
        pd.read_csv(tmp_path / "results.csv"), pd.read_csv(out / "results.csv")
    )
    assert (tmp_path / "report.md").read_text().count("|") == (out / "report.md").read_text().count(
        "|"
    )
    for png in (out / "figures").rglob("*.png"):  # same pictures, byte for byte
        assert (tmp_path / png.relative_to(out)).read_bytes() == png.read_bytes()


def test_dask_cluster_gives_the_same_results(report, suite, tmp_path):
    distributed = pytest.importorskip("distributed")
    out, _ = report
    with distributed.LocalCluster(
        n_workers=1,
        threads_per_worker=2,
        processes=False,
        protocol="tcp://",
        host="127.0.0.1",
        dashboard_address=None,
    ) as cluster:
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        df = run(suite, out=tmp_path, scheduler=cluster.scheduler_address, **FAST)
    assert df.attrs["computed"] == 8
    pd.testing.assert_frame_equal(
        pd.read_csv(tmp_path / "results.csv"), pd.read_csv(out / "results.csv")
    )


def test_unreachable_scheduler_is_one_clear_error(suite, tmp_path, monkeypatch):
    monkeypatch.setattr(rtgen_opt.parallel, "DASK_CONNECT_TIMEOUT", 0.5)
    with pytest.raises(ArgumentError, match="scheduler"):
        run(suite, out=tmp_path, scheduler="tcp://127.0.0.1:9", **FAST)


# --------------------------------------------------------------------------- a broken policy
class StartsNothing(Policy):
    """A user policy that never starts a task: the simulator refuses it (PolicyError)."""

    name = "starts-nothing"

    def decide(self, sim, now, ready):
        return []


def test_a_failing_policy_is_an_error_row_not_a_crash(suite, tmp_path):
    df = run(
        suite,
        out=tmp_path,
        policies=("edf-eft", "tests.report.test_report:StartsNothing"),
        solvers=("cpsat",),
        time_limit=5.0,
        workers=1,
        quiet=True,
    )
    bad = df[df["method"] == "tests.report.test_report:StartsNothing"]
    assert list(bad["status"]) == ["error", "error"]
    assert bad["value"].isna().all() and not bad["optimal"].any() and (bad["schedule"] == "").all()
    good = df[df["method"] != "tests.report.test_report:StartsNothing"]
    assert (good["status"] != "error").all()
    md = (tmp_path / "report.md").read_text()
    assert (
        "| tests.report.test_report:StartsNothing | – | – | 0/2 | – | 2 |" in md
    )  # errors counted
    assert bad["error"].str.startswith("PolicyError: ").all()
    assert md.count("*tests.report.test_report:StartsNothing failed*: PolicyError: ") == 2
    # errors are not cached: a rerun tries them again, and only them
    again = run(
        suite,
        out=tmp_path,
        policies=("edf-eft", "tests.report.test_report:StartsNothing"),
        solvers=("cpsat",),
        time_limit=5.0,
        workers=1,
        quiet=True,
    )
    assert again.attrs == {"computed": 2, "cached": 4}


# --------------------------------------------------------------------------- options
def test_lexicographic_objective_and_no_solver(suite):
    df = run(
        suite,
        objective="misses,tardiness",
        policies=("edf-eft",),
        solvers=("cpsat",),
        time_limit=5.0,
        workers=1,
        quiet=True,
    )
    assert {"values", "bounds"} <= set(df.columns)
    for _, r in df.iterrows():
        values = [float(v) for v in r["values"].split(";")]
        bounds = [float(b) for b in r["bounds"].split(";")]
        assert values[0] == r["value"] and bounds[0] == r["bound"]
        assert (r["gap"], r["gap_abs"]) == pytest.approx(
            gap(values, bounds, Objective.parse("misses,tardiness"))
        )
    # without a solver, gaps are measured against the solver-free bound
    only = run(suite, policies=("edf-eft",), solvers=(), workers=1, quiet=True)
    assert set(only["kind"]) == {"policy"}
    assert (only["bound"] <= only["value"]).all()


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"policies": ("no-such-policy",)}, "policy"),
        ({"solvers": ("gurobi",)}, "solver"),
        ({"objective": "speed"}, "objective"),
        ({"time_limit": 0}, "time_limit"),
        ({"policies": ("heft", "heft")}, "repeats"),
        ({"policies": (), "solvers": ()}, "nothing to run"),
    ],
)
def test_bad_options_are_argument_errors(suite, kwargs, match):
    with pytest.raises(ArgumentError, match=match):
        run(suite, **{**FAST, **kwargs})


def test_a_folder_of_any_instance_format_is_a_suite(tmp_path):
    # The report takes every format the input front door reads, as `solve` does one by one.
    data = Path(__file__).parents[1] / "data" / "fjsp"
    for name in ("1.txt", "179.txt"):  # a Brandimarte .txt and a Kacem file, both FJSP
        shutil.copy(data / name, tmp_path / name)
    (tmp_path / "notes.md").write_text("not an instance")
    df = run(tmp_path, policies=("edf-eft",), solvers=(), objective="makespan", quiet=True)
    assert sorted(df["instance"].unique()) == ["1", "179"]


def test_suite_errors(tmp_path, monkeypatch):
    with pytest.raises(SpecError, match="no instance file"):
        run(tmp_path, **FAST)
    with pytest.raises(SpecError, match="no such file"):
        run(tmp_path / "absent.json", **FAST)
    # a package installed without the repository has no embedded suite
    monkeypatch.setattr(rtgen_opt, "__file__", str(tmp_path / "site" / "rtgen_opt" / "__init__.py"))
    with pytest.raises(SpecError, match="embedded suite"):
        run(None, **FAST)


def test_instances_in_memory_get_unique_names():
    a, b = frames("same", 1), frames("same", 1)
    df = run([a, b], policies=("edf-eft",), solvers=(), workers=1, quiet=True)
    assert list(df["instance"]) == ["same", "same-2"]


# --------------------------------------------------------------------------- the gap
@given(
    st.lists(st.floats(0, 1e6, allow_nan=False), min_size=1, max_size=3),
    st.lists(st.floats(0, 1e6, allow_nan=False), min_size=3, max_size=3),
    st.sampled_from(["misses", "tardiness", "makespan"]),
)
def test_gap_properties(values, slack, first):
    objective = (first, "tardiness", "energy")[: len(values)]
    objective = tuple(dict.fromkeys(objective))
    values = values[: len(objective)]
    bound = [v - s if s < v else v for v, s in zip(values, slack, strict=False)]
    g, g_abs = gap(values, bound, Objective.parse(objective))
    assert g >= 0 and g_abs >= 0
    if g_abs == 0:
        assert g == 0
    else:
        k = next(i for i, (v, b) in enumerate(zip(values, bound, strict=True)) if g_abs == v - b)
        if objective[k] == "misses":
            assert g == g_abs
        else:
            assert 0 < g <= 1 and math.isclose(g, g_abs / values[k])


# --------------------------------------------------------------------------- the committed example
COMMITTED = Path(__file__).resolve().parents[2] / "reports" / "small"


@pytest.mark.slow
@pytest.mark.skipif(not COMMITTED.is_dir(), reason="no committed example report")
def test_the_committed_report_is_what_the_readme_command_writes(tmp_path):
    """`rtgen-opt report --out reports/small` on the embedded suite reproduces the committed
    report (wall times aside). If this fails after a change to a policy, a solver or a scenario,
    regenerate it with that command and commit it."""
    run(None, out=tmp_path, quiet=True)
    hint = "the committed report is stale: rerun `rtgen-opt report --out reports/small`"
    pd.testing.assert_frame_equal(
        pd.read_csv(tmp_path / "results.csv"), pd.read_csv(COMMITTED / "results.csv"), obj=hint
    )

    def files(root: Path) -> list[str]:  # cache/, timings.csv: not committed (reports/.gitignore)
        rel = (p.relative_to(root) for p in root.rglob("*") if p.is_file())
        return sorted(
            r.as_posix() for r in rel if r.parts[0] != "cache" and r.name != "timings.csv"
        )

    committed, written = files(COMMITTED), files(tmp_path)
    assert written == committed, hint
    for rel in committed:
        if rel.startswith(("schedules/", "traces/", "figures/")) or "/" not in rel:
            assert (tmp_path / rel).read_bytes() == (COMMITTED / rel).read_bytes(), (rel, hint)
