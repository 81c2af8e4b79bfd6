"""Stopping on request or on time: Ctrl-C and SIGTERM stop a long run at any moment, and it keeps
the best result found so far; a :class:`Deadline` keeps a call within its time limit.

One process-wide *stop request* that signals, solvers and loops share:

- :func:`on_signals` (the CLI wraps every long command in it) turns SIGINT and SIGTERM into a
  stop request instead of ``KeyboardInterrupt`` or death. A signal reaches Python's handler only
  between two bytecodes of the main thread, which may be inside a solver for minutes; so the
  handler also has a *wakeup file* (:func:`signal.set_wakeup_fd`), written by the C-level handler
  at once, and a watcher thread that reads it and stops the running solvers immediately;
- a solver registers how to stop it while it runs (:func:`stoppable`, e.g. CP-SAT's
  ``stop_search``); the watcher calls every registered one;
- loops (the window search, the group bounds, the report's executor) check :func:`requested`
  between steps.

A time limit is the other way a run stops: :class:`Deadline` is one budget shared by the
phases of a call, each getting only what is left.

After the run, :func:`exit_status` is ``128 + signal number`` (130 for SIGINT, 143 for SIGTERM),
the shell's convention, so scripts can tell an interrupted run from a finished one.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator

_event = threading.Event()
_lock = threading.Lock()
_stoppers: dict[int, Callable[[], None]] = {}
_next = 0
_signal: int | None = None
_installed = False

SIGNALS = (signal.SIGINT, signal.SIGTERM)


def event() -> threading.Event:
    """The stop request as an event (set once a stop is requested)."""
    return _event


def requested() -> bool:
    """Whether a stop was requested."""
    return _event.is_set()


def received() -> int | None:
    """The signal that requested the stop, if one did."""
    return _signal


def exit_status() -> int:
    """``128 + signal`` after a signal (130 for SIGINT, 143 for SIGTERM), 0 otherwise."""
    return 0 if _signal is None else 128 + _signal


def catching() -> bool:
    """Whether :func:`on_signals` is active (then solvers leave SIGINT to it)."""
    return _installed


def request(signum: int | None = None) -> None:
    """Request a stop: set the event and stop every registered solver."""
    global _signal
    if signum is not None and _signal is None:
        _signal = signum
    _event.set()
    with _lock:
        stoppers = list(_stoppers.values())
    for stop in stoppers:
        with contextlib.suppress(Exception):  # a solver that already finished
            stop()


def clear() -> None:
    """Forget a previous request (a new run starts)."""
    global _signal
    _event.clear()
    _signal = None


@contextlib.contextmanager
def stoppable(stop: Callable[[], None]) -> Iterator[None]:
    """Register ``stop`` (how to stop a running solver) for the duration of the block; if a
    stop was requested already, call it at once."""
    global _next
    with _lock:
        key = _next
        _next += 1
        _stoppers[key] = stop
    if _event.is_set():
        stop()
    try:
        yield
    finally:
        with _lock:
            _stoppers.pop(key, None)


@contextlib.contextmanager
def on_signals(signals: tuple[int, ...] = SIGNALS) -> Iterator[None]:
    """SIGINT and SIGTERM request a stop (see the module docstring) inside the block.

    Only from the main thread; elsewhere (or nested) the block runs unchanged.
    """
    global _installed
    if threading.current_thread() is not threading.main_thread() or _installed:
        yield
        return
    read, write = os.pipe()
    os.set_blocking(write, False)

    def handler(signum: int, frame: object) -> None:
        request(signum)

    previous = {s: signal.signal(s, handler) for s in signals}
    old_fd = signal.set_wakeup_fd(write, warn_on_full_buffer=False)

    def watch() -> None:
        while True:
            data = os.read(read, 16)
            if not data:  # the write end closed: the block is over
                return
            for byte in data:
                request(byte)

    watcher = threading.Thread(target=watch, name="rtgen-stop-watcher", daemon=True)
    _installed = True
    watcher.start()
    try:
        yield
    finally:
        signal.set_wakeup_fd(old_fd)
        for s, h in previous.items():
            signal.signal(s, h)
        os.close(write)
        watcher.join(timeout=1.0)
        os.close(read)
        _installed = False


class Deadline:
    """One wall-clock budget shared by the phases of a call (:func:`rtgen_opt.solve`): each
    phase asks how much is :meth:`left` and gets only that, so the call as a whole keeps its
    time limit (the starting schedules, the bounds, the model build and the search included).

    ``phases`` records how long each named phase took (:meth:`phase`), for the result's stats.

    Examples
    --------
    >>> d = Deadline(10.0)
    >>> 9.0 < d.left() <= 10.0, d.expired()
    (True, False)
    >>> d.by(0.25) - d.started == 2.5
    True
    """

    __slots__ = ("limit", "phases", "started")

    def __init__(self, limit: float, *, started: float | None = None) -> None:
        self.limit = float(limit)
        self.started = time.perf_counter() if started is None else started
        self.phases: dict[str, float] = {}

    @property
    def at(self) -> float:
        """The deadline on the :func:`time.perf_counter` clock."""
        return self.started + self.limit

    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def left(self, reserve: float = 0.0) -> float:
        """Seconds left (never below 0), less ``reserve`` kept for what comes after."""
        return max(0.0, self.at - reserve - time.perf_counter())

    def expired(self) -> bool:
        return time.perf_counter() >= self.at

    def by(self, share: float) -> float:
        """The :func:`time.perf_counter` time at which ``share`` of the limit is used."""
        return self.started + share * self.limit

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Time the block as phase ``name`` (added to :attr:`phases`)."""
        t = time.perf_counter()
        try:
            yield
        finally:
            self.phases[name] = self.phases.get(name, 0.0) + time.perf_counter() - t
