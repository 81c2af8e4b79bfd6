"""Replaying a policy: the entry points over the simulator, and duration noise.

:func:`simulate` makes the policy (:func:`~rtgen_opt.online.registry.make_policy`), perturbs the
instance when noise is asked for (:func:`perturb`), runs the event loop of
:class:`~rtgen_opt.online.simulator.Simulation` and validates the schedule against the instance it
is valid for; :func:`replay` returns just the schedule.
"""

from __future__ import annotations

import gc
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from rtgen_opt.errors import ArgumentError
from rtgen_opt.instance import Instance
from rtgen_opt.online.policies.base import Policy
from rtgen_opt.online.registry import make_policy
from rtgen_opt.online.simulator import Simulation
from rtgen_opt.schedule import Schedule
from rtgen_opt.validate import check

NOISE_MODEL = "lognormal, mean one: factor = exp(sigma*z - sigma^2/2) per task"


@dataclass(frozen=True)
class Replay:
    """One replay: the validated schedule, the instance it is valid for, and run statistics.

    ``instance`` is the perturbed instance when noise was applied (the nominal one otherwise);
    metrics of the schedule must be computed on it.
    """

    schedule: Schedule
    instance: Instance
    policy: str
    noise: float
    seed: int
    stats: Mapping[str, float] = field(default_factory=dict)


def perturb(instance: Instance, noise: float, seed: int = 0) -> Instance:
    """The instance with durations multiplied by seeded mean-one lognormal factors.

    One factor per task, ``exp(noise * z - noise**2 / 2)`` with ``z`` standard normal drawn from
    ``numpy.random.default_rng(seed)`` in topological task order. ``noise == 0`` returns the
    instance itself.

    Raises
    ------
    ArgumentError
        When ``noise`` is negative or not finite.

    Examples
    --------
    >>> import networkx as nx
    >>> from rtgen_opt.instance import Platform
    >>> g = nx.DiGraph(); g.add_node("a", durations={"m": 10.0})
    >>> inst = Instance.from_networkx(g, Platform.homogeneous(["m"]))
    >>> perturb(inst, 0.0) is inst
    True
    >>> perturb(inst, 0.2, seed=1).durations("a") == perturb(inst, 0.2, seed=1).durations("a")
    True
    """
    if not (isinstance(noise, (int, float)) and math.isfinite(noise) and noise >= 0):
        raise ArgumentError("noise", f"expected a finite sigma >= 0, got {noise!r}")
    if noise == 0:
        return instance
    rng = np.random.default_rng(seed)
    z = rng.standard_normal(len(instance.tasks))
    factors = np.exp(noise * z - noise * noise / 2.0)
    return instance.with_durations(
        {t: float(f) for t, f in zip(instance.tasks, factors, strict=True)},
        name=f"{instance.name}~noise{noise:g}/seed{seed}",
    )


def simulate(
    instance: Instance,
    policy: str | Policy | type[Policy],
    *,
    noise: float = 0.0,
    seed: int = 0,
    validate: bool = True,
) -> Replay:
    """Replay ``policy`` on ``instance`` and return the schedule with the instance it is valid for.

    Parameters
    ----------
    instance
        The nominal instance (what the policy plans with).
    policy
        A registered name (``rtgen_opt.online.POLICIES``), ``"module:Class"`` for a user's
        policy class, a :class:`Policy` subclass or an instance of one.
    noise
        Sigma of the mean-one lognormal duration noise (0: none); see :func:`perturb`.
    seed
        Seed of the noise.
    validate
        Check the schedule against the (perturbed) instance; only benchmarks turn this off.

    Raises
    ------
    ArgumentError
        For an unknown policy name or a bad noise level.
    PolicyError
        When a policy makes an illegal decision or leaves work unscheduled.
    InvalidScheduleError
        Never for a correct simulator; the check is the contract.
    """
    pol = make_policy(policy)
    actual = perturb(instance, noise, seed)
    # The simulator allocates many small objects and frees none until the end: the cyclic
    # garbage collector would only rescan the instance's graph again and again.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        t0, c0 = time.perf_counter(), time.process_time()
        sim = Simulation(instance, actual)
        t1, c1 = time.perf_counter(), time.process_time()
        sim.run(pol)
        t2, c2 = time.perf_counter(), time.process_time()
    finally:
        if gc_was_enabled:
            gc.enable()
    sched = sim.schedule(method=pol.name, seed=seed, noise=noise, noise_model=NOISE_MODEL)
    if validate:
        check(actual, sched)
    stats = {
        "tasks": sim.n_tasks,
        "events": sim.events,
        "decisions": sim.decisions,
        "setup_s": t1 - t0,
        "run_s": t2 - t1,
        "setup_cpu_s": c1 - c0,
        "run_cpu_s": c2 - c1,
    }
    return Replay(sched, actual, pol.name, noise, seed, stats)


def replay(
    instance: Instance,
    policy: str | Policy | type[Policy],
    *,
    noise: float = 0.0,
    seed: int = 0,
) -> Schedule:
    """The validated schedule of ``policy`` replayed on ``instance`` (see :func:`simulate`).

    With ``noise > 0`` the schedule is valid for ``perturb(instance, noise, seed)``, not for the
    nominal instance; use :func:`simulate` to get both.

    Examples
    --------
    >>> import networkx as nx
    >>> from rtgen_opt.instance import Platform
    >>> g = nx.DiGraph()
    >>> g.add_node("a", durations={"cpu": 4.0, "npu": 1.0}, deadline=3.0)
    >>> g.add_node("b", durations={"cpu": 3.0, "npu": 1.0}, deadline=3.0)
    >>> inst = Instance.from_networkx(g, Platform.homogeneous(["cpu", "npu"]))
    >>> s = replay(inst, "edf-eft")
    >>> [(t, pl.processor, pl.start, pl.end) for t, pl in s.placements.items()]
    [('a', 'npu', 0.0, 1.0), ('b', 'npu', 1.0, 2.0)]
    """
    return simulate(instance, policy, noise=noise, seed=seed).schedule
