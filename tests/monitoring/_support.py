"""Data helpers shared by the monitoring tests."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

ACTOR = "alice"


def frame(n: int, *, shift: float = 0.0, seed: int = 0, plans=("basic", "plus", "pro"),
          weights=(0.5, 0.3, 0.2)) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "age": rng.normal(40 + shift, 10, n),
        "income": rng.lognormal(10, 0.5, n),
        "plan": rng.choice(list(plans), n, p=list(weights)),
    })


def log_dataset(svc, name: str, data: pd.DataFrame, *, content: bool = True) -> dict:
    """What ``lc.log_dataset(df)`` does: Parquet content as an artifact, then the dataset."""
    from labcycle.client.objects import dataframe_fingerprint

    run = svc.tracking.create_run(actor=ACTOR, experiment="monitoring")
    digest = None
    if content:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "data.parquet"
            data.to_parquet(path)
            digest = svc.artifacts.log_file(run["id"], f"datasets/{name}.parquet", str(path),
                                            actor=ACTOR)["digest"]
    return svc.datasets.register(actor=ACTOR, name=name, content_digest=digest,
                                 **dataframe_fingerprint(data))
