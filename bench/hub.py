#!/usr/bin/env python
"""Hub search benchmark: search latency on a hub of 10,000 runs.

Builds a hub (20 projects, 100 experiments, ``--runs`` runs with 4 params and 2 tags each,
200 datasets, ``--notes`` notes written through the notes service, ``--notebooks``
notebook snapshots of 12 cells attached through the artifact service), rebuilds the
search index once (timed), then times a fixed set of queries (words, prefixes, phrases,
exclusions, filters by type/user/tag/date, no words, hostile text) through
``SearchService.search`` (a page of 20 hits, snippets and titles included): median and
p95 over ``--repeat`` rounds.

The baseline is what a hub without a search index would do: a naive
``LIKE '%term%'`` scan over the same tables (project names and READMEs, experiments,
run names, notebook paths, param and tag values, note bodies, dataset names), one scan
per term, unranked; notebook contents are not in any table, so the baseline cannot even
search them. The ratio is baseline / search.

Both stores: SQLite (built once and cached under ``bench/.work/``), and PostgreSQL when
one answers at 127.0.0.1:5432 (database ``test``; the hub goes to a database
``labcycle_bench_hub_<runs>`` created next to it and kept as the cache).

Usage::

    python bench/hub.py                  # 10,000 runs; rewrites its section of bench/RESULTS.md
    python bench/hub.py --runs 1000 --out /tmp/hub.md   # a small hub while developing
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from _results import load_average, machine, markers, stamp, write_section

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "server_ext"))
WORK = HERE / ".work"
BEGIN, END = markers("hub")
PG_ADMIN = "postgresql+psycopg://127.0.0.1:5432/test"
TARGET_MS = 100.0

_VOCABULARY = (
    "churn retention forecast demand fraud credit scoring baseline xgboost lightgbm "
    "logistic regression forest boosting tuning features pipeline embedding customer "
    "segment revenue pricing inventory anomaly sensor vision text sentiment ranking "
    "recommendation clickthrough survival cohort holdout calibration drift monitor "
    "latency ablation sweep warmup dropout learning rate batch epoch validation"
)
WORDS = tuple(_VOCABULARY.split(" "))
USERS = ("alice", "bob", "carol", "dave", "erin", "frank")
QUERIES: list[tuple[str, dict[str, Any]]] = [
    ("churn", {}),
    ("xgboost churn", {}),
    ("calibration holdout drift", {}),
    ("chur", {}),
    ('"learning rate"', {}),
    ("churn -xgboost", {}),
    ("retention", {"type": "run"}),
    ("forecast", {"user": "alice"}),
    ("pricing", {"tag": "team=growth"}),
    ("sensor", {"since": "2020-01-01"}),
    ("", {"type": "note"}),
    ("zzzznotthere", {}),
    ('NEAR( "unbalanced ((', {}),
    ("lr=0.01", {}),
]


def _phrase(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


def _notebook(rng: random.Random) -> bytes:
    cells = []
    for i in range(12):
        if i % 3 == 0:
            cells.append(
                {
                    "id": f"m{i}",
                    "cell_type": "markdown",
                    "metadata": {},
                    "source": f"## {_phrase(rng, 4)}\n{_phrase(rng, 20)}",
                }
            )
        else:
            cells.append(
                {
                    "id": f"c{i}",
                    "cell_type": "code",
                    "metadata": {},
                    "outputs": [],
                    "execution_count": i,
                    "source": f"{rng.choice(WORDS)} = fit({rng.choice(WORDS)}, lr=0.01)\n"
                    f"# {_phrase(rng, 8)}",
                }
            )
    return json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}).encode()


def insert_runs(
    conn: Any,
    experiments: list[str],
    runs: int,
    rng: random.Random,
    *,
    now: int,
    metrics: tuple[str, ...] = (),
) -> list[str]:
    """Insert ``runs`` finished runs (4 params and 2 tags each, and one point of each of
    ``metrics``, kept as the latest value too) spread over ``experiments``, 1,000 rows per
    statement, bypassing the services (no audit, no search index); returns their ids. Also
    used by tests/browser/test_runs_table_scale.py."""
    from sqlalchemy import insert

    from labcycle.services.common import new_id
    from labcycle.store.models import LatestMetric, Metric, Param, Run, Tag

    run_ids = []
    for start in range(0, runs, 1000):
        rows, params, tags, points = [], [], [], []
        for i in range(start, min(runs, start + 1000)):
            run_id = new_id()
            run_ids.append(run_id)
            at = now - rng.randrange(0, 400 * 86_400_000)
            rows.append(
                {
                    "id": run_id,
                    "experiment_id": rng.choice(experiments),
                    "name": f"{_phrase(rng, 2)} {i}",
                    "status": "finished",
                    "user": rng.choice(USERS),
                    "source": "notebook",
                    "start_time": at,
                    "end_time": at + 60_000,
                    "notebook_path": f"notebooks/{rng.choice(WORDS)}_{i % 50}.ipynb",
                    "created_at": at,
                    "updated_at": at + 60_000,
                }
            )
            for key in ("model", "lr", "features", "seed"):
                value = {
                    "model": rng.choice(WORDS),
                    "lr": rng.choice(["0.1", "0.01", "0.001"]),
                    "features": _phrase(rng, 3),
                    "seed": str(i),
                }[key]
                params.append({"run_id": run_id, "key": key, "value": value})
            tags.append(
                {"run_id": run_id, "key": "team", "value": rng.choice(["growth", "risk", "ops"])}
            )
            tags.append({"run_id": run_id, "key": "stage", "value": rng.choice(WORDS)})
            for key in metrics:
                points.append(
                    {
                        "run_id": run_id,
                        "key": key,
                        "step": 0,
                        "value": rng.random(),
                        "timestamp": at + 60_000,
                    }
                )
        conn.execute(insert(Run.__table__), rows)
        conn.execute(insert(Param.__table__), params)
        conn.execute(insert(Tag.__table__), tags)
        if points:
            conn.execute(
                insert(Metric.__table__),
                [{**point, "server_time": point["timestamp"]} for point in points],
            )
            conn.execute(insert(LatestMetric.__table__), points)
    return run_ids


def build(url: str, artifacts: Path, runs: int, notes: int, notebooks: int) -> dict[str, Any]:
    """Fill an empty store; returns counts and timings."""
    from sqlalchemy import insert

    from labcycle.services import Services
    from labcycle.services.common import new_id, now_ms
    from labcycle.store.models import Dataset

    rng = random.Random(6)
    svc = Services.open(url, str(artifacts))
    t0 = time.perf_counter()
    experiments = []
    for p in range(20):
        project = svc.projects.create_project(
            f"{WORDS[p]}-{p}",
            actor=USERS[p % len(USERS)],
            description=f"# {WORDS[p].title()}\n{_phrase(rng, 40)}",
        )
        for e in range(5):
            experiments.append(
                svc.projects.create_experiment(
                    f"{_phrase(rng, 2)} {e}",
                    actor=USERS[e % len(USERS)],
                    project_id=project["id"],
                    description=_phrase(rng, 12),
                )["id"]
            )
    now = now_ms()
    with svc.store.write() as conn:  # the runs in bulk: the index is rebuilt below
        run_ids = insert_runs(conn, experiments, runs, rng, now=now)
        conn.execute(
            insert(Dataset.__table__),
            [
                {
                    "id": new_id(),
                    "name": f"{_phrase(rng, 2)} {i}",
                    "digest": f"sha256:{i:064x}",
                    "schema": {"columns": [{"name": w} for w in rng.sample(WORDS, 5)]},
                    "created_by": rng.choice(USERS),
                    "created_at": now,
                }
                for i in range(200)
            ],
        )
    t_bulk = time.perf_counter()
    # notes and notebooks through the services: the write path that keeps the index current
    for i in range(notebooks):
        svc.artifacts.log_bytes(
            run_ids[i * (runs // max(notebooks, 1))],
            "executed.ipynb",
            _notebook(rng),
            actor="alice",
        )
    t_nb = time.perf_counter()
    for _ in range(notes):
        svc.notes.create(
            actor=rng.choice(USERS),
            body=f"{_phrase(rng, 12)} @{rng.choice(USERS)}",
            entity={"type": "run", "id": rng.choice(run_ids)},
        )
    t_notes = time.perf_counter()
    counts = svc.search.reindex()
    t_reindex = time.perf_counter()
    svc.close()
    return {
        "counts": counts,
        "build_s": t_bulk - t0,
        "notebook_write_ms": (t_nb - t_bulk) / max(notebooks, 1) * 1000,
        "note_write_ms": (t_notes - t_nb) / max(notes, 1) * 1000,
        "reindex_s": t_reindex - t_notes,
    }


def naive_like(conn: Any, q: str) -> int:
    """The baseline: ``LIKE '%term%'`` over the same tables, per term; distinct hits."""
    from sqlalchemy import text

    hits: set[tuple[str, str]] = set()
    terms = [t for t in q.replace('"', " ").split() if not t.startswith("-")] or [""]
    op = "LIKE" if conn.dialect.name == "sqlite" else "ILIKE"
    for term in terms[:8]:
        pattern = "%" + term.replace("%", "").replace("_", "") + "%"
        for kind, sql in (
            ("project", f"SELECT id FROM projects WHERE name {op} :p OR description {op} :p"),
            ("experiment", f"SELECT id FROM experiments WHERE name {op} :p OR description {op} :p"),
            ("run", f"SELECT id FROM runs WHERE name {op} :p OR notebook_path {op} :p"),
            ("run", f"SELECT run_id FROM params WHERE value {op} :p"),
            ("run", f"SELECT run_id FROM tags WHERE value {op} :p"),
            ("note", f"SELECT id FROM notes WHERE body {op} :p"),
            ("dataset", f"SELECT id FROM datasets WHERE name {op} :p"),
        ):
            hits.update((kind, r[0]) for r in conn.execute(text(sql), {"p": pattern}))
    return len(hits)


def _pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def measure(url: str, artifacts: Path, repeat: int) -> dict[str, Any]:
    from labcycle.services import Services

    svc = Services.open(url, str(artifacts))
    try:
        search_ms, like_ms, per_query = [], [], []
        for q, filters in QUERIES:  # warm caches once
            svc.search.search(q, max_results=20, **filters)
        for q, filters in QUERIES:
            times, hits = [], 0
            for _ in range(repeat):
                t = time.perf_counter()
                result = svc.search.search(q, max_results=20, **filters)
                times.append((time.perf_counter() - t) * 1000)
                hits = len(result["items"])
            search_ms += times
            like_times = []
            with svc.store.read() as conn:
                for _ in range(max(1, repeat // 2)):
                    t = time.perf_counter()
                    like_hits = naive_like(conn, q)
                    like_times.append((time.perf_counter() - t) * 1000)
            like_ms += like_times
            per_query.append(
                (
                    q,
                    filters,
                    statistics.median(times),
                    hits,
                    statistics.median(like_times),
                    like_hits,
                )
            )
        return {
            "median": statistics.median(search_ms),
            "p95": _pct(search_ms, 95),
            "like_median": statistics.median(like_ms),
            "like_p95": _pct(like_ms, 95),
            "per_query": per_query,
        }
    finally:
        svc.close()


def sqlite_store(runs: int, notes: int, notebooks: int) -> tuple[str, Path, dict | None]:
    folder = WORK / f"hub-sqlite-{runs}-{notes}-{notebooks}"
    url = f"sqlite:///{folder / 'labcycle.db'}"
    marker = folder / "built.json"
    if marker.exists():
        return url, folder / "artifacts", json.loads(marker.read_text())
    if folder.exists():
        import shutil

        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    info = build(url, folder / "artifacts", runs, notes, notebooks)
    marker.write_text(json.dumps(info))
    return url, folder / "artifacts", info


def postgres_store(runs: int, notes: int, notebooks: int) -> tuple[str, Path, dict] | None:
    try:
        from sqlalchemy import create_engine, text

        admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # no server: SQLite only
        print(f"PostgreSQL not reachable ({type(exc).__name__}); SQLite only.")
        return None
    name = f"labcycle_bench_hub_{runs}_{notes}_{notebooks}"
    folder = WORK / name
    marker = folder / "built.json"
    url = PG_ADMIN.rsplit("/", 1)[0] + "/" + name
    with admin.connect() as conn:
        exists = conn.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
        ).first()
        if exists and marker.exists():
            admin.dispose()
            return url, folder / "artifacts", json.loads(marker.read_text())
        if exists:
            conn.execute(text(f'DROP DATABASE "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    folder.mkdir(parents=True, exist_ok=True)
    info = build(url, folder / "artifacts", runs, notes, notebooks)
    marker.write_text(json.dumps(info))
    return url, folder / "artifacts", info


def section(results: dict[str, Any], args: argparse.Namespace, load: str) -> str:
    lines = [
        BEGIN,
        "## Hub search (issue 6)",
        "",
        f"{stamp()} · {machine()} shared with other work · load at start: {load}",
        "",
        f"Hub: {args.runs:,} runs (4 params, 2 tags each), 20 projects, 100 experiments, "
        f"200 datasets, {args.notes:,} notes, {args.notebooks} notebook snapshots of 12 "
        f"cells. {len(QUERIES)} queries (words, prefix, phrase, exclusion, filters by "
        f"type/user/tag/date, no words, hostile text) × {args.repeat} rounds, a page of 20 "
        "hits with snippets and titles, through `SearchService.search`. Baseline: naive "
        "`LIKE '%term%'` scans over the same tables (no ranking, no snippets, no notebook "
        "contents).",
        "",
        "| store | search p50 | search p95 | LIKE p50 | LIKE p95 | ratio (p50) | target p95 < 100 ms | reindex | note write |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for store, r in results.items():
        m, info = r["measure"], r["info"]
        ratio = m["like_median"] / m["median"] if m["median"] else float("inf")
        lines.append(
            f"| {store} | {m['median']:.1f} ms | {m['p95']:.1f} ms | {m['like_median']:.1f} ms | "
            f"{m['like_p95']:.1f} ms | {ratio:.1f}× faster | "
            f"{'PASS' if m['p95'] < TARGET_MS else 'MISS'} | {info['reindex_s']:.1f} s | "
            f"{info['note_write_ms']:.1f} ms |"
        )
    lines += [
        "",
        "Per query (median ms, hits on the first page; LIKE: median ms, distinct matches):",
        "",
        "| query | filters | " + " | ".join(f"{s} search | {s} LIKE" for s in results) + " |",
        "|---|---|" + "---|---|" * len(results),
    ]
    for i, (q, filters) in enumerate(QUERIES):
        cells = []
        for r in results.values():
            _, _, ms, hits, like, like_hits = r["measure"]["per_query"][i]
            cells += [f"{ms:.1f} ({hits})", f"{like:.1f} ({like_hits})"]
        shown = q.replace("|", "\\|") or "(none)"
        lines.append(
            f"| `{shown}` | {json.dumps(filters) if filters else ''} | " + " | ".join(cells) + " |"
        )
    lines += [
        "",
        "Reindex: the full rebuild (`labcycle search reindex`) of every document; "
        "note write: one `notes.create` including its index update.",
        END,
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--notes", type=int, default=1_000)
    parser.add_argument("--notebooks", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--out", type=Path, help="write the section to this file instead")
    args = parser.parse_args(argv)
    load = load_average()
    results: dict[str, Any] = {}
    stores = [("SQLite (FTS5)", sqlite_store)]
    if not args.no_postgres:
        stores.append(("PostgreSQL (tsvector)", postgres_store))
    for label, make in stores:
        t = time.perf_counter()
        made = make(args.runs, args.notes, args.notebooks)
        if made is None:
            continue
        url, artifacts, info = made
        print(
            f"{label}: hub ready in {time.perf_counter() - t:.1f} s "
            f"(reindex {info['reindex_s']:.1f} s, {info['counts']})"
        )
        m = measure(url, artifacts, args.repeat)
        results[label] = {"measure": m, "info": info}
        print(
            f"{label}: search p50 {m['median']:.1f} ms, p95 {m['p95']:.1f} ms; "
            f"LIKE p50 {m['like_median']:.1f} ms, p95 {m['like_p95']:.1f} ms"
        )
    text = section(results, args, load)
    if args.out:
        args.out.write_text(text + "\n")
    else:
        write_section("hub", text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
