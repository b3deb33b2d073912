"""The package's import graph: no cycles, and no lower layer imports an upper one.

Layers, top to bottom: the faces (``cli``, ``api``, ``magics``, ``server``, ``apps``,
``demo``, ``autologging``), then ``client``, then the domain (``services``, ``jobs``,
``models``, ``serving``, ``monitoring``, ``provenance``), then ``store``, then ``config``
and ``errors``. Imports inside functions count too; ``TYPE_CHECKING`` imports do not.
"""

from __future__ import annotations

import grimp
import pytest

FACES = ("cli", "api", "magics", "server", "apps", "demo", "autologging")
DOMAIN = ("services", "jobs", "models", "serving", "monitoring", "provenance", "store")


@pytest.fixture(scope="module")
def graph():
    graph = grimp.build_graph("labcycle", exclude_type_checking_imports=True)
    assert "labcycle.services.tracking" in graph.modules and len(graph.modules) > 100
    return graph


def _area(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_no_import_cycles(graph):
    edges = {m: graph.find_modules_directly_imported_by(m) for m in graph.modules}
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(module: str, path: list[str]) -> None:  # depth first: 1 on the path, 2 done
        state[module] = 1
        for target in sorted(edges[module]):
            if state.get(target) == 1:
                cycles.append([*path[path.index(target) :], target])
            elif target not in state:
                visit(target, [*path, target])
        state[module] = 2

    for module in sorted(graph.modules):
        if module not in state:
            visit(module, [module])
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles[:10])


def test_lower_layers_do_not_import_upper_ones(graph):
    wrong = []
    for module in sorted(graph.modules):
        area = _area(module)
        if area in DOMAIN or area == "client":
            above = FACES if area == "client" else (*FACES, "client")
            for target in graph.find_modules_directly_imported_by(module):
                if _area(target) in above:
                    wrong.append(f"{module} -> {target}")
    assert not wrong, "\n".join(wrong)
