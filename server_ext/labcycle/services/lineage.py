"""Lineage: the graph of recorded links around any entity, upstream and downstream.

Built only from links that are stored (no guessing from names or times). An edge reads
``source <relation> target`` and points the way data and work flow:

==============  =====================  ==============  ========================================
source          relation               target          recorded as
==============  =====================  ==============  ========================================
project         contains               experiment      ``experiments.project_id``
experiment      contains               run             ``runs.experiment_id``
dataset         input_of               run             ``run_inputs`` (edge ``context``)
run             produced               dataset         ``run_inputs`` with context ``output``
notebook        snapshot_of            run             artifact ``executed.ipynb``/``notebook.ipynb``
run             parent_of              run             ``runs.parent_run_id``
run             reproduced_by          run             tag ``labcycle.reproduces_run_id`` or
                                                       ``jobs.reproduces_run_id`` of the run's job
job             executed               run             ``jobs.run_id``
sweep           launched               job             ``jobs.sweep_id``
schedule        launched               job             ``jobs.schedule_id``
run             logged                 model_version   ``model_versions.run_id``; if the run is
                                                       gone, the version's ``lineage`` JSON
                                                       (its run, shown ``missing``, and datasets)
model           has_version            model_version   ``model_versions.model_id``
model_version   served_by              deployment      the deployment's ``model_ref`` / ``traffic``
                                                       as they resolve now
deployment      watched_by             monitor         ``monitors.deployment_id``
dataset         reference_of/current_of monitor        ``monitors.*_dataset_id``
==============  =====================  ==============  ========================================

Upstream of X is every node with a path *to* X, downstream every node reachable *from* X;
``both`` is the union of the two walks (not the siblings of X's parents). The walk stops at
``depth`` edges from X and at ``max_nodes`` nodes (``truncated: true`` then). A notebook node
(``notebook:<run_id>/<path>``) is the run's notebook snapshot; it is not an entity
reference but its ``url_hint`` is the artifact's REST path.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from sqlalchemy import Connection, select

from ..errors import InvalidInput, NotFound
from ..store import Store
from ..store.models import (
    Artifact,
    Dataset,
    Deployment,
    Experiment,
    Job,
    ModelAlias,
    ModelVersion,
    Monitor,
    RegisteredModel,
    Run,
    RunInput,
    Tag,
)
from .entities import (
    ENTITY_TYPES,
    MAX_ID_LENGTH,
    describe,
    describe_many,
    validate_entity_id,
    validate_type,
)
from .ownership import hidden_projects, project_map
from .reproduce import REPRODUCES_TAG, SNAPSHOT_ARTIFACTS, snapshot_path

DEFAULT_DEPTH, MAX_DEPTH = 3, 10
DEFAULT_MAX_NODES, MAX_MAX_NODES = 500, 5000
DIRECTIONS = ("up", "down", "both")
OUTPUT_CONTEXTS = ("output", "produced", "generated")

E, R, RI, D = Experiment.__table__, Run.__table__, RunInput.__table__, Dataset.__table__
A, T, J = Artifact.__table__, Tag.__table__, Job.__table__
RM, MV, MA = RegisteredModel.__table__, ModelVersion.__table__, ModelAlias.__table__
DEP, MON = Deployment.__table__, Monitor.__table__


@dataclass
class _Step:
    """What one level of the walk found: edges and nodes that are not entities."""

    edges: list[tuple[str, str, str, dict]] = field(default_factory=list)
    synthetic: dict[str, dict[str, Any]] = field(default_factory=dict)
    hit_limit: bool = False

    def add(self, source: str, target: str, relation: str, **attrs: Any) -> None:
        self.edges.append((source, target, relation, {k: v for k, v in attrs.items() if v}))


def _k(entity_type: str, entity_id: str) -> str:
    return f"{entity_type}:{entity_id}"


def _split(key: str) -> tuple[str, str]:
    entity_type, _, entity_id = key.partition(":")
    return entity_type, entity_id


class _Walker:
    """Finds the edges into (``up``) or out of (``down``) a set of nodes of one type, with
    a few queries per type whatever the number of nodes."""

    def __init__(self, conn: Connection, limit: int) -> None:
        self.conn = conn
        self.limit = limit  # rows per query: a project with 10,000 runs stops at the cap

    def _all(self, stmt: Any, step: _Step) -> Sequence[Any]:
        rows = self.conn.execute(stmt.limit(self.limit + 1)).all()
        if len(rows) > self.limit:
            step.hit_limit = True
            rows = rows[: self.limit]
        return rows

    # -- one function per (type, direction); each appends to ``step`` ------------------
    def up_experiment(self, ids: list[str], step: _Step) -> None:
        for r in self._all(select(E.c.id, E.c.project_id).where(E.c.id.in_(ids)), step):
            step.add(_k("project", r.project_id), _k("experiment", r.id), "contains")

    def down_project(self, ids: list[str], step: _Step) -> None:
        stmt = select(E.c.id, E.c.project_id).where(E.c.project_id.in_(ids)).order_by(E.c.name)
        for r in self._all(stmt, step):
            step.add(_k("project", r.project_id), _k("experiment", r.id), "contains")

    def down_experiment(self, ids: list[str], step: _Step) -> None:
        stmt = (
            select(R.c.id, R.c.experiment_id)
            .where(R.c.experiment_id.in_(ids))
            .order_by(R.c.start_time.desc())
        )
        for r in self._all(stmt, step):
            step.add(_k("experiment", r.experiment_id), _k("run", r.id), "contains")

    def up_run(self, ids: list[str], step: _Step) -> None:
        rows = self._all(
            select(R.c.id, R.c.experiment_id, R.c.parent_run_id).where(R.c.id.in_(ids)), step
        )
        for r in rows:
            step.add(_k("experiment", r.experiment_id), _k("run", r.id), "contains")
            if r.parent_run_id:
                step.add(_k("run", r.parent_run_id), _k("run", r.id), "parent_of")
        for r in self._all(
            select(RI.c.run_id, RI.c.dataset_id, RI.c.context).where(RI.c.run_id.in_(ids)), step
        ):
            if r.context in OUTPUT_CONTEXTS:
                continue
            step.add(
                _k("dataset", r.dataset_id), _k("run", r.run_id), "input_of", context=r.context
            )
        self._snapshots(ids, step)
        for r in self._all(
            select(J.c.id, J.c.run_id, J.c.reproduces_run_id).where(J.c.run_id.in_(ids)), step
        ):
            step.add(_k("job", r.id), _k("run", r.run_id), "executed")
            if r.reproduces_run_id:
                step.add(_k("run", r.reproduces_run_id), _k("run", r.run_id), "reproduced_by")
        for r in self._all(
            select(T.c.run_id, T.c.value).where(T.c.run_id.in_(ids), T.c.key == REPRODUCES_TAG),
            step,
        ):
            step.add(_k("run", r.value), _k("run", r.run_id), "reproduced_by")

    def _snapshots(self, ids: list[str], step: _Step) -> None:
        rows = self._all(
            select(A.c.run_id, A.c.path, A.c.size, R.c.notebook_path)
            .join(R, R.c.id == A.c.run_id)
            .where(A.c.run_id.in_(ids), A.c.path.in_(SNAPSHOT_ARTIFACTS)),
            step,
        )
        by_run: dict[str, dict[str, Any]] = defaultdict(dict)
        for r in rows:
            by_run[r.run_id][r.path] = r
        for run_id, found in by_run.items():
            path = snapshot_path(found)  # the snapshot reproduce() would re-execute
            assert path is not None  # the query selected snapshot paths only
            r = found[path]
            key = _k("notebook", f"{run_id}/{r.path}")
            title = (r.notebook_path or r.path).replace("\\", "/").rsplit("/", 1)[-1]
            step.synthetic[key] = {
                "title": title,
                "status": None,
                "run_id": run_id,
                "size": r.size,
                "url_hint": f"runs/{quote(run_id, safe='')}/artifacts/{r.path}",
            }
            step.add(key, _k("run", run_id), "snapshot_of")

    def down_run(self, ids: list[str], step: _Step) -> None:
        for r in self._all(
            select(MV.c.id, MV.c.run_id).where(MV.c.run_id.in_(ids)).order_by(MV.c.created_at), step
        ):
            step.add(_k("run", r.run_id), _k("model_version", r.id), "logged")
        for r in self._all(
            select(R.c.id, R.c.parent_run_id).where(R.c.parent_run_id.in_(ids)), step
        ):
            step.add(_k("run", r.parent_run_id), _k("run", r.id), "parent_of")
        for r in self._all(
            select(RI.c.run_id, RI.c.dataset_id, RI.c.context).where(
                RI.c.run_id.in_(ids), RI.c.context.in_(OUTPUT_CONTEXTS)
            ),
            step,
        ):
            step.add(
                _k("run", r.run_id), _k("dataset", r.dataset_id), "produced", context=r.context
            )
        for r in self._all(
            select(J.c.run_id, J.c.reproduces_run_id).where(
                J.c.reproduces_run_id.in_(ids), J.c.run_id.is_not(None)
            ),
            step,
        ):
            step.add(_k("run", r.reproduces_run_id), _k("run", r.run_id), "reproduced_by")
        for r in self._all(
            select(T.c.run_id, T.c.value).where(T.c.key == REPRODUCES_TAG, T.c.value.in_(ids)), step
        ):
            step.add(_k("run", r.value), _k("run", r.run_id), "reproduced_by")

    def down_notebook(self, ids: list[str], step: _Step) -> None:
        for key in ids:
            run_id = key.split("/", 1)[0]
            step.add(_k("notebook", key), _k("run", run_id), "snapshot_of")

    def down_dataset(self, ids: list[str], step: _Step) -> None:
        for r in self._all(
            select(RI.c.run_id, RI.c.dataset_id, RI.c.context)
            .where(RI.c.dataset_id.in_(ids))
            .order_by(RI.c.run_id),
            step,
        ):
            if r.context in OUTPUT_CONTEXTS:
                continue
            step.add(
                _k("dataset", r.dataset_id), _k("run", r.run_id), "input_of", context=r.context
            )
        for r in self._all(
            select(MON.c.id, MON.c.reference_dataset_id, MON.c.current_dataset_id).where(
                MON.c.reference_dataset_id.in_(ids) | MON.c.current_dataset_id.in_(ids)
            ),
            step,
        ):
            if r.reference_dataset_id in ids:
                step.add(_k("dataset", r.reference_dataset_id), _k("monitor", r.id), "reference_of")
            if r.current_dataset_id in ids:
                step.add(_k("dataset", r.current_dataset_id), _k("monitor", r.id), "current_of")

    def up_dataset(self, ids: list[str], step: _Step) -> None:
        for r in self._all(
            select(RI.c.run_id, RI.c.dataset_id, RI.c.context).where(
                RI.c.dataset_id.in_(ids), RI.c.context.in_(OUTPUT_CONTEXTS)
            ),
            step,
        ):
            step.add(
                _k("run", r.run_id), _k("dataset", r.dataset_id), "produced", context=r.context
            )

    def up_model_version(self, ids: list[str], step: _Step) -> None:
        rows = self._all(
            select(MV.c.id, MV.c.model_id, MV.c.run_id, MV.c.lineage).where(MV.c.id.in_(ids)), step
        )
        gone = {}  # the version's run was deleted: fall back to its lineage JSON
        for r in rows:
            step.add(_k("model", r.model_id), _k("model_version", r.id), "has_version")
            if r.run_id:
                step.add(_k("run", r.run_id), _k("model_version", r.id), "logged")
            elif isinstance(r.lineage, dict) and isinstance(r.lineage.get("run_id"), str):
                gone[r.id] = r.lineage
        for version_id, lineage in gone.items():
            run_key = _k("run", lineage["run_id"])
            step.synthetic[run_key] = {
                "title": str(lineage.get("run_name") or lineage["run_id"]),
                "status": "deleted",
                "missing": True,
                "project": lineage.get("project_name"),
                "via": "model_version.lineage",
            }
            step.add(run_key, _k("model_version", version_id), "logged", via="lineage")
            for d in lineage.get("datasets") or []:
                if isinstance(d, dict) and isinstance(d.get("id"), str):
                    step.add(
                        _k("dataset", d["id"]),
                        run_key,
                        "input_of",
                        context=d.get("context"),
                        via="lineage",
                    )

    def down_model(self, ids: list[str], step: _Step) -> None:
        for r in self._all(
            select(MV.c.id, MV.c.model_id)
            .where(MV.c.model_id.in_(ids))
            .order_by(MV.c.version.desc()),
            step,
        ):
            step.add(_k("model", r.model_id), _k("model_version", r.id), "has_version")

    def _served(self) -> dict[str, list[str]]:
        """deployment id → the version ids it serves now (model_ref and traffic resolved)."""
        from .registry import normalise_name, parse_ref

        deployments = self.conn.execute(
            select(DEP.c.id, DEP.c.model_ref, DEP.c.model_name, DEP.c.traffic)
        ).all()
        keys: dict[str, tuple[str, str | None, int | None, dict | None]] = {}
        for d in deployments:
            try:
                name, alias, number = parse_ref(d.model_ref)
                keys[d.id] = (normalise_name(name)[1], alias, number, d.traffic)
            except InvalidInput:
                continue
        if not keys:
            return {}
        models = dict(
            self.conn.execute(
                select(RM.c.name_key, RM.c.id).where(
                    RM.c.name_key.in_(sorted({k[0] for k in keys.values()}))
                )
            ).all()
        )
        model_ids = sorted(set(models.values()))
        versions: dict[str, dict[int, str]] = defaultdict(dict)  # model id → number → version id
        for r in self.conn.execute(
            select(MV.c.id, MV.c.model_id, MV.c.version).where(MV.c.model_id.in_(model_ids))
        ):
            versions[r.model_id][r.version] = r.id
        aliases = {
            (r.model_id, r.alias): r.version_id
            for r in self.conn.execute(
                select(MA.c.model_id, MA.c.alias, MA.c.version_id).where(
                    MA.c.model_id.in_(model_ids)
                )
            )
        }
        served: dict[str, list[str]] = {}
        for dep_id, (key, alias, number, traffic) in keys.items():
            model_id = models.get(key)
            if model_id is None:
                continue
            numbered = versions.get(model_id, {})
            if traffic:
                found = [numbered.get(int(v)) for v in traffic if str(v).isdigit()]
            elif alias:
                found = [aliases.get((model_id, alias))]
            elif number is not None:
                found = [numbered.get(number)]
            else:
                found = [numbered[max(numbered)]] if numbered else []
            served[dep_id] = [v for v in found if v]
        return served

    def down_model_version(self, ids: list[str], step: _Step) -> None:
        wanted = set(ids)
        for dep_id, version_ids in sorted(self._served().items()):
            for version_id in version_ids:
                if version_id in wanted:
                    step.add(_k("model_version", version_id), _k("deployment", dep_id), "served_by")

    def up_deployment(self, ids: list[str], step: _Step) -> None:
        served = self._served()
        for dep_id in ids:
            for version_id in served.get(dep_id, []):
                step.add(_k("model_version", version_id), _k("deployment", dep_id), "served_by")

    def down_deployment(self, ids: list[str], step: _Step) -> None:
        for r in self._all(
            select(MON.c.id, MON.c.deployment_id).where(MON.c.deployment_id.in_(ids)), step
        ):
            step.add(_k("deployment", r.deployment_id), _k("monitor", r.id), "watched_by")

    def up_monitor(self, ids: list[str], step: _Step) -> None:
        for r in self._all(
            select(
                MON.c.id, MON.c.deployment_id, MON.c.reference_dataset_id, MON.c.current_dataset_id
            ).where(MON.c.id.in_(ids)),
            step,
        ):
            if r.deployment_id:
                step.add(_k("deployment", r.deployment_id), _k("monitor", r.id), "watched_by")
            if r.reference_dataset_id:
                step.add(_k("dataset", r.reference_dataset_id), _k("monitor", r.id), "reference_of")
            if r.current_dataset_id:
                step.add(_k("dataset", r.current_dataset_id), _k("monitor", r.id), "current_of")

    def down_job(self, ids: list[str], step: _Step) -> None:
        for r in self._all(
            select(J.c.id, J.c.run_id).where(J.c.id.in_(ids), J.c.run_id.is_not(None)), step
        ):
            step.add(_k("job", r.id), _k("run", r.run_id), "executed")

    def up_job(self, ids: list[str], step: _Step) -> None:
        for r in self._all(
            select(J.c.id, J.c.sweep_id, J.c.schedule_id).where(J.c.id.in_(ids)), step
        ):
            if r.sweep_id:
                step.add(_k("sweep", r.sweep_id), _k("job", r.id), "launched")
            if r.schedule_id:
                step.add(_k("schedule", r.schedule_id), _k("job", r.id), "launched")

    def down_sweep(self, ids: list[str], step: _Step) -> None:
        for r in self._all(
            select(J.c.id, J.c.sweep_id).where(J.c.sweep_id.in_(ids)).order_by(J.c.created_at), step
        ):
            step.add(_k("sweep", r.sweep_id), _k("job", r.id), "launched")

    def down_schedule(self, ids: list[str], step: _Step) -> None:
        for r in self._all(
            select(J.c.id, J.c.schedule_id)
            .where(J.c.schedule_id.in_(ids))
            .order_by(J.c.created_at.desc()),
            step,
        ):
            step.add(_k("schedule", r.schedule_id), _k("job", r.id), "launched")

    def step(self, keys: list[str], direction: str) -> _Step:
        step = _Step()
        by_type: dict[str, list[str]] = defaultdict(list)
        for key in keys:
            entity_type, entity_id = _split(key)
            by_type[entity_type].append(entity_id)
        for entity_type, ids in sorted(by_type.items()):
            fn = getattr(self, f"{direction}_{entity_type}", None)
            if fn is None:
                continue
            for start in range(0, len(ids), 500):
                fn(ids[start : start + 500], step)
        return step


def validate_direction(value: Any) -> str:
    if value is None:
        return "both"
    if value not in DIRECTIONS:
        raise InvalidInput(
            f"direction must be one of up, down, both; got {str(value)[:40]!r}.", field="direction"
        )
    return value


def _bounded_int(value: Any, name: str, default: int, low: int, high: int) -> int:
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        raise InvalidInput(f"{name} must be an integer from {low} to {high}.", field=name)
    try:
        number = int(value)
        if isinstance(value, float) and not value.is_integer():
            raise ValueError
    except (TypeError, ValueError):
        raise InvalidInput(f"{name} must be an integer from {low} to {high}.", field=name) from None
    if not low <= number <= high:
        raise InvalidInput(f"{name} must be from {low} to {high}, got {number}.", field=name)
    return number


def lineage_graph(
    conn: Connection,
    entity_type: Any,
    entity_id: Any,
    *,
    direction: Any = "both",
    depth: Any = None,
    max_nodes: Any = None,
) -> dict[str, Any]:
    """The lineage graph around one entity (see the module docstring), in ``conn``."""
    entity_type = validate_type(entity_type, "type")
    entity_id = validate_entity_id(entity_id, "id")
    direction = validate_direction(direction)
    depth = _bounded_int(depth, "depth", DEFAULT_DEPTH, 1, MAX_DEPTH)
    max_nodes = _bounded_int(max_nodes, "max_nodes", DEFAULT_MAX_NODES, 1, MAX_MAX_NODES)
    if not _readable_refs(conn, [(entity_type, entity_id)]):  # private: as if absent
        raise NotFound(f"No {entity_type} with id {entity_id!r}.", field="entity")
    root = describe(conn, entity_type, entity_id, field="entity")  # NotFound if absent
    root_key = _k(entity_type, entity_id)
    nodes: dict[str, dict[str, Any]] = {root_key: _node(root, 0)}
    edges: dict[tuple[str, str, str], dict[str, Any]] = {}
    walker = _Walker(conn, max_nodes)
    truncated = False
    walks = ["up", "down"] if direction == "both" else [direction]
    for walk in walks:
        frontier = [root_key]
        for level in range(1, depth + 1):
            if not frontier:
                break
            step = walker.step(frontier, walk)
            truncated = truncated or step.hit_limit
            found = [(s, t, rel, attrs) for s, t, rel, attrs in step.edges]
            others = list(dict.fromkeys((s if walk == "up" else t) for s, t, _, _ in found))
            new = [k for k in others if k not in nodes]
            room = max_nodes - len(nodes)
            if len(new) > room:
                truncated = True
            added = _describe_keys(conn, new[: room + 20], step.synthetic)[: max(room, 0)]
            frontier = []
            for key, info in added:
                nodes[key] = _node(info, level if walk == "down" else -level)
                frontier.append(key)
            for s, t, rel, attrs in found:
                if s in nodes and t in nodes:
                    edges.setdefault(
                        (s, t, rel), {"source": s, "target": t, "relation": rel, **attrs}
                    )
    return {
        "root": root_key,
        "direction": direction,
        "depth": depth,
        "nodes": list(nodes.values()),
        "edges": list(edges.values()),
        "truncated": truncated,
        "max_nodes": max_nodes,
    }


def _node(info: dict[str, Any], level: int) -> dict[str, Any]:
    return {
        "id": _k(info["type"], info["id"]),
        "type": info["type"],
        "entity_id": info["id"],
        "title": info.get("title"),
        "status": info.get("status"),
        "project": info.get("project"),
        "project_id": info.get("project_id"),
        "url_hint": info.get("url_hint"),
        "level": level,
        **({"missing": True} if info.get("missing") else {}),
    }


def _plausible(key: str) -> bool:
    """An id read from a tag or a JSON column may be anything: only a well-formed one is
    looked up (a bad one is a dangling link, dropped like any other)."""
    entity_id = _split(key)[1]
    return 0 < len(entity_id) <= MAX_ID_LENGTH and not any(ord(ch) < 32 for ch in entity_id)


def _readable_refs(conn: Connection, refs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """``refs`` without the entities of private projects the reader is not a member of."""
    hidden = set(hidden_projects(conn))
    if not hidden:
        return refs
    by_type: dict[str, list[str]] = defaultdict(list)
    for entity_type, entity_id in refs:
        by_type[entity_type].append(entity_id)
    maps = {t: project_map(conn, t, sorted(set(ids))) for t, ids in by_type.items()}
    return [(t, i) for t, i in refs if not hidden & set(maps[t].get(i, ()))]


def _describe_keys(
    conn: Connection, keys: list[str], synthetic: dict[str, dict[str, Any]]
) -> list[tuple[str, dict[str, Any]]]:
    """The nodes that exist among ``keys`` (in order): entities described, notebook
    snapshots and deleted runs from ``synthetic``; dangling references are dropped."""
    refs = [_split(k) for k in keys if _split(k)[0] in ENTITY_TYPES and _plausible(k)]
    refs = _readable_refs(conn, refs)
    described = {_k(d["type"], d["id"]): d for d in describe_many(conn, refs, missing="skip")}
    out = []
    for key in keys:
        if key in described:
            out.append((key, described[key]))
        elif key in synthetic:
            entity_type, entity_id = _split(key)
            out.append((key, {"type": entity_type, "id": entity_id, **synthetic[key]}))
    return out


def format_tree(graph: dict[str, Any]) -> str:
    """A plain-text view of a lineage graph (no networkx, no rich): upstream above the
    root, downstream below, one node per line, indented by distance."""
    nodes = {n["id"]: n for n in graph["nodes"]}
    incoming: dict[str, list[dict]] = defaultdict(list)
    outgoing: dict[str, list[dict]] = defaultdict(list)
    for e in graph["edges"]:
        incoming[e["target"]].append(e)
        outgoing[e["source"]].append(e)

    def label(node: dict[str, Any]) -> str:
        extra = ", ".join(
            x
            for x in (node.get("status"), node.get("project") and f"project {node['project']}")
            if x
        )
        return f"{node['type']} {node['title']!s}" + (f" ({extra})" if extra else "")

    lines = [label(nodes[graph["root"]]) + "  ◀ root"]

    def walk(key: str, edges_of: dict, other: str, arrow: str, indent: int, seen: set) -> None:
        for e in sorted(edges_of.get(key, []), key=lambda e: (e["relation"], e[other])):
            nxt = e[other]
            if nxt not in nodes:
                continue
            again = " (shown above)" if nxt in seen else ""
            lines.append("    " * indent + f"{arrow} {e['relation']}: {label(nodes[nxt])}{again}")
            if not again:
                seen.add(nxt)
                walk(nxt, edges_of, other, arrow, indent + 1, seen)

    if graph["direction"] in ("up", "both"):
        lines.append("upstream:")
        walk(graph["root"], incoming, "source", "↑", 1, {graph["root"]})
    if graph["direction"] in ("down", "both"):
        lines.append("downstream:")
        walk(graph["root"], outgoing, "target", "↓", 1, {graph["root"]})
    if graph.get("truncated"):
        lines.append(f"… truncated at {graph['max_nodes']} nodes; raise max_nodes or lower depth.")
    return "\n".join(lines)


class LineageService:
    def __init__(self, store: Store) -> None:
        self.store = store

    def graph(
        self,
        entity_type: Any,
        entity_id: Any,
        *,
        direction: Any = "both",
        depth: Any = None,
        max_nodes: Any = None,
    ) -> dict[str, Any]:
        with self.store.read() as conn:
            return lineage_graph(
                conn, entity_type, entity_id, direction=direction, depth=depth, max_nodes=max_nodes
            )


__all__ = ["LineageService", "format_tree", "lineage_graph"]
