"""The Python API of monitoring: ``lc.monitor``, ``lc.get_monitor``, ``lc.list_monitors``.

Same transport as the rest of ``lc``: REST in a kernel of a Jupyter server with LabCycle
(the Voila apps read through it), the local store elsewhere::

    m = lc.monitor("churn-api", window={"last": "1d"}, cron="0 * * * *",
                   channels=[{"type": "email", "to": ["owner@example.com"]}])
    check = m.check()                 # run one now
    m.history()                       # the drift timeline as a DataFrame
"""

from __future__ import annotations

from typing import Any

from .fluent import current_transport
from .serving import Deployment

__all__ = ["Monitor", "get_monitor", "list_monitors", "monitor"]


class Monitor:
    """A monitor: ``.health``, ``.check()``, ``.checks()``, ``.history()``, ``.alerts()``,
    ``.performance()``, ``.update(...)``, ``.delete()``; ``.data`` holds every field."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    id = property(lambda self: self.data["id"])
    name = property(lambda self: self.data["name"])
    health = property(lambda self: self.data["health"])
    deployment_id = property(lambda self: self.data.get("deployment_id"))
    latest_check = property(lambda self: self.data.get("latest_check"))

    def refresh(self) -> Monitor:
        self.data = get_monitor(self.id).data
        return self

    def check(self) -> dict[str, Any]:
        """Run a check now: drift, data quality and performance; alerts when needed."""
        result = current_transport().monitors.run_check(self.id)
        self.refresh()
        return result

    def checks(self, *, full: bool = False, max_results: int = 100) -> list[dict[str, Any]]:
        """Checks, newest first; ``full=True`` includes every statistic (histograms...)."""
        return current_transport().monitors.checks(self.id, full, max_results)

    def get_check(self, check_id: str) -> dict[str, Any]:
        return current_transport().monitors.check(self.id, check_id)

    def history(self, max_results: int = 1000) -> Any:
        """The drift timeline: one row per check, one ``score:<feature>`` column per feature."""
        import pandas as pd

        rows = []
        for c in reversed(self.checks(max_results=max_results)):
            row = {
                "started_at": pd.Timestamp(c["started_at"]),
                "status": c["status"],
                "share_drifted": c["share_drifted"],
                "dataset_drift": c["dataset_drift"],
                "current_rows": c["current_rows"],
            }
            row.update({f"score:{k}": v.get("score") for k, v in (c.get("columns") or {}).items()})
            rows.append(row)
        return pd.DataFrame(rows)

    def alerts(self, max_results: int = 100) -> list[dict[str, Any]]:
        return current_transport().monitors.alerts(self.id, max_results)

    def performance(self, freq: str = "1D") -> dict[str, Any]:
        """Model performance per time window (from ground truth) and at training."""
        return current_transport().monitors.performance(self.id, freq)

    def update(self, **changes: Any) -> Monitor:
        """Change ``window``, ``features``, ``thresholds``, ``channels``, ``cooldown_s``,
        ``cron`` (None removes the schedule), ``timezone`` or ``paused``."""
        self.data = current_transport().monitors.update(self.id, changes)
        return self

    def delete(self) -> None:
        current_transport().monitors.delete(self.id)

    def __repr__(self) -> str:
        return f"<Monitor {self.name!r} health={self.health}>"


def monitor(
    deployment: str | Deployment | None = None,
    *,
    reference_dataset: str | None = None,
    current_dataset: str | None = None,
    name: str | None = None,
    target: str | None = None,
    window: dict[str, Any] | None = None,
    features: list[str] | None = None,
    thresholds: dict[str, Any] | None = None,
    channels: list[dict[str, Any]] | None = None,
    cooldown_s: int | None = None,
    cron: str | None = None,
    timezone: str | None = None,
) -> Monitor:
    """Watch a deployment's traffic (or a dataset) for drift and performance loss.

    Parameters
    ----------
    deployment : str or Deployment
        The deployment to watch (its captured predictions are the current data).
    reference_dataset : str, optional
        Dataset id or name; default: the training dataset logged with the deployed version.
    current_dataset : str, optional
        Instead of a deployment, compare this logged dataset with the reference.
    target : str, optional
        The reference data's label column, to compare the prediction distribution with it.
    window : dict, optional
        ``{"last_n": 1000}`` (default) or ``{"last": "1d"}``.
    thresholds : dict, optional
        ``{"drift_share": 0.5, "method": None, "threshold": None, "performance_drop": 0.05,
        "columns": {"age": {"method": "psi", "threshold": 0.2}}}``.
    channels : list of dict, optional
        ``[{"type": "webhook", "url": ..., "secret": ...}, {"type": "email", "to": [...]}]``.
    cron : str, optional
        When to check, e.g. ``"0 * * * *"`` (hourly); without it, checks run on demand.

    Returns
    -------
    Monitor
    """
    body = {
        "deployment": deployment.id if isinstance(deployment, Deployment) else deployment,
        "reference_dataset": reference_dataset,
        "current_dataset": current_dataset,
        "name": name,
        "target": target,
        "window": window,
        "features": features,
        "thresholds": thresholds,
        "channels": channels,
        "cooldown_s": cooldown_s,
        "cron": cron,
        "timezone": timezone,
    }
    body = {k: v for k, v in body.items() if v is not None}
    return Monitor(current_transport().monitors.create(**body))


def get_monitor(ref: str) -> Monitor:
    return Monitor(current_transport().monitors.get(ref))


def list_monitors(deployment: str | None = None) -> list[Monitor]:
    return [Monitor(m) for m in current_transport().monitors.monitors(deployment, 1000)]
