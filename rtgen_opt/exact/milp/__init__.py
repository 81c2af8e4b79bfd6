"""The MILP backend (PuLP, on CBC or HiGHS): ``solve_cbc`` and ``solve_highs`` are the functions
registered as ``milp-cbc`` and ``milp-highs`` in :data:`rtgen_opt.exact.BACKENDS`.

Call them through :func:`rtgen_opt.solve`, which supplies the hint and validates the answer. The
model itself (:func:`build_model`) can be written to LP/MPS files (:func:`write_model`) for any
other solver. The mathematics is in ``formulations/milp.md``.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from rtgen_opt.exact.milp.model import MilpModel, build_model, decode, hint_values, solve_milp
from rtgen_opt.exact.result import Result
from rtgen_opt.files import write_atomic
from rtgen_opt.instance import Instance


def solve_cbc(instance: Instance, objectives: tuple[str, ...], **kwargs: Any) -> Result:
    """The ``milp-cbc`` backend (see :func:`rtgen_opt.exact.milp.model.solve_milp`)."""
    return solve_milp(instance, objectives, engine="cbc", **kwargs)


def solve_highs(instance: Instance, objectives: tuple[str, ...], **kwargs: Any) -> Result:
    """The ``milp-highs`` backend (see :func:`rtgen_opt.exact.milp.model.solve_milp`)."""
    return solve_milp(instance, objectives, engine="highs", **kwargs)


def write_model(model: MilpModel, path: str | os.PathLike[str], fmt: str | None = None) -> None:
    """Write the model's problem (active objective) as an LP or MPS file, atomically.

    ``fmt`` is ``"lp"`` or ``"mps"``; default: from the file suffix (``.mps`` -> MPS).
    """
    path = Path(path)
    fmt = fmt or ("mps" if path.suffix.lower() == ".mps" else "lp")
    with tempfile.TemporaryDirectory(prefix="rtgen-milp-") as tmp:
        out = Path(tmp) / f"model.{fmt}"
        if fmt == "mps":
            model.problem.writeMPS(str(out))
        else:
            model.problem.writeLP(str(out))
        write_atomic(path, out.read_text())


__all__ = [
    "MilpModel",
    "build_model",
    "decode",
    "hint_values",
    "solve_cbc",
    "solve_highs",
    "write_model",
]
