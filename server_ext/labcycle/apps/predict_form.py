"""The "try it" form of ``voila_apps/predict.ipynb``: one widget per input column.

The form is built from a model signature (``labcycle.models.signature``): a slider for a
numeric column with a known range, a dropdown for a column with categories, a checkbox
for a boolean, a text box otherwise. Predictions come from a deployment's HTTP API
(``POST {url}/predict``) or from a model loaded in the kernel (``lc.load_model``).

Parameters come from the environment or the page's query string (Voila passes it to the
kernel as ``QUERY_STRING``): ``deployment_url`` / ``LABCYCLE_PREDICT_URL``, ``model`` /
``LABCYCLE_PREDICT_MODEL`` (a reference such as ``churn@champion``). The API key of a
deployment is never read from the URL: it comes from ``LABCYCLE_API_KEY``, or the app asks
for it (a password box) when the deployment answers 401, and keeps it in the kernel only.
"""

from __future__ import annotations

import html
import math
import os
from typing import Any
from urllib.parse import parse_qs


def parameters(environ: dict[str, str] | None = None) -> dict[str, str | None]:
    """``{"deployment_url", "model", "api_key"}`` from the query string, then the environment."""
    env = os.environ if environ is None else environ
    query = {k: v[-1] for k, v in parse_qs(env.get("QUERY_STRING", "")).items()}
    return {
        "deployment_url": query.get("deployment_url") or env.get("LABCYCLE_PREDICT_URL") or None,
        "model": query.get("model") or env.get("LABCYCLE_PREDICT_MODEL") or None,
        "api_key": env.get("LABCYCLE_API_KEY") or None,
    }


class KeyRequired(PermissionError):
    """The deployment answered 401: it needs its API key."""


class HttpPredictor:
    """Predictions from a deployment's ``/predict``; the signature from its ``/schema``."""

    def __init__(self, url: str, api_key: str | None = None, timeout: float = 30.0) -> None:
        import httpx

        # a try-out, not traffic: kept out of the prediction log the monitors watch
        headers = {"X-LabCycle-Capture": "off"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        self.url = url.rstrip("/")
        self.http = httpx.Client(headers=headers, timeout=timeout, trust_env=False)
        reply = self.http.get(f"{self.url}/schema")
        if reply.status_code == 401:
            raise KeyRequired(
                "This deployment needs its API key (shown once, when it was "
                "created; ask its owner)."
            )
        reply.raise_for_status()
        schema = reply.json()
        self.signature = schema.get("signature") or {"inputs": [], "outputs": []}
        self.title = f"{schema.get('model_name')} v{schema.get('model_version')}"

    def predict(self, row: dict[str, Any]) -> tuple[Any, list[float] | None]:
        reply = self.http.post(f"{self.url}/predict", json={"records": [row]})
        body = reply.json()
        if reply.status_code >= 400:
            raise ValueError(body.get("error", {}).get("message") or reply.text[:300])
        proba = body.get("probabilities")
        return body["predictions"][0], (proba[0] if proba else None)


class LocalPredictor:
    """Predictions from a model loaded in the kernel (``lc.load_model``)."""

    def __init__(self, ref: str, trusted: bool = False) -> None:
        from ..api.models import load_model

        self.model = load_model(ref, trusted=trusted)
        self.signature = self.model.signature or {"inputs": [], "outputs": []}
        v = self.model.version
        self.title = f"{v.get('model_name')} v{v.get('version')}"

    def predict(self, row: dict[str, Any]) -> tuple[Any, list[float] | None]:
        import pandas as pd

        frame = pd.DataFrame([row])
        prediction = self.model.predict(frame)[0]
        proba = self.model.predict_proba(frame)
        value = prediction.item() if hasattr(prediction, "item") else prediction
        return value, (None if proba is None else [float(p) for p in proba[0]])


def predictor_from(params: dict[str, str | None]) -> Any:
    url, model = params.get("deployment_url"), params.get("model")
    if url:
        return HttpPredictor(url, params.get("api_key"))
    if model:
        return LocalPredictor(model)
    raise ValueError(
        "Open this app with ?deployment_url=http://… or ?model=name@alias "
        "(or set LABCYCLE_PREDICT_URL / LABCYCLE_PREDICT_MODEL)."
    )


def widget_for(column: dict[str, Any]) -> Any:
    """The input widget of one signature column."""
    import ipywidgets as w

    name, dtype = column["name"], column.get("dtype")
    style = {"description_width": "initial"}
    layout = w.Layout(width="420px")
    if column.get("categories"):
        options = list(column["categories"])
        return w.Dropdown(
            options=options, value=options[0], description=name, style=style, layout=layout
        )
    if dtype == "bool":
        return w.Checkbox(value=False, description=name, style=style)
    low, high = column.get("min"), column.get("max")
    if dtype in ("int64", "float64") and low is not None and high is not None and high > low:
        if dtype == "int64":
            return w.IntSlider(
                value=int((low + high) // 2),
                min=int(low),
                max=int(high),
                description=name,
                style=style,
                layout=layout,
            )
        step = 10 ** math.floor(math.log10((high - low) / 100)) if high > low else 0.01
        return w.FloatSlider(
            value=(low + high) / 2,
            min=low,
            max=high,
            step=step,
            description=name,
            style=style,
            layout=layout,
            readout_format=".4g",
        )
    if dtype == "int64":
        return w.IntText(value=int(low or 0), description=name, style=style, layout=layout)
    if dtype == "float64":
        return w.FloatText(value=float(low or 0.0), description=name, style=style, layout=layout)
    return w.Text(value="", description=name, style=style, layout=layout)


def result_html(prediction: Any, proba: list[float] | None, classes: list | None) -> str:
    text = f"<b>Prediction:</b> <code>{html.escape(str(prediction))}</code>"
    if proba:
        labels = classes if classes and len(classes) == len(proba) else list(range(len(proba)))
        best = max(range(len(proba)), key=proba.__getitem__)
        text += f"<br><b>Probability:</b> {proba[best]:.1%}"
        rows = "".join(
            f"<tr><td>{html.escape(str(c))}</td><td>{p:.1%}</td></tr>"
            for c, p in zip(labels, proba, strict=False)
        )
        text += f"<table class='lc-proba'><tr><th>class</th><th>probability</th></tr>{rows}</table>"
    return f"<div class='lc-result'>{text}</div>"


def build_form(predictor: Any) -> Any:
    """The form (inputs, a Predict button, the result) for ``predictor``; predicts once."""
    import ipywidgets as w

    columns = predictor.signature.get("inputs") or []
    outputs = predictor.signature.get("outputs") or []
    classes = outputs[0].get("classes") if outputs else None
    inputs = {c["name"]: widget_for(c) for c in columns}
    button = w.Button(description="Predict", button_style="primary", icon="play")
    result = w.HTML()

    def run(_: Any = None) -> None:
        row = {name: widget.value for name, widget in inputs.items()}
        try:
            prediction, proba = predictor.predict(row)
            result.value = result_html(prediction, proba, classes)
        except Exception as exc:  # shown to the user instead of a traceback
            result.value = f"<div class='lc-error'><b>Error:</b> {html.escape(str(exc))}</div>"

    button.on_click(run)
    run()
    title = w.HTML(f"<h2>Try {html.escape(predictor.title)}</h2>")
    return w.VBox([title, *inputs.values(), button, result])


def open_app(params: dict[str, str | None]) -> Any:
    """The try-it form for ``params``; for a deployment that needs an API key, a key prompt
    first that opens the form once the deployment accepts the key."""
    import ipywidgets as w

    try:
        return build_form(predictor_from(params))
    except KeyRequired as exc:
        notice = str(exc)
    key = w.Password(
        description="API key",
        placeholder="the deployment's key",
        style={"description_width": "initial"},
        layout=w.Layout(width="420px"),
    )
    button = w.Button(description="Open", button_style="primary", icon="key")
    message = w.HTML(f"<div class='lc-note'>{html.escape(notice)}</div>")
    box = w.VBox([message, key, button])
    url = params["deployment_url"]
    assert url  # only an HTTP predictor asks for a key

    def submit(_: Any = None) -> None:
        try:
            form = build_form(HttpPredictor(url, key.value.strip()))
        except KeyRequired:
            message.value = (
                "<div class='lc-error'><b>Wrong key:</b> the deployment refused it.</div>"
            )
        except Exception as exc:  # shown to the user instead of a traceback
            message.value = f"<div class='lc-error'><b>Error:</b> {html.escape(str(exc))}</div>"
        else:
            key.value = ""  # the widget state would otherwise keep it
            box.children = [form]

    button.on_click(submit)
    return box
