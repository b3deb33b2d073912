"""The review bundle of a model version: one self-contained HTML file a validator can file.

It holds the model card (purpose/description, data: datasets with fingerprints and
schemas, metrics, parameters), the lineage (datasets → run → notebook → version →
deployments → monitors with their health), every review (approvals, rejections, comments),
the review state and policy, the monitoring status and the version's audit trail.

Every piece of user text (names, descriptions, comments, parameters, dataset schemas...)
is HTML-escaped; Markdown is shown as its escaped source. The page loads nothing: no
script, no external style, and a Content-Security-Policy that forbids both.
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timezone
from html import escape
from typing import Any

CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:2em auto;max-width:1100px;
color:#1b1b1b;padding:0 1em}
h1{font-size:1.6em;margin-bottom:.2em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;
margin-top:1.8em}table{border-collapse:collapse;width:100%;margin:.5em 0}
th,td{border:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f4f4f4}code,.mono{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px;
word-break:break-all}.md{white-space:pre-wrap;background:#fafafa;border:1px solid #eee;
padding:.6em;border-radius:4px}.badge{display:inline-block;padding:1px 8px;border-radius:10px;
font-weight:600}.approved,.healthy,.ready,.ok{background:#d7f5dd;color:#13591f}
.rejected,.failed,.alert,.drift{background:#fbdada;color:#7a1212}
.pending,.starting,.unknown,.warning{background:#fff1c2;color:#6b5200}
.muted{color:#666}.flow{font-size:13px}
"""


def e(value: Any) -> str:
    """Escape anything for HTML text or attribute values."""
    if value is None:
        return ""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("∞" if value > 0 else "-∞")
    if isinstance(value, (dict, list)):
        value = json.dumps(value, sort_keys=True, default=str)
    return escape(str(value), quote=True)


def badge(state: Any) -> str:
    cls = "".join(ch for ch in str(state or "unknown").lower() if ch.isalnum()) or "unknown"
    return f'<span class="badge {cls}">{e(state or "unknown")}</span>'


def table(headers: list[str], rows: list[list[str]], empty: str = "None.") -> str:
    """Cells must be escaped already (they may hold badges)."""
    if not rows:
        return f'<p class="muted">{e(empty)}</p>'
    head = "".join(f"<th>{e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def md(text: Any) -> str:
    return f'<div class="md">{e(text)}</div>' if text else '<p class="muted">None given.</p>'


def _safe(fn: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return fn(*args, **kwargs)
    except Exception:  # a missing piece leaves a gap, not a failed bundle
        return None


def gather(services: Any, name: Any, version: Any) -> dict[str, Any]:
    """Everything the bundle shows, as plain data (also useful to the panel)."""
    v = services.registry.get_version(name, version)
    model = services.registry.get_model(v["model_name"])
    lineage = v.get("lineage") or {}
    run = _safe(services.tracking.get_run, v["run_id"]) if v.get("run_id") else None
    datasets = []
    for item in lineage.get("datasets") or []:
        full = _safe(services.datasets.get, item.get("id")) or {}
        datasets.append(
            {
                **item,
                **{k: full.get(k) for k in ("schema", "row_count", "source", "content_digest")},
            }
        )
    notebook = None
    if run:
        files = _safe(services.artifacts.list_artifacts, v["run_id"]) or []
        if isinstance(files, dict):
            files = files.get("items") or []
        names = {f.get("path") for f in files if isinstance(f, dict)}
        notebook = {
            "path": lineage.get("notebook_path") or run.get("notebook_path"),
            "snapshot": "notebook.ipynb" in names,
            "executed": "executed.ipynb" in names,
        }
    deployments = []
    listed = _safe(services.deployments.list, max_results=1000) or {"items": []}
    for d in listed["items"]:
        if d.get("model_name") != v["model_name"]:
            continue
        target = _safe(services.deployments.target, d["id"]) or {}  # after the approval gate
        served = target.get("versions") or []
        share = sum(pct for ver, pct in served if ver.get("id") == v["id"])
        loaded = v["id"] in ((d.get("serving") or {}).get("routes") or {})
        if not share and not loaded:
            continue
        monitors = []
        found = (
            _safe(services.monitors.list, deployment=d["id"], max_results=1000)
            if hasattr(services, "monitors")
            else None
        )
        for m in (found or {}).get("items") or []:
            latest = m.get("latest_check") or {}
            monitors.append(
                {
                    "name": m.get("name"),
                    "health": m.get("health"),
                    "alerting": m.get("alerting"),
                    "last_checked_at": m.get("last_checked_at"),
                    "summary": latest.get("summary"),
                }
            )
        deployments.append(
            {
                "name": d["name"],
                "status": d["status"],
                "desired": d["desired"],
                "url": d["url"],
                "model_ref": d["model_ref"],
                "share": share,
                "loaded": loaded,
                "serving_error": (d.get("serving") or {}).get("error"),
                "monitors": monitors,
            }
        )
    reviews = services.reviews.list_reviews(v["model_name"], v["version"])
    audit = services.audit.list(entity_type="model_version", entity_id=v["id"], max_results=200)
    project = None
    if lineage.get("project_name"):
        project = _safe(services.projects.get_project, lineage["project_name"])
    return {
        "version": v,
        "model": model,
        "run": run,
        "datasets": datasets,
        "notebook": notebook,
        "deployments": deployments,
        "reviews": reviews,
        "audit": audit["items"],
        "project": project,
    }


def render_bundle(services: Any, name: Any, version: Any) -> str:
    data = gather(services, name, version)
    v, model, run, reviews = data["version"], data["model"], data["run"], data["reviews"]
    lineage = v.get("lineage") or {}
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    policy = reviews["policy"]
    parts: list[str] = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'; img-src data:\">",
        '<meta name="generator" content="LabCycle review bundle">',
        f"<title>Review bundle: {e(v['ref'])}</title><style>{CSS}</style></head><body>",
        f"<h1>Model card and review bundle: <code>{e(v['ref'])}</code></h1>",
        f'<p class="muted">Generated {e(now)} by LabCycle. Review state: '
        f"{badge(reviews['state'])}"
        + (
            f" by {e(reviews['decided_by'])} at {e(reviews['decided_at'])}"
            if reviews["decided_by"]
            else ""
        )
        + "</p>",
        "<h2>Purpose</h2>",
        "<h3>Model</h3>",
        md(model.get("description")),
        "<h3>This version</h3>",
        md(v.get("description")),
        table(
            ["field", "value"],
            [
                ["model", e(v["model_name"])],
                ["version", e(v["version"])],
                ["flavor", e(v.get("flavor"))],
                ["aliases", e(", ".join(v.get("aliases") or []))],
                ["tags", e(v.get("tags"))],
                ["registered by", e(v.get("created_by"))],
                ["registered at", e(v.get("created_at"))],
                ["status", e(v.get("status"))],
                ["trusted load", e(v.get("trusted"))],
                ["project", e(lineage.get("project_name"))],
                ["signature", f'<span class="mono">{e(v.get("signature"))}</span>'],
            ],
        ),
    ]
    if data["project"]:
        p = data["project"]
        parts += [
            "<h3>Project README</h3>",
            md((p.get("description") or "")[:20_000]),
            f'<p class="muted">Repository: {e(p.get("git_url") or "none recorded")}; owners: '
            f"{e(', '.join(p.get('owners') or []) or 'none (open project)')}</p>",
        ]
    parts += [
        "<h2>Data</h2>",
        table(
            [
                "dataset",
                "context",
                "fingerprint (digest)",
                "content digest",
                "rows",
                "source",
                "schema",
            ],
            [
                [
                    e(d.get("name")),
                    e(d.get("context")),
                    f'<span class="mono">{e(d.get("digest"))}</span>',
                    f'<span class="mono">{e(d.get("content_digest"))}</span>',
                    e(d.get("row_count")),
                    e(d.get("source")),
                    f'<span class="mono">{e(d.get("schema"))}</span>',
                ]
                for d in data["datasets"]
            ],
            "No dataset was recorded as an input of the run.",
        ),
    ]
    parts += [
        "<h2>Metrics</h2>",
        table(
            ["metric", "value"],
            [[e(k), e(val)] for k, val in sorted((v.get("metrics") or {}).items())],
            "No metrics recorded.",
        ),
    ]
    if run:
        parts += [
            "<h3>Parameters of the run</h3>",
            table(
                ["param", "value"],
                [[e(k), e(val)] for k, val in sorted((run.get("params") or {}).items())],
                "No parameters recorded.",
            ),
        ]
    nb = data["notebook"] or {}
    flow = [
        f"datasets ({len(data['datasets'])})",
        f"run {lineage.get('run_name') or v.get('run_id') or '?'}",
        f"notebook {nb.get('path') or lineage.get('notebook_path') or '(none)'}",
        f"version {v['ref']}",
        f"deployments ({len(data['deployments'])})",
        f"monitors ({sum(len(d['monitors']) for d in data['deployments'])})",
    ]
    parts += [
        "<h2>Lineage</h2>",
        f'<p class="flow">{" → ".join(e(x) for x in flow)}</p>',
        table(
            ["step", "what"],
            [
                ["run", e(f"{lineage.get('run_name') or ''} ({v.get('run_id') or 'deleted'})")],
                ["experiment", e(lineage.get("experiment_name"))],
                ["project", e(lineage.get("project_name"))],
                [
                    "notebook",
                    e(nb.get("path") or lineage.get("notebook_path"))
                    + (" (snapshot stored)" if nb.get("snapshot") else "")
                    + (" (executed copy stored)" if nb.get("executed") else ""),
                ],
                ["source", e(lineage.get("source"))],
                ["git commit", f'<span class="mono">{e(lineage.get("git_commit"))}</span>'],
                ["ran as", e(lineage.get("user"))],
            ],
        ),
    ]
    dep_rows, mon_rows = [], []
    for d in data["deployments"]:
        dep_rows.append(
            [
                e(d["name"]),
                badge(d["status"]),
                e(d["model_ref"]),
                e(f"{d['share']:g}%"),
                e(d["url"]),
                e(d.get("serving_error")),
            ]
        )
        for m in d["monitors"]:
            mon_rows.append(
                [
                    e(m["name"]),
                    e(d["name"]),
                    badge(m["health"]),
                    e("yes" if m["alerting"] else "no"),
                    e(m["last_checked_at"]),
                    e(m["summary"]),
                ]
            )
    parts += [
        "<h2>Deployments</h2>",
        table(
            [
                "deployment",
                "status",
                "model reference",
                "traffic to this version",
                "URL",
                "serving note",
            ],
            dep_rows,
            "This version is not deployed.",
        ),
        "<h2>Monitoring status</h2>",
        table(
            ["monitor", "deployment", "health", "alerting", "last check", "summary"],
            mon_rows,
            "No monitor watches a deployment of this version.",
        ),
    ]
    parts += [
        "<h2>Reviews</h2>",
        f"<p>Policy: {'approval required before deployment' if policy['require_approval'] else 'no approval required'}"
        f" (projects: {e(', '.join(policy['projects']) or 'none')}); who can approve: "
        f"{e(', '.join(policy['approvers']) or 'nobody listed')}.</p>",
        table(
            ["when", "reviewer", "role", "decision", "counts", "comment"],
            [
                [
                    e(r["at"]),
                    e(r["reviewer"]),
                    e(r["role"]),
                    badge(
                        {"approve": "approved", "reject": "rejected"}.get(
                            r["decision"], r["decision"]
                        )
                    ),
                    e("yes" if r["counts"] else "no"),
                    md(r["comment"]),
                ]
                for r in reviews["items"]
            ],
            "No reviews yet.",
        ),
    ]
    parts += [
        "<h2>Audit trail of this version</h2>",
        table(
            ["when", "user", "action", "details"],
            [
                [
                    e(a["at"]),
                    e(a["user"]),
                    e(a["action"]),
                    f'<span class="mono">{e(a["details"])}</span>',
                ]
                for a in data["audit"]
            ],
            "No events.",
        ),
    ]
    parts.append("</body></html>")
    return "\n".join(parts)
