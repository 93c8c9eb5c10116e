"""The project's imports point down and go round in no circle.

Every ``import`` statement of every module in the layers below is read from its AST, at
module level and inside functions alike (a function-level import is still an arrow), and
resolved to a project module. Two rules:

* **layers**: each layer imports only the layers it sits on (:data:`MAY_IMPORT`). The shared
  core ``lookalike/`` imports none of the others; ``indexer/`` and ``query/`` sit side by side
  on it (data flows catalog -> vectors -> Solr -> answers: the query layer gets the photo
  embedder handed in, it does not reach back into the indexer); ``merch/`` and ``quality/``
  build on the query layer; the composition roots (``app/`` and ``lookalike.cli``, the console
  script) may import everything, and nothing imports them.
* **no cycle** among modules (Tarjan's strongly connected components over the graph).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAYERS = ("lookalike", "indexer", "query", "merch", "quality", "app")

# layer -> the layers its modules may import (besides its own)
MAY_IMPORT = {
    "lookalike": set(),
    "indexer": {"lookalike"},
    "query": {"lookalike"},
    "merch": {"lookalike", "query"},
    "quality": {"lookalike", "indexer", "query"},
    "app": {"lookalike", "indexer", "query", "merch", "quality"},
}


ROOTS = {"lookalike.cli"}  # roots that live outside app/ (the console script `lookalike`)


def layer_of(module: str) -> str:
    return "app" if module in ROOTS else module.split(".")[0]


def module_names() -> dict[str, Path]:
    out = {}
    for layer in LAYERS:
        for path in (ROOT / layer).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join(parts)] = path
    return out


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The project modules ``name`` imports, anywhere in its file."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                origin = ".".join(base + ([node.module] if node.module else []))
            else:
                origin = node.module or ""
            # `from pkg import sub` imports the module pkg.sub when there is one
            targets = [f"{origin}.{a.name}" if f"{origin}.{a.name}" in modules else origin for a in node.names]
        else:
            continue
        for target in targets:
            while target and target not in modules:  # `import a.b.c` of a module a.b: a.b
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def graph() -> dict[str, set[str]]:
    modules = module_names()
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out = []
    counter = 0
    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        out.append(sorted(component))
    return out


def test_the_graph_sees_module_and_function_level_imports():
    edges = graph()
    assert "lookalike.settings" in edges["query.client"]  # module level
    assert "query.http.errors" in edges["query.http.search"]  # relative
    assert len(edges) > 60


def test_no_import_cycle():
    assert cycles(graph()) == []


def test_cycle_finder_finds_one():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


@pytest.mark.parametrize("layer", LAYERS)
def test_arrows_point_down(layer):
    allowed = MAY_IMPORT[layer] | {layer}
    wrong = sorted(
        f"{name} -> {target}"
        for name, targets in graph().items()
        if layer_of(name) == layer
        for target in targets
        if layer_of(target) not in allowed or (layer_of(target) == "app" and layer != "app")
    )
    assert wrong == [], f"{layer}/ may import only {sorted(allowed)}"


def test_nothing_imports_a_root():
    wrong = sorted(f"{name} -> {t}" for name, ts in graph().items() for t in ts
                   if layer_of(t) == "app" and layer_of(name) != "app")
    assert wrong == []
