"""The scheduler: one loop, owned by the server extension, for all timed work.

Each tick fires the due schedules (:meth:`.ScheduleService.run_due`: any registered
kind) and moves running sweeps forward (:meth:`.SweepService.advance_all`). Everything
it knows is in the store, so a restarted server picks up where the last one stopped;
the claims are atomic, so two servers on one store never fire one occurrence twice.

The clock and the interval are injectable, so tests step through time without waiting::

    scheduler = Scheduler(services, clock=lambda: fake_now_ms, interval=0.05)
    scheduler.tick()
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from . import Services

log = logging.getLogger(__name__)


def _wall_clock_ms() -> int:
    return int(time.time() * 1000)


class Scheduler:
    """Fire due schedules and advance sweeps every ``interval`` seconds."""

    def __init__(
        self,
        services: Services,
        *,
        interval: float = 1.0,
        clock: Callable[[], int] = _wall_clock_ms,
    ) -> None:
        self.services = services
        self.interval = interval
        self.clock = clock
        self._task: asyncio.Task | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self.ticks = 0

    def tick(self, now: int | None = None) -> dict[str, Any]:
        """One step; returns what it did (fired schedules, jobs submitted for sweeps)."""
        now = self.clock() if now is None else now
        fired: list[dict[str, Any]] = []
        submitted = 0
        try:
            fired = self.services.schedules.run_due(now)
        except Exception:  # the loop must survive a bad tick (store down...)
            log.exception("LabCycle scheduler: firing schedules failed")
        try:
            submitted = self.services.sweeps.advance_all()
        except Exception:
            log.exception("LabCycle scheduler: advancing sweeps failed")
        self.ticks += 1
        return {"fired": fired, "sweep_jobs_submitted": submitted}

    # -- on the server's event loop (work in a thread: never block Tornado) -----------------
    def start(self) -> None:
        """Start ticking on the running asyncio loop."""
        if self._task is None:
            self._task = asyncio.get_event_loop().create_task(self._loop())

    def _pause(self, token: int) -> None:
        """Sleep ``interval`` seconds, or less: a job finishing in this process (the
        server's dispatcher heard from a worker) wakes the loop, so a sweep's next trial
        is submitted at once instead of up to ``interval`` later."""
        self.services.jobs.wait_for_change(token, self.interval)

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            token = self.services.jobs.change_token()
            await loop.run_in_executor(None, partial(self.tick))
            await loop.run_in_executor(None, self._pause, token)

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            self.services.jobs.notify_changed()  # free the executor thread of its pause
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.stop_thread()

    # -- in a thread (scripts, tests, a process without an event loop) ----------------------
    def start_thread(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(
                target=self._run_thread, name="labcycle-scheduler", daemon=True
            )
            self._thread.start()

    def _run_thread(self) -> None:
        while not self._stop.is_set():
            token = self.services.jobs.change_token()
            self.tick()
            if not self._stop.is_set():
                self._pause(token)

    def stop_thread(self) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:
            self._stop.set()
            self.services.jobs.notify_changed()  # end its pause now
            thread.join(timeout=10)
