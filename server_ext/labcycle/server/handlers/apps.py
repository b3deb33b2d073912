"""``GET {base_url}labcycle/apps/<name>``: a notebook of ``voila_apps/`` rendered by Voila.

The app notebooks ship inside the package, not under the user's ``root_dir``, which is all
that Voila's own ``/voila/render/<path>`` can reach. This handler is Voila's
:class:`~voila.handler.VoilaHandler` with two changes: the notebook is ``<name>.ipynb`` of
:func:`labcycle.apps.launch.apps_dir`, read through a contents manager rooted there, and
the name is checked against the apps that exist (anything else is a 404 page listing them).
Everything else is Voila's: the page, the kernel (started by this server's kernel manager
with the server's environment plus the request's ``QUERY_STRING``, so the app finds
``LABCYCLE_API_URL`` / ``LABCYCLE_API_TOKEN`` and reads through the REST API as the server's
user), and the static files, widgets and kernel shutdown under ``/voila/...``, which come
from Voila's server extension (enabled by Voila's installation; without it the page says so).
The server's login protects the page like any other (``@web.authenticated``).

Each page view starts a kernel, so the pages are admitted by :mod:`.app_kernels`: at most
``c.LabCycle.max_app_kernels`` app kernels at once (beyond that a ``503`` page with
``Retry-After``), and kernels whose page never connected are culled.

Preheated kernels (``c.VoilaConfiguration.preheat_kernel``) are a feature of Voila's own
application (its ``VoilaKernelManager`` keeps the pool); in the server extension Voila
always starts a kernel per page, and so does this route. ``labcycle app NAME`` (standalone)
uses the pool.
"""

from __future__ import annotations

import html
from typing import Any

from tornado import web

try:  # Voila is a dependency; the route is left out when it cannot be imported
    from voila.handler import VoilaHandler
except Exception:  # pragma: no cover
    VoilaHandler = None

from ...apps.launch import APP_NAME, app_names, apps_dir
from ...services.common import APPS_ROUTE
from ..app_kernels import APP_KERNELS_KEY


class AppsContents:
    """The contents manager the Voila handler reads the app notebook through: the server's
    own class, rooted at the apps folder (read-only use: ``get``)."""

    _manager: Any = None

    @classmethod
    def get(cls) -> Any:
        if cls._manager is None:
            from jupyter_server.services.contents.filemanager import FileContentsManager

            cls._manager = FileContentsManager(root_dir=str(apps_dir()))
        return cls._manager


if VoilaHandler is not None:

    class VoilaAppHandler(VoilaHandler):
        """Renders ``voila_apps/<name>.ipynb`` with Voila (see the module docstring)."""

        @property
        def contents_manager(self) -> Any:  # the apps folder, not the user's root_dir
            return AppsContents.get()

        @property
        def kernel_manager(self) -> Any:  # records the page's kernel as an app kernel
            admission = getattr(self, "_admission", None)
            if admission is not None:
                return admission.kernel_manager()
            return super().kernel_manager

        def _page(self, status: int, title: str, text: str) -> None:
            links = "".join(
                f"<li><a href='{html.escape(self.base_url)}{APPS_ROUTE}/{n}'>{n}</a></li>"
                for n in app_names()
            )
            self.set_status(status)
            self.set_header("Content-Type", "text/html; charset=UTF-8")
            self.finish(
                f"<!doctype html><title>{html.escape(title)}</title>"
                f"<body style='font-family:system-ui,sans-serif;margin:2em'>"
                f"<h2>{html.escape(title)}</h2><p>{html.escape(text)}</p>"
                f"<p>LabCycle's apps:</p><ul>{links}</ul></body>"
            )

        @web.authenticated
        async def get(self, name: str) -> None:
            stem = name[:-6] if name.endswith(".ipynb") else name
            if not APP_NAME.fullmatch(stem) or not (apps_dir() / f"{stem}.ipynb").is_file():
                self._page(404, "No such app", f"LabCycle has no app {stem[:80]!r}.")
                return
            if "voila_jinja2_env" not in self.settings:
                self._page(
                    503,
                    "Voila is not enabled",
                    "This Jupyter server runs without "
                    "Voila's server extension; enable it (`jupyter server extension "
                    "enable voila`) and restart the server.",
                )
                return
            app_kernels = self.settings.get(APP_KERNELS_KEY)
            if app_kernels is not None:
                self._admission = app_kernels.admit()
                if self._admission is None:
                    wait = app_kernels.retry_after()
                    self.set_header("Retry-After", str(wait))
                    self._page(
                        503,
                        "The apps are busy",
                        f"{app_kernels.limit} app pages are "
                        f"open on this server, its limit; try again in {wait} seconds.",
                    )
                    return
            self.notebook_path = f"{stem}.ipynb"
            try:
                async for chunk in self.get_generator(path=None):
                    self.write(chunk)
                    self.flush()
            finally:
                if getattr(self, "_admission", None) is not None:
                    self._admission.done()


def app_handlers(serverapp: Any) -> list[tuple]:
    """The ``labcycle/apps/<name>`` route with Voila's configuration (as its extension
    builds it: ``c.VoilaConfiguration`` and ``voila.json`` / ``voila.py`` files)."""
    if VoilaHandler is None:
        return []
    from voila.configuration import VoilaConfiguration
    from voila.paths import collect_template_paths
    from voila.server_extension import load_config_file

    configuration = VoilaConfiguration(parent=serverapp)
    local = load_config_file()
    if local is not None:
        configuration.update_config(local)
    template_paths = collect_template_paths(["voila", "nbconvert"], configuration.template)
    return [
        (
            rf"/{APPS_ROUTE}/(?P<name>[^/]+)",
            VoilaAppHandler,
            {
                "config": serverapp.config,
                "template_paths": template_paths,
                "voila_configuration": configuration,
            },
        )
    ]
