"""Where the Voila apps live and how they are opened: in the Jupyter server, or standalone.

The notebooks of ``voila_apps/`` ship inside the package (``labcycle/voila_apps/`` in the
wheel, see ``[tool.hatch.build.targets.wheel.force-include]``); in a source checkout
(editable install) they are the repository's ``voila_apps/`` folder.

URL scheme, inside a Jupyter server with LabCycle (any app of ``voila_apps/`` by its name,
the query string passed to the app's kernel as ``QUERY_STRING``)::

    {base_url}labcycle/apps/drift?monitor=<id or name>
    {base_url}labcycle/apps/performance?monitor=<id or name>
    {base_url}labcycle/apps/whatif?deployment=<id or name>     (or ?monitor=)
    {base_url}labcycle/apps/predict?model=churn@champion       (the try-it form)

Standalone, ``labcycle app NAME --monitor ID`` runs ``voila`` on 127.0.0.1 with the
notebook (:func:`voila_command`).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from ..errors import NotFound

#: an app's name: the notebook's file name without ``.ipynb``
APP_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}")


def apps_dir() -> Path:
    """The folder of the app notebooks: in the installed package, else the source checkout's."""
    package = Path(__file__).resolve().parents[1]  # .../labcycle
    shipped = package / "voila_apps"
    if shipped.is_dir():
        return shipped
    return package.parents[1] / "voila_apps"  # server_ext/labcycle -> repository root


def app_names() -> list[str]:
    folder = apps_dir()
    if not folder.is_dir():
        return []
    return sorted(p.stem for p in folder.glob("*.ipynb") if APP_NAME.fullmatch(p.stem))


def notebook_path(name: str) -> Path:
    """The notebook of app ``name`` (``drift`` or ``drift.ipynb``); NotFound otherwise."""
    stem = name[:-6] if isinstance(name, str) and name.endswith(".ipynb") else name
    if not isinstance(stem, str) or not APP_NAME.fullmatch(stem):
        raise NotFound(
            f"No app {str(name)[:80]!r}; the apps are: {', '.join(app_names())}.", field="app"
        )
    path = apps_dir() / f"{stem}.ipynb"
    if not path.is_file():
        raise NotFound(f"No app {stem!r}; the apps are: {', '.join(app_names())}.", field="app")
    return path


def voila_command(
    name: str,
    *,
    port: int,
    ip: str = "127.0.0.1",
    preheat: bool = True,
    token: bool = False,
    open_browser: bool = False,
) -> list[str]:
    """The ``voila`` command line that serves app ``name`` alone.

    With ``preheat`` a kernel is started and the notebook's import cell run before anyone
    opens the page (Voila's kernel pool); the app then waits for the request's query string
    (:func:`labcycle.apps.monitoring.parameters`) and reads fresh data when it is opened.
    """
    path = notebook_path(name)
    args = [
        sys.executable,
        "-m",
        "voila",
        str(path),
        f"--port={port}",
        f"--Voila.ip={ip}",
        "--Voila.port_retries=0",
        "--VoilaConfiguration.show_tracebacks=False",
    ]
    if not open_browser:
        args.append("--no-browser")
    if preheat:
        args += ["--preheat_kernel=True", "--pool_size=1"]
    if token:
        args.append("--token")
    return args
