"""The monitoring part of the demo hub: a deployed churn model whose traffic drifted.

What a newcomer sees in the panel's **Monitors** section after ``make demo``:

* the model ``churn-classifier``, logged with ``training_data`` (so its training dataset
  ``churn-classifier-training`` is logged too, and is the monitor's reference),
  deployed as ``churn-api`` (the Jupyter server starts its serving process);
* three days of captured traffic written through the serving capture writer
  (:mod:`labcycle.serving.capture`, the same code and file format a serving process
  uses): the first days look like the training data; in the last hours a price rise
  pushed ``monthly_charges`` up and an outage sent ``support_calls`` up;
* the monitor ``churn-api-monitor`` (hourly cron) with one check per day: ok, ok, ok,
  then **drift** on those two features (half of the four features: dataset drift);
* the alert it fired, in the alert log as *skipped: no channel* — the demo sends nothing
  anywhere; add a webhook or e-mail under "Alerts & schedule" to receive the next one.

Ground truth arrived for the older predictions (through the same writer's feedback
log), so the performance app has something to show.
"""

from __future__ import annotations

from typing import Any

import numpy as np

MODEL = "churn-classifier"
DEPLOYMENT = "churn-api"
MONITOR = "churn-api-monitor"
DATASET = f"{MODEL}-training"  # what lc.log_model(training_data=df) names it
FEATURES = ["tenure_months", "monthly_charges", "support_calls", "age"]
DRIFTED = ["monthly_charges", "support_calls"]
HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
#: per day of traffic, oldest first: (days ago, rows, drifted)
TRAFFIC = [(3, 1000, False), (2, 1000, False), (1, 1000, False), (0, 1000, True)]
REFERENCE_ROWS = 4000
WINDOW = {"last_n": 1000}

DEMO_TEXT = (
    "Monitoring demo: the deployment 'churn-api' serves the model 'churn-classifier'. "
    "Its traffic drifted in the last hours (monthly_charges and support_calls went up), "
    "and its monitor 'churn-api-monitor' found it: open the LabCycle panel, section "
    "Monitors, for the health badge, the drift timeline and the alert. The alert log shows "
    "'skipped: no channel' because the demo sends nothing anywhere; add a webhook or "
    "e-mail under 'Alerts & schedule' to receive the next one."
)


def churn_frame(rng: np.random.Generator, n: int, *, drifted: bool = False) -> Any:
    """Customers and whether they churned; ``drifted``: after a price rise and an outage."""
    import pandas as pd

    tenure = np.round(np.clip(rng.gamma(2.0, 12.0, n), 1, 72))
    charges = np.clip(rng.normal(65.0, 20.0, n), 18.0, 120.0)
    calls = rng.poisson(1.5, n)
    age = np.round(np.clip(rng.normal(45.0, 13.0, n), 18, 90))
    if drifted:
        charges = np.clip(charges + 22.0, 18.0, 150.0)
        calls = rng.poisson(3.5, n)
    logit = -0.6 - 0.06 * tenure + 0.035 * (charges - 65.0) + 0.5 * calls - 0.01 * (age - 45.0)
    churned = (rng.random(n) < 1.0 / (1.0 + np.exp(-logit))).astype(np.int64)
    return pd.DataFrame(
        {
            "tenure_months": tenure,
            "monthly_charges": np.round(charges, 2),
            "support_calls": calls.astype(np.int64),
            "age": age,
            "churned": churned,
        }
    )


def _train(frame: Any) -> tuple[Any, dict[str, float]]:
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, f1_score, roc_auc_score
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X_train, X_test, y_train, y_test = train_test_split(
        frame[FEATURES], frame["churned"], test_size=0.25, random_state=0
    )
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    model.fit(X_train, y_train)
    proba = model.predict_proba(X_test)[:, 1]
    pred = (proba >= 0.5).astype(int)
    metrics = {
        "accuracy": float(accuracy_score(y_test, pred)),
        "f1": float(f1_score(y_test, pred)),
        "roc_auc": float(roc_auc_score(y_test, proba)),
    }
    return model.fit(frame[FEATURES], frame["churned"]), metrics


def _write_traffic(
    services: Any,
    deployment_id: str,
    version: dict[str, Any],
    model: Any,
    frame: Any,
    start_ms: int,
    span_ms: int,
    rng: np.random.Generator,
    *,
    feedback: bool,
) -> int:
    """Predict ``frame`` with ``model`` and log it as a serving process would: requests of
    a few rows spread over ``span_ms``, through :class:`~labcycle.serving.capture.CaptureWriter`."""
    from ..serving.capture import CapturedBatch, CaptureWriter, IdSource

    writer = CaptureWriter(services.blobs.fs, services.blobs.root, deployment_id)
    ids = IdSource()
    X = frame[FEATURES]
    truth = frame["churned"].to_numpy()
    labelled: list[tuple[str, int]] = []
    step = 10
    for i, begin in enumerate(range(0, len(frame), step)):
        part = X.iloc[begin : begin + step]
        proba = model.predict_proba(part)
        preds = model.classes_.take(proba.argmax(axis=1))
        pids = ids.take(len(part))
        writer.append(
            CapturedBatch(
                columns={c: part[c].to_numpy() for c in FEATURES},
                predictions=preds,
                probabilities=proba,
                prediction_ids=pids,
                request_ids=[ids.next()],
                request_rows=[len(part)],
                latency_ms=[float(rng.uniform(2.0, 9.0))],
                model_name=version["model_name"],
                model_version=version["version"],
                version_id=version["id"],
                ts_ms=start_ms + int(span_ms * i * step / max(len(frame), 1)),
            )
        )
        if feedback:
            labelled += list(zip(pids, truth[begin : begin + step].tolist(), strict=True))
    for pid, value in labelled:
        writer.append_feedback(pid, int(value), "demo")
    writer.close()
    return writer.written_rows


def seed_monitoring(*, now_ms: int | None = None, seed: int = 6) -> dict[str, Any]:
    """Log the model and its training data, deploy it, write drifted traffic, and run
    the monitor's checks (one per day, the last one finds the drift and fires)."""
    import time

    from ..api import fluent as lc
    from ..api.fluent import current_transport
    from ..api.models import log_model, set_alias
    from ..client.local import LocalTransport

    transport = current_transport()
    if not isinstance(transport, LocalTransport):
        raise RuntimeError(
            "The monitoring demo writes the prediction log to the local store: "
            "run it without LABCYCLE_API_URL (labcycle demo seed)."
        )
    services, actor = transport.services, transport.user
    now = int(time.time() * 1000) if now_ms is None else now_ms
    # One generator for the data (seeded so that exactly the two shifted features drift),
    # another for request latencies.
    rng, latency_rng = np.random.default_rng(seed), np.random.default_rng(seed + 1)

    training = churn_frame(rng, REFERENCE_ROWS)
    model, metrics = _train(training)
    with lc.start_run(
        "churn-monitoring", project="demo", name="churn-logreg", tags={"dataset": DATASET}
    ):
        lc.log_params({"model": "logreg", "features": ",".join(FEATURES)})
        lc.log_metrics(metrics)
        # training_data: widens the signature and logs the dataset (content kept) that
        # the monitor compares the traffic with by default.
        version = log_model(
            model,
            MODEL,
            input_example=training[FEATURES].head(5),
            training_data=training[FEATURES],
            description="Churn risk from tenure, charges, support calls, age",
        )
    set_alias(MODEL, "champion", version.version)
    deployment = services.deployments.create(f"{MODEL}@champion", actor=actor, name=DEPLOYMENT)
    monitor = services.monitors.create(
        actor=actor,
        deployment=deployment["id"],
        name=MONITOR,
        window=dict(WINDOW),
        cron="0 * * * *",
    )

    # Traffic day by day, each followed by its check (a check reads the newest 1,000
    # predictions, so each one sees its own day).
    checks = []
    for days_ago, rows, drifted in TRAFFIC:
        start = now - days_ago * DAY_MS - 4 * HOUR_MS
        frame = churn_frame(rng, rows, drifted=drifted)
        _write_traffic(
            services,
            deployment["id"],
            version.data,
            model,
            frame,
            start,
            3 * HOUR_MS,
            latency_rng,
            feedback=not drifted,
        )
        check = services.monitors.run_check(
            monitor["id"], actor=actor, trigger="schedule", now=start + 3 * HOUR_MS + 5 * 60_000
        )
        checks.append(check)
    final = services.monitors.get(monitor["id"])
    alerts = services.monitors.alerts(monitor["id"])["items"]
    return {
        "model": version.ref,
        "deployment": deployment["name"],
        "deployment_id": deployment["id"],
        "monitor": final["name"],
        "monitor_id": final["id"],
        "health": final["health"],
        "checks": [c["status"] for c in checks],
        "alerts": len(alerts),
        "text": DEMO_TEXT,
    }
