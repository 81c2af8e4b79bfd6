"""Your own measurements in a CSV file -> profiles.

Columns (a header row names them, in any order): ``model``, ``layer``, ``kind``,
``latency_ms``, and optionally ``output_bytes``, ``tag`` (``M`` measured, the default; ``E``
estimate; ``V`` vendor figure) and ``source`` (cited in the comment)::

    model,layer,kind,latency_ms,output_bytes
    detector,backbone,npu,1.9,716800
    detector,backbone,gpu,2.4,716800
    detector,head,npu,0.5,1411200

Models and their layers keep the order of their first row; layers form a chain. Several rows
for one (model, layer, kind) are repeated measurements: the median is taken and the comment
says how many rows it summarises. Every number's comment names the file and its rows.
"""

from __future__ import annotations

import csv
import math
import os
import statistics
from pathlib import Path

from rtgen_opt.errors import SpecError
from rtgen_opt.files import read_text
from rtgen_opt.importers.profiles_out import LayerOut, ModelOut, num, write_profiles
from rtgen_opt.spec import ProfilesSpec

REQUIRED = ("model", "layer", "kind", "latency_ms")
OPTIONAL = ("output_bytes", "tag", "source")
TAGS = ("M", "E", "V")


def _number(text: str | None, file: str, line: int, column: str, required: bool) -> float | None:
    if text is None or text.strip() == "":
        if required:
            raise SpecError(file, f"line {line}: {column}", "expected a number, got nothing")
        return None
    try:
        value = float(text)
    except ValueError:
        raise SpecError(
            file, f"line {line}: {column}", f"expected a number, got {text!r}"
        ) from None
    if not math.isfinite(value) or value < 0:
        raise SpecError(file, f"line {line}: {column}", f"expected a number >= 0, got {text!r}")
    return value


def read_csv(path: str | os.PathLike[str]) -> list[ModelOut]:
    """The models in a measurements CSV (see the module docstring)."""
    path = Path(path)
    file = str(path)
    text = read_text(path, "a measurements CSV file")
    reader = csv.DictReader(text.splitlines())
    header = [h.strip() for h in (reader.fieldnames or [])]
    reader.fieldnames = header
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise SpecError(
            file, "header", f"missing columns {', '.join(missing)} (expected {', '.join(REQUIRED)})"
        )
    unknown = [c for c in header if c not in REQUIRED + OPTIONAL]
    if unknown:
        raise SpecError(file, "header", f"unknown columns {', '.join(unknown)}")
    # model -> layer -> kind -> [(latency, line, tag, source)]
    table: dict[str, dict[str, dict[str, list[tuple[float, int, str, str]]]]] = {}
    sizes: dict[tuple[str, str], tuple[float, int]] = {}
    for line, row in enumerate(reader, start=2):
        model, layer, kind = ((row.get(c) or "").strip() for c in ("model", "layer", "kind"))
        for column, value in (("model", model), ("layer", layer), ("kind", kind)):
            if not value:
                raise SpecError(file, f"line {line}: {column}", "expected a name, got nothing")
        ms = _number(row.get("latency_ms"), file, line, "latency_ms", True)
        tag = (row.get("tag") or "M").strip().upper() or "M"
        if tag not in TAGS:
            raise SpecError(
                file, f"line {line}: tag", f"expected one of {', '.join(TAGS)}, got {tag!r}"
            )
        size = _number(row.get("output_bytes"), file, line, "output_bytes", False)
        if size is not None:
            seen = sizes.get((model, layer))
            if seen is not None and seen[0] != size:
                raise SpecError(
                    file,
                    f"line {line}: output_bytes",
                    f"{model}/{layer} has output_bytes {num(seen[0])} on line {seen[1]}",
                )
            sizes[(model, layer)] = (size, line)
        source = (row.get("source") or "").strip()
        table.setdefault(model, {}).setdefault(layer, {}).setdefault(kind, []).append(
            (float(ms), line, tag, source)  # type: ignore[arg-type]
        )
    if not table:
        raise SpecError(file, None, "no data row")
    models = []
    for model, layers in table.items():
        out_layers = []
        for layer, kinds in layers.items():
            latency, why = {}, []
            for kind, rows in kinds.items():
                values = [r[0] for r in rows]
                latency[kind] = statistics.median(values)
                tags = sorted({r[2] for r in rows})
                lines = ",".join(str(r[1]) for r in rows)
                sources = sorted({r[3] for r in rows if r[3]})
                what = "median of " + str(len(rows)) + " rows" if len(rows) > 1 else "row"
                why.append(
                    f"{kind} [{'/'.join(tags)}] {Path(file).name} {what} {lines}"
                    + (f" ({'; '.join(sources)})" if sources else "")
                )
            size = sizes.get((model, layer))
            out_layers.append(
                LayerOut(
                    name=layer,
                    latency_ms=latency,
                    latency_comment="; ".join(why),
                    output_bytes=size[0] if size else 0.0,
                    bytes_comment=f"[M] {Path(file).name} line {size[1]}"
                    if size
                    else "[E] not in the CSV: 0 (transfers cost their sync time only)",
                )
            )
        models.append(ModelOut(name=model, layers=out_layers))
    return models


def import_csv(
    path: str | os.PathLike[str], out: str | os.PathLike[str], *, name: str | None = None
) -> ProfilesSpec:
    """Read a measurements CSV and write it as profiles YAML; returns the written spec."""
    models = read_csv(path)
    header = [
        f"Imported from {Path(path).name} by `rtgen-opt import csv`: your own measurements.",
        "Tags: [M] measured, [E] estimate, [V] vendor figure, as the CSV's tag column says "
        "(default M); each comment names the CSV rows a number comes from.",
    ]
    return write_profiles(out, name or Path(path).stem, header, models)
