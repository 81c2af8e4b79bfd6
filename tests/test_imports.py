"""ortools 9.15 and highspy >= 1.15 crash when loaded into one process; the pins must prevent it."""

import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    "first, second",
    [("ortools.sat.python.cp_model", "highspy"), ("highspy", "ortools.sat.python.cp_model")],
)
def test_ortools_and_highspy_load_together(first, second):
    # A fresh interpreter per order: a crash there is a segfault or an ImportError, not a test error.
    code = (
        f"import {first}, {second}\n"
        "from ortools.sat.python import cp_model\n"
        "import highspy\n"
        "m = cp_model.CpModel(); x = m.new_int_var(0, 3, 'x'); m.maximize(x)\n"
        "s = cp_model.CpSolver(); assert s.solve(m) == cp_model.OPTIMAL and s.value(x) == 3\n"
        "h = highspy.Highs(); h.setOptionValue('output_flag', False)\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_public_api_names_resolve():
    import rtgen_opt

    for name in ("Instance", "Schedule", "validate", "check", "objective_values", "Result"):
        assert getattr(rtgen_opt, name) is not None
    with pytest.raises(AttributeError):
        rtgen_opt.no_such_name  # noqa: B018
