"""CLI of serving: ``labcycle serve`` (the model server process), ``labcycle deploy REF``
and ``labcycle deployments ls/show/stop/start/restart/scale/split/keygen``.

``deploy`` is a group so that other areas can hang commands on it (``deploy export``);
``labcycle deploy REF`` runs its default command ``deploy model REF``. Whichever module
is imported first creates the group; the other one reuses it.
"""

from __future__ import annotations

import secrets
import sys
from pathlib import Path

import click
from rich.table import Table

from ..errors import InvalidInput
from .base import _services, console, emit_json, fmt_time, friendly_errors, main

STATUS_STYLE = {"ready": "green", "starting": "blue", "failed": "red", "stopped": "dim"}


class DeployGroup(click.Group):
    """``deploy REF ...`` means ``deploy model REF ...``; ``deploy export ...`` stays itself."""

    default_command = "model"

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        first = next((a for a in args if not a.startswith("-")), None)
        if first is not None and first not in self.commands and args[0] not in ("-h", "--help"):
            args = [self.default_command, *args]
        return super().parse_args(ctx, args)


deploy_group = main.commands.get("deploy")
if deploy_group is None:

    @main.group("deploy", cls=DeployGroup)
    def deploy_group() -> None:
        """Deploy a model as an HTTP API: `labcycle deploy churn@champion`."""
elif not isinstance(deploy_group, DeployGroup):
    deploy_group.__class__ = DeployGroup  # made by another area as a plain group
assert isinstance(deploy_group, click.Group)  # for the type checker: get() gives a Command


def _live(services, d):
    """``curl_example``, ``try_url`` and the last minute's rate and latency
    (:meth:`DeploymentService.live`); the "try it" page needs a Jupyter server: the one of
    this terminal (``LABCYCLE_API_URL``), else the first one running on this machine."""
    from ..services.deployments import jupyter_base_url

    return services.deployments.live(d, base_url=jupyter_base_url() or _running_jupyter())


def _running_jupyter() -> str | None:
    try:
        from jupyter_server.serverapp import list_running_servers

        for info in list_running_servers():
            return info.get("url")
    except Exception:  # only for the "try it" link
        return None
    return None


def _print_deployment(d: dict, key: str | None = None) -> None:
    style = STATUS_STYLE.get(d["status"], "white")
    console.print(
        f"[bold]{d['name']}[/bold]  {d['id']}  [{style}]{d['status']}[/]  "
        f"model {d['model_ref']}  workers {d['workers']}"
    )
    console.print(f"URL: {d['url']}")
    if d.get("try_url"):
        console.print(f"Try it: {d['try_url']}", highlight=False)
    if d.get("request_rate") is not None:
        console.print(
            f"Last minute: {d['request_rate']:g} req/s, p50 {d['latency_ms'] or 0:g} ms, "
            f"p99 {d['latency_p99_ms'] or 0:g} ms",
            highlight=False,
        )
    if d.get("error"):
        console.print(f"[red]error:[/red] {d['error']}", highlight=False)
    if key:
        console.print(f"[yellow]API key (shown once, store it now):[/yellow] {key}")
    console.print("Example:")
    click.echo("  " + d["curl_example"])


@deploy_group.command("model")
@click.argument("ref")
@click.option("--name", help="Deployment name (default: from the model reference).")
@click.option("--workers", default=1, show_default=True, help="Server processes.")
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to bind; anything but loopback gets an API key.",
)
@click.option("--port", type=int, help="Port (default: a free one).")
@click.option(
    "--traffic", multiple=True, help="VERSION=PERCENT, e.g. --traffic 3=90 --traffic 4=10."
)
@click.option("--no-capture", is_flag=True, help="Do not log predictions.")
@click.option(
    "--trusted",
    is_flag=True,
    help="Trust the versions deployed (needed for pickle/joblib/python; audited).",
)
@click.option("--wait", default=60.0, show_default=True, help="Seconds to wait until ready.")
@click.option("--json", "as_json", is_flag=True)
@friendly_errors
def deploy_model(
    ref, name, workers, host, port, traffic, no_capture, trusted, wait, as_json
) -> None:
    """Serve model REF (churn@champion, churn/3) over HTTP; prints its URL and a curl example."""
    from ..config import local_user
    from ..serving.supervisor import Supervisor

    services = _services()
    d = services.deployments.create(
        ref,
        actor=local_user(),
        name=name,
        workers=workers,
        host=host,
        port=port,
        traffic=_split(traffic),
        capture=not no_capture,
        trusted=trusted,
    )
    key = d.pop("api_key", None)
    with console.status(f"starting {d['name']} on {d['url']} …"):
        d = _live(services, Supervisor(services).ensure(d["id"], wait=wait))
    if as_json:
        emit_json({**d, **({"api_key": key} if key else {})})
        return
    _print_deployment(d, key)
    if d["status"] == "failed":
        sys.exit(1)


def _split(pairs: tuple[str, ...]) -> dict[str, float] | None:
    if not pairs:
        return None
    out = {}
    for pair in pairs:
        version, _, pct = pair.partition("=")
        try:
            out[version.strip()] = float(pct)
        except ValueError:
            raise InvalidInput(
                f"Give traffic as VERSION=PERCENT, not {pair!r}.", field="traffic"
            ) from None
    return out


# -- labcycle serve: the process entry ---------------------------------------------------
@main.command("serve")
@click.argument("model", required=False)
@click.option(
    "--deployment", "deployment_id", help="Serve this deployment (reads it from the store)."
)
@click.option("--host", default=None, help="Address to bind (default 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default 8000).")
@click.option("--workers", type=int, default=None, help="Worker processes (default 1).")
@click.option(
    "--api-key-hash-file",
    type=click.Path(dir_okay=False, exists=True),
    envvar="LABCYCLE_API_KEY_HASH_FILE",
    help="File holding the API key's hash (`labcycle deployments keygen`).",
)
@click.option("--no-batching", is_flag=True, help="One predict call per request.")
@click.option("--max-batch-rows", type=int, default=None, help="Rows per batch (default 256).")
@click.option("--max-wait-us", type=int, default=None, help="Longest wait to fill a batch.")
@click.option("--no-capture", is_flag=True, help="Do not write the prediction log.")
@click.option(
    "--capture-url",
    envvar="LABCYCLE_CAPTURE_URL",
    help="fsspec URL for the prediction log (env LABCYCLE_CAPTURE_URL; default: the "
    "artifact store).",
)
@click.option(
    "--log-as",
    "log_id",
    envvar="LABCYCLE_DEPLOYMENT_ID",
    help="Serving a model folder: write the prediction log under this deployment id "
    "(env LABCYCLE_DEPLOYMENT_ID; an exported deployment's id).",
)
@click.option(
    "--predict-mode",
    type=click.Choice(["thread", "inline"]),
    envvar="LABCYCLE_SERVE_PREDICT_MODE",
    default="thread",
    show_default=True,
    help="Predict in a thread (overlaps parsing) or on the event loop.",
)
@click.option("--hello", is_flag=True, hidden=True, help="Add a hello-world route (benchmarks).")
@friendly_errors
def serve(
    model,
    deployment_id,
    host,
    port,
    workers,
    api_key_hash_file,
    no_batching,
    max_batch_rows,
    max_wait_us,
    no_capture,
    capture_url,
    log_id,
    predict_mode,
    hello,
) -> None:
    """Run a model server (MODEL: a registry reference or a model folder) until SIGTERM."""
    from ..services.deployments import is_loopback
    from ..serving.app import ServeConfig, run

    cfg = ServeConfig(
        model=model, hello_route=hello, capture_url=capture_url, predict_mode=predict_mode
    )
    if log_id and not deployment_id:
        import re

        if not re.fullmatch(r"[0-9a-f]{32}", log_id.strip()):
            raise InvalidInput(
                "--log-as / LABCYCLE_DEPLOYMENT_ID must be a deployment id "
                "(32 hex characters, as `labcycle deploy export` registers).",
                field="log_as",
            )
        cfg.log_id = log_id.strip()
    if deployment_id:
        services = _services()
        d = services.deployments.get(deployment_id, secret=True)
        cfg.deployment_id, cfg.host, cfg.port, cfg.workers = (
            d["id"],
            d["host"],
            d["port"],
            d["workers"],
        )
        cfg.api_key_hash, cfg.capture = d["api_key_hash"], d["capture"]
        b = d["batching"]
        cfg.batching, cfg.max_batch_rows, cfg.max_wait_us = (
            b["enabled"],
            b["max_batch_rows"],
            b["max_wait_us"],
        )
        cfg.db_url, cfg.artifact_url = services.store.url, services.blobs.url
        services.close()
    elif not model:
        raise click.UsageError("Give a MODEL (reference or folder) or --deployment ID.")
    cfg.host = host or cfg.host
    cfg.port = port or cfg.port
    cfg.workers = workers or cfg.workers
    if api_key_hash_file:
        cfg.api_key_hash = Path(api_key_hash_file).read_text().strip()
        if not cfg.api_key_hash.startswith("sha256:"):
            raise InvalidInput(
                "The API key hash file must hold 'sha256:<hex>' (`labcycle deployments keygen`).",
                field="api_key_hash_file",
            )
    if not is_loopback(cfg.host) and not cfg.api_key_hash:
        raise InvalidInput(
            f"Binding {cfg.host} (not loopback) requires an API key: create one with "
            "`labcycle deployments keygen HASH_FILE` and pass --api-key-hash-file.",
            field="host",
        )
    cfg.batching = cfg.batching and not no_batching
    cfg.max_batch_rows = max_batch_rows or cfg.max_batch_rows
    cfg.max_wait_us = cfg.max_wait_us if max_wait_us is None else max_wait_us
    cfg.capture = cfg.capture and not no_capture
    run(cfg)


# -- labcycle deployments ------------------------------------------------------------------
@main.group()
def deployments() -> None:
    """List and control deployments."""


@deployments.command("ls")
@click.option("--all", "show_all", is_flag=True, help="Include stopped deployments.")
@click.option("--json", "as_json", is_flag=True)
@friendly_errors
def deployments_ls(show_all: bool, as_json: bool) -> None:
    """List deployments with their status and URL."""
    services = _services()
    items = _live(
        services, services.deployments.list(max_results=1000, include_stopped=show_all)["items"]
    )
    if as_json:
        emit_json(items)
        return
    table = Table(title=f"Deployments ({len(items)})", title_justify="left")
    for column in (
        "name",
        "status",
        "model",
        "versions",
        "workers",
        "url",
        "req/s",
        "p50 ms",
        "created",
    ):
        table.add_column(column)
    for d in items:
        routes = (d["serving"] or {}).get("routes") or {}
        versions = ", ".join(
            f"{(d['serving'].get('versions') or {}).get(k, {}).get('version', k)}:{w:g}%"
            for k, w in routes.items()
        )
        style = STATUS_STYLE.get(d["status"], "white")
        table.add_row(
            d["name"],
            f"[{style}]{d['status']}[/]",
            d["model_ref"],
            versions,
            str(d["workers"]),
            d["url"],
            _num(d["request_rate"]),
            _num(d["latency_ms"]),
            _ms_time(d["created_at"]),
        )
    console.print(table)


def _apply(change) -> dict:
    from ..config import local_user
    from ..serving.supervisor import Supervisor

    services = _services()
    d = change(services, local_user())
    return Supervisor(services).reconcile_one(d["id"])


@deployments.command("show")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True)
@friendly_errors
def deployments_show(name: str, as_json: bool) -> None:
    """One deployment: status, URL, versions served, errors."""
    services = _services()
    d = _live(services, services.deployments.get(name))
    if as_json:
        emit_json(d)
        return
    _print_deployment(d)
    for key, state in ((d["serving"] or {}).get("versions") or {}).items():
        console.print(
            f"  version {state.get('version')} ({key[:12]}): {state.get('state')} "
            f"{state.get('error') or ''}",
            highlight=False,
        )


@deployments.command("stop")
@click.argument("name")
@friendly_errors
def deployments_stop(name: str) -> None:
    """Stop a deployment (its processes drain requests and write the prediction log)."""
    d = _apply(lambda s, u: s.deployments.stop(name, actor=u))
    console.print(f"{d['name']}: {d['status']}")


@deployments.command("start")
@click.argument("name")
@friendly_errors
def deployments_start(name: str) -> None:
    """Start a stopped (or failed) deployment again, on the same URL."""
    from ..config import local_user
    from ..serving.supervisor import Supervisor

    services = _services()
    d = services.deployments.start(name, actor=local_user())
    d = Supervisor(services).ensure(d["id"])
    console.print(f"{d['name']}: {d['status']} at {d['url']}")


@deployments.command("scale")
@click.argument("name")
@click.argument("workers", type=int)
@friendly_errors
def deployments_scale(name: str, workers: int) -> None:
    """Run WORKERS server processes behind the deployment's port."""
    d = _apply(lambda s, u: s.deployments.update(name, actor=u, workers=workers))
    console.print(f"{d['name']}: {d['workers']} workers, {d['status']}")


@deployments.command("split")
@click.argument("name")
@click.argument("traffic", nargs=-1, required=True)
@friendly_errors
def deployments_split(name: str, traffic: tuple[str, ...]) -> None:
    """Split traffic between versions: `split churn 3=90 4=10`; `split churn off` follows the
    model reference again."""
    split = None if traffic == ("off",) else _split(traffic)
    d = _apply(lambda s, u: s.deployments.update(name, actor=u, traffic=split))
    console.print(f"{d['name']}: traffic {d['traffic'] or d['model_ref']}")


@deployments.command("keygen")
@click.argument("hash_file", type=click.Path(dir_okay=False))
@friendly_errors
def deployments_keygen(hash_file: str) -> None:
    """Make an API key for `labcycle serve --api-key-hash-file`: the key is printed once, only
    its hash is written to HASH_FILE."""
    from ..serving.keys import hash_api_key

    key = secrets.token_urlsafe(32)
    path = Path(hash_file)
    path.write_text(hash_api_key(key) + "\n")
    path.chmod(0o600)
    console.print(f"API key (shown once): {key}")
    console.print(f"hash written to {path}")


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


def _ms_time(ms: int | None) -> str:
    from ..services.common import iso

    return fmt_time(iso(ms))


@deployments.command("restart")
@click.argument("name")
@friendly_errors
def deployments_restart(name: str) -> None:
    """Restart a deployment's processes (SIGTERM, drain, start again on the same URL)."""
    from ..config import local_user
    from ..serving.supervisor import Supervisor

    services = _services()
    supervisor = Supervisor(services)
    d = services.deployments.stop(name, actor=local_user())
    supervisor.reconcile_one(d["id"])
    services.deployments.start(d["id"], actor=local_user())
    d = supervisor.ensure(d["id"])
    console.print(f"{d['name']}: {d['status']} at {d['url']}")
