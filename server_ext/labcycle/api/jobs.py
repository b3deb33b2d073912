"""Notebook jobs from Python: ``lc.submit("train.ipynb", {"lr": 0.1}, wait=True)``.

In a kernel of a Jupyter server with LabCycle (``LABCYCLE_API_URL`` set), jobs go to the
server's queue over the REST API and its dispatcher runs them. Anywhere else they go to
the local store, and this process runs a dispatcher of its own (worker processes, never
threads running papermill) for the jobs it submitted.
"""

from __future__ import annotations

import os
from typing import Any

from ..client.jobs import FINAL, JobsClient
from ..errors import InvalidInput
from .fluent import current_transport

__all__ = ["Job", "get_job", "submit"]


class Job:
    """A notebook job: ``.id``, ``.status``, ``.progress``, ``.run`` (once it has one),
    ``.wait()``, ``.cancel()``; ``.data`` is the job as the API returns it."""

    def __init__(self, data: dict[str, Any], jobs: JobsClient) -> None:
        self.data = data
        self._jobs = jobs

    id = property(lambda self: self.data["id"])
    run_id = property(lambda self: self.data.get("run_id"))
    error = property(lambda self: self.data.get("error"))

    @property
    def status(self) -> str:
        """The job's status, refreshed from the store unless it is final."""
        if self.data["status"] not in FINAL:
            self.refresh()
        return self.data["status"]

    @property
    def progress(self) -> tuple[int | None, int | None]:
        """``(cell, total)``: cell ``cell`` of ``total`` is running (or done)."""
        if self.data["status"] not in FINAL:
            self.refresh()
        progress = self.data.get("progress") or {}
        return progress.get("cell"), progress.get("total")

    @property
    def done(self) -> bool:
        return self.status in FINAL

    @property
    def run(self) -> Any:
        """The job's run (a :class:`labcycle.Run`), or None before it has one."""
        if not self.data.get("run_id"):
            self.refresh()
        if not self.data.get("run_id"):
            return None
        from .fluent import get_run

        return get_run(self.data["run_id"])

    def refresh(self) -> Job:
        self.data = self._jobs.get(self.id)
        return self

    def wait(self, timeout: float | None = None) -> Job:
        """Block until the job is finished (or ``timeout`` seconds pass)."""
        self.data = self._jobs.wait(self.id, timeout)
        return self

    def cancel(self) -> Job:
        """Cancel the job (a running job's kernel is stopped)."""
        self.data = self._jobs.cancel(self.id)
        return self

    def __repr__(self) -> str:
        return f"<Job {self.data.get('name')!r} id={self.id} status={self.data['status']}>"


def local_paths(
    notebook: str, cwd: str | os.PathLike | None, git_ref: str | None
) -> tuple[str, str | None]:
    """``(notebook, cwd)`` as this process sees them, for a job that may run elsewhere:
    a relative notebook is under ``cwd`` (default: here); with ``git_ref`` it stays a path
    inside the repository, which is found from ``cwd``."""
    cwd = os.path.abspath(os.fspath(cwd)) if cwd is not None else None
    if git_ref:
        return notebook, cwd or os.getcwd()
    return os.path.abspath(os.path.join(cwd or os.getcwd(), notebook)), cwd


def submit(
    notebook: str | os.PathLike,
    parameters: dict[str, Any] | None = None,
    *,
    wait: bool = False,
    timeout: float | None = None,
    experiment: str | None = None,
    project: str | None = None,
    name: str | None = None,
    cwd: str | os.PathLike | None = None,
    env: dict[str, str] | None = None,
    timeout_s: float | None = None,
    retries: int = 0,
    resources: dict[str, Any] | None = None,
    git_ref: str | None = None,
    kernel_name: str | None = None,
) -> Job:
    """Run a notebook as a tracked job (papermill, a real kernel, its own run).

    Parameters
    ----------
    notebook : path
        The ``.ipynb`` to run (relative to the repository when ``git_ref`` is given).
    parameters : dict, optional
        Injected after the notebook's ``parameters`` cell as Python literals.
    wait : bool
        Block until the job is finished (``timeout`` seconds at most).
    timeout_s : float, optional
        Limit of the job's execution; its kernel is stopped when it is reached.
    env, cwd, retries, resources, git_ref, kernel_name, experiment, project, name
        See ``JobService.submit``.

    Returns
    -------
    Job
        ``job.wait().run.metrics`` once it is done.

    Examples
    --------
    >>> job = lc.submit("train.ipynb", {"lr": 0.1}, wait=True)
    >>> job.status, job.run.metrics["accuracy"]
    """
    notebook = os.fspath(notebook)
    if parameters is not None and not isinstance(parameters, dict):
        raise InvalidInput("parameters must be a dict of name → value.", field="parameters")
    notebook, cwd = local_paths(notebook, cwd, git_ref)
    jobs = current_transport().jobs
    data = jobs.submit(
        notebook=notebook,
        parameters=parameters,
        experiment=experiment,
        project=project,
        name=name,
        cwd=cwd,
        env=env,
        timeout_s=timeout_s,
        retries=retries,
        resources=resources,
        git_ref=git_ref,
        kernel_name=kernel_name,
    )
    job = Job(data, jobs)
    if wait:
        job.wait(timeout)
    return job


def get_job(job_id: str) -> Job:
    """A job by id."""
    jobs = current_transport().jobs
    return Job(jobs.get(job_id), jobs)
