"""The shape of the house (STYLE.md): imports run one way.

Every ``import`` of the package is read from the source -- at module level and inside functions
alike, so a late import cannot dodge a circle -- and the module graph must be acyclic, the
library must never import the CLI, and ``exact/`` and ``online/`` must not know each other.
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

PACKAGE = Path(__file__).resolve().parents[1] / "rtgen_opt"


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def import_graph() -> nx.DiGraph:
    """Module -> the package modules it imports (``from a.b import c``: ``a.b.c`` when that is a
    module, else ``a.b``); relative imports resolved; ``import_module("...")`` with a literal
    name counted too."""
    modules = _modules()

    def resolve(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    g = nx.DiGraph()
    g.add_nodes_from(modules)
    for mod, path in modules.items():
        package = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text())):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(parts + ([base] if base else []))
                targets = [
                    f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base
                    for a in node.names
                ]
            elif (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", getattr(node.func, "attr", None)) == "import_module"
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                targets = [node.args[0].value]
            for t in targets:
                if t.startswith("rtgen_opt") and (r := resolve(t)) and r != mod:
                    g.add_edge(mod, r)
    return g


def test_the_reader_sees_every_module_and_a_known_edge():
    g = import_graph()
    assert "rtgen_opt.exact.lexicographic" in g
    assert g.has_edge("rtgen_opt.exact.cpsat", "rtgen_opt.exact.lexicographic")
    assert g.has_edge("rtgen_opt.inputs", "rtgen_opt.compile")


def test_no_import_circles_even_through_late_imports():
    cycles = list(nx.simple_cycles(import_graph()))
    assert cycles == [], "\n".join(" -> ".join(c) for c in cycles[:10])


def test_the_library_never_imports_the_cli():
    g = import_graph()
    front = ("rtgen_opt.cli", "rtgen_opt.__main__")  # the command line and `python -m`
    bad = [(u, v) for u, v in g.edges if v.startswith(front[0]) and not u.startswith(front)]
    assert bad == []


def test_exact_and_online_do_not_know_each_other():
    g = import_graph()
    bad = [
        (u, v)
        for u, v in g.edges
        for a, b in (("exact", "online"), ("online", "exact"))
        if u.startswith(f"rtgen_opt.{a}") and v.startswith(f"rtgen_opt.{b}")
    ]
    assert bad == []
