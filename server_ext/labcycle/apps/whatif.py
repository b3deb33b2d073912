"""The what-if app of ``voila_apps/whatif.ipynb``: change one input, see the prediction move.

It starts from a row — the deployment's most recent captured prediction, or the middle of
each input's range from the model signature — shows one widget per input (the widgets of
:mod:`labcycle.apps.predict_form`), the prediction and its probability, and a chart of the
prediction across the whole range of one chosen feature, the others held at the row's
values (a one-row partial-dependence sweep). Every change is one batched call of the
deployment's ``/predict`` (the row and the sweep together) through
:meth:`labcycle.api.serving.Deployment.predict`.

Parameters: ``?deployment=<id or name>`` or ``?monitor=<id or name>`` (its deployment),
``&feature=<input>`` (the swept one), ``&start=latest|middle``. The deployment's API key, if
it needs one, comes only from ``LABCYCLE_API_KEY`` in the environment, never from the URL.

Note: these calls go through the deployment like any client's, so they are captured with
its traffic, like any other request's.
"""

from __future__ import annotations

import html
import math
import os
from typing import Any

from ..errors import NotFound
from .monitoring import (
    CURRENT_COLOUR,
    LEGEND,
    REFERENCE_COLOUR,
    STYLE,
    AppMessage,
    Chart,
    error_html,
    fmt,
    guarded,
    show,
)
from .predict_form import result_html, widget_for

SWEEP_POINTS = 25
MAX_CLASS_LINES = 6
NUMERIC = ("int64", "int32", "float64", "float32")


# -- rows and sweeps -----------------------------------------------------------------------------
def middle_row(signature: dict[str, Any]) -> dict[str, Any]:
    """The middle of each numeric input's range, the first category, False, or empty text."""
    row: dict[str, Any] = {}
    for col in signature.get("inputs") or []:
        dtype = str(col.get("dtype") or "")
        low, high = col.get("min"), col.get("max")
        if col.get("categories"):
            row[col["name"]] = col["categories"][0]
        elif dtype == "bool":
            row[col["name"]] = False
        elif dtype.startswith("int"):
            row[col["name"]] = int((low + high) // 2) if low is not None and high is not None else 0
        elif dtype.startswith("float"):
            row[col["name"]] = (
                float((low + high) / 2) if low is not None and high is not None else 0.0
            )
        else:
            row[col["name"]] = ""
    return row


def fit_row(signature: dict[str, Any], row: dict[str, Any] | None) -> dict[str, Any]:
    """``row`` made valid for the widgets: every input present, numbers clipped to the
    signature's range, unknown categories replaced; missing values from :func:`middle_row`."""
    out = middle_row(signature)
    for col in signature.get("inputs") or []:
        name = col["name"]
        value = (row or {}).get(name)
        if value is None or (isinstance(value, float) and not math.isfinite(value)):
            continue
        dtype = str(col.get("dtype") or "")
        try:
            if col.get("categories"):
                if value in col["categories"]:
                    out[name] = value
            elif dtype == "bool":
                out[name] = bool(value)
            elif dtype.startswith(("int", "float")):
                number = float(value)
                if col.get("min") is not None:
                    number = max(number, float(col["min"]))
                if col.get("max") is not None:
                    number = min(number, float(col["max"]))
                out[name] = int(round(number)) if dtype.startswith("int") else number
            else:
                out[name] = str(value)
        except (TypeError, ValueError):
            continue
    return out


def sweepable(signature: dict[str, Any]) -> list[str]:
    """Inputs with a range to sweep: numeric with min < max, categories, booleans."""
    names = []
    for col in signature.get("inputs") or []:
        dtype = str(col.get("dtype") or "")
        low, high = col.get("min"), col.get("max")
        if (
            col.get("categories")
            or dtype == "bool"
            or (dtype in NUMERIC and low is not None and high is not None and high > low)
        ):
            names.append(col["name"])
    return names


def sweep_values(column: dict[str, Any], points: int = SWEEP_POINTS) -> list[Any]:
    """The values of one input the chart goes through."""
    import numpy as np

    if column.get("categories"):
        return list(column["categories"])
    dtype = str(column.get("dtype") or "")
    if dtype == "bool":
        return [False, True]
    low, high = float(column["min"]), float(column["max"])
    if dtype.startswith("int"):
        values = np.unique(np.round(np.linspace(low, high, points)).astype(np.int64))
        return [int(v) for v in values]
    return [float(v) for v in np.linspace(low, high, points)]


def latest_inputs(deployment_id: str) -> dict[str, Any] | None:
    """The inputs of the deployment's newest captured prediction (None when there is none)."""
    from ..api.fluent import current_transport

    items = current_transport().serving.predictions(deployment_id, 1)
    return (items[0].get("inputs") or None) if items else None


# -- predictions ---------------------------------------------------------------------------------
class DeploymentPredictor:
    """Batched predictions from a deployment (``lc.get_deployment(...)``)."""

    def __init__(self, deployment: Any) -> None:
        self.deployment = deployment
        schema = deployment.schema()
        if not isinstance(schema, dict) or "signature" not in schema:
            message = (
                (schema.get("error") or {}).get("message") if isinstance(schema, dict) else None
            )
            raise AppMessage(
                "The deployment is not answering",
                message
                or f"Deployment {deployment.name!r} gave no model "
                "signature; is it running? (`labcycle deployments show "
                f"{deployment.name}`)",
            )
        self.signature = schema.get("signature") or {"inputs": [], "outputs": []}
        self.title = (
            f"{schema.get('model_name')} v{schema.get('model_version')} ({deployment.name})"
        )

    def predict_rows(
        self, rows: list[dict[str, Any]]
    ) -> tuple[list[Any], list[list[float]] | None]:
        import pandas as pd

        # capture off: exploring must not look like traffic to the deployment's monitors
        body = self.deployment.predict(pd.DataFrame(rows), full=True, capture=False)
        return list(body["predictions"]), body.get("probabilities")


def resolve_deployment(params: dict[str, str | None]) -> Any:
    """The deployment of ``?deployment=`` or of ``?monitor=``'s monitor."""
    from ..api.monitors import get_monitor
    from ..api.serving import get_deployment

    ref = params.get("deployment")
    monitor_ref = params.get("monitor")
    if not ref and monitor_ref:
        try:
            monitor = get_monitor(monitor_ref)
        except NotFound:
            raise AppMessage("Unknown monitor", f"There is no monitor {monitor_ref!r}.") from None
        ref = monitor.deployment_id
        if not ref:
            raise AppMessage(
                "No deployment",
                f"Monitor {monitor.name!r} compares datasets; "
                "the what-if app needs a deployed model.",
            )
    if not ref:
        raise AppMessage(
            "Which model?",
            "Open this app with ?deployment=<deployment id or "
            "name> (or ?monitor=<monitor>) in the address.",
        )
    try:
        deployment = get_deployment(ref)
    except NotFound:
        raise AppMessage("Unknown deployment", f"There is no deployment {ref!r}.") from None
    if os.environ.get("LABCYCLE_API_KEY"):
        deployment.api_key = os.environ["LABCYCLE_API_KEY"]
    if deployment.data.get("status") not in (None, "ready"):
        raise AppMessage(
            "The model is not serving",
            f"Deployment {deployment.name!r} is "
            f"{deployment.data.get('status')}; start it, then reload this page.",
        )
    return deployment


# -- the app ---------------------------------------------------------------------------------
class WhatIf:
    """Inputs, the prediction, a feature picker and the sweep chart of one feature.

    ``predictor`` has ``signature``, ``title`` and ``predict_rows(rows) -> (predictions,
    probabilities or None)``; ``starts`` maps a label ("latest prediction", "middle of the
    ranges") to a starting row.
    """

    def __init__(
        self,
        predictor: Any,
        starts: dict[str, dict[str, Any]],
        *,
        feature: str | None = None,
        start: str | None = None,
    ) -> None:
        import ipywidgets as w
        import plotly.graph_objects as go

        self.predictor = predictor
        signature = predictor.signature
        self.columns = {c["name"]: c for c in signature.get("inputs") or []}
        if not self.columns:
            raise AppMessage(
                "No inputs",
                "This model has no input signature to build a form "
                "from (log it with an input example).",
            )
        outputs = signature.get("outputs") or []
        self.classes = outputs[0].get("classes") if outputs else None
        self.starts = {label: fit_row(signature, row) for label, row in starts.items()}
        names = sweepable(signature)
        if not names:
            raise AppMessage(
                "Nothing to vary",
                "No input of this model has a known range "
                "(log the model with training data to record one).",
            )
        self.inputs = {name: widget_for(col) for name, col in self.columns.items()}
        for widget in self.inputs.values():
            if hasattr(widget, "continuous_update"):
                widget.continuous_update = False
        labels = list(self.starts)
        self.start_picker = w.ToggleButtons(
            options=labels, description="Start from", value=start if start in labels else labels[0]
        )
        self.feature_picker = w.Dropdown(
            options=names,
            description="Vary",
            value=feature if feature in names else names[0],
            layout=w.Layout(width="320px"),
        )
        self.result = w.HTML()
        self.figure = go.Figure(
            layout=go.Layout(
                height=340,
                margin=dict(l=60, r=20, t=80, b=40),
                template="plotly_white",
                legend=LEGEND,
            )
        )
        self.chart = Chart(self.figure)
        self.calls = 0
        self._quiet = False
        self.apply_start()
        self.start_picker.observe(guarded(self.apply_start, self.result), names="value")
        self.feature_picker.observe(guarded(self.update, self.result), names="value")
        for widget in self.inputs.values():
            widget.observe(guarded(self.on_input, self.result), names="value")
        form = w.VBox(list(self.inputs.values()), layout=w.Layout(min_width="440px"))
        right = w.VBox([self.feature_picker, self.chart.widget], layout=w.Layout(flex="1"))
        self.widget = w.VBox(
            [
                w.HTML(
                    STYLE + f"<h2>What if… {html.escape(predictor.title)}</h2><div "
                    "class='lc-muted'>Change an input: the prediction and the chart follow. The "
                    "chart shows the prediction across the range of the chosen input, every other "
                    "input as in the form.</div>"
                ),
                self.start_picker,
                w.HBox([w.VBox([form, self.result]), right]),
            ],
            layout=w.Layout(max_width="1300px"),
        )
        self.widget.add_class("lc-app")

    @property
    def row(self) -> dict[str, Any]:
        return {name: widget.value for name, widget in self.inputs.items()}

    def apply_start(self) -> None:
        self._quiet = True
        try:
            for name, value in self.starts[self.start_picker.value].items():
                if name in self.inputs:
                    self.inputs[name].value = value
        finally:
            self._quiet = False
        self.update()

    def on_input(self) -> None:
        if not self._quiet:
            self.update()

    def update(self) -> None:
        """One ``/predict`` call: the current row, then the sweep of the chosen feature."""
        import plotly.graph_objects as go

        row, feature = self.row, self.feature_picker.value
        values = sweep_values(self.columns[feature])
        rows = [row] + [{**row, feature: v} for v in values]
        self.calls += 1
        try:
            predictions, proba = self.predictor.predict_rows(rows)
        except Exception as exc:  # shown in the page
            self.result.value = error_html(exc, "The model could not predict")
            return
        self.result.value = result_html(predictions[0], proba[0] if proba else None, self.classes)
        swept, current = predictions[1:], row[feature]
        traces = []
        if proba:
            classes = (
                self.classes
                if self.classes and len(self.classes) == len(proba[0])
                else list(range(len(proba[0])))
            )
            shown = list(range(len(classes)))
            if len(classes) == 2:
                shown = [1]
            elif len(classes) > MAX_CLASS_LINES:
                best = max(range(len(classes)), key=lambda i: proba[0][i])
                shown = [best]
            for i in shown:
                traces.append(
                    go.Scatter(
                        x=values,
                        y=[p[i] for p in proba[1:]],
                        mode="lines+markers",
                        name=f"P({classes[i]})",
                    )
                )
            y_title, current_y = "probability", [proba[0][shown[0]]]
        else:
            numeric = all(isinstance(p, (int, float)) and not isinstance(p, bool) for p in swept)
            traces.append(
                go.Scatter(
                    x=values,
                    y=swept,
                    mode="lines+markers",
                    name="prediction",
                    line=dict(color=REFERENCE_COLOUR),
                )
            )
            y_title = "prediction"
            current_y = [predictions[0]] if numeric else [str(predictions[0])]
        traces.append(
            go.Scatter(
                x=[current],
                y=current_y,
                mode="markers",
                name="this row",
                marker=dict(color=CURRENT_COLOUR, size=14, symbol="diamond"),
            )
        )
        with self.figure.batch_update():
            self.figure.data = []
            self.figure.add_traces(traces)
            self.figure.layout.xaxis.title = feature
            self.figure.layout.yaxis.title = y_title
            self.figure.layout.yaxis.range = [0, 1] if proba else None
            self.figure.layout.title = f"Prediction across {feature} ({fmt(len(values))} values)"
        self.chart.show()


def whatif_app(params: dict[str, str | None]) -> Any:
    """The what-if app of ``params['deployment']`` / ``params['monitor']`` (or a message)."""

    def build() -> Any:
        deployment = resolve_deployment(params)
        predictor = DeploymentPredictor(deployment)
        starts: dict[str, dict[str, Any]] = {}
        try:
            latest = latest_inputs(deployment.id)
        except Exception:  # the middle of the ranges is a fine start too
            latest = None
        if latest:
            starts["latest prediction"] = latest
        starts["middle of the ranges"] = {}
        start = {"latest": "latest prediction", "middle": "middle of the ranges"}.get(
            params.get("start") or ""
        )
        return WhatIf(predictor, starts, feature=params.get("feature"), start=start).widget

    return show(build)
