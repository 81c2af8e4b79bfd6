"""Reading spec files: YAML -> pydantic spec objects, with one-line, field-precise errors.

Every file carries a top-level ``kind: platform | profiles | scenario``. A scenario may name its
platform and profiles by path (relative to the scenario file) or inline them; :func:`load` reads
the referenced files, so an error in one of them names that file and the field inside it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from rtgen_opt.errors import SpecError
from rtgen_opt.files import read_text
from rtgen_opt.spec.checks import check_platform, check_profiles, check_scenario
from rtgen_opt.spec.models import (
    SPEC_KINDS,
    STREAM_TYPES,
    PlatformSpec,
    ProfilesSpec,
    ScenarioSpec,
    Spec,
)

AnySpec = PlatformSpec | ProfilesSpec | ScenarioSpec


def load(path: str | os.PathLike[str]) -> AnySpec:
    """Read a platform, profiles or scenario YAML file into its (checked) spec object.

    Parameters
    ----------
    path
        A YAML file with a top-level ``kind``.

    Returns
    -------
    PlatformSpec or ProfilesSpec or ScenarioSpec
        A scenario comes back with its platform and profiles inline (referenced files read).

    Raises
    ------
    SpecError
        Naming the file, the field (``streams[2].fps``) and what was expected.
    """
    path = Path(path)
    data = read_yaml(path)
    kind = data.get("kind")
    if kind not in SPEC_KINDS:
        raise SpecError(str(path), "kind", f"expected one of {', '.join(SPEC_KINDS)}, got {kind!r}")
    return parse(data, file=str(path), base_dir=path.parent)


def parse(
    data: Mapping[str, Any],
    *,
    file: str | None = None,
    base_dir: str | os.PathLike[str] | None = None,
    kind: str | None = None,
) -> AnySpec:
    """A spec object from an already-parsed mapping (``kind`` taken from the data if not given).

    Paths inside a scenario are resolved against ``base_dir`` (default: the working directory).
    """
    kind = kind or data.get("kind")
    if kind not in SPEC_KINDS:
        raise SpecError(file, "kind", f"expected one of {', '.join(SPEC_KINDS)}, got {kind!r}")
    if kind == "scenario":
        return _parse_scenario(data, file, Path(base_dir or "."))
    spec = validate_as(SPEC_KINDS[kind], data, file)
    if isinstance(spec, PlatformSpec):
        check_platform(spec, file)
    else:
        check_profiles(spec, file)
    return spec


class YamlLoader(yaml.SafeLoader):
    """PyYAML's safe loader, reading numbers as YAML 1.2 does: ``1e12`` and ``5E-3`` are floats
    (YAML 1.1, which PyYAML follows, needs a dot, ``1.0e+12``, and reads ``1e12`` as a string)."""


YamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


def safe_load(text: str) -> Any:
    """``yaml.safe_load`` with YAML 1.2 floats (:class:`YamlLoader`); every reader of a spec or
    profiles file uses it."""
    return yaml.load(text, Loader=YamlLoader)  # noqa: S506 - a SafeLoader subclass


def read_yaml(path: Path) -> dict[str, Any]:
    """The top-level mapping of a YAML file (SpecError if unreadable, invalid or not a mapping)."""
    text = read_text(path, "a YAML file")
    try:
        data = safe_load(text)
    except yaml.reader.ReaderError as exc:  # a control character: binary data, not text
        char = exc.character if isinstance(exc.character, int) else ord(exc.character)
        raise SpecError(
            str(path),
            None,
            f"not a text file: control character U+{char:04X} at position {exc.position}; "
            "expected a YAML file",
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "syntax error"
        raise SpecError(str(path), None, f"invalid YAML{where}: {problem}") from None
    if not isinstance(data, dict):
        raise SpecError(str(path), None, "expected a YAML mapping with a top-level 'kind'")
    return data


def validate_as(cls: type[Spec], data: Any, file: str | None, prefix: str = "") -> Any:
    """``cls.model_validate(data)``, with pydantic's errors turned into a SpecError (one line
    per field)."""
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        raise _spec_error(exc, file, prefix) from None


def _parse_scenario(data: Mapping[str, Any], file: str | None, base: Path) -> ScenarioSpec:
    data = dict(data)
    platform_file = None
    ref = data.get("platform")
    if isinstance(ref, str):
        platform_file = str(base / ref)
        data["platform"] = _load_part(base / ref, "platform", file, "platform")
    elif ref is not None and not isinstance(ref, Mapping):
        raise SpecError(file, "platform", "expected a path or an inline platform mapping")
    profiles_files: list[str | None] = []
    refs = data.get("profiles")
    if isinstance(refs, list):
        resolved = []
        for i, item in enumerate(refs):
            if isinstance(item, str):
                profiles_files.append(str(base / item))
                resolved.append(_load_part(base / item, "profiles", file, f"profiles[{i}]"))
            elif isinstance(item, Mapping):
                profiles_files.append(None)
                resolved.append(item)
            else:
                raise SpecError(
                    file, f"profiles[{i}]", "expected a path or an inline profiles mapping"
                )
        data["profiles"] = resolved
    elif isinstance(refs, (str, Mapping)):
        raise SpecError(file, "profiles", "expected a list of paths or inline profiles mappings")
    spec = validate_as(ScenarioSpec, data, file)
    spec._file = file
    spec._platform_file = platform_file
    spec._profiles_files = tuple(profiles_files)
    check_scenario(spec)
    return spec


def _load_part(path: Path, kind: str, file: str | None, field: str) -> Spec:
    if not path.is_file():
        raise SpecError(file, field, f"no such file: {path}")
    spec = load(path)
    if spec.kind != kind:
        raise SpecError(file, field, f"{path} is a {spec.kind} file, expected kind {kind}")
    return spec


# --------------------------------------------------------------------------- error messages
def _field_path(loc: tuple[Any, ...], prefix: str = "") -> str:
    """Pydantic's ``('streams', 2, 'periodic', 'fps')`` -> ``streams[2].fps``."""
    out = prefix
    prev: Any = None
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif isinstance(prev, int) and part in STREAM_TYPES:
            pass  # the discriminated union's tag, not a field the user wrote
        else:
            out += f".{part}" if out else str(part)
        prev = part
    return out


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _message(err: Mapping[str, Any]) -> str:
    kind, ctx, given = err["type"], err.get("ctx") or {}, err.get("input")
    got = f", got {_short(given)}"
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        return "unknown field"
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        op = {"greater_than": ">", "greater_than_equal": ">=", "less_than": "<"}.get(kind, "<=")
        bound = next(iter(ctx.values()))
        return f"expected a number {op} {bound:g}{got}"
    if kind in ("float_type", "float_parsing", "finite_number"):
        return f"expected a finite number{got}"
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return f"expected an integer{got}"
    if kind == "string_type":
        return f"expected a string{got}"
    if kind == "list_type":
        return f"expected a list{got}"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return f"expected a mapping{got}"
    if kind == "literal_error":
        return f"expected {ctx.get('expected')}{got}"
    if kind == "union_tag_not_found":
        return f"expected a field 'type': one of {', '.join(STREAM_TYPES)}"
    if kind == "union_tag_invalid":
        return f"expected type one of {', '.join(STREAM_TYPES)}, got {ctx.get('tag')!r}"
    if kind in ("too_short", "too_long", "string_too_short", "string_too_long"):
        limit = ctx.get("min_length" if kind.endswith("short") else "max_length")
        what = (
            "character" if kind.startswith("string") else _ITEM.get(ctx.get("field_type"), "item")
        )
        least = "at least" if kind.endswith("short") else "at most"
        return f"expected {least} {limit} {what}{'s' if limit != 1 else ''}{got}"
    if kind in ("bool_type", "bool_parsing"):
        return f"expected true or false{got}"
    if kind == "value_error":
        return str(ctx.get("error", err["msg"]))
    # any other pydantic error: its message in our words ("Input should be ..." -> "expected ...")
    msg = str(err["msg"])
    if msg.startswith("Input should be "):
        return f"expected {msg.removeprefix('Input should be ')}{got}"
    return msg[:1].lower() + msg[1:]


#: What a too-short or too-long container holds, by pydantic's ``field_type``.
_ITEM = {"Dictionary": "entry", "List": "item", "Tuple": "item", "Set": "item"}


def _spec_error(exc: ValidationError, file: str | None, prefix: str) -> SpecError:
    """Every error of ``exc`` (one line each), the first as the error's own field."""
    errors = [
        SpecError(file, _field_path(e["loc"], prefix) or None, _message(e))
        for e in exc.errors(include_url=False)
    ]
    first = errors[0]
    return SpecError(first.file, first.field, first.message, more=errors[1:])
