"""The Python API: ``import labcycle as lc``.

One active run at a time (plus nested children), logging that never blocks the caller,
and the same calls whether the store is local or behind a Jupyter server.
"""

from __future__ import annotations

import atexit
import os
import sys
import tempfile
import threading
import time
import warnings
from collections import defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any

from ..client import Transport, default_transport
from ..client.flusher import Flusher
from ..client.objects import (
    dataframe_fingerprint,
    describe_object,
    file_fingerprint,
    serialize_object,
)
from ..errors import Conflict, InvalidInput
from ..provenance.environment import git_info, installed_packages, python_version
from ..services.common import param_value, to_float, to_int, validate_key
from ..services.paths import folder_files

__all__ = [
    "ActiveRun",
    "Run",
    "active_run",
    "configure",
    "end_run",
    "flush",
    "get_run",
    "log_artifact",
    "log_dataset",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "search_runs",
    "set_tag",
    "set_tags",
    "start_run",
]


class Run:
    """A run as stored: ``run.params``, ``run.metrics`` (latest values), ``run.tags``, ..."""

    def __init__(self, data: dict[str, Any], transport: Transport | None = None) -> None:
        self.data = data
        self._transport = transport

    id = property(lambda self: self.data["id"])
    name = property(lambda self: self.data["name"])
    status = property(lambda self: self.data["status"])
    experiment_id = property(lambda self: self.data["experiment_id"])
    params = property(lambda self: dict(self.data.get("params", {})))
    metrics = property(lambda self: dict(self.data.get("metrics", {})))
    tags = property(lambda self: dict(self.data.get("tags", {})))
    start_time = property(lambda self: _parse_time(self.data.get("start_time")))
    end_time = property(lambda self: _parse_time(self.data.get("end_time")))

    def metric_history(self, key: str):
        """Every logged point of one metric, as a DataFrame (step, value, timestamp)."""
        import pandas as pd

        points = (self._transport or _state.transport()).metric_history(self.id, key)["points"]
        frame = pd.DataFrame(points, columns=["step", "value", "timestamp", "server_time"])
        frame["timestamp"] = pd.to_datetime(frame["timestamp"], unit="ms", utc=True)
        frame["server_time"] = pd.to_datetime(frame["server_time"], unit="ms", utc=True)
        return frame

    def to_dict(self) -> dict[str, Any]:
        return dict(self.data)

    def __repr__(self) -> str:
        return f"<Run {self.name!r} id={self.id} status={self.status}>"


def _parse_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


class ActiveRun(Run):
    """The run being logged to; use it as a context manager to end it automatically."""

    #: True for a job's run that this process attached to (``LABCYCLE_RUN_ID``): it is
    #: flushed at exit but not ended; the job runner ends it with the right status.
    attached = False

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if _state.stack and _state.stack[-1].id == self.id:
            end_run("failed" if exc_type else "finished")


class _State:
    """Process-wide tracking state: the transport, the flusher and the stack of active runs."""

    def __init__(self) -> None:
        self._transport: Transport | None = None
        self._flusher: Flusher | None = None
        self.stack: list[ActiveRun] = []
        self.steps: dict[str, dict[str, int]] = defaultdict(dict)
        self.params: dict[str, dict[str, str]] = defaultdict(dict)
        self.lock = threading.RLock()
        self.job_run_released = False  # the job's run was ended here: do not attach again

    def transport(self) -> Transport:
        with self.lock:
            if self._transport is None:
                self._transport = default_transport()
            return self._transport

    def flusher(self) -> Flusher:
        with self.lock:
            if self._flusher is None:
                interval = float(os.environ.get("LABCYCLE_FLUSH_INTERVAL", "1.0"))
                self._flusher = Flusher(self.transport(), interval=interval)
            return self._flusher

    def reset(self, transport: Transport | None = None) -> None:
        with self.lock:
            if self._flusher is not None:
                self._flusher.close()
            if self._transport is not None and self._transport is not transport:
                self._transport.close()
            self._transport, self._flusher = transport, None
            self.stack.clear()
            self.steps.clear()
            self.params.clear()
            self.job_run_released = False


_state = _State()
_crashed = False


def current_transport() -> Transport:
    """The transport ``lc.*`` uses (the default one, or the one :func:`configure` set)."""
    return _state.transport()


def _note_crash(exc_type, exc, tb) -> None:
    global _crashed
    _crashed = True
    _previous_excepthook(exc_type, exc, tb)


_previous_excepthook = sys.excepthook
sys.excepthook = _note_crash


@atexit.register
def _end_active_runs() -> None:
    """At interpreter exit or kernel shutdown: flush and close runs still open."""
    while _state.stack:
        if _state.stack[-1].attached:  # a job's run: the job runner ends it
            try:
                _state.flusher().flush(_state.stack[-1].id)
            except Exception as exc:
                print(f"LabCycle: could not flush the job's run at exit: {exc}", file=sys.stderr)
            run = _state.stack.pop()
            _capture_code(run, _state.transport())
            continue
        try:
            end_run("failed" if _crashed else "finished")
        except Exception as exc:  # the process is going away; say why, keep going
            print(f"LabCycle: could not end run at exit: {exc}", file=sys.stderr)
            _state.stack.pop()


def configure(
    *,
    url: str | None = None,
    token: str | None = None,
    db_url: str | None = None,
    artifact_url: str | None = None,
    home: str | None = None,
    storage_options: dict | None = None,
) -> None:
    """Point the Python API at a LabCycle server (``url``) or a store (``db_url``/``home``).

    Without a call, kernels of a LabCycle-enabled Jupyter server use it over HTTP and
    everything else uses the local store under ``LABCYCLE_HOME``. ``storage_options``:
    fsspec options of the artifact store (default: env ``LABCYCLE_STORAGE_OPTIONS``).
    """
    if url:
        from ..client.http import HttpTransport

        _state.reset(HttpTransport(url, token))
        return
    from ..client.local import LocalTransport
    from ..config import LabCycleConfig

    config = LabCycleConfig()
    if home:
        config.home = home
        config.db_url = f"sqlite:///{Path(home).expanduser().resolve() / 'labcycle.db'}"
        config.artifact_url = str(Path(home).expanduser().resolve() / "artifacts")
    if db_url:
        config.db_url = db_url
    if artifact_url:
        config.artifact_url = artifact_url
    if storage_options is not None:
        config.storage_options = storage_options
    _state.reset(LocalTransport.from_config(config))


def _notebook_path() -> str | None:
    """The notebook of this kernel, as the Jupyter server told it (``JPY_SESSION_NAME``)."""
    path = os.environ.get("JPY_SESSION_NAME")
    return path if path and path.endswith(".ipynb") else None


def _script_path() -> str | None:
    """The Python script being run, if this process runs one (not a CLI like `labcycle`)."""
    script = sys.argv[0] if sys.argv else ""
    return os.path.abspath(script) if script.endswith(".py") else None


def _display_path(path: str | None) -> str | None:
    root = os.environ.get("LABCYCLE_SERVER_ROOT")
    if path and root and os.path.isabs(path):
        relative = os.path.relpath(path, root)
        if not relative.startswith(".."):
            return relative.replace(os.sep, "/")
    return path


def create_run_record(
    transport: Transport,
    *,
    experiment: str | None = None,
    project: str | None = None,
    name: str | None = None,
    parent_run_id: str | None = None,
    tags: dict[str, Any] | None = None,
    start_time: int | None = None,
) -> dict[str, Any]:
    """Create a run with what this process knows of where it runs (notebook, kernel, git,
    packages), without making it active (``start_run`` does; autologging's thread does not)."""
    notebook = _notebook_path()
    return transport.create_run(
        experiment=experiment or os.environ.get("LABCYCLE_EXPERIMENT") or "Default",
        project=project or os.environ.get("LABCYCLE_PROJECT"),
        name=name,
        parent_run_id=parent_run_id,
        source="notebook" if notebook else "script",
        notebook_path=_display_path(notebook) or _script_path(),
        kernel=os.environ.get("LABCYCLE_KERNEL_NAME") or Path(sys.executable).name,
        git=git_info(notebook) or None,
        python_version=python_version(),
        packages=installed_packages(),
        tags=tags,
        start_time=start_time,
    )


def start_run(
    experiment: str | None = None,
    *,
    project: str | None = None,
    name: str | None = None,
    nested: bool = False,
    run_id: str | None = None,
    tags: dict[str, Any] | None = None,
) -> ActiveRun:
    """Start a run (or resume ``run_id``) and make it the active one.

    Parameters
    ----------
    experiment : str, optional
        Experiment name, created on first use (default: ``$LABCYCLE_EXPERIMENT`` or
        ``"Default"``).
    project : str, optional
        Project holding the experiment (default project ``default``).
    name : str, optional
        A readable run name (default ``run-<id prefix>``).
    nested : bool
        Start a child of the active run instead of refusing while one is active.
    run_id : str, optional
        Resume an existing run instead of creating one.
    tags : dict, optional
        Tags set at creation.

    Returns
    -------
    ActiveRun
        Use it in a ``with`` block to end the run (``failed`` on an exception).
    """
    with _state.lock:
        job_run = _attach_job_run() if not run_id else None
        if job_run is not None and job_run.attached and not nested and len(_state.stack) == 1:
            return job_run  # in a job's kernel, the job's run is the run
        if _state.stack and not nested:
            raise Conflict(
                f"Run {_state.stack[-1].name!r} ({_state.stack[-1].id}) is still active: end it "
                "with lc.end_run() (or %lc end), or pass nested=True to start a child run."
            )
        transport = _state.transport()
        if run_id:
            data = transport.get_run(run_id)
        else:
            data = create_run_record(
                transport,
                experiment=experiment,
                project=project,
                name=name,
                parent_run_id=_state.stack[-1].id if (nested and _state.stack) else None,
                tags=tags,
            )
        run = ActiveRun(data, transport)
        _state.stack.append(run)
        _state.flusher()  # start the background thread now, not on the first log call
        return run


def active_run() -> ActiveRun | None:
    """The run that ``log_*`` calls go to, or None.

    In the kernel of a notebook job (``LABCYCLE_RUN_ID`` set) with no run started, this is
    the job's run: ``lc.log_metric`` needs no set-up cell there.
    """
    return _state.stack[-1] if _state.stack else _attach_job_run()


def _attach_job_run() -> ActiveRun | None:
    """Attach to the job's run named by ``LABCYCLE_RUN_ID`` (once; never ended here)."""
    run_id = os.environ.get("LABCYCLE_RUN_ID")
    if not run_id or _state.job_run_released:
        return None
    with _state.lock:
        if _state.stack:
            return _state.stack[-1]
        transport = _state.transport()
        run = ActiveRun(transport.get_run(run_id), transport)
        run.attached = True
        _state.stack.append(run)
        _state.flusher()
        return run


def _require_run() -> ActiveRun:
    run = active_run()
    if run is None:
        raise InvalidInput(
            "No active run: start one with lc.start_run('experiment') or %lc start --experiment NAME."
        )
    return run


#: called with a run id before that run is flushed (autologging waits for its background
#: logging); outside the lock, because that logging takes it
_before_flush: list[Any] = []


def _wait_for_background(run_id: str | None) -> None:
    for hook in _before_flush:
        hook(run_id)


def end_run(status: str = "finished") -> Run | None:
    """Flush everything logged, attach the notebook snapshot, and close the active run."""
    if _state.stack:
        _wait_for_background(_state.stack[-1].id)
    with _state.lock:
        if not _state.stack:
            return None
        run = _state.stack[-1]
        transport = _state.transport()
        try:
            _state.flusher().flush(run.id)
        finally:
            _state.stack.pop()
            if run.attached:
                _state.job_run_released = True
            _state.steps.pop(run.id, None)
            _state.params.pop(run.id, None)
            notebook = _notebook_path()
            if notebook and run.data.get("source") == "notebook":
                try:
                    transport.attach_notebook(run.id, notebook)
                except Exception as exc:  # the run's data matters more than its snapshot
                    print(
                        f"LabCycle: could not attach the notebook snapshot: {exc}", file=sys.stderr
                    )
            _capture_code(run, transport)
            data = transport.update_run(run.id, status=status)
        return Run(data, transport)


def _capture_code(run: Run, transport: Transport) -> None:
    """Store the local ``.py`` modules this kernel imported as ``code/…`` artifacts
    (top-level runs in notebooks and jobs; ``LABCYCLE_CAPTURE_CODE=0`` turns it off)."""
    if run.data.get("parent_run_id") or os.environ.get("LABCYCLE_CAPTURE_CODE", "1") == "0":
        return
    if "ipykernel" not in sys.modules:  # notebooks and jobs only (kernels), not scripts
        return
    try:
        from ..provenance.code import capture_local_code

        capture_local_code(transport, run.id, _notebook_path())
    except Exception as exc:  # the run's status matters more than its code snapshot
        print(f"LabCycle: could not store the run's local modules: {exc}", file=sys.stderr)


def flush() -> None:
    """Send everything buffered now (normally done every second and at run end)."""
    _wait_for_background(None)
    _state.flusher().flush()


def log_param(key: str, value: Any) -> None:
    log_params({key: value})


def log_params(params: dict[str, Any]) -> None:
    """Log parameters of the active run. A param cannot change once logged."""
    run = _require_run()
    clean = {
        validate_key(k, f"params.{k}"): param_value(v, f"params.{k}") for k, v in params.items()
    }
    logged = _state.params[run.id]
    for key, value in clean.items():
        if logged.get(key, value) != value:
            raise Conflict(
                f"Param {key!r} is {logged[key]!r} already in this run; params are immutable. "
                "Start a new run, or log it as a metric or tag.",
                field=f"params.{key}",
            )
    logged.update(clean)
    _state.flusher().add_params(run.id, clean)


def log_metric(
    key: str, value: float, step: int | None = None, timestamp: int | None = None
) -> None:
    """Log one metric point; without ``step``, steps count 0, 1, 2, ... per key."""
    run = _require_run()
    validate_key(key, "key")
    number = to_float(value, key)
    counters = _state.steps[run.id]
    step = counters.get(key, 0) if step is None else to_int(step, "step")
    counters[key] = step + 1
    _state.flusher().add_metric(
        run.id, key, number, step, int(time.time() * 1000) if timestamp is None else timestamp
    )


def log_metrics(metrics: dict[str, float], step: int | None = None) -> None:
    for key, value in metrics.items():
        log_metric(key, value, step)


def set_tag(key: str, value: Any) -> None:
    set_tags({key: value})


def set_tags(tags: dict[str, Any]) -> None:
    run = _require_run()
    clean = {validate_key(k, f"tags.{k}"): param_value(v, f"tags.{k}") for k, v in tags.items()}
    _state.flusher().add_tags(run.id, clean)


def log_artifact(obj: Any, name: str | None = None) -> list[dict[str, Any]]:
    """Store a file, a folder, a matplotlib or plotly figure, or a DataFrame with the run.

    Parameters
    ----------
    obj : path, Figure or DataFrame
        Files keep their name; a folder keeps its layout under ``name`` (default: its
        name); figures become PNG (matplotlib) or self-contained HTML (plotly);
        DataFrames become Parquet.
    name : str, optional
        Artifact path inside the run (``reports/roc.png``).
    """
    run = _require_run()
    transport = _state.transport()
    kind = describe_object(obj)
    if kind:
        data, suffix = serialize_object(obj, kind)
        target = name or f"{kind}-{int(time.time() * 1000)}{suffix}"
        with tempfile.NamedTemporaryFile(suffix=suffix, delete=False) as tmp:
            tmp.write(data)
        try:
            return [transport.upload_artifact(run.id, target, Path(tmp.name))]
        finally:
            os.unlink(tmp.name)
    path = Path(obj)
    if path.is_file():
        return [transport.upload_artifact(run.id, name or path.name, path)]
    if path.is_dir():
        prefix = name or path.name
        files, skipped = folder_files(path)  # no symlink out of the folder is followed
        if skipped:
            shown = ", ".join(str(p.relative_to(path)) for p in skipped[:5])
            more = f" and {len(skipped) - 5} more" if len(skipped) > 5 else ""
            warnings.warn(
                f"log_artifact({str(path)!r}): left out {len(skipped)} symlink(s) "
                f"that point outside the folder: {shown}{more}.",
                stacklevel=2,
            )
        return [
            transport.upload_artifact(run.id, f"{prefix}/{file.relative_to(path).as_posix()}", file)
            for file in files
        ]
    raise InvalidInput(
        f"Cannot log {type(obj).__name__} {str(obj)[:80]!r}: pass an existing file or folder, "
        "a matplotlib/plotly figure or a pandas DataFrame.",
        field="obj",
    )


def log_dataset(
    data: Any,
    name: str | None = None,
    context: str = "training",
    store_content: bool = True,
    run_id: str | None = None,
) -> dict[str, Any]:
    """Record a dataset (DataFrame or file path) as an input of the active run.

    The dataset is identified by a content fingerprint, so the same data logged twice is
    one dataset. A DataFrame's content is kept (Parquet) so monitors can use it as a
    reference later; pass ``store_content=False`` to keep only its fingerprint.
    ``run_id`` names another run than the active one (autologging's background thread).
    """
    transport = _state.transport()
    run = Run({"id": run_id}, transport) if run_id else _require_run()
    content_digest = None
    if describe_object(data) == "dataframe":
        info = dataframe_fingerprint(data)
        name = name or "dataframe"
        source = None
        if store_content:
            artifact = log_artifact(data, f"datasets/{name}.parquet")[0]
            content_digest = artifact["digest"]
    else:
        path = Path(data)
        if not path.is_file():
            raise InvalidInput(f"No such data file: {path}.", field="data")
        info = file_fingerprint(path)
        name = name or path.name
        source = str(path.resolve())
    dataset = transport.register_dataset(
        name=name, source=source, content_digest=content_digest, **info
    )
    transport.link_input(run.id, dataset["id"], context)
    return dataset


def get_run(run_id: str) -> Run:
    """The run with this id, as stored now (flushes pending writes to it first)."""
    if any(r.id == run_id for r in _state.stack):
        _state.flusher().flush(run_id)
    transport = _state.transport()
    return Run(transport.get_run(run_id), transport)


def search_runs(
    filter: str | None = None,
    order_by: str | list[str] | None = None,
    max_results: int = 1000,
    experiment: str | list[str] | None = None,
):
    """Find runs; one row per run with ``params.*``, ``metrics.*`` and ``tags.*`` columns.

    Examples
    --------
    >>> lc.search_runs("metrics.acc > 0.9 and params.model = 'rf'", order_by="metrics.acc DESC")
    """
    import pandas as pd

    transport = _state.transport()
    if _state._flusher is not None:
        _state.flusher().flush()
    experiment_ids = None
    if experiment is not None:
        wanted = [experiment] if isinstance(experiment, str) else list(experiment)
        known = transport.list_experiments()
        experiment_ids = [e["id"] for e in known if e["name"] in wanted or e["id"] in wanted]
        if not experiment_ids:
            raise InvalidInput(f"No experiment named {experiment!r}.", field="experiment")
    rows: list[dict[str, Any]] = []
    token = None
    while len(rows) < max_results:
        page = transport.search_runs(
            experiment_ids=experiment_ids,
            filter=filter,
            order_by=order_by,
            max_results=min(1000, max_results - len(rows)),
            page_token=token,
        )
        for run in page["items"]:
            row = {
                "run_id": run["id"],
                "experiment_id": run["experiment_id"],
                "name": run["name"],
                "status": run["status"],
                "user": run["user"],
                "start_time": run["start_time"],
                "end_time": run["end_time"],
                "duration_s": run["duration_s"],
            }
            row.update({f"params.{k}": v for k, v in run["params"].items()})
            row.update({f"metrics.{k}": v for k, v in run["metrics"].items()})
            row.update({f"tags.{k}": v for k, v in run["tags"].items()})
            rows.append(row)
        token = page.get("next_page_token")
        if not token:
            break
    frame = pd.DataFrame(
        rows,
        columns=None
        if rows
        else [
            "run_id",
            "experiment_id",
            "name",
            "status",
            "user",
            "start_time",
            "end_time",
            "duration_s",
        ],
    )
    for column in ("start_time", "end_time"):
        frame[column] = pd.to_datetime(frame[column], utc=True, format="ISO8601")
    return frame
