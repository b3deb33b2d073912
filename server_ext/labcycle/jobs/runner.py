"""Execute one notebook job: the code that runs in a worker process, never in the server.

The template (as jupyter-scheduler's executors): ``before_start`` (claim the worker,
create the run, prepare the notebook and, for a ``git_ref``, a worktree) → ``execute``
(papermill with :class:`~labcycle.jobs.engine.LabCycleEngine`) → ``on_complete`` /
``on_failure`` (store the executed notebook, end the run, record the job's status). Each
step writes to the store, so any process that reaches the store sees the job's state.

A watchdog thread polls the store for a cancellation request, enforces the job's timeout
and writes a heartbeat; to stop a job it kills the kernel's process group (the kernel and
anything it started), which ends papermill's execution in this process.

``python -m labcycle.jobs.runner JOB_ID [--bundle DIR]`` runs one job in a fresh process
(the Dask executor does this on its workers, with the notebook and its local modules
unpacked in ``DIR``, see :mod:`labcycle.jobs.bundle`); the store comes from
``LABCYCLE_DB_URL`` / ``LABCYCLE_ARTIFACT_URL`` and the kernel's store settings from
``LABCYCLE_JOB_KERNEL_ENV`` (JSON); :func:`job_process_env` is what such a process gets.
"""

from __future__ import annotations

import ast
import contextlib
import json
import logging
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from ..errors import InvalidInput, LabCycleError
from ..services import Services
from ..services.common import param_value
from ..store.storage import storage_env

log = logging.getLogger(__name__)

EXECUTED_ARTIFACT = "executed.ipynb"
KERNEL_ENV_VAR = "LABCYCLE_JOB_KERNEL_ENV"
POLL_S = 0.25
HEARTBEAT_S = 15.0
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
#: variables of the worker that must not leak into a job's kernel
_DROP_ENV = (
    "JPY_SESSION_NAME",
    "JPY_PARENT_PID",
    "LABCYCLE_RUN_ID",
    "LABCYCLE_JOB_ID",
    "LABCYCLE_WORKER_NAME",
    "LABCYCLE_WORKER_ADDRESS",
    "LABCYCLE_API_URL",
    "LABCYCLE_API_TOKEN",
    "LABCYCLE_TRANSPORT",
    KERNEL_ENV_VAR,
)


# -- the environment of a job's process and kernel ---------------------------------------------
def kernel_store_env(
    *,
    db_url: str,
    artifact_url: str,
    home: str | None = None,
    api_url: str | None = None,
    api_token: str | None = None,
    storage_options: dict[str, Any] | None = None,
) -> dict[str, str]:
    """Where a job's kernel logs: the server's REST API when one runs, else the store (and
    then how to reach the store's storage)."""
    if api_url:
        env = {"LABCYCLE_API_URL": api_url}
        if api_token:
            env["LABCYCLE_API_TOKEN"] = api_token
        return env
    env = {
        **storage_env(storage_options),
        "LABCYCLE_TRANSPORT": "local",
        "LABCYCLE_DB_URL": db_url,
        "LABCYCLE_ARTIFACT_URL": artifact_url,
    }
    if home:
        env["LABCYCLE_HOME"] = home
    return env


def job_process_env(
    *,
    db_url: str,
    artifact_url: str,
    kernel_env: dict[str, str],
    storage_options: dict[str, Any] | None = None,
) -> dict[str, str]:
    """What a job's own process (``python -m labcycle.jobs.runner`` on a cluster worker) is
    given on top of the worker's environment: the store, how to reach its storage, and what
    to tell the kernel."""
    return {
        **storage_env(storage_options),
        "LABCYCLE_DB_URL": db_url,
        "LABCYCLE_ARTIFACT_URL": artifact_url,
        KERNEL_ENV_VAR: json.dumps(kernel_env),
    }


def job_paths(job: dict[str, Any]) -> tuple[Path, Path]:
    """The notebook of a job (not at a git ref) and its kernel's folder, as submitted."""
    notebook = Path(job["notebook"])
    if not notebook.is_absolute():
        notebook = Path(job["cwd"] or os.getcwd()) / notebook
    if not notebook.is_file():
        raise InvalidInput(f"No notebook at {notebook}.", field="notebook")
    cwd = Path(job["cwd"]) if job["cwd"] else notebook.parent
    if not cwd.is_dir():
        raise InvalidInput(f"cwd {cwd} is not a folder.", field="cwd")
    return notebook, cwd


# -- parameters -------------------------------------------------------------------------------
def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if type(a) is not type(b) and not (
        isinstance(a, (int, float))
        and isinstance(b, (int, float))
        and not isinstance(a, bool)
        and not isinstance(b, bool)
    ):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return a == b


_SPECIAL_CALLS = {"float('nan')": math.nan, "float('inf')": math.inf, "float('-inf')": -math.inf}


def _literal_value(node: ast.AST) -> Any:
    source = ast.unparse(node)
    if source in _SPECIAL_CALLS:
        return _SPECIAL_CALLS[source]
    return ast.literal_eval(node)


def verify_python_injection(parameters: dict[str, Any]) -> str:
    """The code papermill's Python translator injects, checked to be literal assignments only.

    Defence in depth on top of the service's validation: the generated cell must parse to
    one ``name = <literal>`` per parameter whose value is exactly the parameter, so no
    string can ever become code.
    """
    from papermill.translators import PythonTranslator

    code = PythonTranslator.codify(parameters)
    try:
        tree = ast.parse(code)
    except SyntaxError as exc:
        raise InvalidInput(
            f"The parameters do not translate to Python literals ({exc}).", field="parameters"
        ) from None
    seen = {}
    for stmt in tree.body:
        if not (
            isinstance(stmt, ast.Assign)
            and len(stmt.targets) == 1
            and isinstance(stmt.targets[0], ast.Name)
        ):
            raise InvalidInput(
                "The parameters do not translate to plain assignments.", field="parameters"
            )
        name = stmt.targets[0].id
        try:
            seen[name] = _literal_value(stmt.value)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            raise InvalidInput(
                f"Parameter {name!r} does not translate to a literal.", field=f"parameters.{name}"
            ) from None
    for name, value in parameters.items():
        if name not in seen or not _same(seen[name], value):
            raise InvalidInput(
                f"Parameter {name!r} would not reach the notebook unchanged.",
                field=f"parameters.{name}",
            )
    return code


def param_text(value: Any) -> str:
    """A job parameter as a run param (lists and objects as JSON)."""
    if isinstance(value, (list, dict)):
        return json.dumps(value, sort_keys=True)
    return param_value(value, "value")


# -- what a run records about where it ran (cached per worker) --------------------------------
def installed_packages() -> dict[str, str]:
    """Installed distributions (the capture module caches them until a site folder changes)."""
    from ..provenance.environment import installed_packages as scan

    return scan()


def _git(args: list[str], cwd: Path | str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )
    if done.returncode != 0:
        raise InvalidInput(
            f"git {' '.join(args[:2])} failed: {done.stderr.strip()[:500]}", field="git_ref"
        )
    return done.stdout.strip()


class _Stop(Exception):
    pass


class JobRun:
    """One attempt at one job, in this process."""

    def __init__(
        self,
        services: Services,
        job_id: str,
        kernel_env: dict[str, str],
        spares: Any = None,
        bundle: Path | None = None,
    ) -> None:
        self.services = services
        self.bundle = bundle  # the folder a cluster worker unpacked the job's files into
        self.spares = spares  # engine.SpareKernels of a pooled worker, or None
        self.jobs = services.jobs
        self.job_id = job_id
        self.store_env = kernel_env
        self.job: dict[str, Any] = {}
        self.run_id: str | None = None
        self.kernel_pid: int | None = None
        self.stop_reason: str | None = None  # "cancelled" | "timeout"
        self.tmp = Path(tempfile.mkdtemp(prefix="labcycle-job-"))
        self.worktree: Path | None = None
        self.repo: Path | None = None
        self._done = threading.Event()
        self._progress_now: tuple[int, int] | None = None
        self._progress_written: tuple[int, int] | None = None
        self._lock = threading.Lock()

    # -- template ---------------------------------------------------------------------------
    def run(self) -> str:
        watchdog = None
        try:
            self.job = self.jobs.get_raw(self.job_id)
            if self.job["status"] == "queued":  # waited in a cluster's queue until now
                self.job["status"] = self.jobs.start(self.job_id)
            if self.job["status"] != "running":
                return self.job["status"]
            if self.job["cancel_requested"]:
                return self._finish("cancelled", "cancelled before it started", None)
            notebook, cwd, git = self.before_start()
            watchdog = threading.Thread(
                target=self._watch, name="labcycle-job-watchdog", daemon=True
            )
            watchdog.start()
            try:
                self.execute(notebook, cwd)
            except BaseException as exc:  # every failure is recorded
                return self.on_failure(exc)
            return self.on_complete()
        except LabCycleError as exc:
            return self._finish(
                "failed",
                exc.message,
                {"reason": "invalid", "message": exc.message},
                run_status="failed",
            )
        except Exception as exc:
            log.exception("LabCycle job %s failed before it ran", self.job_id)
            return self._finish(
                "failed",
                f"{type(exc).__name__}: {exc}",
                {"reason": "internal", "message": str(exc)},
                run_status="failed",
            )
        finally:
            self._done.set()
            self._join_sidecar()
            if watchdog is not None:
                watchdog.join(timeout=2)
            self._cleanup()

    def before_start(self) -> tuple[Path, Path, dict | None]:
        job = self.job
        notebook, cwd, git = self._locate()
        parameters = job["parameters"] or {}
        verify_python_injection(parameters)
        from ..provenance.environment import python_version

        tags = {"labcycle.job_id": self.job_id}
        for key in ("sweep_id", "schedule_id", "reproduces_run_id", "git_ref"):
            if job.get(key):
                tags[f"labcycle.{key}"] = job[key]
        if os.environ.get("LABCYCLE_WORKER_NAME"):  # set by the Dask executor's task
            tags["labcycle.worker"] = os.environ["LABCYCLE_WORKER_NAME"]
        run = self.services.tracking.create_run(
            actor=job["created_by"],
            experiment=job["experiment"] or "Default",
            project=job["project"],
            name=job["name"],
            source="job",
            notebook_path=job["notebook"],
            kernel=job["kernel_name"],
            git=git,
            python_version=python_version(),
            packages=installed_packages(),
            tags=tags,
        )
        self.run_id = run["id"]
        # The kernel needs only the run id; the rest is written while it starts.
        self._sidecar: threading.Thread | None = threading.Thread(
            target=self._record_start, args=(parameters,), name="labcycle-job-start", daemon=True
        )
        self._sidecar.start()
        return notebook, cwd, git

    def _record_start(self, parameters: dict[str, Any]) -> None:
        """Worker pid, run id and the run's params (off the kernel's critical path)."""
        try:
            self.jobs.report(
                self.job_id,
                run_id=self.run_id,
                worker_pid=os.getpid(),
                worker_host=socket.gethostname(),
            )
            if parameters:
                assert self.run_id is not None  # the run was created before this thread
                self.services.tracking.log_params(
                    self.run_id,
                    {k: param_text(v) for k, v in parameters.items()},
                    actor=self.job["created_by"],
                )
        except Exception as exc:  # reported with the job's end
            self._sidecar_error = exc

    def _join_sidecar(self) -> None:
        sidecar = getattr(self, "_sidecar", None)
        if sidecar is not None:
            sidecar.join()
            self._sidecar = None

    def _locate(self) -> tuple[Path, Path, dict | None]:
        """The notebook to execute, the kernel's folder, and the run's git info."""
        job = self.job
        from ..provenance.environment import git_info

        if self.bundle is not None:
            from .bundle import read_manifest

            notebook, git = read_manifest(self.bundle)
            return notebook, self.bundle, git
        if job["git_ref"]:
            base = Path(job["cwd"] or os.getcwd())
            if not base.is_dir():
                raise InvalidInput(f"cwd {base} is not a folder.", field="cwd")
            repo = Path(_git(["rev-parse", "--show-toplevel"], base))
            commit = _git(
                ["rev-parse", "--verify", "--end-of-options", f"{job['git_ref']}^{{commit}}"], repo
            )
            relative = Path(job["notebook"])
            if relative.is_absolute():
                relative = relative.resolve().relative_to(repo.resolve())
            if ".." in relative.parts:
                raise InvalidInput("notebook must be inside the repository.", field="notebook")
            self.repo, self.worktree = repo, self.tmp / "worktree"
            _git(["worktree", "add", "--detach", str(self.worktree), commit], repo)
            notebook = self.worktree / relative
            if not notebook.is_file():
                raise InvalidInput(
                    f"{relative} does not exist at {job['git_ref']} ({commit[:10]}).",
                    field="notebook",
                )
            cwd = notebook.parent
            if job["cwd"]:
                inside = Path(job["cwd"]).resolve()
                try:
                    cwd = self.worktree / inside.relative_to(repo.resolve())
                except ValueError:
                    cwd = inside
            remote = subprocess.run(
                ["git", "config", "--get", "remote.origin.url"],
                cwd=repo,
                capture_output=True,
                text=True,
                check=False,
            ).stdout.strip()
            git = {
                "remote": remote or None,
                "commit": commit,
                "branch": job["git_ref"],
                "dirty": False,
                "diff": None,
            }
            return notebook, cwd, git
        notebook, cwd = job_paths(job)
        return notebook, cwd, git_info(notebook) or None

    def base_environment(self) -> dict[str, str]:
        """What every job's kernel of this worker gets (a spare kernel starts with it)."""
        env = {k: v for k, v in os.environ.items() if k not in _DROP_ENV}
        for name in ("LABCYCLE_DB_URL", "LABCYCLE_ARTIFACT_URL", "LABCYCLE_HOME"):
            env.pop(name, None)
        env.update(self.store_env)
        return env

    def kernel_environment(self) -> dict[str, str]:
        env = self.base_environment()
        env.update(self.job.get("env") or {})
        env.update(self.store_env)
        env.update(
            LABCYCLE_RUN_ID=self.run_id or "",
            LABCYCLE_JOB_ID=self.job_id,
            LABCYCLE_USER=self.job["created_by"],
        )
        return env

    def execute(self, notebook: Path, cwd: Path) -> None:
        import papermill

        from . import engine

        engine.register()
        self.output = self.tmp / EXECUTED_ARTIFACT
        self.started = time.monotonic()
        papermill.execute_notebook(
            str(notebook),
            str(self.output),
            parameters=self.job["parameters"] or None,
            engine_name=engine.ENGINE_NAME,
            kernel_name=self.job["kernel_name"],
            progress_bar=False,
            kernel_env=self.kernel_environment(),
            kernel_cwd=str(cwd),
            on_progress=self._progress,
            on_kernel_start=self._kernel_started,
            **self._spare_arguments(),
        )

    def _spare_arguments(self) -> dict[str, Any]:
        if self.spares is None:
            return {}
        return {
            "spares": self.spares,
            "spare_env": self.base_environment(),
            "spare_cwd": tempfile.gettempdir(),
        }

    def on_complete(self) -> str:
        self._join_sidecar()
        error = getattr(self, "_sidecar_error", None)
        if error is not None:
            raise error
        self._store_notebook()
        return self._finish("succeeded", None, None, run_status="finished")

    def on_failure(self, exc: BaseException) -> str:
        from papermill.exceptions import PapermillExecutionError

        self._join_sidecar()
        self._store_notebook()
        reason = self.stop_reason
        if reason == "cancelled":
            return self._finish(
                "cancelled",
                "cancelled: the kernel was stopped",
                {"reason": "cancelled"},
                run_status="killed",
            )
        if reason == "timeout":
            message = f"timeout: the job ran longer than {self.job['timeout_s']:g} s"
            detail = {"reason": "timeout", "message": message, "timeout_s": self.job["timeout_s"]}
            self._tag_error(detail)
            return self._finish("failed", message, detail, run_status="failed")
        if isinstance(exc, PapermillExecutionError):
            detail = {
                "reason": "error",
                **self._failing_cell(exc.cell_index),
                "execution_count": exc.exec_count,
                "ename": exc.ename,
                "evalue": exc.evalue,
                "traceback": [_ANSI.sub("", line) for line in exc.traceback],
            }
            message = f"cell {detail['cell_index']} raised {exc.ename}: {exc.evalue}"
        else:
            name = type(exc).__name__
            detail = {
                "reason": "kernel_died" if "DeadKernel" in name else "error",
                "ename": name,
                "evalue": str(exc),
            }
            message = f"{name}: {exc}"
        self._tag_error(detail)
        return self._finish("failed", message[:2000], detail, run_status="failed")

    # -- steps' helpers ---------------------------------------------------------------------
    def _failing_cell(self, executed_index: int) -> dict[str, Any]:
        """Where the failing cell is: in the job's notebook (``cell_index``, without the
        cell papermill injected) and in ``executed.ipynb`` (which also starts with
        papermill's error banner)."""
        info: dict[str, Any] = {"cell_index": executed_index}
        try:
            cells = json.loads(self.output.read_text())["cells"]
        except (OSError, ValueError, KeyError, AttributeError):
            return info
        source_index = artifact_index = None
        position = 0
        for i, cell in enumerate(cells):
            tags = cell.get("metadata", {}).get("tags", [])
            if "papermill-error-cell-tag" in tags:
                continue
            if (
                cell.get("metadata", {}).get("papermill", {}).get("status") == "failed"
                and artifact_index is None
            ):
                artifact_index, source_index = i, position
                source = cell.get("source", "")
                info["cell_source"] = ("".join(source) if isinstance(source, list) else source)[
                    :2000
                ]
                info["cell_id"] = cell.get("id")
            if "injected-parameters" not in tags:
                position += 1
        if artifact_index is not None:
            info.update(cell_index=source_index, executed_cell_index=artifact_index)
        return info

    def _store_notebook(self) -> None:
        output = getattr(self, "output", None)
        if self.run_id and output is not None and output.is_file():
            try:
                self.services.artifacts.log_file(
                    self.run_id,
                    EXECUTED_ARTIFACT,
                    str(output),
                    actor=self.job["created_by"],
                    media_type="application/x-ipynb+json",
                )
            except Exception:  # the status matters more than the artifact
                log.exception("LabCycle job %s: could not store the executed notebook", self.job_id)

    def _tag_error(self, detail: dict[str, Any]) -> None:
        if not self.run_id:
            return
        tags = {
            "labcycle.error.reason": detail.get("reason", "error"),
            "labcycle.error.notebook": EXECUTED_ARTIFACT,
        }
        if detail.get("cell_index") is not None:
            tags["labcycle.error.cell"] = str(detail["cell_index"])
        if detail.get("executed_cell_index") is not None:
            tags["labcycle.error.executed_cell"] = str(detail["executed_cell_index"])
        if detail.get("ename"):
            tags["labcycle.error.ename"] = str(detail["ename"])[:1000]
        if detail.get("evalue") is not None:
            tags["labcycle.error.evalue"] = str(detail["evalue"])[:10000]
        try:
            self.services.tracking.set_tags(self.run_id, tags, actor=self.job["created_by"])
        except Exception:
            log.exception("LabCycle job %s: could not tag the run", self.job_id)

    def _finish(
        self, status: str, error: str | None, detail: dict | None, run_status: str | None = None
    ) -> str:
        """The job's end and its run's end, in one transaction."""
        progress = self._progress_now
        job = self.jobs.finish(
            self.job_id,
            status,
            error=error,
            error_detail=detail,
            actor=self.job.get("created_by") or "labcycle",
            run_id=self.run_id if run_status else None,
            run_status=run_status,
            progress=progress,
        )
        return job["status"]  # a job finished already (elsewhere) keeps its status

    def _progress(self, cell: int, total: int) -> None:
        # Recorded by the watchdog thread (a few times a second), never on the cell's path.
        self._progress_now = (cell, total)

    def _kernel_started(self, pid: int | None) -> None:
        with self._lock:
            self.kernel_pid = pid
            stop = self.stop_reason
        if stop:
            self._kill_kernel()

    def _kill_kernel(self) -> None:
        pid = self.kernel_pid
        if not pid:
            return
        for sig in (signal.SIGKILL,):
            try:
                os.killpg(pid, sig)  # the kernel leads its own process group
            except (ProcessLookupError, PermissionError, OSError):
                with contextlib.suppress(OSError):
                    os.kill(pid, sig)

    def _watch(self) -> None:
        timeout = self.job.get("timeout_s")
        deadline = time.monotonic() + timeout if timeout else None
        last_beat = time.monotonic()
        while not self._done.wait(POLL_S):
            reason = None
            if deadline is not None and time.monotonic() >= deadline:
                reason = "timeout"
            else:
                try:
                    if self.jobs.cancel_requested(self.job_id):
                        reason = "cancelled"
                except Exception:  # the store may be busy; try again
                    continue
            if reason:
                with self._lock:
                    self.stop_reason = reason
                self._kill_kernel()
                return
            progress = self._progress_now
            if progress != self._progress_written or time.monotonic() - last_beat >= HEARTBEAT_S:
                last_beat = time.monotonic()
                values = {}
                if progress is not None:
                    values = {"progress_cell": progress[0], "progress_total": progress[1]}
                with contextlib.suppress(Exception):  # progress and heartbeat: best effort
                    self.jobs.report(self.job_id, **values)
                    self._progress_written = progress

    def _cleanup(self) -> None:
        if self.worktree is not None and self.repo is not None:
            subprocess.run(
                ["git", "worktree", "remove", "--force", str(self.worktree)],
                cwd=self.repo,
                capture_output=True,
                check=False,
            )
            subprocess.run(
                ["git", "worktree", "prune"], cwd=self.repo, capture_output=True, check=False
            )
        shutil.rmtree(self.tmp, ignore_errors=True)


def run_job(
    services: Services,
    job_id: str,
    kernel_env: dict[str, str],
    spares: Any = None,
    bundle: Path | None = None,
) -> str:
    """Run one claimed job to its end in this process; returns its final status.

    ``spares`` (:class:`~labcycle.jobs.engine.SpareKernels`): a pooled worker's kernel
    started ahead, which the job may take, and where the next one is started. ``bundle``:
    the folder where the job's notebook and modules were unpacked (a cluster worker).
    """
    return JobRun(services, job_id, kernel_env, spares, bundle).run()


def warm_up() -> None:
    """Import what a job needs once, so a pooled worker starts jobs without that cost."""
    import nbclient  # noqa: F401
    import papermill
    import papermill.translators  # noqa: F401

    from . import engine  # noqa: F401

    installed_packages()


def main(argv: list[str] | None = None) -> int:
    """``python -m labcycle.jobs.runner JOB_ID [--bundle DIR]``: one job in this fresh process."""
    from ..config import LabCycleConfig

    args = list(sys.argv[1:] if argv is None else argv)
    bundle = None
    if len(args) == 3 and args[1] == "--bundle":
        bundle = Path(args.pop(2))
        args.pop(1)
    if len(args) != 1:
        print("usage: python -m labcycle.jobs.runner JOB_ID [--bundle DIR]", file=sys.stderr)
        return 2
    config = LabCycleConfig()
    services = Services.open(config.db_url, config.artifact_url, migrate=False)
    kernel_env = json.loads(os.environ.get(KERNEL_ENV_VAR) or "null") or kernel_store_env(
        db_url=config.db_url, artifact_url=config.artifact_url, home=config.home
    )
    try:
        status = run_job(services, args[0], kernel_env, bundle=bundle)
    finally:
        services.close()
    print(status)
    return 0 if status == "succeeded" else 1


if __name__ == "__main__":
    sys.exit(main())
