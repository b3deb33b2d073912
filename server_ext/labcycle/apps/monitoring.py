"""The monitoring apps of ``voila_apps/``: the drift dashboard and the performance dashboard.

The notebooks stay thin (``drift_app(params)`` / ``performance_app(params)``); everything
here is importable and tested without a browser. Data comes through the LabCycle Python
API (:mod:`labcycle.api.monitors`), which talks REST to the Jupyter server that started the
kernel (``LABCYCLE_API_URL`` / ``LABCYCLE_API_TOKEN`` are inherited, so a business user
needs nothing but the server's login) and reads the local store elsewhere.

Parameters come from the page's query string (Voila gives it to the kernel as
``QUERY_STRING``; a preheated kernel waits for it, see :func:`parameters`), then from
``LABCYCLE_APP_MONITOR`` / ``LABCYCLE_APP_DEPLOYMENT`` (set by ``labcycle app``).

Every failure (unknown monitor, no check yet, the server unreachable) becomes a short HTML
message for the business user, never a traceback (:func:`error_html`).

Charts are ``plotly.graph_objects.FigureWidget`` (plotly ≥ 6 renders them through
anywidget, whose front-end Voila 0.5 loads like any JupyterLab extension). Each chart is a
plain ``go.Figure`` that the app changes, shown as a new ``FigureWidget`` built from it
after every change (:class:`Chart`): with plotly 7 changes made to a ``FigureWidget`` before
its view exists never reach the page, and a rebuilt one always shows the whole state.
"""

from __future__ import annotations

import html
import math
import os
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

from ..errors import LabCycleError, NotFound

#: query-string keys the apps read, and their environment fallbacks
PARAMS = ("monitor", "deployment", "check", "feature", "freq", "metric", "start")
ENV_FALLBACK = {"monitor": "LABCYCLE_APP_MONITOR", "deployment": "LABCYCLE_APP_DEPLOYMENT"}
MAX_PARAM = 200
MAX_CHECKS = 500  # the timeline shows at most this many checks
FREQS = (("hour", "1h"), ("day", "1D"), ("week", "1W"))

HEALTH = {  # health -> (label, colour)
    "ok": ("OK", "#1a7f37"),
    "drift": ("Drift", "#cf222e"),
    "degraded": ("Degraded", "#bc4c00"),
    "no_data": ("No data", "#6e7781"),
    "error": ("Error", "#82071e"),
    "unknown": ("Not checked yet", "#6e7781"),
}
#: legends above the plot, right-aligned, below the title (which stays on the left)
LEGEND = {"orientation": "h", "x": 1, "xanchor": "right", "y": 1.02, "yanchor": "bottom"}
REFERENCE_COLOUR, CURRENT_COLOUR, DRIFT_COLOUR = "#4c78a8", "#f58518", "#cf222e"

STYLE = """<style>
.lc-app {font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; color: #1f2328;}
.lc-app h2 {margin: 0.2em 0 0.4em 0;}
.lc-badge {display: inline-block; padding: 2px 10px; border-radius: 12px; color: white;
  font-weight: 600; font-size: 0.9em; vertical-align: middle;}
.lc-kpis {display: flex; gap: 14px; flex-wrap: wrap; margin: 8px 0;}
.lc-kpi {border: 1px solid #d0d7de; border-radius: 6px; padding: 6px 12px; min-width: 130px;}
.lc-kpi .v {font-size: 1.35em; font-weight: 600;} .lc-kpi .k {color: #656d76; font-size: 0.85em;}
table.lc-table {border-collapse: collapse; font-size: 0.9em; margin: 6px 0;}
table.lc-table th, table.lc-table td {border-bottom: 1px solid #d0d7de; padding: 3px 10px;
  text-align: left; vertical-align: top;}
table.lc-table tr.lc-drifted td {background: #ffebe9;}
.lc-error {border-left: 4px solid #cf222e; background: #ffebe9; padding: 10px 14px; margin: 8px 0;}
.lc-note {border-left: 4px solid #6e7781; background: #f6f8fa; padding: 10px 14px; margin: 8px 0;}
.lc-muted {color: #656d76;}
</style>"""


class AppMessage(Exception):
    """A condition the app explains to the user instead of drawing (no check yet...)."""

    def __init__(self, title: str, message: str) -> None:
        super().__init__(message)
        self.title = title
        self.message = message


# -- parameters and messages ---------------------------------------------------------------
def preload() -> None:
    """Import what the apps use (the slow part of a first paint): run in the notebook's
    first cell, so that a preheated Voila kernel has done it before the page is opened."""
    import ipywidgets  # noqa: F401
    import pandas  # noqa: F401
    import plotly.graph_objects  # noqa: F401

    from ..api import monitors as monitors_api  # noqa: F401


def query_string(environ: dict[str, str] | None = None) -> str:
    """The page's query string; a preheated Voila kernel first waits for the request."""
    env = os.environ if environ is None else environ
    if environ is None and env.get("VOILA_PREHEAT") == "True":
        from voila.utils import get_query_string  # blocks until the page is opened

        return get_query_string() or ""
    return env.get("QUERY_STRING", "") or ""


def parameters(environ: dict[str, str] | None = None) -> dict[str, str | None]:
    """``{monitor, deployment, check, feature, freq, metric, start}`` from the query string,
    then (``monitor``, ``deployment``) from ``LABCYCLE_APP_*``; values are trimmed and at
    most 200 characters (anything longer is ignored, not truncated)."""
    env = os.environ if environ is None else environ
    query = parse_qs(query_string(environ), keep_blank_values=False)
    out: dict[str, str | None] = {}
    for key in PARAMS:
        given = query.get(key)
        value = given[-1] if given else None
        if value is None and key in ENV_FALLBACK:
            value = env.get(ENV_FALLBACK[key]) or None
        value = value.strip() if isinstance(value, str) else None
        out[key] = value if value and len(value) <= MAX_PARAM else None
    return out


def error_html(exc: BaseException | str, title: str = "Cannot open this app") -> str:
    """A short message for a business user: what went wrong and what to do, no traceback."""
    if isinstance(exc, AppMessage):
        return message_html(exc.title, exc.message, kind="note")
    if isinstance(exc, str):
        text = exc
    elif isinstance(exc, LabCycleError):
        text = exc.message if hasattr(exc, "message") else str(exc)
    elif type(exc).__module__.startswith("httpx"):
        text = (
            f"The LabCycle server cannot be reached ({type(exc).__name__}). Reload the page "
            "in a minute; if it persists, ask the hub's administrator."
        )
    else:
        text = f"{type(exc).__name__}: {exc}"
    return message_html(title, text)


def message_html(title: str, text: str, kind: str = "error") -> str:
    return (
        f"{STYLE}<div class='lc-app'><div class='lc-{kind}'><b>{html.escape(title)}</b>"
        f"<br>{html.escape(str(text))}</div></div>"
    )


def show(build: Callable[[], Any]) -> Any:
    """``build()``'s widget, or an HTML message in its place when it fails."""
    import ipywidgets as w

    try:
        return build()
    except Exception as exc:  # the user gets a message, not a traceback
        return w.HTML(error_html(exc))


def guarded(action: Callable[[], None], out: Any) -> Callable[[Any], None]:
    """A widget observer that runs ``action`` and shows its failure in the HTML widget
    ``out`` (a change in the page must not die silently in the kernel's log)."""

    def observer(_: Any = None) -> None:
        try:
            action()
        except Exception as exc:  # shown to the user
            out.value = error_html(exc, "Cannot show this")

    return observer


class Chart:
    """A figure the app changes (``.figure``, a ``go.Figure``) and the widget that shows it
    (``.widget``); :meth:`show` puts a ``FigureWidget`` of the current figure in the page."""

    def __init__(self, figure: Any) -> None:
        import ipywidgets as w

        self.figure = figure
        self.widget = w.Box(layout=w.Layout(width="100%"))
        self.widget.add_class("lc-chart")

    def show(self) -> None:
        import plotly.graph_objects as go

        old = self.widget.children
        self.widget.children = (go.FigureWidget(self.figure),)
        for widget in old:  # the kernel keeps no model per change
            widget.close()


def badge(health: str | None) -> str:
    label, colour = HEALTH.get(health or "unknown", (str(health), "#6e7781"))
    return f"<span class='lc-badge' style='background:{colour}'>{html.escape(label)}</span>"


def fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            return "–"
        if value != 0 and abs(value) < 10**-digits:
            return f"{value:.{digits - 1}e}"
        return f"{value:.{digits}g}" if isinstance(value, float) else f"{value:,}"
    return html.escape(str(value))


def fmt_time(value: Any) -> str:
    """``2024-05-01 14:03`` from an ISO time (UTC, as stored)."""
    if not value:
        return "–"
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return html.escape(str(value))


# -- reading through the Python API ----------------------------------------------------------
def load_monitor(ref: str | None) -> Any:
    """The monitor named by ``?monitor=`` (a :class:`labcycle.api.monitors.Monitor`)."""
    from ..api.monitors import get_monitor

    if not ref:
        raise AppMessage(
            "Which monitor?",
            "Open this app with ?monitor=<monitor id or name> in "
            "the address (the panel's Monitors section links to it).",
        )
    try:
        return get_monitor(ref)
    except NotFound:
        raise AppMessage(
            "Unknown monitor",
            f"There is no monitor {ref!r}: it may have been "
            "deleted. The panel's Monitors section lists them.",
        ) from None


# -- the drift dashboard ---------------------------------------------------------------------
def drifted_columns(check: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """``{feature: column result}`` of a full check (empty when it has no drift result)."""
    return (((check.get("result") or {}).get("drift") or {}).get("columns")) or {}


def feature_order(columns: dict[str, dict[str, Any]]) -> list[str]:
    """Drifted features first, then the others, each group in the report's order."""
    return [f for f, c in columns.items() if c.get("drifted")] + [
        f for f, c in columns.items() if not c.get("drifted")
    ]


def check_label(check: dict[str, Any]) -> str:
    share, status = check.get("share_drifted"), check.get("status")
    what = (
        f"{share:.0%} drifted"
        if isinstance(share, (int, float))
        else HEALTH[status][0]
        if status in HEALTH
        else status
    )
    return f"{fmt_time(check.get('started_at'))} · {check.get('status')} · {what}"


def summary_html(monitor: dict[str, Any], check: dict[str, Any]) -> str:
    """Health badge, share of drifted features, dataset verdict, sizes, the check's summary."""
    result = check.get("result") or {}
    drift = result.get("drift") or {}
    name = html.escape(str(monitor.get("name")))
    head = (
        f"<h2>Drift of {name} {badge(monitor.get('health'))}</h2>"
        f"<div class='lc-muted'>Check of {fmt_time(check.get('started_at'))} "
        f"({html.escape(str(check.get('trigger') or ''))}) · status "
        f"{badge(check.get('status'))} · model {fmt(result.get('model_version'))}</div>"
    )
    if check.get("status") == "error":
        return head + (
            f"<div class='lc-error'><b>This check failed:</b> "
            f"{html.escape(str(check.get('error') or check.get('summary') or ''))}</div>"
        )
    if not drift:
        return head + (f"<div class='lc-note'>{html.escape(str(check.get('summary') or ''))}</div>")
    n, k = drift.get("n_columns") or 0, drift.get("n_drifted") or 0
    share, limit = drift.get("share_drifted") or 0.0, drift.get("drift_share") or 0.5
    verdict = (
        "<span style='color:#cf222e'>drift</span>"
        if drift.get("dataset_drift")
        else "<span style='color:#1a7f37'>no drift</span>"
    )
    kpis = [
        ("Drifted features", f"{k} of {n}"),
        ("Share drifted", f"{share:.0%}"),
        ("Dataset verdict", verdict),
        ("Current rows", fmt(result.get("current_rows") or check.get("current_rows"))),
        ("Reference rows", fmt(result.get("reference_rows"))),
    ]
    boxes = "".join(
        f"<div class='lc-kpi'><div class='v'>{v}</div><div class='k'>{key}</div></div>"
        for key, v in kpis
    )
    rule = f"The dataset drifts when at least {limit:.0%} of its features drift."
    return (
        head + f"<div class='lc-kpis'>{boxes}</div><div class='lc-muted'>{rule} "
        f"{html.escape(str(check.get('summary') or ''))}</div>"
    )


def columns_table_html(check: dict[str, Any]) -> str:
    """Which test ran on which column, its score and threshold, the verdict and why."""
    columns = drifted_columns(check)
    if not columns:
        return ""
    rows = []
    for feature in feature_order(columns):
        c = columns[feature]
        flag = (
            "<b style='color:#cf222e'>drift</b>"
            if c.get("drifted")
            else "skipped"
            if c.get("skipped")
            else "ok"
        )
        rows.append(
            f"<tr class='{'lc-drifted' if c.get('drifted') else ''}'>"
            f"<td><b>{html.escape(feature)}</b></td><td>{fmt(c.get('type'))}</td>"
            f"<td>{fmt(c.get('method'))}</td><td>{fmt(c.get('score'))}</td>"
            f"<td>{fmt(c.get('threshold'))}</td><td>{flag}</td>"
            f"<td class='lc-muted'>{html.escape(str(c.get('reason') or ''))}</td></tr>"
        )
    return (
        "<table class='lc-table'><tr><th>feature</th><th>type</th><th>test</th><th>score</th>"
        "<th>threshold</th><th>verdict</th><th>why this test</th></tr>" + "".join(rows) + "</table>"
    )


def histogram_series(column: dict[str, Any]) -> dict[str, Any] | None:
    """Bars of a column's reference and current shares: ``{x, width?, reference, current,
    numeric}`` from its histogram (bin centres and widths, or categories)."""
    hist = column.get("histogram") or {}
    ref, cur = hist.get("reference") or [], hist.get("current") or []
    if hist.get("edges"):
        edges = [float(e) for e in hist["edges"]]
        if len(edges) != len(ref) + 1 or len(ref) != len(cur):
            return None
        return {
            "numeric": True,
            "x": [(a + b) / 2 for a, b in zip(edges[:-1], edges[1:], strict=True)],
            "width": [b - a for a, b in zip(edges[:-1], edges[1:], strict=True)],
            "reference": ref,
            "current": cur,
        }
    if hist.get("categories") is not None:
        cats = [str(c) for c in hist["categories"]]
        if len(cats) != len(ref) or len(ref) != len(cur):
            return None
        return {"numeric": False, "x": cats, "width": None, "reference": ref, "current": cur}
    return None


def column_detail_html(feature: str, column: dict[str, Any] | None) -> str:
    if not column:
        return f"<div class='lc-note'>{html.escape(feature)} was not compared in this check.</div>"
    parts = [
        f"<b>{html.escape(feature)}</b>: {fmt(column.get('method'))} score "
        f"<b>{fmt(column.get('score'))}</b> (threshold {fmt(column.get('threshold'))}) → "
        + ("<b style='color:#cf222e'>drift</b>" if column.get("drifted") else "no drift")
    ]
    if column.get("reason"):
        parts.append(f"<span class='lc-muted'>{html.escape(str(column['reason']))}</span>")
    if column.get("reference_mean") is not None:
        parts.append(
            f"mean {fmt(column.get('reference_mean'))} → {fmt(column.get('current_mean'))}"
            f", median {fmt(column.get('reference_median'))} → "
            f"{fmt(column.get('current_median'))}"
        )
    elif column.get("reference_top") is not None:
        parts.append(
            f"most frequent {fmt(column.get('reference_top'))} → "
            f"{fmt(column.get('current_top'))}; values unseen in the reference: "
            f"{fmt(column.get('unseen_in_reference'))}"
        )
    return "<div>" + "<br>".join(parts) + "</div>"


def timeline_rows(checks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Oldest first: ``{id, time, status, share_drifted, scores{f}, drifted{f}}`` of every
    check (a check without a drift verdict has empty scores)."""
    rows = []
    for c in reversed(checks):
        columns = c.get("columns") or {}
        rows.append(
            {
                "id": c["id"],
                "time": c.get("started_at"),
                "status": c.get("status"),
                "share_drifted": c.get("share_drifted"),
                "scores": {f: v.get("score") for f, v in columns.items()},
                "drifted": {f: bool(v.get("drifted")) for f, v in columns.items()},
            }
        )
    return rows


def _p_value_method(column: dict[str, Any] | None) -> bool:
    from ..monitoring.drift import METHODS

    method = METHODS.get((column or {}).get("method") or "")
    return bool(method and method.kind == "p_value")


class DriftDashboard:
    """Summary, per-feature distributions and the drift timeline of one monitor.

    ``checks`` is the timeline (``Monitor.checks(full=False)``, newest first);
    ``fetch_check(id)`` returns one full check (histograms...), read when it is picked.
    Widgets: ``check_picker`` (which check the summary and distributions show),
    ``feature_picker``, ``range_picker`` (the timeline's time range); figures
    ``distribution`` and ``timeline``.
    """

    def __init__(
        self,
        monitor: dict[str, Any],
        checks: list[dict[str, Any]],
        fetch_check: Callable[[str], dict[str, Any]],
        *,
        check_id: str | None = None,
        feature: str | None = None,
    ) -> None:
        import ipywidgets as w
        import plotly.graph_objects as go

        if not checks:
            raise AppMessage(
                "No check yet",
                f"Monitor {monitor.get('name')!r} has not run a check "
                "yet. Use “Run check now” in the panel (or `labcycle monitors check "
                f"{monitor.get('name')}`), then reload this page.",
            )
        self.monitor = monitor
        self.checks = checks
        self.fetch_check = fetch_check
        self._full: dict[str, dict[str, Any]] = {}
        self.rows = timeline_rows(checks)
        with_drift = [c for c in checks if c.get("columns")]
        first = next((c for c in checks if c["id"] == check_id), None) or (
            with_drift[0] if with_drift else checks[0]
        )
        features: list[str] = []  # the picked check's drifted features first
        for c in [first, *with_drift]:
            for f in feature_order(c.get("columns") or {}):
                if f not in features:
                    features.append(f)
        self.features = features

        self.check_picker = w.Dropdown(
            options=[(check_label(c), c["id"]) for c in checks],
            value=first["id"],
            description="Check",
            layout=w.Layout(width="460px"),
        )
        self.feature_picker = w.Dropdown(
            options=features or ["(none)"], description="Feature", layout=w.Layout(width="320px")
        )
        times = [fmt_time(r["time"]) for r in self.rows]
        labels = [f"{i + 1}. {t}" for i, t in enumerate(times)]  # unique even on equal times
        self.range_picker = w.SelectionRangeSlider(
            options=list(zip(labels, range(len(labels)), strict=True)),
            index=(0, len(labels) - 1),
            description="Time range",
            continuous_update=False,
            layout=w.Layout(width="620px", display="" if len(labels) > 1 else "none"),
        )
        self.summary = w.HTML()
        self.table = w.HTML()
        self.detail = w.HTML()
        self.distribution = go.Figure(
            data=[
                go.Bar(name="reference", marker_color=REFERENCE_COLOUR, opacity=0.75),
                go.Bar(name="current", marker_color=CURRENT_COLOUR, opacity=0.75),
            ],
            layout=go.Layout(
                barmode="group",
                height=330,
                margin=dict(l=50, r=20, t=80, b=40),
                yaxis=dict(title="share of rows", tickformat=".0%"),
                legend=LEGEND,
                template="plotly_white",
            ),
        )
        self.timeline = go.Figure(
            data=[
                go.Scatter(name="score", mode="lines+markers", line=dict(color=REFERENCE_COLOUR)),
                go.Scatter(
                    name="drifted",
                    mode="markers",
                    marker=dict(color=DRIFT_COLOUR, size=11, symbol="x"),
                ),
                go.Scatter(name="threshold", mode="lines", line=dict(color="#6e7781", dash="dash")),
                go.Scatter(
                    name="share of features drifted",
                    mode="lines",
                    yaxis="y2",
                    line=dict(color="#8250df", width=1, dash="dot"),
                ),
            ],
            layout=go.Layout(
                height=300,
                margin=dict(l=60, r=60, t=80, b=40),
                template="plotly_white",
                legend=LEGEND,
                yaxis2=dict(
                    overlaying="y",
                    side="right",
                    range=[0, 1],
                    tickformat=".0%",
                    showgrid=False,
                    title="share drifted",
                ),
            ),
        )
        self.distribution_chart = Chart(self.distribution)
        self.timeline_chart = Chart(self.timeline)
        if feature in features:
            self.feature_picker.value = feature
        elif features:
            cols = first.get("columns") or {}
            drifted = [f for f in features if (cols.get(f) or {}).get("drifted")]
            self.feature_picker.value = drifted[0] if drifted else features[0]

        self.check_picker.observe(guarded(self.show_check, self.detail), names="value")
        self.feature_picker.observe(guarded(self.show_feature, self.detail), names="value")
        self.range_picker.observe(guarded(self.draw_timeline, self.detail), names="value")
        self.show_check()
        self.widget = w.VBox(
            [
                w.HTML(STYLE),
                self.summary,
                w.HBox([self.check_picker, self.feature_picker]),
                w.HTML("<h3>Reference vs current</h3>"),
                self.detail,
                self.distribution_chart.widget,
                w.HTML("<h3>Drift over time</h3>"),
                self.range_picker,
                self.timeline_chart.widget,
                w.HTML("<h3>Tests per feature</h3>"),
                self.table,
            ],
            layout=w.Layout(max_width="1100px"),
        )
        self.widget.add_class("lc-app")

    # -- state -------------------------------------------------------------------------------
    def full_check(self, check_id: str) -> dict[str, Any]:
        if check_id not in self._full:
            self._full[check_id] = self.fetch_check(check_id)
        return self._full[check_id]

    @property
    def check(self) -> dict[str, Any]:
        return self.full_check(self.check_picker.value)

    def show_check(self) -> None:
        check = self.check
        self.summary.value = summary_html(self.monitor, check)
        self.table.value = columns_table_html(check)
        self.show_feature()

    def show_feature(self) -> None:
        self.draw_distribution()
        self.draw_timeline()

    def draw_distribution(self) -> None:
        self._draw_distribution()
        self.distribution_chart.show()

    def _draw_distribution(self) -> None:
        feature = self.feature_picker.value
        column = drifted_columns(self.check).get(feature)
        self.detail.value = column_detail_html(feature, column)
        series = histogram_series(column or {})
        with self.distribution.batch_update():
            ref, cur = self.distribution.data
            if series is None:
                ref.x, ref.y, cur.x, cur.y = [], [], [], []
                self.distribution.layout.title = f"{feature}: no distribution in this check"
                return
            ref.x, ref.y = series["x"], series["reference"]
            cur.x, cur.y = series["x"], series["current"]
            ref.width = cur.width = series["width"]
            ref.offset = cur.offset = None
            self.distribution.layout.barmode = "overlay" if series["numeric"] else "group"
            self.distribution.layout.xaxis.title = feature
            self.distribution.layout.title = (
                f"{feature} — {'drift' if (column or {}).get('drifted') else 'no drift'}"
            )

    def timeline_window(self) -> list[dict[str, Any]]:
        lo, hi = self.range_picker.index if len(self.rows) > 1 else (0, 0)
        return self.rows[lo : hi + 1]

    def draw_timeline(self) -> None:
        self._draw_timeline()
        self.timeline_chart.show()

    def _draw_timeline(self) -> None:
        feature = self.feature_picker.value
        rows = self.timeline_window()
        column = drifted_columns(self.check).get(feature)
        points = [r for r in rows if r["scores"].get(feature) is not None]
        x = [r["time"] for r in points]
        y = [r["scores"][feature] for r in points]
        log_axis = _p_value_method(column) and all(v > 0 for v in y)
        with self.timeline.batch_update():
            score, drifted, threshold, share = self.timeline.data
            score.x, score.y, score.name = x, y, f"{feature} score"
            bad = [r for r in points if r["drifted"].get(feature)]
            drifted.x, drifted.y = [r["time"] for r in bad], [r["scores"][feature] for r in bad]
            limit = (column or {}).get("threshold")
            if limit is not None and rows:
                threshold.x = [rows[0]["time"], rows[-1]["time"]]
                threshold.y = [limit, limit]
            else:
                threshold.x, threshold.y = [], []
            share.x = [r["time"] for r in rows if r["share_drifted"] is not None]
            share.y = [r["share_drifted"] for r in rows if r["share_drifted"] is not None]
            self.timeline.layout.yaxis.type = "log" if log_axis else "linear"
            self.timeline.layout.yaxis.title = f"{(column or {}).get('method') or 'score'}" + (
                " p-value" if log_axis else ""
            )
            self.timeline.layout.title = f"{feature} over {len(rows)} check(s)"


def drift_app(params: dict[str, str | None]) -> Any:
    """The drift dashboard of ``params['monitor']`` (or an HTML message)."""

    def build() -> Any:
        monitor = load_monitor(params.get("monitor"))
        checks = monitor.checks(full=False, max_results=MAX_CHECKS)
        return DriftDashboard(
            monitor.data,
            checks,
            monitor.get_check,
            check_id=params.get("check"),
            feature=params.get("feature"),
        ).widget

    return show(build)


# -- the performance dashboard ---------------------------------------------------------------
METRIC_TITLES = {
    "accuracy": "accuracy",
    "precision": "precision",
    "recall": "recall",
    "f1": "F1",
    "roc_auc": "ROC AUC",
    "mae": "MAE",
    "rmse": "RMSE",
    "r2": "R²",
}
LOWER_IS_BETTER = {"mae", "rmse"}


def window_value(window: dict[str, Any], metric: str) -> float | None:
    """A window's value of ``metric`` (``window["metrics"][metric]``), None when undefined."""
    value = (window.get("metrics") or {}).get(metric)
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def window_metrics(windows: list[dict[str, Any]]) -> list[str]:
    """The metrics with a value in at least one window (accuracy, precision... MAE...)."""
    return [m for m in METRIC_TITLES if any(window_value(w, m) is not None for w in windows)]


def reference_value(reference: dict[str, Any], metric: str) -> float | None:
    """The value of ``metric`` logged at training (``test_accuracy``, ``val_auc``... as
    :func:`labcycle.monitoring.performance.compare_to_reference` finds it), or None."""
    from ..monitoring.performance import ALIASES, _reference_value

    if metric not in ALIASES or not isinstance(reference, dict):
        return None
    found = _reference_value(reference, metric)
    return found[1] if found else None


def performance_table_html(perf: dict[str, Any], metrics: list[str]) -> str:
    windows = perf.get("windows") or []
    reference = perf.get("reference") or {}
    head = "".join(f"<th>{html.escape(METRIC_TITLES.get(m, m))}</th>" for m in metrics)
    ref_row = "".join(f"<td>{fmt(reference_value(reference, m))}</td>" for m in metrics)
    rows = [f"<tr><td><i>training</i></td><td></td>{ref_row}</tr>"]
    for win in reversed(windows):
        cells = "".join(f"<td>{fmt(window_value(win, m))}</td>" for m in metrics)
        rows.append(
            f"<tr><td>{fmt_time(win.get('start'))}</td><td>{fmt(win.get('count'))}</td>{cells}</tr>"
        )
    return (
        f"<table class='lc-table'><tr><th>window from</th><th>labelled</th>{head}</tr>"
        + "".join(rows)
        + "</table>"
    )


class PerformanceDashboard:
    """Metrics per time window against the training reference, with a metric picker and a
    window-length picker (``fetch(freq)`` is ``Monitor.performance``)."""

    def __init__(
        self,
        monitor: dict[str, Any],
        fetch: Callable[[str], dict[str, Any]],
        *,
        freq: str | None = None,
        metric: str | None = None,
    ) -> None:
        import ipywidgets as w
        import plotly.graph_objects as go

        self.monitor = monitor
        self.fetch = fetch
        self.freq_picker = w.ToggleButtons(
            options=list(FREQS),
            description="Window",
            value=freq if freq in dict(FREQS).values() else "1D",
        )
        self.metric_picker = w.Dropdown(
            options=["(none)"], description="Metric", layout=w.Layout(width="280px")
        )
        self.header = w.HTML()
        self.message = w.HTML()
        self.table = w.HTML()
        self.figure = go.Figure(
            data=[
                go.Scatter(
                    name="current", mode="lines+markers", line=dict(color=CURRENT_COLOUR, width=3)
                ),
                go.Scatter(
                    name="at training", mode="lines", line=dict(color=REFERENCE_COLOUR, dash="dash")
                ),
                go.Bar(
                    name="labelled predictions", yaxis="y2", opacity=0.25, marker_color="#6e7781"
                ),
            ],
            layout=go.Layout(
                height=340,
                margin=dict(l=60, r=60, t=80, b=40),
                template="plotly_white",
                legend=LEGEND,
                yaxis2=dict(
                    overlaying="y", side="right", showgrid=False, title="labelled predictions"
                ),
            ),
        )
        self.chart = Chart(self.figure)
        self.perf: dict[str, Any] = {}
        self._wanted_metric = metric
        self.freq_picker.observe(guarded(self.load, self.message), names="value")
        self.metric_picker.observe(guarded(self.draw, self.message), names="value")
        self.load()
        self.widget = w.VBox(
            [
                w.HTML(STYLE),
                self.header,
                w.HBox([self.metric_picker, self.freq_picker]),
                self.message,
                self.chart.widget,
                self.table,
            ],
            layout=w.Layout(max_width="1100px"),
        )
        self.widget.add_class("lc-app")

    def load(self) -> None:
        self.perf = self.fetch(self.freq_picker.value)
        windows = self.perf.get("windows") or []
        metrics = window_metrics(windows)
        name = html.escape(str(self.monitor.get("name")))
        self.header.value = (
            f"<h2>Performance of {name} {badge(self.monitor.get('health'))}</h2>"
            f"<div class='lc-muted'>{fmt(self.perf.get('labelled_rows') or 0)} "
            f"predictions with ground truth, in {len(windows)} window(s).</div>"
        )
        current = self.metric_picker.value
        wanted = self._wanted_metric if self._wanted_metric in metrics else current
        self.metric_picker.options = [(METRIC_TITLES.get(m, m), m) for m in metrics] or ["(none)"]
        if metrics:
            self.metric_picker.value = wanted if wanted in metrics else metrics[0]
        self._wanted_metric = None
        self.table.value = performance_table_html(self.perf, metrics) if metrics else ""
        self.draw()

    def draw(self) -> None:
        self._draw()
        self.chart.show()

    def _draw(self) -> None:
        windows = self.perf.get("windows") or []
        metric = self.metric_picker.value
        current, reference, counts = self.figure.data
        if not windows or metric == "(none)":
            self.message.value = (
                "<div class='lc-note'><b>No ground truth yet.</b> Performance appears once true "
                "outcomes arrive for served predictions: send them with "
                "<code>lc.log_ground_truth(deployment, prediction_id, value)</code> or "
                "<code>POST {deployment}/feedback</code>. Drift is already watched "
                "(see the drift dashboard).</div>"
            )
            with self.figure.batch_update():
                for trace in (current, reference, counts):
                    trace.x, trace.y = [], []
            return
        x = [win.get("start") for win in windows]
        y = [window_value(win, metric) for win in windows]
        ref = reference_value(self.perf.get("reference") or {}, metric)
        title = METRIC_TITLES.get(metric, metric)
        last = next((v for v in reversed(y) if v is not None), None)
        note = f"Latest window: <b>{title} {fmt(last)}</b>" + (
            f" vs <b>{fmt(ref)}</b> at training"
            if ref is not None
            else " (no value of this metric was logged at training)"
        )
        if ref is not None and last is not None:
            worse = last > ref if metric in LOWER_IS_BETTER else last < ref
            note += (
                f" — <span style='color:{DRIFT_COLOUR if worse else '#1a7f37'}'>"
                f"{'worse' if worse else 'as good or better'}</span>"
            )
        self.message.value = f"<div>{note}</div>"
        with self.figure.batch_update():
            current.x, current.y, current.name = x, y, title
            if ref is not None:  # across the windows, from the first start to the last end
                reference.x = [x[0], windows[-1].get("end") or x[-1]]
                reference.y = [ref, ref]
            else:
                reference.x, reference.y = [], []
            counts.x, counts.y = x, [win.get("count") for win in windows]
            spans = [(win.get("end_ms") or 0) - (win.get("start_ms") or 0) for win in windows]
            if all(span > 0 for span in spans):  # each bar covers its window
                counts.width, counts.offset = spans, 0
            self.figure.layout.yaxis.title = title
            self.figure.layout.title = f"{title} per {self.freq_label} window"

    @property
    def freq_label(self) -> str:
        return {v: k for k, v in FREQS}.get(self.freq_picker.value, self.freq_picker.value)


def performance_app(params: dict[str, str | None]) -> Any:
    """The performance dashboard of ``params['monitor']`` (or an HTML message)."""

    def build() -> Any:
        monitor = load_monitor(params.get("monitor"))
        return PerformanceDashboard(
            monitor.data,
            lambda freq: monitor.performance(freq=freq),
            freq=params.get("freq"),
            metric=params.get("metric"),
        ).widget

    return show(build)
