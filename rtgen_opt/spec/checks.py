"""Checks that span fields or files: names unique, references resolved, kinds known, no cycles.

Each check raises :class:`~rtgen_opt.errors.SpecError` naming the file the offending field is in
(a scenario's referenced platform or profiles file, or the scenario itself for inline parts)
and the field's path inside it.
"""

from __future__ import annotations

from rtgen_opt.errors import SpecError
from rtgen_opt.spec.models import (
    LLMProfileSpec,
    LLMStreamSpec,
    ModelSpec,
    PeriodicStreamSpec,
    PlatformSpec,
    ProfilesSpec,
    ScenarioSpec,
)


def _at(prefix: str, field: str) -> str:
    return f"{prefix}.{field}" if prefix else field


def _unique(names: list[str], file: str | None, field: str, what: str) -> None:
    seen: set[str] = set()
    for i, name in enumerate(names):
        if name in seen:
            raise SpecError(file, field.format(i=i), f"duplicate {what} {name!r}")
        seen.add(name)


def check_platform(spec: PlatformSpec, file: str | None, prefix: str = "") -> None:
    """Processor names unique after expanding ``count``; transfer pairs name known kinds."""
    seen: set[str] = set()
    for i, proc in enumerate(spec.processors):
        for name in proc.names:
            if name in seen:
                raise SpecError(
                    file, _at(prefix, f"processors[{i}].name"), f"duplicate processor {name!r}"
                )
            seen.add(name)
    for i, pair in enumerate(spec.transfers.pairs):
        for end in ("src", "dst"):
            if getattr(pair, end) not in spec.kinds:
                raise SpecError(
                    file,
                    _at(prefix, f"transfers.pairs[{i}].{end}"),
                    f"unknown processor kind {getattr(pair, end)!r} "
                    f"(the platform has {', '.join(spec.kinds)})",
                )


def check_profiles(
    spec: ProfilesSpec,
    file: str | None,
    prefix: str = "",
    kinds: tuple[str, ...] | None = None,
    platform: str = "",
) -> None:
    """Names unique; edges name known layers and follow the listed order; with ``kinds``, every
    processor kind a profile mentions is one the platform has."""
    _unique([m.name for m in spec.models], file, _at(prefix, "models[{i}].name"), "model")
    _unique([m.name for m in spec.llms], file, _at(prefix, "llms[{i}].name"), "llm")
    for mi, model in enumerate(spec.models):
        _check_model(model, file, _at(prefix, f"models[{mi}]"), kinds, platform)
    for li, llm in enumerate(spec.llms):
        _check_llm(llm, file, _at(prefix, f"llms[{li}]"), kinds, platform)


def _unknown_kind(
    kind: str, kinds: tuple[str, ...] | None, file: str | None, field: str, platform: str
) -> None:
    if kinds is not None and kind not in kinds:
        raise SpecError(
            file,
            field,
            f"processor kind {kind!r} is not on platform {platform!r} "
            f"(its kinds: {', '.join(kinds)})",
        )


def _check_model(
    model: ModelSpec, file: str | None, where: str, kinds: tuple[str, ...] | None, platform: str
) -> None:
    names = [layer.name for layer in model.layers]
    _unique(names, file, f"{where}.layers[{{i}}].name", "layer")
    for i, layer in enumerate(model.layers):
        for kind in layer.latency_ms:
            _unknown_kind(kind, kinds, file, f"{where}.layers[{i}].latency_ms.{kind}", platform)
    position = {n: i for i, n in enumerate(names)}
    for i, (u, v) in enumerate(model.layer_edges() if model.edges is not None else []):
        for end, name in ((0, u), (1, v)):
            if name not in position:
                raise SpecError(file, f"{where}.edges[{i}][{end}]", f"unknown layer {name!r}")
        if position[u] >= position[v]:
            raise SpecError(
                file,
                f"{where}.edges[{i}]",
                f"edge {u!r} -> {v!r} goes against the listed layer order "
                "(list layers in a topological order)",
            )


def _check_llm(
    llm: LLMProfileSpec,
    file: str | None,
    where: str,
    kinds: tuple[str, ...] | None,
    platform: str,
) -> None:
    for table in ("prefill_ms_per_token", "prefill_chunk_overhead_ms", "decode_ms_per_token"):
        for kind in getattr(llm, table):
            _unknown_kind(kind, kinds, file, f"{where}.{table}.{kind}", platform)
    for kind in llm.prefill_chunk_overhead_ms:
        if kind not in llm.prefill_ms_per_token:
            raise SpecError(
                file,
                f"{where}.prefill_chunk_overhead_ms.{kind}",
                f"kind {kind!r} has an overhead but no prefill_ms_per_token",
            )


def check_scenario(spec: ScenarioSpec) -> None:
    """Every check of a scenario and of its platform and profiles (wherever they came from)."""
    file = spec._file
    platform_file = spec._platform_file
    check_platform(spec.platform, platform_file or file, "" if platform_file else "platform")
    kinds = spec.platform.kinds
    models: dict[str, ModelSpec] = {}
    llms: dict[str, LLMProfileSpec] = {}
    for i, profiles in enumerate(spec.profiles):
        pfile = spec._profiles_files[i] if i < len(spec._profiles_files) else None
        where = (pfile, "") if pfile else (file, f"profiles[{i}]")
        check_profiles(profiles, *where, kinds=kinds, platform=spec.platform.name)
        for j, m in enumerate(profiles.models):
            if m.name in models or m.name in llms:
                raise SpecError(where[0], _at(where[1], f"models[{j}].name"), "duplicate model")
            models[m.name] = m
        for j, m in enumerate(profiles.llms):
            if m.name in models or m.name in llms:
                raise SpecError(where[0], _at(where[1], f"llms[{j}].name"), "duplicate model")
            llms[m.name] = m
    _unique([s.name for s in spec.streams], file, "streams[{i}].name", "stream")
    index = {s.name: i for i, s in enumerate(spec.streams)}
    for i, stream in enumerate(spec.streams):
        if isinstance(stream, PeriodicStreamSpec):
            _check_periodic(spec, i, stream, models, llms, index)
        else:
            _check_llm_stream(spec, i, stream, llms, models)


def _check_periodic(
    spec: ScenarioSpec,
    i: int,
    stream: PeriodicStreamSpec,
    models: dict[str, ModelSpec],
    llms: dict[str, LLMProfileSpec],
    index: dict[str, int],
) -> None:
    file = spec._file
    model = models.get(stream.model)
    if model is None:
        hint = " (an llm profile; a periodic stream needs a model)" if stream.model in llms else ""
        raise SpecError(
            file,
            f"streams[{i}].model",
            f"unknown model {stream.model!r}{hint}; known models: {', '.join(sorted(models))}",
        )
    granularity = spec.stream_granularity(stream)
    kinds = spec.platform.kinds
    for group in model.groups(granularity):
        layers = [model.layers[j] for j in group]
        if not any(all(k in layer.latency_ms for layer in layers) for k in kinds):
            span = layers[0].name if len(layers) == 1 else f"{layers[0].name}..{layers[-1].name}"
            raise SpecError(
                file,
                f"streams[{i}].model",
                f"model {model.name!r} has no runnable kind at granularity {granularity!r}: "
                f"no processor kind of the platform runs every layer of group {span}",
            )
    if stream.cascade is not None:
        upstream = stream.cascade.from_
        field = f"streams[{i}].cascade.from"
        if upstream not in index:
            raise SpecError(file, field, f"unknown stream {upstream!r}")
        if not isinstance(spec.streams[index[upstream]], PeriodicStreamSpec):
            raise SpecError(file, field, f"stream {upstream!r} is not periodic")
        chain = [stream.name]
        current: PeriodicStreamSpec = stream
        while current.cascade is not None:
            current = spec.streams[index[current.cascade.from_]]  # type: ignore[assignment]
            chain.append(current.name)
            if current.name == stream.name:
                raise SpecError(file, field, f"cascade cycle: {' <- '.join(chain)}")
            if len(chain) > len(spec.streams):
                break  # a cycle further upstream; reported at its own streams


def _check_llm_stream(
    spec: ScenarioSpec,
    i: int,
    stream: LLMStreamSpec,
    llms: dict[str, LLMProfileSpec],
    models: dict[str, ModelSpec],
) -> None:
    file = spec._file
    if stream.model not in llms:
        hint = " (a model profile; an llm stream needs an llm)" if stream.model in models else ""
        raise SpecError(
            file,
            f"streams[{i}].model",
            f"unknown llm {stream.model!r}{hint}; known llms: {', '.join(sorted(llms))}",
        )
    for field in ("prompt_tokens", "output_tokens"):
        if getattr(stream, field) is not None:
            continue
        if stream.poisson is not None:
            raise SpecError(file, f"streams[{i}].{field}", "required with poisson arrivals")
        for j, request in enumerate(stream.requests or []):
            if getattr(request, field) is None:
                raise SpecError(
                    file,
                    f"streams[{i}].requests[{j}].{field}",
                    "required (the stream gives no default)",
                )
