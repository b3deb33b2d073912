"""CLI of the Voila apps: ``labcycle app NAME`` serves one app alone on 127.0.0.1.

    labcycle app drift --monitor churn-api-monitor
    labcycle app performance --monitor churn-api-monitor --port 8870
    labcycle app whatif --deployment churn-api

Voila runs in the foreground (Ctrl-C stops it) with a preheated kernel: the app's imports
are done before the page is opened, and its data is read when it is. The app reads the
store this command sees (``LABCYCLE_HOME`` / ``LABCYCLE_DB_URL``..., or the Jupyter server
of ``LABCYCLE_API_URL``). Inside a Jupyter server the same apps are at
``{server}/labcycle/apps/NAME?monitor=ID`` with the server's login.
"""

from __future__ import annotations

import os
import subprocess
import sys

import click

from ..errors import InvalidInput
from .base import console, friendly_errors, main


@main.command("app")
@click.argument("name")
@click.option("--monitor", help="Monitor id or name (drift, performance, whatif).")
@click.option("--deployment", help="Deployment id or name (whatif).")
@click.option(
    "--port",
    type=int,
    default=8866,
    show_default=True,
    help="Port on 127.0.0.1 (0: any free port).",
)
@click.option(
    "--preheat/--no-preheat",
    default=True,
    show_default=True,
    help="Start the app's kernel before the page is opened.",
)
@click.option("--token", is_flag=True, help="Require a generated token in the URL.")
@click.option("--open", "open_browser", is_flag=True, help="Open the app in a web browser.")
@friendly_errors
def app(
    name: str,
    monitor: str | None,
    deployment: str | None,
    port: int,
    preheat: bool,
    token: bool,
    open_browser: bool,
) -> None:
    """Serve a monitoring app (drift, performance, whatif; predict) with Voila on 127.0.0.1."""
    from ..apps.launch import notebook_path, voila_command

    stem = notebook_path(name).stem  # NotFound with the list of apps
    if stem in ("drift", "performance") and not monitor:
        raise InvalidInput(
            f"The {stem} app needs --monitor ID (`labcycle monitors ls`).", field="monitor"
        )
    if stem == "whatif" and not (monitor or deployment):
        raise InvalidInput(
            "The whatif app needs --deployment ID (or --monitor ID).", field="deployment"
        )
    if monitor:
        from ..api.monitors import get_monitor

        monitor = get_monitor(monitor).id  # a clear error now rather than in the page
    if deployment:
        from ..api.serving import get_deployment

        deployment = get_deployment(deployment).id
    if not 0 <= port <= 65535:
        raise InvalidInput("--port must be between 0 and 65535.", field="port")
    if not port:
        from ..services.deployments import free_port

        port = free_port()
    env = dict(os.environ)
    for key, value in (("LABCYCLE_APP_MONITOR", monitor), ("LABCYCLE_APP_DEPLOYMENT", deployment)):
        if value:
            env[key] = value
        else:
            env.pop(key, None)
    query = "&".join(f"{k}={v}" for k, v in (("monitor", monitor), ("deployment", deployment)) if v)
    console.print(
        f"[bold]{stem}[/bold] app at http://127.0.0.1:{port}/?{query}"
        + ("  (add the token Voila prints)" if token else "")
        + "  — Ctrl-C stops it.",
        highlight=False,
        soft_wrap=True,
    )
    command = voila_command(
        stem, port=port, preheat=preheat, token=token, open_browser=open_browser
    )
    try:
        code = subprocess.call(command, env=env)
    except KeyboardInterrupt:
        code = 0
    sys.exit(code)
