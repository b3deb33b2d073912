"""LabCycle's papermill engine: papermill extended the way it wants to be extended.

:class:`LabCycleEngine` is an :class:`papermill.engines.NBClientEngine` registered in
papermill's engine registry as ``labcycle``. It adds what a tracked job needs:

- the kernel's environment and working directory (``kernel_env``, ``kernel_cwd``) are
  passed to the kernel manager, so the job process itself never changes directory;
- cell progress: the :class:`~papermill.engines.NotebookExecutionManager` hooks
  ``cell_start`` / ``cell_complete`` call ``on_progress(cell, total)``;
- the output notebook is written at most every :data:`SAVE_INTERVAL_S` while cells run
  (papermill writes and validates the whole notebook before and after every cell, which
  makes a 10,000-cell notebook quadratic), and always at the start and the end;
- ``on_kernel_start(pid)`` tells the caller the kernel's pid (its own process group), so
  that a timeout or a cancellation can stop the kernel and everything it started;
- ``spares`` (a :class:`SpareKernels` of a pooled worker): the job may take the fresh
  kernel the worker started ahead while its previous job ran, and the engine starts the
  next one as soon as this job's kernel is ready. A kernel serves exactly one job: a
  spare is never one that ran anything, and it is shut down with its job as usual. The
  job's run-specific variables and working directory are applied by a silent bootstrap
  (no cell, no execution count) before the first cell; jobs with their own ``env`` get a
  kernel started with it instead (variables read at interpreter start must be there then);
- the kernel's shutdown is watched every 10 ms instead of jupyter_client's 100 ms.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Callable
from typing import Any

from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import run_sync
from papermill.clientwrap import PapermillNotebookClient
from papermill.engines import NBClientEngine, papermill_engines
from papermill.utils import merge_kwargs, remove_args

log = logging.getLogger(__name__)

ENGINE_NAME = "labcycle"
#: nbclient's default: the kernel keeps no history file
HISTORY_ARGUMENT = "--HistoryManager.hist_file=:memory:"
#: what a job's kernel is told at start that differs from job to job
RUN_VARIABLES = ("LABCYCLE_RUN_ID", "LABCYCLE_JOB_ID", "LABCYCLE_USER")
#: seconds between two writes of the output notebook while cells run
SAVE_INTERVAL_S = 10.0


class KernelManager(AsyncKernelManager):
    """jupyter_client's manager, watching a shutting-down kernel every 10 ms, not 100 ms."""

    async def _async_finish_shutdown(
        self, waittime: float | None = None, pollinterval: float = 0.1, restart: bool = False
    ) -> None:
        await super()._async_finish_shutdown(waittime, min(pollinterval, 0.01), restart)


def _kernel_pid(km: Any) -> int | None:
    return getattr(getattr(km, "provisioner", None), "pid", None)


class SpareKernels:
    """The one fresh kernel a pooled worker keeps started ahead for its next job.

    Lives in the worker's main thread, whose event loop papermill reuses from job to job.
    :meth:`take` hands the spare to exactly one job (never back); :meth:`discard` stops
    an unused spare (idle too long, worker stopping).
    """

    def __init__(self, idle_s: float = 60.0) -> None:
        self.idle_s = idle_s
        self.spare: dict[str, Any] | None = None
        self.taken = 0

    async def launch(self, kernel_name: str, env: dict[str, str], cwd: str) -> None:
        if self.spare is not None:
            return
        km = KernelManager(kernel_name=kernel_name)
        try:
            await km.start_kernel(extra_arguments=[HISTORY_ARGUMENT], env=dict(env), cwd=cwd)
        except Exception:  # a job then starts its own kernel, as without spares
            return
        self.spare = {
            "kernel_name": kernel_name,
            "km": km,
            "env": dict(env),
            "cwd": cwd,
            "started": time.monotonic(),
        }

    def take(self, kernel_name: str, env: dict[str, str]) -> dict[str, Any] | None:
        """The spare, when it fits (same kernel, same variables but the run's) and lives."""
        spare = self.spare
        if spare is None or spare["kernel_name"] != kernel_name:
            return None
        differing = {k for k in set(env) | set(spare["env"]) if env.get(k) != spare["env"].get(k)}
        if not differing <= set(RUN_VARIABLES):
            return None
        process = getattr(spare["km"].provisioner, "process", None)
        if process is None or process.poll() is not None:
            self.discard()
            return None
        self.spare = None
        self.taken += 1
        return spare

    def idle_too_long(self) -> bool:
        return self.spare is not None and time.monotonic() - self.spare["started"] > self.idle_s

    def discard(self) -> None:
        """Stop the unused spare (outside a running event loop)."""
        spare, self.spare = self.spare, None
        if spare is None:
            return
        km = spare["km"]
        with contextlib.suppress(Exception):
            run_sync(km._async_shutdown_kernel)(now=True)
        with contextlib.suppress(Exception):
            run_sync(km._async_cleanup_resources)()


def bootstrap_code(spare: dict[str, Any], env: dict[str, str], cwd: str) -> str:
    """The silent code that makes an adopted spare the job's kernel: its variables, its folder."""
    put = {k: v for k, v in env.items() if spare["env"].get(k) != v}
    drop = sorted(k for k in spare["env"] if k not in env)
    return (
        "def __labcycle_bootstrap(put, drop, cwd, old):\n"
        "    import os, sys\n"
        "    os.chdir(cwd)\n"
        "    for name in drop:\n"
        "        os.environ.pop(name, None)\n"
        "    os.environ.update(put)\n"
        "    sys.path[:] = [cwd if p == old else p for p in sys.path]\n"
        "    ip = globals().get('get_ipython', lambda: None)()\n"
        "    if ip is not None and isinstance(ip.user_ns.get('_dh'), list):\n"
        "        import pathlib\n"
        "        ip.user_ns['_dh'][:] = [pathlib.Path(cwd)]\n"
        f"__labcycle_bootstrap({put!r}, {drop!r}, {cwd!r}, {spare['cwd']!r})\n"
        "del __labcycle_bootstrap\n"
    )


class _Client(PapermillNotebookClient):
    """papermill's client, telling who asked when the kernel has started, optionally on
    an adopted spare kernel, and starting the worker's next spare."""

    def __init__(
        self,
        nb_man: Any,
        *,
        on_kernel_start: Callable[[int | None], None] | None = None,
        spares: SpareKernels | None = None,
        spare_env: dict[str, str] | None = None,
        spare_cwd: str | None = None,
        bootstrap: str | None = None,
        restart_kwargs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(nb_man, **kwargs)
        self._on_kernel_start = on_kernel_start
        self._spares = spares
        self._spare_env = spare_env
        self._spare_cwd = spare_cwd
        self._bootstrap = bootstrap
        #: how to start the job's own kernel again if the first one dies while starting
        self._restart_kwargs = restart_kwargs

    async def async_start_new_kernel(self, **kwargs: Any) -> None:
        await super().async_start_new_kernel(**kwargs)
        if self._on_kernel_start is not None:
            self._on_kernel_start(_kernel_pid(self.km))

    async def async_start_new_kernel_client(self) -> Any:
        try:
            return await self._start_kernel_client()
        except RuntimeError as exc:
            # A kernel that exits while it starts (a port taken by another process between
            # jupyter_client's pick and the kernel's bind, a signal) fails no job: one more
            # kernel, started fresh with the job's own variables and folder.
            if "died before replying" not in str(exc) or self._restart_kwargs is None:
                raise
            log.warning("LabCycle job kernel died while starting (%s); starting another", exc)
            restart, self._restart_kwargs = self._restart_kwargs, None
            self._bootstrap = None
            self.km, self.kc = self.create_kernel_manager(), None
            await self.async_start_new_kernel(**restart)
            return await self._start_kernel_client()

    async def _start_kernel_client(self) -> Any:
        kc = await super().async_start_new_kernel_client()
        if self._bootstrap:
            msg_id = kc.execute(
                self._bootstrap, silent=True, store_history=False, allow_stdin=False
            )
            reply = await self.async_wait_for_reply(msg_id)
            if not reply or reply["content"].get("status") != "ok":
                content = (reply or {}).get("content", {})
                await self._async_cleanup_kernel()  # setup_kernel's cleanup is not reached
                raise RuntimeError(
                    "LabCycle could not prepare the job's kernel: "
                    f"{content.get('ename')}: {content.get('evalue')}"
                )
        if self._spares is not None and self._spare_env is not None:
            # The next job's kernel starts while this one runs (a few ms to launch).
            await self._spares.launch(
                self.kernel_name or self.km.kernel_name,
                self._spare_env,
                self._spare_cwd or os.getcwd(),
            )
        return kc

    # nbclient binds the sync wrappers to its own coroutines; point them at ours.
    start_new_kernel = run_sync(async_start_new_kernel)
    start_new_kernel_client = run_sync(async_start_new_kernel_client)


class LabCycleEngine(NBClientEngine):
    """NBClientEngine + kernel env/cwd + cell progress + kernel pid."""

    @classmethod
    def execute_managed_notebook(  # papermill's calling convention
        cls,
        nb_man: Any,
        kernel_name: str,
        log_output: bool = False,
        stdout_file: Any = None,
        stderr_file: Any = None,
        start_timeout: int = 60,
        execution_timeout: int | None = None,
        kernel_env: dict[str, str] | None = None,
        kernel_cwd: str | None = None,
        on_progress: Callable[[int, int], None] | None = None,
        on_kernel_start: Callable[[int | None], None] | None = None,
        spares: SpareKernels | None = None,
        spare_env: dict[str, str] | None = None,
        spare_cwd: str | None = None,
        **kwargs: Any,
    ) -> Any:
        if on_progress is not None:
            _report_progress(nb_man, on_progress)
        _throttle_saves(nb_man, SAVE_INTERVAL_S)
        kwargs = remove_args(["input_path"], **kwargs)
        safe_kwargs = remove_args(["timeout", "startup_timeout"], **kwargs)
        final_kwargs = merge_kwargs(
            safe_kwargs,
            timeout=execution_timeout if execution_timeout else kwargs.get("timeout"),
            startup_timeout=start_timeout,
            kernel_name=kernel_name,
            log_output=log_output,
            stdout_file=stdout_file,
            stderr_file=stderr_file,
        )
        final_kwargs.setdefault("kernel_manager_class", KernelManager)
        spare = None
        if spares is not None and kernel_env is not None and kernel_cwd is not None:
            spare = spares.take(kernel_name, kernel_env)
        own_kernel: dict[str, Any] = {
            k: v for k, v in (("env", kernel_env), ("cwd", kernel_cwd)) if v is not None
        }
        if spare is not None and kernel_env is not None and kernel_cwd is not None:
            client = _Client(
                nb_man,
                km=spare["km"],
                on_kernel_start=on_kernel_start,
                spares=spares,
                spare_env=spare_env,
                spare_cwd=spare_cwd or spare["cwd"],
                restart_kwargs=own_kernel,
                bootstrap=bootstrap_code(spare, kernel_env, kernel_cwd),
                **final_kwargs,
            )
            start_kwargs: dict[str, Any] = {"cleanup_kc": True}  # the job owns the adopted kernel
            if on_kernel_start is not None:
                on_kernel_start(_kernel_pid(spare["km"]))
        else:
            client = _Client(
                nb_man,
                on_kernel_start=on_kernel_start,
                spares=spares,
                spare_env=spare_env,
                spare_cwd=spare_cwd,
                restart_kwargs=own_kernel,
                **final_kwargs,
            )
            start_kwargs = dict(own_kernel)
        return client.execute(**start_kwargs)


def _report_progress(nb_man: Any, on_progress: Callable[[int, int], None]) -> None:
    """Wrap the execution manager's cell hooks: ``cell i of n`` after each start/complete."""
    start, complete = nb_man.cell_start, nb_man.cell_complete

    def cell_start(cell: Any, cell_index: int | None = None, **kw: Any) -> Any:
        result = start(cell, cell_index, **kw)
        if cell_index is not None:  # cell i (1-based) of n is running
            on_progress(cell_index + 1, len(nb_man.nb.cells))
        return result

    def cell_complete(cell: Any, cell_index: int | None = None, **kw: Any) -> Any:
        result = complete(cell, cell_index, **kw)
        if cell_index is not None:
            on_progress(cell_index + 1, len(nb_man.nb.cells))
        return result

    nb_man.cell_start, nb_man.cell_complete = cell_start, cell_complete


def _throttle_saves(nb_man: Any, interval_s: float) -> None:
    """Cells save the output notebook at most every ``interval_s``; the notebook's start and
    completion (which the engine calls whatever happens) always save."""
    save = nb_man.save
    last = [time.monotonic()]

    def throttled(**kwargs: Any) -> None:
        now = time.monotonic()
        if now - last[0] >= interval_s:
            last[0] = now
            save(**kwargs)

    complete = nb_man.notebook_complete

    def notebook_complete(**kwargs: Any) -> Any:
        nb_man.save = save  # its final save is the one that counts
        return complete(**kwargs)

    nb_man.save, nb_man.notebook_complete = throttled, notebook_complete


def register() -> None:
    """Register the engine in papermill's registry (idempotent)."""
    papermill_engines.register(ENGINE_NAME, LabCycleEngine)


register()
