"""The fluid window bound on weighted misses: how much work the processors can do in a window.

The solver-free window bound (:func:`rtgen_opt.exact.bounds.miss_bounds`) charges every task
its *fastest* duration against the capacity of a set of processors. On a heterogeneous chip
that is weak: an LLM decode block takes 61 ms on the NPU and 82 ms on the CPU, and the NPU
cannot do every task at its own speed at once. This bound asks the exact question of a
window, in fluid form (tasks may be split across processors, as a linear programme):

For a window ``[a, b]``, the jobs *inside* are those whose head (earliest start of any of
their tasks) is at least ``a`` and whose deadline is at most ``b``. A job on time runs all its
tasks within ``[a, b]``, each on an option that lets the job still end by its deadline. Let
``y_j`` in ``[0, 1]`` be "job ``j`` is on time"; each task of ``j`` is spread over its options
(``x[t, p] >= 0``, summing to ``y_j``), and each processor does at most ``b - a`` of work:

    minimise  sum_j w_j (1 - y_j)
    s.t.      sum_p x[t, p] = y_j                       for each task t of each job j inside
              sum_{t} x[t, p] * d[t, p] <= b - a        for each processor p

The optimum is a lower bound on the weighted misses among the jobs inside, in every schedule.
A *blocking cut* adds what non-preemption implies: a task on ``p`` keeps ``p`` from every job of
a periodic kind whose whole span falls inside it (a 61 ms decode block on the NPU keeps six
8.3 ms frames off it), and with its edges every frame released from a little before it to a
little after that finds no room left beside it (:func:`kept_off`, :func:`_blocking_rows`).
Jobs whose tasks have the same options and durations (a stream's frames; an LLM stream's
``k``-th decode milestones) are merged into one variable with the count as its upper bound,
so the programme has a few dozen columns whatever the window's size.

Windows that do not meet in time have disjoint jobs and disjoint processor time, so their
bounds add: the bound is the best sum over windows that do not overlap (weighted interval
scheduling over the windows with a positive bound). With integral weights each window's bound
is rounded up before the sum. Jobs that miss in every schedule (:func:`sure_misses`) are
counted once, outside the windows. The argument is in ``formulations/bounds.md``.

Only windows that might not fit are solved: a fixed split of each kind of task over the
processors (the split that balances the whole instance's load) that fits the window, blocking
rows included, shows the programme keeps every job, and the window is skipped.
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import networkx as nx
import numpy as np

from rtgen_opt import grid
from rtgen_opt.exact.bounds import job_tails, sure_misses
from rtgen_opt.exact.windows import Windows, windows
from rtgen_opt.instance import Instance

#: Window starts tried: at most this many job heads, evenly spread.
MAX_STARTS = 600
#: Window lengths tried from each start: from the shortest job span, growing by this factor.
LENGTH_FACTOR = 1.25

# A kind of job: its weight, and per task its options as ((processor, duration), ...).
JobKind = tuple[float, tuple[tuple[tuple[str, int], ...], ...]]
# A kind's releases in a window: (gap, span, tail), see _rhythm.
Rhythm = tuple[int, int, int]


@dataclass(frozen=True)
class Chain:
    """In a window, jobs of kind ``succ`` that follow jobs of kind ``pred``: ``alone`` of them
    follow none inside the window, and a ``pred`` job is followed by at most ``most``."""

    pred: int
    succ: int
    alone: int
    most: int


@dataclass(frozen=True)
class FluidBound:
    """The bound (weighted misses), the windows that make it up (``(a, b, loss)`` in model
    time), how many windows were tried and solved, and the seconds it took."""

    bound: float
    windows: tuple[tuple[int, int, float], ...]
    tried: int
    solved: int
    seconds: float


def job_kinds(instance: Instance, win: Windows) -> tuple[list[JobKind], dict[str, int], float]:
    """The kind of every job with a deadline that can be met (index into the kinds), and the
    weight of the jobs that cannot (:func:`~rtgen_opt.exact.bounds.sure_misses`)."""
    jobs = instance.jobs
    sure = sure_misses(instance, win)
    tails = job_tails(instance, win)
    kinds: dict[JobKind, int] = {}
    of: dict[str, int] = {}
    for j, d in win.deadline.items():
        if j in sure:
            continue
        options = tuple(
            tuple(
                sorted(
                    (p, win.duration[t, p])
                    for p in win.options[t]
                    if win.est[t, p] + win.duration[t, p] + tails[t, p] <= d
                )
            )
            for t in jobs[j].tasks
        )
        of[j] = kinds.setdefault((float(jobs[j].weight), options), len(kinds))
    return list(kinds), of, float(sum(jobs[j].weight for j in sure))


def window_loss(
    kinds: Sequence[JobKind],
    counts: Sequence[int],
    length: int,
    rhythm: Sequence[Rhythm | None] | None = None,
    chains: Sequence[Chain] = (),
    late: Sequence[int] = (),
    processors: int = 0,
) -> float:
    """The programme of the module docstring for ``counts[k]`` jobs of each kind ``k`` in a
    window of ``length``: the least weight of jobs not on time (fractional). With ``chains``
    (:func:`_chains`), the *chain rows*: a job on time needs its predecessor jobs inside the
    window to run in it, on time or not, and such a late job's work (``late[k]`` for one of
    kind ``k``, at its fastest) counts against the ``processors`` (their number) times
    ``length``.

    >>> frames = (2.0, ((("gpu", 4), ("npu", 3)),))  # one task: 4 on the GPU, 3 on the NPU
    >>> round(window_loss([frames], [3], 4), 6)  # in 4: 1 frame on the GPU, 4/3 on the NPU
    1.333333
    """
    import highspy

    inf = highspy.kHighsInf
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    cost: list[float] = []
    upper: list[float] = []
    rows: list[tuple[list[int], list[float]]] = []
    load: dict[str, tuple[list[int], list[float]]] = {}
    column: dict[tuple[int, int, str], int] = {}  # (kind, task, processor) -> x's column
    on_time: dict[int, int] = {}  # kind -> its on-time column y
    for k, n in enumerate(counts):
        if not n:
            continue
        weight, tasks = kinds[k]
        y = on_time[k] = len(cost)
        cost.append(-weight)
        upper.append(float(n))
        for s, options in enumerate(tasks):
            idx, val = [y], [-1.0]
            for p, d in options:
                column[k, s, p] = len(cost)
                idx.append(len(cost))
                val.append(1.0)
                cost.append(0.0)
                upper.append(inf)
                cols, durs = load.setdefault(p, ([], []))
                cols.append(len(cost) - 1)
                durs.append(float(d))
            rows.append((idx, val))
    if not cost:
        return 0.0
    ranges = [(idx, val, 0.0, 0.0) for idx, val in rows]
    ranges += [(cols, durs, -inf, float(length)) for cols, durs in load.values()]
    blocking = _blocking_rows(kinds, counts, rhythm or [None] * len(kinds), column)
    ranges += [(idx, val, -inf, bound) for idx, val, bound in blocking]
    # the chain rows: u[k] of kind k's jobs run in the window late; y[k] + u[k] <= counts[k];
    # m * (y[A] + u[A]) >= y[B] + u[B] - q; late work + on-time work <= processors * length
    chains = [c for c in chains if c.pred in on_time and c.succ in on_time]
    extra: dict[int, int] = {}
    for c in chains:
        for k in (c.pred, c.succ):
            if k not in extra:
                extra[k] = len(cost)
                cost.append(0.0)
                upper.append(float(counts[k]))
                ranges.append(([on_time[k], extra[k]], [1.0, 1.0], -inf, float(counts[k])))
        idx = [on_time[c.pred], extra[c.pred], on_time[c.succ], extra[c.succ]]
        ranges.append((idx, [float(c.most)] * 2 + [-1.0, -1.0], float(-c.alone), inf))
    if extra:
        idx = [c for cols, _ in load.values() for c in cols] + list(extra.values())
        val = [d for _, durs in load.values() for d in durs] + [float(late[k]) for k in extra]
        ranges.append((idx, val, -inf, float(processors * length)))
    h.addVars(len(cost), np.zeros(len(cost)), np.array(upper))
    h.changeColsCost(len(cost), np.arange(len(cost), dtype=np.int32), np.array(cost))
    starts = np.cumsum([0] + [len(r[0]) for r in ranges[:-1]])
    h.addRows(
        len(ranges),
        np.array([r[2] for r in ranges], dtype=float),
        np.array([r[3] for r in ranges], dtype=float),
        int(sum(len(r[0]) for r in ranges)),
        starts.astype(np.int32),
        np.fromiter((i for r in ranges for i in r[0]), dtype=np.int32),
        np.fromiter((v for r in ranges for v in r[1]), dtype=float),
    )
    h.run()
    kept = -h.getInfo().objective_function_value
    total = sum(kinds[k][0] * n for k, n in enumerate(counts))
    return max(0.0, total - kept)


def _blocking_rows(
    kinds: Sequence[JobKind],
    counts: Sequence[int],
    rhythm: Sequence[Rhythm | None],
    column: dict[tuple[int, int, str], int],
) -> list[tuple[list[int], list[float], float]]:
    """Rows of the blocking cut (``formulations/bounds.md``). A task of ``d`` on ``p`` keeps
    ``p`` from the jobs of a kind (released at most ``gap`` apart, span ``span``) released in
    the first ``d - span`` of it, at least :func:`kept_off` of them, and different tasks on
    ``p`` keep different jobs off. The *edged* count adds the jobs whose task ``s`` (``e`` on
    ``p``) finds no ``e`` free on ``p`` before or after the long task within its span. So for
    each task ``s`` of such a kind ``k``, and each count:
    ``x[k, s, p] + sum kept_off * x[l, s', p] <= counts[k] + slack``, the slack paying for the
    window's edges and for a tail where the kind's releases have stopped."""
    on: dict[str, tuple[list[int], list[int], list[int]]] = {}  # p -> kinds, durations, columns
    for (other, s2, q), c in column.items():
        kinds_q, durations, columns = on.setdefault(q, ([], [], []))
        kinds_q.append(other)
        durations.append(dict(kinds[other][1][s2])[q])
        columns.append(c)
    arrays = {q: tuple(np.array(v, dtype=np.int64) for v in lists) for q, lists in on.items()}
    out = []
    for k, beat in enumerate(rhythm):
        if beat is None or not counts[k]:
            continue
        for s, options in enumerate(kinds[k][1]):
            for p, e in options:
                kinds_p, durations, columns = arrays[p]
                for edge in (None, e):
                    kept = np.where(kinds_p != k, kept_off(durations, beat, edge), 0)
                    keeps = kept > 0
                    if keeps.any():
                        idx = [column[k, s, p], *columns[keeps].tolist()]
                        val = [1.0, *kept[keeps].astype(float).tolist()]
                        slack = _slack(beat, edge, int(durations.max()))
                        out.append((idx, val, counts[k] + slack))
    return out


def kept_off(d: np.ndarray | int, beat: Rhythm, edge: int | None = None) -> np.ndarray:
    """How many jobs of a kind with rhythm ``beat`` a task of ``d`` (each of ``d``) keeps off
    its processor at least: those released in the first ``d - span`` of it (their whole span
    inside it), or, with ``edge`` (the duration ``e`` of the kept job's task there), those
    released in the open interval ``(s - e, s + d + e - span)`` of a task at ``s``, which find
    no ``e`` free before or after it within their span. The edged count needs ``2e <= span``
    (then tasks in turn keep disjoint jobs off) and ``d > e``; it is 0 otherwise.

    >>> [int(kept_off(31, (8, 8, 0), edge)) for edge in (None, 2)]  # a 31 ms task, 8 ms frames
    [2, 3]
    """
    gap, span, _ = beat
    d = np.asarray(d)
    if edge is None:
        return np.maximum(0, (d - span) // gap)
    if 2 * edge > span:
        return np.zeros_like(d)
    return np.where(d > edge, np.maximum(0, (d + 2 * edge - span - 2) // gap), 0)


def _slack(beat: Rhythm, edge: int | None, longest: int) -> int:
    """What a blocking row's right-hand side allows beyond the kind's count: with ``edge``,
    one job lost at each edge of the window (the first and last tasks' intervals reach past
    it); with a tail (releases stopped before ``b - span``), the tasks reaching into it."""
    gap, _, tail = beat
    e = edge or 0
    out = 2 * -(-e // gap) if edge is not None else 0
    if tail:
        out += (tail + e + longest) // gap
    return out


def _rhythm(releases: np.ndarray, spans: np.ndarray, a: int, b: int) -> Rhythm | None:
    """``(gap, span, tail)`` of one kind's jobs inside the window ``[a, b]``, or ``None``:
    ``span`` is their longest span; ``gap`` is such that every closed interval of
    ``[a, b - span - tail]`` of length ``g * gap`` holds at least ``g`` of their releases: the
    first release is at most ``gap`` after ``a``, releases are at most ``gap`` apart, and the
    last is less than ``gap`` before ``b - span - tail``. ``tail`` is 0 but where the releases
    stop well before ``b - span`` (a stream ends at the horizon while the window runs on to
    LLM deadlines): then their rhythm is kept, and the blocking rows pay for the tail
    (:func:`_slack`) rather than taking its length as the gap.

    >>> _rhythm(np.array([0, 8, 16, 24]), np.array([8, 8, 8, 8]), 0, 40)  # 4 beats of 8 in [0, 32]
    (9, 8, 0)
    >>> _rhythm(np.array([0, 8, 16, 24]), np.array([8, 8, 8, 8]), 0, 100)  # stops at 24
    (8, 8, 61)
    """
    span = int(spans.max())
    last = b - span
    inside = np.sort(releases[(releases >= a) & (releases <= last)])
    if inside.size == 0:
        return None
    gap = max(1, int(np.concatenate(([inside[0] - a], np.diff(inside))).max()))
    end = int(last - inside[-1] + 1)
    if end <= 2 * gap:
        return max(gap, end), span, 0
    return gap, span, end - gap


@dataclass(frozen=True)
class _Split:
    """The split of each task over its options that balances the whole instance's load (the LP
    ``min max_p load_p``): ``work[k, p]``, the work one job of kind ``k`` puts on processor
    ``p``; per processor, every option on it as ``kind``, ``duration`` and ``share`` (of one
    job's task); ``most[k, p]``, the largest share of a task of kind ``k`` on ``p``.

    Where the jobs inside a window fit every processor under this split, and no blocking row
    (:func:`_blocking_rows`) fails under it, the split with every job on time is a feasible
    point of :func:`window_loss`'s programme: the window loses nothing and is skipped."""

    work: np.ndarray
    kind: list[np.ndarray]
    duration: list[np.ndarray]
    share: list[np.ndarray]
    most: np.ndarray

    def fits(
        self,
        counts: np.ndarray,
        length: int,
        rhythm: Sequence[Rhythm | None],
    ) -> bool:
        if np.max(counts @ self.work) > length:
            return False
        for k, beat in enumerate(rhythm):
            if beat is None:
                continue
            for p in range(self.work.shape[1]):
                mine = self.kind[p] == k
                others = counts[self.kind[p]] * self.share[p] * ~mine
                longest = int(self.duration[p].max(initial=0))
                # every duration of a task of k on p, for the edged rows (the classic: None)
                edges = {None} | {int(d) for d in self.duration[p][mine]}
                for edge in edges:
                    kept = kept_off(self.duration[p], beat, edge)
                    room = counts[k] * (1 - self.most[k, p]) + _slack(beat, edge, longest)
                    if kept @ others > room:
                        return False
        return True


def _balanced_split(kinds: Sequence[JobKind], counts: np.ndarray, procs: Sequence[str]) -> _Split:
    """The :class:`_Split` of ``kinds`` with ``counts`` jobs each."""
    import highspy

    inf = highspy.kHighsInf
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    column = 1  # column 0 is the largest load
    where: list[tuple[int, int, str, int]] = []  # (kind, column, processor, duration)
    rows: list[list[int]] = []
    for k, (_, tasks) in enumerate(kinds):
        for options in tasks:
            cols = []
            for p, d in options:
                where.append((k, column, p, d))
                cols.append(column)
                column += 1
            rows.append(cols)
    cost = np.zeros(column)
    cost[0] = 1.0
    h.addVars(column, np.zeros(column), np.full(column, inf))
    h.changeColsCost(column, np.arange(column, dtype=np.int32), cost)
    for cols in rows:
        h.addRow(1.0, 1.0, len(cols), np.array(cols, dtype=np.int32), np.ones(len(cols)))
    for p in procs:
        mine = [(c, counts[k] * d) for k, c, q, d in where if q == p]
        idx = [0] + [c for c, _ in mine]
        val = [-1.0] + [float(v) for _, v in mine]
        h.addRow(-inf, 0.0, len(idx), np.array(idx, dtype=np.int32), np.array(val))
    h.run()
    x = np.clip(np.array(h.getSolution().col_value), 0.0, 1.0)
    at = {p: i for i, p in enumerate(procs)}
    work = np.zeros((len(kinds), len(procs)))
    most = np.zeros((len(kinds), len(procs)))
    for k, c, p, d in where:
        work[k, at[p]] += x[c] * d
        most[k, at[p]] = max(most[k, at[p]], x[c])
    on = [[(k, d, x[c]) for k, c, q, d in where if q == p] for p in procs]
    return _Split(
        work,
        [np.array([k for k, _, _ in o], dtype=np.int64) for o in on],
        [np.array([d for _, d, _ in o], dtype=np.int64) for o in on],
        [np.array([f for _, _, f in o]) for o in on],
        most,
    )


def _job_edges(
    instance: Instance, win: Windows, jobs: Sequence[str], of: dict[str, int], n_kinds: int
) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """The edges between jobs of different kinds (indices into ``jobs``) whose source task
    comes after every other task of its job, so that the successor job cannot start before the
    whole predecessor job has run (an LLM request's milestones); and per kind the least work of
    one of its jobs, each task at its fastest."""
    g, nodes, index = instance.graph, instance.graph.nodes, {j: i for i, j in enumerate(jobs)}
    edges: set[tuple[int, int]] = set()
    for j in jobs:
        for t in instance.jobs[j].tasks:
            for u in g.predecessors(t):
                pj = nodes[u]["job"]
                if pj == j or pj not in index or of[pj] == of[j]:
                    continue  # within one job or one kind: no chain row
                if set(instance.jobs[pj].tasks) - {u} <= nx.ancestors(g, u):
                    edges.add((index[pj], index[j]))
    ordered = sorted(edges)
    late: dict[int, int] = {}
    for j in jobs:
        work = sum(win.min_duration(t) for t in instance.jobs[j].tasks)
        late[of[j]] = min(late.get(of[j], work), work)
    return (
        np.array([a for a, _ in ordered], dtype=np.int64),
        np.array([b for _, b in ordered], dtype=np.int64),
        [late.get(k, 0) for k in range(n_kinds)],
    )


def _chains(
    inside: Callable[[np.ndarray], np.ndarray],
    kind: np.ndarray,
    counts: np.ndarray,
    pred: np.ndarray,
    succ: np.ndarray,
) -> list[Chain]:
    """The :class:`Chain` of each pair of kinds joined by an edge between two jobs inside a
    window (``inside(jobs)``: which of these job indices are; ``pred`` and ``succ``, the
    edges of :func:`_job_edges`)."""
    if not pred.size:
        return []
    keep = inside(pred) & inside(succ)
    if not keep.any():
        return []
    ps, ss = pred[keep], succ[keep]
    n, m = len(kind), len(counts)
    pair = kind[ps] * m + kind[ss]
    # jobs of the second kind that follow one of the first; the most any first-kind job leads
    followed = np.unique(pair * n + ss) // n
    pairs, n_followed = np.unique(followed, return_counts=True)
    by_pred, per = np.unique(pair * n + ps, return_counts=True)
    most = np.zeros(len(pairs), dtype=np.int64)
    np.maximum.at(most, np.searchsorted(pairs, by_pred // n), per)
    return [
        Chain(int(p // m), int(p % m), int(counts[p % m]) - int(f), int(k))
        for p, f, k in zip(pairs.tolist(), n_followed.tolist(), most.tolist(), strict=True)
    ]


def _best_disjoint(
    found: list[tuple[int, int, float]],
) -> tuple[float, list[tuple[int, int, float]]]:
    """The largest sum of losses over windows ``(a, b, loss)`` that do not overlap (one may
    start where another ends), and those windows."""
    found = sorted(found, key=lambda w: (w[1], w[0]))
    ends = [b for _, b, _ in found]
    total = [0.0] * (len(found) + 1)
    back: list[int] = [0] * (len(found) + 1)
    for i, (a, _, loss) in enumerate(found):
        k = bisect.bisect_right(ends, a, 0, i)
        total[i + 1], back[i + 1] = max((total[i], -1), (total[k] + loss, k))
    chosen = []
    i = len(found)
    while i > 0:
        if back[i] == -1:
            i -= 1
        else:
            chosen.append(found[i - 1])
            i = back[i]
    return total[-1], chosen[::-1]


def fluid_bound(
    instance: Instance,
    win: Windows | None = None,
    *,
    until: float | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> FluidBound:
    """The fluid window bound on weighted misses (the module docstring), with the sure misses.

    ``until`` (a :func:`time.perf_counter` time) stops trying windows; the bound over the
    windows solved so far still holds. ``progress(tried, total)`` follows the starts.

    Examples
    --------
    Two 4 ms tasks due at 6 ms on one processor: one of them misses.

    >>> import networkx as nx
    >>> from rtgen_opt.instance import Platform
    >>> g = nx.DiGraph()
    >>> g.add_node("a", durations={"m": 4.0}, deadline=6.0)
    >>> g.add_node("b", durations={"m": 4.0}, deadline=6.0)
    >>> fluid_bound(Instance.from_networkx(g, Platform.homogeneous(["m"]))).bound
    1.0
    """
    started = time.perf_counter()
    win = win or windows(instance)
    kinds, of, sure = job_kinds(instance, win)
    jobs = sorted(of)
    if not jobs:
        return FluidBound(sure, (), 0, 0, time.perf_counter() - started)
    head = np.array(
        [
            min(min(win.est[t, p] for p in win.options[t]) for t in instance.jobs[j].tasks)
            for j in jobs
        ]
    )
    deadline = np.array([win.deadline[j] for j in jobs])
    release = np.array([min(win.release[t] for t in instance.jobs[j].tasks) for j in jobs])
    span = deadline - release
    kind = np.array([of[j] for j in jobs])
    procs = list(instance.processors)
    split = _balanced_split(kinds, np.bincount(kind, minlength=len(kinds)), procs)
    pred, succ, late = _job_edges(instance, win, jobs, of, len(kinds))
    integral = all(float(w).is_integer() for w, _ in kinds)
    # Kinds a task of some kind can block: one of their jobs fits inside that task.
    longest = max(d for _, tasks in kinds for options in tasks for _, d in options)
    blockable = np.array(
        [longest > min(span[kind == k], default=longest) for k in range(len(kinds))]
    )

    starts = sorted(set(head.tolist()))
    if len(starts) > MAX_STARTS:
        step = len(starts) / MAX_STARTS
        starts = sorted({starts[int(i * step)] for i in range(MAX_STARTS)})
    shortest = max(1, int(np.min(deadline - head)))
    last = int(np.max(deadline))
    by_deadline = np.argsort(deadline, kind="stable")
    sorted_deadline = deadline[by_deadline]
    found: list[tuple[int, int, float]] = []
    tried = solved = 0
    for n, a in enumerate(starts):
        if until is not None and time.perf_counter() >= until:
            break
        if progress is not None:
            progress(n, len(starts))
        ends = []
        length = float(shortest)
        while a + length <= last * LENGTH_FACTOR:
            # the first deadline at least ``length`` after ``a``
            k = int(np.searchsorted(sorted_deadline, a + length, side="left"))
            ends.append(int(sorted_deadline[k]) if k < len(sorted_deadline) else last)
            length *= LENGTH_FACTOR
        inside_from = head[by_deadline] >= a
        for b in sorted(set(ends)):
            if b <= a:
                continue
            tried += 1
            reach = int(np.searchsorted(sorted_deadline, b, side="right"))
            members = by_deadline[:reach][inside_from[:reach]]
            if members.size == 0:
                continue
            counts = np.bincount(kind[members], minlength=len(kinds))
            rhythm = [None] * len(kinds)
            for k in np.flatnonzero(blockable & (counts > 0)):
                mine = members[kind[members] == k]
                rhythm[k] = _rhythm(release[mine], span[mine], a, b)
            if split.fits(counts, b - a, rhythm):
                continue  # the balanced split fits: every job kept
            solved += 1
            chains = _chains(
                lambda j, a=a, b=b: (head[j] >= a) & (deadline[j] <= b), kind, counts, pred, succ
            )
            loss = window_loss(kinds, counts.tolist(), b - a, rhythm, chains, late, len(procs))
            if integral:
                loss = grid.ceil(loss)
            if loss > 0:
                found.append((int(a), int(b), float(loss)))
    total, chosen = _best_disjoint(found)
    return FluidBound(sure + total, tuple(chosen), tried, solved, time.perf_counter() - started)
