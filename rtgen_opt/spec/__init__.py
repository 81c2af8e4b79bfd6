"""Input files: platforms, model profiles and scenarios (YAML), checked field by field.

>>> from rtgen_opt.spec import load
>>> load("instances/scenarios/video_call_small.yaml").name    # doctest: +SKIP
'video_call_small'

:func:`load` returns the spec object of a YAML file and :func:`schema` the JSON Schema of a
kind. Turning any instance-like file into an :class:`~rtgen_opt.instance.Instance` is the job of
the input front door, :func:`rtgen_opt.inputs.load_instance`.
"""

from __future__ import annotations

import copy
from typing import Any

from rtgen_opt.errors import ArgumentError
from rtgen_opt.spec.checks import check_platform, check_profiles, check_scenario
from rtgen_opt.spec.loading import load, parse, read_yaml, safe_load, validate_as
from rtgen_opt.spec.models import (
    SPEC_KINDS,
    CascadeSpec,
    DecodeCostSpec,
    LayerSpec,
    LinkSpec,
    LLMProfileSpec,
    LLMStreamSpec,
    ModelSpec,
    PairLinkSpec,
    PeriodicStreamSpec,
    PlatformSpec,
    PoissonSpec,
    ProcessorSpec,
    ProfilesSpec,
    RequestSpec,
    RooflineSpec,
    ScenarioSpec,
    TransfersSpec,
    parse_granularity,
)

__all__ = [
    "SPEC_KINDS",
    "CascadeSpec",
    "DecodeCostSpec",
    "LLMProfileSpec",
    "LLMStreamSpec",
    "LayerSpec",
    "LinkSpec",
    "ModelSpec",
    "PairLinkSpec",
    "PeriodicStreamSpec",
    "PlatformSpec",
    "PoissonSpec",
    "ProcessorSpec",
    "ProfilesSpec",
    "RequestSpec",
    "RooflineSpec",
    "ScenarioSpec",
    "TransfersSpec",
    "check_platform",
    "check_profiles",
    "check_scenario",
    "load",
    "parse",
    "parse_granularity",
    "read_yaml",
    "safe_load",
    "schema",
    "validate_as",
]


def schema(kind: str) -> dict[str, Any]:
    """The JSON Schema of a file kind (``platform``, ``profiles`` or ``scenario``).

    In a scenario, ``platform`` and each ``profiles`` item may also be a path (a string).
    """
    if kind not in SPEC_KINDS:
        raise ArgumentError("kind", f"expected one of {', '.join(SPEC_KINDS)}, got {kind!r}")
    out = copy.deepcopy(SPEC_KINDS[kind].model_json_schema())
    if kind == "scenario":
        props = out["properties"]
        path = {"type": "string", "description": "path relative to the scenario file"}
        props["platform"] = {"anyOf": [path, props["platform"]]}
        props["profiles"]["items"] = {"anyOf": [path, props["profiles"]["items"]]}
    return out
