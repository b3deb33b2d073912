"""The tracking benchmark's workload, shared by both of its halves.

``tracking.py`` runs LabCycle's half in the project's environment and MLflow's half through
``_mlflow_tracking.py`` in MLflow's (``--mlflow-python``). Both build their data here, from
the same seeds, so the two systems log and query the same runs, points and values. Standard
library only: this module is imported on both sides.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import random
from array import array
from dataclasses import dataclass

BASE_MS = 1_700_000_000_000
SEED = 20261127

FILTER = "metrics.m0 > 0.5 and params.p1 = 'v3'"
ORDER = "metrics.m1 DESC"


@dataclass(frozen=True)
class Sizes:
    calls: int = 10_000  # (a) LabCycle log_metric calls
    mlflow_calls: int = 1_000  # (a) MLflow calls (~12 ms each: 10,000 would take ~2 min)
    ingest_runs: int = 10  # (b) runs x keys x steps points
    ingest_keys: int = 10
    ingest_steps: int = 10_000
    batch: int = 10_000  # (b) points per LabCycle log_batch (what the flusher sends) and raw batch
    mlflow_batch: int = 1_000  # (b) MLflow's maximum metrics per log_batch request
    mlflow_points: int = 1_000_000  # (b) MLflow timed on the first N points of the same sequence
    search_runs: int = 10_000  # (c) runs x params x metrics
    search_params: int = 10
    search_metrics: int = 10
    reps: int = 9  # (c) timed repetitions after one warm-up
    rounds: int = 3  # (b) interleaved raw/LabCycle/MLflow rounds (median / total reported)

    @property
    def points(self) -> int:
        return self.ingest_runs * self.ingest_keys * self.ingest_steps

    @property
    def mlflow_n(self) -> int:
        """(b) points MLflow logs: the first ones of the sequence."""
        return min(self.mlflow_points, self.points)


FULL = Sizes()
QUICK = Sizes(
    calls=2_000,
    mlflow_calls=100,
    ingest_runs=2,
    ingest_keys=10,
    ingest_steps=5_000,
    mlflow_points=10_000,
    search_runs=200,
    reps=5,
    rounds=1,
)


@contextlib.contextmanager
def quiet_gc():
    """Collect, then freeze what exists: the bench's pre-built input data is not rescanned
    by the collector while a system is timed (it would be, with a million tuples around)."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


# -- (b) bulk ingest ----------------------------------------------------------------------------
def point_sequence(sizes: Sizes) -> tuple[list[str], list[float]]:
    """Keys and one value per point, in logging order: run-major, then step, then key."""
    rng = random.Random(SEED)
    keys = [f"k{k}" for k in range(sizes.ingest_keys)]
    values = [rng.random() for _ in range(sizes.points)]
    return keys, values


def digest(values: list[float]) -> str:
    """A fingerprint of the values, to check that both halves log the same points."""
    return hashlib.sha256(array("d", values).tobytes()).hexdigest()[:16]


def iter_points(sizes: Sizes, keys: list[str], values: list[float]):
    """(run index, key, value, step, timestamp) for every point, in logging order."""
    i = 0
    for r in range(sizes.ingest_runs):
        for step in range(sizes.ingest_steps):
            ts = BASE_MS + step
            for key in keys:
                yield r, key, values[i], step, ts
                i += 1


def mlflow_slices(sizes: Sizes) -> list[list[tuple[int, int, int]]]:
    """MLflow's requests over its points, cut in one slice per round: (run index, first
    point, end point) of each request, ``mlflow_batch`` points at most, never across runs."""
    per_run = sizes.ingest_keys * sizes.ingest_steps
    n = sizes.mlflow_n
    bounds = []
    for first in range(0, n, per_run):
        for start in range(first, min(first + per_run, n), sizes.mlflow_batch):
            bounds.append(
                (first // per_run, start, min(start + sizes.mlflow_batch, first + per_run, n))
            )
    per_slice = -(-len(bounds) // sizes.rounds)
    return [bounds[i : i + per_slice] for i in range(0, len(bounds), per_slice)]


def mlflow_runs_needed(sizes: Sizes) -> int:
    return -(-sizes.mlflow_n // (sizes.ingest_keys * sizes.ingest_steps))


# -- (c) search ---------------------------------------------------------------------------------
def search_data(sizes: Sizes) -> list[tuple[str, int, dict[str, str], list[tuple[str, float]]]]:
    """(name, start ms, params, metrics) per run. params.p* = 'v0'..'v9' uniformly and
    metrics.m* uniform in [0, 1): the filter keeps ~10% x 50% = ~5% of the runs."""
    rng = random.Random(SEED + 1)
    runs = []
    for i in range(sizes.search_runs):
        params = {f"p{j}": f"v{rng.randrange(10)}" for j in range(sizes.search_params)}
        metrics = [(f"m{j}", rng.random()) for j in range(sizes.search_metrics)]
        runs.append((f"run-{i:05d}", BASE_MS + i * 1000, params, metrics))
    return runs
