"""SIGINT and SIGTERM, sent to a real ``rtgen-opt`` process: it stops promptly, keeps the best
result found so far, says "interrupted" and exits 128 + signal (130, 143)."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from rtgen_opt.inputs import load_instance
from rtgen_opt.schedule import Schedule
from rtgen_opt.validate import check

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "instances" / "scenarios"
HEAVY = SCENARIOS / "game_npc_heavy_15s.yaml"  # the lane timeline proves heavy 4 s at once
#: Seconds a stopped process may take to print, write and exit.
PROMPT_S = 20.0

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


class _Process:
    """A CLI run whose stderr lines are read on a thread, so a test can wait for one."""

    def __init__(self, *args: str) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "rtgen_opt", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=ROOT,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.err: list[str] = []
        self.out: list[str] = []
        # Both pipes are drained on threads only: communicate() would read stderr too and take
        # the last lines ("interrupted ...") away from self.err.
        self._readers = [
            threading.Thread(target=self._read_err, daemon=True),
            threading.Thread(target=self._read_out, daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    def _read_err(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.err.append(line)
            self.lines.put(line)

    def _read_out(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.out.append(line)

    def wait_for(self, text: str, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if text in self.lines.get(timeout=0.5):
                    return
            except queue.Empty:
                if self.proc.poll() is not None:
                    break
        self.proc.kill()
        pytest.fail(f"never printed {text!r}; stderr: {''.join(self.err)}")

    def stop(self, signum: int) -> tuple[int, str, str, float]:
        sent = time.monotonic()
        self.proc.send_signal(signum)
        try:
            self.proc.wait(timeout=PROMPT_S * 3)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            pytest.fail("the process did not stop")
        took = time.monotonic() - sent
        for reader in self._readers:
            reader.join(timeout=10)  # both pipes are at end of file once the process is gone
        return self.proc.returncode, "".join(self.out), "".join(self.err), took


def _valid_schedule(path: Path, instance_file: Path) -> Schedule:
    schedule = Schedule.load(path)
    check(load_instance(instance_file), schedule)
    return schedule


@pytest.mark.parametrize("signum, status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_solve_stopped_during_the_search_keeps_its_best_schedule(tmp_path, signum, status):
    out = tmp_path / "best.json"
    p = _Process("solve", str(HEAVY), "--time-limit", "300", "--out", str(out))
    p.wait_for("[")  # a progress line: the search is running
    code, stdout, stderr, took = p.stop(signum)
    assert code == status, stderr
    assert "interrupted" in stderr
    assert "Traceback" not in stderr and "Aborted" not in stderr
    assert "bound" in stdout and "value" in stdout
    assert took < PROMPT_S
    _valid_schedule(out, HEAVY)


def test_solve_stopped_before_the_search_starts_still_writes_a_schedule(tmp_path):
    out = tmp_path / "best.json"
    p = _Process("solve", str(HEAVY), "--time-limit", "300", "--out", str(out))
    p.wait_for("solving ")  # the first line: starting schedules are being built
    code, stdout, stderr, took = p.stop(signal.SIGTERM)
    assert code == 143, stderr
    assert "interrupted" in stderr and "Traceback" not in stderr
    assert took < PROMPT_S
    _valid_schedule(out, HEAVY)


def test_report_stopped_keeps_every_finished_run_in_its_cache(tmp_path):
    suite = [str(SCENARIOS / f"{s}_stress.yaml") for s in ("video_call", "game_npc")]
    out = tmp_path / "report"
    cache = out / "cache"
    p = _Process(
        "report", *suite, "--out", str(out), "--time-limit", "300", "--policies", "edf-eft,heft"
    )
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and len(list(cache.glob("*.json"))) < 4:
        time.sleep(0.2)  # the four policy runs finish first; then the exact solves run
    assert len(list(cache.glob("*.json"))) == 4, "".join(p.err)
    code, _, stderr, took = p.stop(signal.SIGINT)
    assert code == 130, stderr
    assert "interrupted" in stderr and "kept in the cache" in stderr
    assert "Traceback" not in stderr
    assert took < PROMPT_S  # the in-flight solves (300 s) were not waited for
    assert len(list(cache.glob("*.json"))) == 4  # no cut solve was cached as a result
    assert not (out / "report.md").exists()
