"""CLI of lineage and comparison: ``labcycle lineage TYPE ID``, ``labcycle compare RUN...``,
``labcycle nbdiff RUN_A RUN_B``."""

from __future__ import annotations

import math
from typing import Any

import click
from rich.markup import escape
from rich.table import Table
from rich.tree import Tree

from ..services.entities import ENTITY_TYPES
from .base import _resolve_run, _services, console, emit_json, friendly_errors, main

STATUS_STYLE = {
    "finished": "green",
    "ready": "green",
    "ok": "green",
    "running": "cyan",
    "starting": "cyan",
    "queued": "cyan",
    "failed": "red",
    "error": "red",
    "degraded": "red",
    "drift": "yellow",
    "killed": "yellow",
    "deleted": "dim",
    "stopped": "dim",
}


def _label(node: dict[str, Any]) -> str:
    status = node.get("status")
    parts = [
        f"[bold]{escape(node['type'])}[/] {escape(str(node.get('title') or node['entity_id']))}",
        f"[dim]{escape(node['entity_id'][:12])}[/]",
    ]
    if status:
        parts.append(f"[{STATUS_STYLE.get(status, 'white')}]{escape(status)}[/]")
    if node.get("project"):
        parts.append(f"[dim]project {escape(node['project'])}[/]")
    return " ".join(parts)


def lineage_tree(graph: dict[str, Any]) -> Tree:
    """A rich tree: the entity at the top, an ``upstream`` and a ``downstream`` branch."""
    nodes = {n["id"]: n for n in graph["nodes"]}
    into: dict[str, list[dict]] = {}
    out_of: dict[str, list[dict]] = {}
    for e in graph["edges"]:
        into.setdefault(e["target"], []).append(e)
        out_of.setdefault(e["source"], []).append(e)
    root = Tree(_label(nodes[graph["root"]]))

    def grow(branch: Tree, key: str, edges: dict, other: str, seen: set[str]) -> None:
        for e in sorted(edges.get(key, []), key=lambda e: (e["relation"], e[other])):
            nxt = e[other]
            if nxt not in nodes:
                continue
            text = f"[italic]{escape(e['relation'])}[/] {_label(nodes[nxt])}"
            if nxt in seen:
                branch.add(text + " [dim](above)[/]")
                continue
            seen.add(nxt)
            grow(branch.add(text), nxt, edges, other, seen)

    if graph["direction"] in ("up", "both"):
        grow(root.add("[bold]upstream[/] ↑"), graph["root"], into, "source", {graph["root"]})
    if graph["direction"] in ("down", "both"):
        grow(root.add("[bold]downstream[/] ↓"), graph["root"], out_of, "target", {graph["root"]})
    return root


@main.command("lineage")
@click.argument("entity_type", metavar="TYPE", type=click.Choice(ENTITY_TYPES))
@click.argument("entity_id", metavar="ID")
@click.option(
    "--direction", type=click.Choice(["up", "down", "both"]), default="both", show_default=True
)
@click.option("--depth", type=int, default=3, show_default=True, help="1–10 edges away.")
@click.option("--max-nodes", type=int, default=500, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="The graph as JSON (nodes and edges).")
@friendly_errors
def lineage_cmd(
    entity_type: str, entity_id: str, direction: str, depth: int, max_nodes: int, as_json: bool
) -> None:
    """Where ENTITY came from and what came of it, from the recorded links."""
    graph = _services().lineage.graph(
        entity_type, entity_id, direction=direction, depth=depth, max_nodes=max_nodes
    )
    if as_json:
        emit_json(graph)
        return
    console.print(lineage_tree(graph))
    if graph["truncated"]:
        console.print(
            f"[yellow]Truncated at {graph['max_nodes']} nodes[/]: raise --max-nodes "
            "or lower --depth."
        )


def _cell(value: Any) -> str:
    if value is None:
        return "[dim]—[/]"
    if isinstance(value, float):
        return "NaN" if math.isnan(value) else f"{value:.6g}"
    return escape(str(value))[:60]


@main.command("compare")
@click.argument("run_ids", nargs=-1, required=True)
@click.option("--metric", help="The metric of the parallel-coordinates data.")
@click.option("--all", "show_all", is_flag=True, help="Also show params that are the same.")
@click.option("--json", "as_json", is_flag=True, help="Everything, histories included, as JSON.")
@friendly_errors
def compare_cmd(
    run_ids: tuple[str, ...], metric: str | None, show_all: bool, as_json: bool
) -> None:
    """Compare 2–50 runs (ids or 6+ character prefixes): differing params, metrics,
    attributes and packages (``labcycle runs compare`` is the short params/metrics view)."""
    services = _services()
    ids = [_resolve_run(services, r)["id"] for r in run_ids] if len(run_ids) <= 50 else run_ids
    out = services.compare.runs(list(ids), metric=metric)
    if as_json:
        emit_json(out)
        return
    runs = out["runs"]
    for title, section in (
        ("params", out["params"]),
        ("metrics", out["metrics"]),
        ("attributes", out["attributes"]),
        ("tags", out["tags"]),
    ):
        rows = [r for r in section["rows"] if r["differs"] or (show_all and title == "params")]
        if not rows:
            continue
        table = Table(title=title, title_justify="left")
        table.add_column("key")
        for run in runs:
            table.add_column(escape(run["name"])[:24])
        for row in rows:
            style = "bold yellow" if row["differs"] else None
            table.add_row(
                escape(row["key"]), *(_cell(row["values"].get(r["id"])) for r in runs), style=style
            )
        console.print(table)
    constant = out["params"]["constant"]
    if constant and not show_all:
        console.print(
            f"[dim]{len(constant)} params are the same in every run "
            f"({', '.join(constant[:8])}{'…' if len(constant) > 8 else ''}); --all shows them.[/]"
        )
    packages = out["packages"]
    if packages["differing"]:
        table = Table(title="packages that differ", title_justify="left")
        table.add_column("package")
        for run in runs:
            table.add_column(escape(run["name"])[:24])
        for p in packages["differing"]:
            table.add_row(escape(p["name"]), *(_cell(p["values"].get(r["id"])) for r in runs))
        console.print(table)


@main.command("nbdiff")
@click.argument("run_a")
@click.argument("run_b")
@click.option("--all", "show_all", is_flag=True, help="List unchanged cells too.")
@click.option("--json", "as_json", is_flag=True)
@friendly_errors
def nbdiff_cmd(run_a: str, run_b: str, show_all: bool, as_json: bool) -> None:
    """Cell-by-cell diff of two runs' notebook snapshots (ids or 6+ character prefixes)."""
    services = _services()
    out = services.compare.notebooks(
        _resolve_run(services, run_a)["id"], _resolve_run(services, run_b)["id"]
    )
    if as_json:
        emit_json(out)
        return
    s = out["summary"]
    console.print(
        f"{escape(out['run_a']['name'])} ({out['run_a']['snapshot']}) → "
        f"{escape(out['run_b']['name'])} ({out['run_b']['snapshot']}): "
        f"{s['modified']} modified, {s['added']} added, {s['removed']} removed, "
        f"{s['moved']} moved, {s['unchanged']} unchanged (aligned by {out['alignment']})"
    )
    params = out["parameters"]
    for value in params.get("values") or []:
        if value["changed"]:
            console.print(
                f"[bold]parameter[/] {escape(value['name'])}: "
                f"[red]{escape(str(value['a']))}[/] → [green]{escape(str(value['b']))}[/]"
            )
    colour = {"modified": "yellow", "added": "green", "removed": "red", "unchanged": "dim"}
    for cell in out["cells"]:
        if cell["status"] == "unchanged" and not cell["moved"] and not show_all:
            continue
        where = (
            f"{cell['a_index'] if cell['a_index'] is not None else '-'}→"
            f"{cell['b_index'] if cell['b_index'] is not None else '-'}"
        )
        flags = [f for f in ("moved", "parameters") if cell.get(f)]
        if cell.get("outputs_changed") and cell["status"] == "modified":
            flags.append("outputs changed")
        console.print(
            f"[{colour[cell['status']]}]{cell['status']}[/] cell {where} "
            f"{cell['cell_type']}" + (f" [dim]({', '.join(flags)})[/]" if flags else "")
        )
        for line in cell.get("source_diff") or []:
            style = "green" if line.startswith("+") else "red" if line.startswith("-") else "dim"
            console.print(f"    [{style}]{escape(line)}[/]", highlight=False)
        if cell["status"] in ("added", "removed"):
            for line in (cell.get("source") or "").splitlines()[:20]:
                console.print(f"    [{colour[cell['status']]}]{escape(line)}[/]", highlight=False)
        for line in (cell.get("outputs_diff") or [])[:40]:
            style = "green" if line.startswith("+") else "red" if line.startswith("-") else "dim"
            console.print(f"    [dim]out[/] [{style}]{escape(line)}[/]", highlight=False)
    if out["truncated"]:
        console.print("[yellow]Only the first changed cells have diffs (see limits).[/]")
