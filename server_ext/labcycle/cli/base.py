"""The ``labcycle`` command group and what every command module shares: the console,
JSON output, friendly errors, formatting, id prefixes."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable
from functools import wraps
from typing import Any

import click
from rich.console import Console
from rich.markup import escape

from .. import __version__
from ..config import LabCycleConfig
from ..errors import LabCycleError

# Wide tables when piped (CI logs, less): rich would otherwise squeeze them to 80 columns.
console = Console(width=None if sys.stdout.isatty() else 200)


def _services():
    from ..services import Services

    return Services.from_config(LabCycleConfig())


def _json_default(value: Any) -> Any:
    return str(value)


def _encode(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {k: _encode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    return value


def emit_json(data: Any) -> None:
    click.echo(json.dumps(_encode(data), indent=2, default=_json_default, allow_nan=False))


def friendly_errors(fn: Callable) -> Callable:
    """Print LabCycle errors as one clear line and exit 1, never a traceback."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except LabCycleError as exc:
            # escaped: a message may hold brackets ("pip install 'labcycle[s3]'")
            console.print(f"[red]error:[/red] {escape(exc.message)}", highlight=False)
            sys.exit(1)

    return wrapper


def fmt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return f"{value:.6g}"
    return str(value)


def fmt_time(value: str | None) -> str:
    return value[:19].replace("T", " ") if value else ""


def fmt_duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


STATUS_STYLE = {"running": "blue", "finished": "green", "failed": "red", "killed": "yellow"}


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="labcycle")
def main() -> None:
    """LabCycle: track, compare and reproduce data science work, inside Jupyter.

    The store is set by LABCYCLE_HOME (default ~/.labcycle) or LABCYCLE_DB_URL.
    """


def resolve_prefix(
    what: str,
    prefix: str,
    get: Callable[[str], dict[str, Any]],
    candidates: Callable[[], list[dict[str, Any]]],
    *,
    min_length: int = 6,
) -> dict[str, Any]:
    """``get(prefix)`` for a full id; else the one item of ``candidates()`` whose id starts
    with ``prefix`` (at least ``min_length`` characters), as the tables print ids."""
    from ..errors import InvalidInput, NotFound

    try:
        return get(prefix)
    except (NotFound, InvalidInput):
        if len(prefix) < min_length:
            raise
    matches = [item for item in candidates() if item["id"].startswith(prefix)]
    if len(matches) != 1:
        raise NotFound(
            f"No {what} with id {prefix!r}."
            if not matches
            else f"{what.capitalize()} id prefix {prefix!r} is ambiguous; give more characters."
        )
    return get(matches[0]["id"])


def _resolve_run(services, prefix: str) -> dict[str, Any]:
    """Full ids, or an unambiguous prefix of at least 6 characters, as the table prints them."""
    return resolve_prefix(
        "run",
        prefix,
        services.tracking.get_run,
        lambda: services.tracking.search_runs(
            filter=f"id like '{prefix.replace(chr(39), '')}%'", max_results=2
        )["items"],
    )
