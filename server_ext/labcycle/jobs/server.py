"""The server extension's side of the job queue: one dispatcher per Jupyter server."""

from __future__ import annotations

import logging
from typing import Any

from .dispatcher import Dispatcher, dispatcher_from_config

log = logging.getLogger(__name__)


def start_dispatcher(app: Any) -> Dispatcher | None:
    """Start the dispatcher of a :class:`~labcycle.server.app.LabCycleApp`.

    Kernels of the jobs log over this server's REST API (``LABCYCLE_API_URL`` and
    ``LABCYCLE_API_TOKEN`` as exported by the app); the workers themselves use the store.
    """
    services = app.services
    if services is None or not hasattr(services, "jobs"):
        return None
    exported = getattr(app, "_exported", {})
    dispatcher = dispatcher_from_config(
        services,
        app.options,
        api_url=exported.get("LABCYCLE_API_URL"),
        api_token=exported.get("LABCYCLE_API_TOKEN"),
        cls=getattr(app.options, "job_dispatcher_class", None),
    )
    dispatcher.start()
    app.log.info(
        "LabCycle: job dispatcher started (executor %s, at most %d jobs at once)",
        dispatcher.executor_spec,
        dispatcher.max_jobs,
    )
    return dispatcher
