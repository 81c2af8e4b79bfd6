"""Input files: platforms, model profiles and scenarios (YAML), checked field by field.

>>> from rtgen_opt.spec import load, load_instance    # doctest: +SKIP
>>> scenario = load("instances/scenarios/video_call_small.yaml")    # doctest: +SKIP
>>> instance = load_instance("instances/scenarios/video_call_small.yaml")    # doctest: +SKIP

:func:`load` returns the spec object of a YAML file; :func:`load_instance` turns any
instance-like file (scenario YAML, instance JSON, XRBench ``.m``, flexible job shop ``.fjs``)
into an :class:`~rtgen_opt.instance.Instance`; :func:`schema` gives the JSON Schema of a kind.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

from rtgen_opt.errors import SpecError
from rtgen_opt.instance import Instance
from rtgen_opt.spec.checks import check_platform, check_profiles, check_scenario
from rtgen_opt.spec.loading import load, parse, read_yaml, validate_as
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
    "load_instance",
    "parse",
    "parse_granularity",
    "read_yaml",
    "schema",
    "validate_as",
]

INSTANCE_SUFFIXES = (".json", ".yaml", ".yml", ".m", ".fjs", ".txt")


def load_instance(path: str | os.PathLike[str], **overrides: Any) -> Instance:
    """Any instance-like file as an :class:`~rtgen_opt.instance.Instance`.

    ``.json``: a generic instance file; ``.yaml``/``.yml``: a scenario (compiled, with
    ``overrides`` passed to :func:`rtgen_opt.compile`); ``.m``: an XRBench MAESTRO scenario;
    ``.fjs`` or ``.txt``: a flexible job shop instance.

    Raises
    ------
    SpecError
        For a platform or profiles file (not an instance), an unknown suffix, or any error in
        the file.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".json":
        return Instance.load(path)
    if suffix in (".yaml", ".yml"):
        spec = load(path)
        if not isinstance(spec, ScenarioSpec):
            raise SpecError(
                str(path),
                "kind",
                f"a {spec.kind} file is not an instance; give a scenario that uses it",
            )
        from rtgen_opt.compile import compile

        return compile(spec, **overrides)
    if suffix == ".m":
        xrbench = _importer("xrbench", path)
        from rtgen_opt.compile import compile

        return compile(xrbench.read_scenario(path), **overrides)
    if suffix in (".fjs", ".txt"):
        return _importer("fjsp", path).read_fjsp(path)
    raise SpecError(
        str(path), None, f"unknown file type; expected one of {', '.join(INSTANCE_SUFFIXES)}"
    )


def _importer(name: str, path: Path) -> Any:
    from importlib import import_module

    try:
        return import_module(f"rtgen_opt.importers.{name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"rtgen_opt.importers.{name}":
            raise
        raise SpecError(str(path), None, f"the {name} importer is not available") from None


def schema(kind: str) -> dict[str, Any]:
    """The JSON Schema of a file kind (``platform``, ``profiles`` or ``scenario``).

    In a scenario, ``platform`` and each ``profiles`` item may also be a path (a string).
    """
    if kind not in SPEC_KINDS:
        raise SpecError(None, "kind", f"expected one of {', '.join(SPEC_KINDS)}, got {kind!r}")
    out = copy.deepcopy(SPEC_KINDS[kind].model_json_schema())
    if kind == "scenario":
        props = out["properties"]
        path = {"type": "string", "description": "path relative to the scenario file"}
        props["platform"] = {"anyOf": [path, props["platform"]]}
        props["profiles"]["items"] = {"anyOf": [path, props["profiles"]["items"]]}
    return out
