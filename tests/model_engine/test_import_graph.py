"""The engine's import graph has one circle only: the converter registry's, which is there by design.

The registry loads the catalogue (``supported``) on first use, the catalogue imports every converter module and
each converter registers itself with the registry. Any other circle (a graph that imports its serialiser, a model
that imports its artifact store) is a structural mistake this test names.
"""

from __future__ import annotations

import grimp

PACKAGE = "model_engine"
BY_DESIGN = ("model_engine.converters.registry", "model_engine.converters.supported")


def _circles(graph: grimp.ImportGraph) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm, iterative)."""
    modules = sorted(graph.modules)
    edges = {m: sorted(graph.find_modules_directly_imported_by(m) & graph.modules) for m in modules}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []
    for start in modules:
        if start in index:
            continue
        work = [(start, 0)]
        while work:
            module, position = work.pop()
            if position == 0:
                index[module] = low[module] = len(index)
                stack.append(module)
                on_stack.add(module)
            for k in range(position, len(edges[module])):
                target = edges[module][k]
                if target not in index:
                    work.append((module, k + 1))
                    work.append((target, 0))
                    break
                if target in on_stack:
                    low[module] = min(low[module], index[target])
            else:
                if low[module] == index[module]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == module:
                            break
                    if len(component) > 1:
                        circles.append(sorted(component))
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[module])
    return circles


def test_the_only_import_circle_is_the_converter_registry() -> None:
    graph = grimp.build_graph(PACKAGE)
    circles = _circles(graph)
    assert len(circles) == 1, circles
    assert set(BY_DESIGN) <= set(circles[0]), circles
    graph.remove_import(importer=BY_DESIGN[0], imported=BY_DESIGN[1])
    assert _circles(graph) == [], "a circle besides the converter registry's"


def test_the_circle_finder_finds_a_circle() -> None:
    graph = grimp.ImportGraph()
    for module in ("p", "p.a", "p.b", "p.c"):
        graph.add_module(module)
    graph.add_import(importer="p.a", imported="p.b")
    graph.add_import(importer="p.b", imported="p.a")
    graph.add_import(importer="p.c", imported="p.a")
    assert _circles(graph) == [["p.a", "p.b"]]
