"""The Python API of lineage and run comparison: ``lc.lineage``, ``lc.print_lineage``,
``lc.compare_runs``, ``lc.notebook_diff``.

Same transport as the rest of ``lc``: REST in a kernel of a Jupyter server with LabCycle,
the local store elsewhere. Results are the plain dicts the REST API documents
(docs/rest-api.md, "Lineage and comparison")::

    g = lc.lineage("model_version", version_id)          # up and down, depth 3
    lc.print_lineage(g)                                  # a text tree, no networkx needed
    cmp = lc.compare_runs([run1, run2, run3], metric="acc")
    cmp["params"]["differing"], cmp["histories"]["loss"][run1]["values"]
    diff = lc.notebook_diff(run1, run2)                  # cell by cell
"""

from __future__ import annotations

from typing import Any

from ..errors import InvalidInput
from .fluent import current_transport

__all__ = ["compare_runs", "format_lineage", "lineage", "notebook_diff", "print_lineage"]


def lineage(
    entity_type: str,
    entity_id: str,
    *,
    direction: str = "both",
    depth: int = 3,
    max_nodes: int = 500,
) -> dict[str, Any]:
    """The lineage graph around an entity: ``{"root", "nodes", "edges", "truncated", ...}``.

    ``entity_type`` is one of project, experiment, run, model, model_version, dataset,
    deployment, monitor, job, sweep, schedule; ``direction`` up, down or both.
    """
    return current_transport().lineage.graph(
        entity_type, entity_id, direction=direction, depth=depth, max_nodes=max_nodes
    )


def format_lineage(graph: dict[str, Any]) -> str:
    """A lineage graph as an indented text tree (upstream, then downstream)."""
    from ..services.lineage import format_tree

    return format_tree(graph)


def print_lineage(graph_or_type: Any, entity_id: str | None = None, **options: Any) -> None:
    """Print a lineage graph: ``print_lineage(g)`` or ``print_lineage("run", run_id)``."""
    if isinstance(graph_or_type, dict):
        graph = graph_or_type
    elif entity_id is None:
        raise InvalidInput(
            "print_lineage(entity_type, entity_id) needs the entity's id.", field="entity_id"
        )
    else:
        graph = lineage(graph_or_type, entity_id, **options)
    print(format_lineage(graph))


def compare_runs(
    run_ids: list[str],
    *,
    metric: str | None = None,
    keys: list[str] | None = None,
    max_points: int = 1000,
) -> dict[str, Any]:
    """Compare 2–50 runs: params (differing/constant), latest metrics, tags, attributes,
    packages, metric histories (≤ ``max_points`` per run and key, spikes kept) and
    parallel-coordinates data against ``metric``. Non-finite values are floats."""
    ids = [getattr(r, "id", r) for r in run_ids]  # Run objects or ids
    return current_transport().lineage.compare_runs(ids, metric, keys, max_points)


def notebook_diff(
    run_a: Any,
    run_b: Any,
    *,
    max_output_chars: int | None = None,
    max_detailed_cells: int | None = None,
) -> dict[str, Any]:
    """The cell-by-cell diff of two runs' notebook snapshots (``run_a`` is the baseline)."""
    a, b = getattr(run_a, "id", run_a), getattr(run_b, "id", run_b)
    limits = {
        k: v
        for k, v in (
            ("max_output_chars", max_output_chars),
            ("max_detailed_cells", max_detailed_cells),
        )
        if v is not None
    }
    return current_transport().lineage.notebook_diff(a, b, **limits)
