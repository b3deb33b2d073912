"""LabCycle's papermill engine: papermill extended the way it wants to be extended.

:class:`LabCycleEngine` is an :class:`papermill.engines.NBClientEngine` registered in
papermill's engine registry as ``labcycle``. It adds what a tracked job needs:

- the kernel's environment and working directory (``kernel_env``, ``kernel_cwd``) are
  passed to the kernel manager, so the job process itself never changes directory;
- cell progress: the :class:`~papermill.engines.NotebookExecutionManager` hooks
  ``cell_start`` / ``cell_complete`` call ``on_progress(cell, total)``;
- ``on_kernel_start(pid)`` tells the caller the kernel's pid (its own process group), so
  that a timeout or a cancellation can stop the kernel and everything it started.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from jupyter_core.utils import run_sync
from papermill.clientwrap import PapermillNotebookClient
from papermill.engines import NBClientEngine, papermill_engines
from papermill.utils import merge_kwargs, remove_args

ENGINE_NAME = "labcycle"


class _Client(PapermillNotebookClient):
    """papermill's client, telling who asked when the kernel has started."""

    def __init__(self, nb_man: Any, *, on_kernel_start: Callable[[int | None], None] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(nb_man, **kwargs)
        self._on_kernel_start = on_kernel_start

    async def async_start_new_kernel(self, **kwargs: Any) -> None:
        await super().async_start_new_kernel(**kwargs)
        if self._on_kernel_start is not None:
            provisioner = getattr(self.km, "provisioner", None)
            self._on_kernel_start(getattr(provisioner, "pid", None))

    # nbclient binds the sync wrapper to its own coroutine; point it at ours.
    start_new_kernel = run_sync(async_start_new_kernel)


class LabCycleEngine(NBClientEngine):
    """NBClientEngine + kernel env/cwd + cell progress + kernel pid."""

    @classmethod
    def execute_managed_notebook(  # noqa: PLR0913 - papermill's calling convention
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
        **kwargs: Any,
    ) -> Any:
        if on_progress is not None:
            _report_progress(nb_man, on_progress)
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
        client = _Client(nb_man, on_kernel_start=on_kernel_start, **final_kwargs)
        start_kwargs: dict[str, Any] = {}
        if kernel_env is not None:
            start_kwargs["env"] = kernel_env
        if kernel_cwd is not None:
            start_kwargs["cwd"] = kernel_cwd
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


def register() -> None:
    """Register the engine in papermill's registry (idempotent)."""
    papermill_engines.register(ENGINE_NAME, LabCycleEngine)


register()
