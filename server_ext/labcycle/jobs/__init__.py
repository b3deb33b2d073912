"""Notebook jobs: execution (papermill engine, runner), executors and the dispatcher.

- :mod:`.engine`: the ``labcycle`` papermill engine (kernel env/cwd, cell progress);
- :mod:`.runner`: one job, start to end, in a worker process;
- :mod:`.executors`: where jobs run (``local`` pool, ``dask://``), a plugin registry;
- :mod:`.dispatcher`: claims pending jobs from the store and hands them to an executor.

The queue itself is :class:`labcycle.services.jobs.JobService` (``services.jobs``).
"""

from .executors import EXECUTORS, Executor, register_executor

__all__ = ["EXECUTORS", "Executor", "register_executor"]
