"""How many kernels the Voila apps of ``labcycle/apps/<name>`` may hold, and their culling.

Every page view of an app starts a kernel (100–200 MB). :class:`AppKernels` caps them:
a page is rendered only while fewer than ``c.LabCycle.max_app_kernels`` app kernels are
alive or starting; beyond that the page answers ``503`` with ``Retry-After`` at once, so
a burst of requests can neither exhaust memory nor stall the server. A kernel whose page
has no open connection (the page was fetched by a script, or the browser went away
without Voila's shutdown call) for ``c.LabCycle.app_kernel_cull_s`` seconds is shut down.
Kernels of notebooks and consoles are never counted or culled here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from jupyter_core.utils import ensure_async

log = logging.getLogger(__name__)
APP_KERNELS_KEY = "labcycle_app_kernels"


class AppKernels:
    """The app kernels of one server: a cap on how many, and the culling of idle ones."""

    def __init__(self, kernel_manager: Any, *, limit: int, cull_after_s: float) -> None:
        self.kernel_manager = kernel_manager
        self.limit = max(1, int(limit))
        self.cull_after_s = max(1.0, float(cull_after_s))
        #: kernel id → when it was last seen with a connection (or started)
        self.kernels: dict[str, float] = {}
        self.starting = 0  # pages admitted whose kernel is not registered yet
        self.refused = 0
        self._task: asyncio.Task | None = None

    # -- admission ---------------------------------------------------------------------------
    def in_use(self) -> int:
        alive = set(self.kernel_manager.list_kernel_ids())
        for kernel_id in [k for k in self.kernels if k not in alive]:  # shut down by Voila
            del self.kernels[kernel_id]
        return len(self.kernels) + self.starting

    def admit(self) -> Admission | None:
        """A place for one page's kernel; None when every place is taken."""
        if self.in_use() >= self.limit:
            self.refused += 1
            return None
        self.starting += 1
        return Admission(self)

    def retry_after(self) -> int:
        """Seconds after which a refused page may find a place: the next cull at the latest."""
        if not self.kernels:
            return 5
        oldest = min(self.kernels.values())
        return max(1, min(int(oldest + self.cull_after_s - time.monotonic()) + 1, 300))

    # -- culling -----------------------------------------------------------------------------
    async def cull(self) -> int:
        """Shut down app kernels without a connection for ``cull_after_s``; how many."""
        now, culled = time.monotonic(), 0
        alive = set(self.kernel_manager.list_kernel_ids())
        for kernel_id, seen in list(self.kernels.items()):
            if kernel_id not in alive:
                self.kernels.pop(kernel_id, None)
                continue
            try:
                connections = self.kernel_manager.kernel_model(kernel_id).get("connections", 0)
            except Exception:  # it went away meanwhile
                self.kernels.pop(kernel_id, None)
                continue
            if connections:
                self.kernels[kernel_id] = now
            elif now - seen >= self.cull_after_s:
                self.kernels.pop(kernel_id, None)
                log.info(
                    "LabCycle: shutting down app kernel %s (no page connected for %.0f s)",
                    kernel_id,
                    now - seen,
                )
                with contextlib.suppress(Exception):
                    await ensure_async(self.kernel_manager.shutdown_kernel(kernel_id, now=True))
                culled += 1
        return culled

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._loop())

    async def _loop(self) -> None:
        interval = min(10.0, max(0.5, self.cull_after_s / 4))
        while True:
            await asyncio.sleep(interval)
            try:
                await self.cull()
            except Exception:  # culling must never stop
                log.exception("LabCycle: culling app kernels failed")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


class Admission:
    """One admitted page: its place counts as "starting" until its kernel exists, then as
    that kernel (until the kernel is shut down or culled)."""

    def __init__(self, app_kernels: AppKernels) -> None:
        self.app_kernels = app_kernels
        self.kernel_id: str | None = None
        self._open = True

    def started(self, kernel_id: str) -> None:
        if self._open:
            self._open = False
            self.app_kernels.starting = max(0, self.app_kernels.starting - 1)
        self.kernel_id = kernel_id
        self.app_kernels.kernels[kernel_id] = time.monotonic()

    def done(self) -> None:
        """The page is rendered or failed; a place never used is given back."""
        if self._open:
            self._open = False
            self.app_kernels.starting = max(0, self.app_kernels.starting - 1)

    def kernel_manager(self) -> Any:
        """The server's kernel manager, recording the kernel this page starts."""
        return _RecordingKernelManager(self.app_kernels.kernel_manager, self)


class _RecordingKernelManager:
    """The kernel manager as Voila's handler sees it: the same, but the kernel it starts
    is recorded as the admitted page's."""

    def __init__(self, manager: Any, admission: Admission) -> None:
        self._manager = manager
        self._admission = admission

    def __getattr__(self, name: str) -> Any:
        return getattr(self._manager, name)

    async def start_kernel(self, *args: Any, **kwargs: Any) -> str:
        kernel_id = await ensure_async(self._manager.start_kernel(*args, **kwargs))
        self._admission.started(kernel_id)
        return kernel_id
