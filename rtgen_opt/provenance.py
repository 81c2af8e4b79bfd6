"""Where the numbers of a profiles file come from: the tag of each one, counted.

Every latency, cost and size in a profiles YAML carries a tag in the comment of its line:
``[M]`` measured and published by the cited source, ``[V]`` vendor figure, ``[E]`` our
estimate (a derivation counts as an estimate: ``[M->E fit]`` is E). :func:`profile_numbers`
finds each number with its line (``yaml.compose`` keeps line marks) and reads its tag:

- when the comment is split by ``;`` into parts that name processor kinds before their tag
  (``npu [M] AI Hub ...; gpu 1.5x [E]; cpu 3x [E]``), a number of kind ``k`` takes the tag of
  the part naming ``k``;
- otherwise the first tag of the comment applies to every number on the line;
- a number on a line without any tag is *untagged* (``None``), which shipped files must not
  have (a test checks it).
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml

from rtgen_opt.errors import SpecError
from rtgen_opt.files import read_text

_TAG = re.compile(r"\[([MEV])([^\]]*)\]")
#: Per-layer and per-LLM fields whose numbers are counted (kind-keyed maps included).
_MODEL_FIELDS = ("latency_ms", "output_bytes")
_LLM_FIELDS = (
    "prefill_ms_per_token",
    "prefill_chunk_overhead_ms",
    "decode_ms_per_token",
    "kv_bytes_per_token",
    "activation_bytes_per_token",
)


@dataclass(frozen=True, slots=True)
class TaggedNumber:
    file: str
    line: int
    field: str
    kind: str | None
    value: float
    tag: str | None


def _tag(text: str) -> str:
    letter, rest = text[0], text[1:]
    return "E" if "->E" in rest or letter == "E" else letter


#: Words that name a decode cost's two numbers in a comment (``base [M] ...; slope [E] ...``).
_FIELD_WORDS = {"base_ms": "base", "per_context_token_ms": "slope"}


def tag_of(comment: str, kind: str | None, word: str | None = None) -> str | None:
    """The tag of a number of ``kind`` on a line with ``comment`` (see the module doc); a part
    naming ``word`` (``base``, ``slope``) before its tag is preferred to one naming the kind.

    Examples
    --------
    >>> tag_of("npu [M] AI Hub; gpu 1.5x [E]; cpu 3x [E]", "gpu")
    'E'
    >>> tag_of("[M->E fit] FLM 64.5 tok/s", "npu")
    'E'
    >>> tag_of("as above", "npu") is None
    True
    """
    for name in (word, kind):
        if name is None:
            continue
        for part in comment.split(";"):
            m = _TAG.search(part)
            if m is None:
                continue
            words = re.split(r"[\s,]+", part[: m.start()].strip())
            if name in words:
                return _tag(m.group(1) + m.group(2))
    m = _TAG.search(comment)
    return _tag(m.group(1) + m.group(2)) if m else None


def _comment(line: str) -> str:
    return line.split("#", 1)[1] if "#" in line else ""


def profile_numbers(path: str | os.PathLike[str]) -> list[TaggedNumber]:
    """Every counted number of a profiles YAML file with its tag."""
    path = Path(path)
    text = read_text(path, "a profiles YAML file")
    lines = text.splitlines()
    root = yaml.compose(text)
    if not isinstance(root, yaml.MappingNode):
        raise SpecError(str(path), None, "expected a profiles mapping")
    top = {k.value: v for k, v in root.value}
    if getattr(top.get("kind"), "value", None) != "profiles":
        raise SpecError(str(path), "kind", "expected a profiles file")
    out: list[TaggedNumber] = []

    def add(node, field: str, kind: str | None) -> None:
        if isinstance(node, yaml.ScalarNode):
            line = node.start_mark.line
            out.append(
                TaggedNumber(
                    str(path),
                    line + 1,
                    field,
                    kind,
                    float(node.value),
                    tag_of(_comment(lines[line]), kind, _FIELD_WORDS.get(field.rsplit(".", 1)[-1])),
                )
            )
        elif isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                # a kind-keyed map (latency_ms.npu) or a decode cost (npu.base_ms)
                add(v, f"{field}.{k.value}", kind if kind is not None else k.value)

    for section, fields, sub in (("models", _MODEL_FIELDS, "layers"), ("llms", _LLM_FIELDS, None)):
        seq = top.get(section)
        if not isinstance(seq, yaml.SequenceNode):
            continue
        for i, item in enumerate(seq.value):
            entries = {k.value: v for k, v in item.value}
            targets = [entries]
            if sub is not None and isinstance(entries.get(sub), yaml.SequenceNode):
                targets = [{k.value: v for k, v in layer.value} for layer in entries[sub].value]
            for j, entry in enumerate(targets):
                for f in fields:
                    if f in entry:
                        where = f"{section}[{i}]" + (f".{sub}[{j}]" if sub else "") + f".{f}"
                        add(entry[f], where, None)
    return out


def tag_counts(paths: Iterable[str | os.PathLike[str]]) -> Counter:
    """Tags of every number in ``paths``: a Counter over 'M', 'E', 'V' and None (untagged)."""
    return Counter(n.tag for p in paths for n in profile_numbers(p))
