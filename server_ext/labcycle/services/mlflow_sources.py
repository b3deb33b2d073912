"""Readers of MLflow stores, without MLflow: its SQL schema, its file store, its REST API.

LabCycle cannot install MLflow (its pins clash with ours), so each reader reads what MLflow
wrote the way MLflow lays it out, and yields plain records that
:mod:`labcycle.services.mlflow_import` copies into the hub:

- ``sqlite:///mlflow.db`` (or any SQLAlchemy URL of MLflow's tracking database): the tables
  ``experiments``, ``runs``, ``params``, ``metrics``, ``tags``, ``registered_models``,
  ``model_versions``, ``registered_model_aliases`` and their tag tables;
- ``./mlruns`` (or ``file:///.../mlruns``): MLflow's file store, one folder per experiment
  with ``meta.yaml``, one per run with ``meta.yaml``, ``params/``, ``metrics/``, ``tags/``
  and ``artifacts/``, and ``models/<name>/`` for the registry;
- ``http(s)://host:port``: a tracking server's REST API, with artifacts through its
  ``mlflow-artifacts`` proxy (that reader is :mod:`labcycle.services.mlflow_rest`).

Deleted experiments and runs (``lifecycle_stage = deleted``) are left out.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Protocol
from urllib.parse import quote, unquote, urlparse

from ..errors import InvalidInput, NotFound

# MLflow's RunStatus enum as its file store writes it (integers) and as SQL and REST give it.
_STATUS_NUMBERS = {1: "RUNNING", 2: "SCHEDULED", 3: "FINISHED", 4: "FAILED", 5: "KILLED"}
STATUS_MAP = {
    "RUNNING": "running",
    "SCHEDULED": "running",
    "FINISHED": "finished",
    "FAILED": "failed",
    "KILLED": "killed",
}


@dataclass
class MlflowExperiment:
    id: str
    name: str
    tags: dict[str, str] = field(default_factory=dict)


@dataclass
class MlflowRun:
    id: str
    experiment_id: str
    name: str | None
    status: str  # LabCycle's: running, finished, failed, killed
    start_time: int | None
    end_time: int | None
    user: str | None
    artifact_uri: str | None
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    metric_keys: list[str] = field(default_factory=list)


@dataclass
class MlflowVersion:
    version: int
    run_id: str | None
    source: str | None
    storage_location: str | None
    description: str | None
    tags: dict[str, str] = field(default_factory=dict)


@dataclass
class MlflowModel:
    name: str
    description: str | None
    tags: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, int] = field(default_factory=dict)
    versions: list[MlflowVersion] = field(default_factory=list)


#: one metric point as the tracking service takes it: (key, value, step, timestamp)
Point = tuple[str, float, int, int]


class MlflowSource(Protocol):
    """What the importer reads from any kind of MLflow store."""

    location: str

    def experiments(self) -> list[MlflowExperiment]: ...
    def runs(self, experiment_id: str) -> list[MlflowRun]: ...
    def metric_history(self, run: MlflowRun) -> list[Point]: ...
    def run_artifacts(self, run: MlflowRun) -> Iterator[tuple[str, BinaryIO]]: ...
    def models(self) -> list[MlflowModel]: ...
    def version_files(
        self, model: MlflowModel, version: MlflowVersion
    ) -> Iterator[tuple[str, BinaryIO]]: ...
    def close(self) -> None: ...


def _status(value: Any) -> str:
    if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
        value = _STATUS_NUMBERS.get(int(value), "FINISHED")
    return STATUS_MAP.get(str(value).upper(), "finished")


def _value(value: Any, is_nan: Any = False) -> float:
    if is_nan:
        return math.nan
    return float(value)


# -- artifacts behind a URI ---------------------------------------------------------------
def _local_path(uri: str) -> Path | None:
    """A ``file://`` URI or a plain path as a local folder; None for other schemes."""
    parsed = urlparse(uri)
    if parsed.scheme == "file":
        return Path(unquote(parsed.path))
    if parsed.scheme == "" or (len(parsed.scheme) == 1 and os.name == "nt"):
        return Path(uri)
    return None


def walk_folder(root: Path) -> Iterator[tuple[str, BinaryIO]]:
    """Every file under ``root`` as (relative posix path, open binary file), sorted.

    Symbolic links are not followed: an artifact folder must not lead out of itself.
    """
    if not root.is_dir():
        return
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(dirpath) / name
            if path.is_symlink() or not path.is_file():
                continue
            with open(path, "rb") as fh:
                yield path.relative_to(root).as_posix(), fh


def walk_uri(uri: str | None) -> Iterator[tuple[str, BinaryIO]]:
    """The files under an artifact URI: local paths and ``file://`` here, other schemes
    (``s3://``...) through fsspec when its driver is installed."""
    if not uri:
        return
    local = _local_path(uri)
    if local is not None:
        yield from walk_folder(local)
        return
    import fsspec

    try:
        fs, root = fsspec.core.url_to_fs(uri)
    except (ImportError, ValueError) as exc:
        raise InvalidInput(f"Cannot read artifacts at {uri!r}: {exc}", field="from") from None
    root = root.rstrip("/")
    for path in sorted(fs.find(root)):
        with fs.open(path, "rb") as fh:
            yield path[len(root) + 1 :], fh


# -- SQL ----------------------------------------------------------------------------------
class SqlSource:
    """MLflow's tracking database through SQLAlchemy (read only)."""

    def __init__(self, url: str) -> None:
        from sqlalchemy import create_engine, inspect

        self.location = url
        if url.startswith("sqlite:///"):
            path = Path(url[len("sqlite:///") :])
            if not path.is_file():
                raise NotFound(
                    f"No MLflow database at {path}: check the path after sqlite:///.", field="from"
                )
            url = f"sqlite:///file:{quote(str(path.resolve()))}?mode=ro&uri=true"
        self.engine = create_engine(url)
        try:
            tables = set(inspect(self.engine).get_table_names())
        except Exception as exc:  # any driver error means "not readable"
            raise InvalidInput(
                f"Cannot open {self.location} as a database: {exc}", field="from"
            ) from None
        inspector = inspect(self.engine)
        needed = {"experiments", "runs", "metrics", "params", "tags"}
        # LabCycle's own store has tables of these names too; MLflow's runs have run_uuid.
        if not needed <= tables or "run_uuid" not in {
            c["name"] for c in inspector.get_columns("runs")
        }:
            self.engine.dispose()
            raise InvalidInput(
                f"{self.location} is not an MLflow tracking database (no runs table with "
                "MLflow's run_uuid column).",
                field="from",
            )
        self.tables = tables

    def _rows(self, sql: str, **params: Any) -> Sequence[Any]:
        from sqlalchemy import text

        with self.engine.connect() as conn:
            return conn.execute(text(sql), params).all()

    def experiments(self) -> list[MlflowExperiment]:
        tags: dict[str, dict[str, str]] = {}
        if "experiment_tags" in self.tables:
            for key, value, exp_id in self._rows(
                "SELECT key, value, experiment_id FROM experiment_tags"
            ):
                tags.setdefault(str(exp_id), {})[key] = value
        return [
            MlflowExperiment(str(r.experiment_id), r.name, tags.get(str(r.experiment_id), {}))
            for r in self._rows(
                "SELECT experiment_id, name FROM experiments "
                "WHERE lifecycle_stage != 'deleted' ORDER BY experiment_id"
            )
        ]

    def runs(self, experiment_id: str) -> list[MlflowRun]:
        rows = self._rows(
            "SELECT run_uuid, name, status, start_time, end_time, user_id, artifact_uri "
            "FROM runs WHERE experiment_id = :e AND lifecycle_stage != 'deleted' "
            "ORDER BY start_time, run_uuid",
            e=int(experiment_id) if experiment_id.isdigit() else experiment_id,
        )
        runs = {
            r.run_uuid: MlflowRun(
                r.run_uuid,
                experiment_id,
                r.name,
                _status(r.status),
                r.start_time,
                r.end_time,
                r.user_id,
                r.artifact_uri,
            )
            for r in rows
        }
        ids = list(runs)
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ", ".join(f":r{i}" for i in range(len(chunk)))
            bind = {f"r{i}": run_id for i, run_id in enumerate(chunk)}
            for key, value, run_id in self._rows(
                f"SELECT key, value, run_uuid FROM params WHERE run_uuid IN ({marks})", **bind
            ):
                runs[run_id].params[key] = value
            for key, value, run_id in self._rows(
                f"SELECT key, value, run_uuid FROM tags WHERE run_uuid IN ({marks})", **bind
            ):
                runs[run_id].tags[key] = value
            for key, run_id in self._rows(
                f"SELECT DISTINCT key, run_uuid FROM metrics WHERE run_uuid IN ({marks})", **bind
            ):
                runs[run_id].metric_keys.append(key)
        return list(runs.values())

    def metric_history(self, run: MlflowRun) -> list[Point]:
        return [
            (r.key, _value(r.value, r.is_nan), int(r.step or 0), int(r.timestamp))
            for r in self._rows(
                "SELECT key, value, step, timestamp, is_nan FROM metrics WHERE run_uuid = :r "
                "ORDER BY key, step, timestamp",
                r=run.id,
            )
        ]

    def run_artifacts(self, run: MlflowRun) -> Iterator[tuple[str, BinaryIO]]:
        yield from walk_uri(run.artifact_uri)

    def models(self) -> list[MlflowModel]:
        if "registered_models" not in self.tables:
            return []
        models = {
            r.name: MlflowModel(r.name, r.description)
            for r in self._rows("SELECT name, description FROM registered_models ORDER BY name")
        }
        for key, value, name in self._rows("SELECT key, value, name FROM registered_model_tags"):
            if name in models:
                models[name].tags[key] = value
        versions: dict[tuple[str, int], MlflowVersion] = {}
        for r in self._rows(
            "SELECT name, version, run_id, source, storage_location, description "
            "FROM model_versions WHERE current_stage != 'Deleted_Internal' "
            "ORDER BY name, version"
        ):
            if r.name in models:
                v = MlflowVersion(
                    int(r.version), r.run_id, r.source, r.storage_location, r.description
                )
                models[r.name].versions.append(v)
                versions[(r.name, v.version)] = v
        for key, value, name, version in self._rows(
            "SELECT key, value, name, version FROM model_version_tags"
        ):
            if (name, int(version)) in versions:
                versions[(name, int(version))].tags[key] = value
        if "registered_model_aliases" in self.tables:
            for alias, version, name in self._rows(
                "SELECT alias, version, name FROM registered_model_aliases"
            ):
                if name in models:
                    models[name].aliases[alias] = int(version)
        return list(models.values())

    def version_files(
        self, model: MlflowModel, version: MlflowVersion
    ) -> Iterator[tuple[str, BinaryIO]]:
        yield from walk_uri(version.storage_location or version.source)

    def close(self) -> None:
        self.engine.dispose()


# -- the file store -----------------------------------------------------------------------
def _yaml(path: Path) -> dict[str, Any]:
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise InvalidInput(f"Cannot read {path}: {exc}", field="from") from None
    return data if isinstance(data, dict) else {}


def _key_files(folder: Path) -> Iterator[tuple[str, Path]]:
    """The files of a params/, tags/ or metrics/ folder; keys with '/' are nested folders."""
    for path, name in (
        (p, p.relative_to(folder).as_posix()) for p in sorted(folder.rglob("*")) if folder.is_dir()
    ):
        if path.is_file() and not path.is_symlink():
            yield name, path


class FileStoreSource:
    """MLflow's file store (``mlruns``): meta.yaml files and one file per key."""

    def __init__(self, location: str) -> None:
        root = _local_path(location)
        if root is None or not root.is_dir():
            raise NotFound(
                f"No MLflow file store at {location!r}: give the mlruns folder.", field="from"
            )
        if not any((child / "meta.yaml").is_file() for child in root.iterdir()):
            raise InvalidInput(
                f"{root} is not an MLflow file store: no experiment folder with a meta.yaml in it.",
                field="from",
            )
        self.location = location
        self.root = root
        self._run_folders: dict[str, Path] = {}

    def experiments(self) -> list[MlflowExperiment]:
        found = []
        for child in sorted(self.root.iterdir()):
            meta_file = child / "meta.yaml"
            if child.name.startswith(".") or child.name == "models" or not meta_file.is_file():
                continue
            meta = _yaml(meta_file)
            if meta.get("lifecycle_stage") == "deleted" or "name" not in meta:
                continue
            tags = {k: p.read_text(encoding="utf-8") for k, p in _key_files(child / "tags")}
            found.append(
                MlflowExperiment(
                    str(meta.get("experiment_id", child.name)), str(meta["name"]), tags
                )
            )
        return found

    def runs(self, experiment_id: str) -> list[MlflowRun]:
        folder = self.root / experiment_id
        runs = []
        for child in sorted(folder.iterdir()) if folder.is_dir() else []:
            meta_file = child / "meta.yaml"
            if child.name in ("models", "datasets", "traces") or not meta_file.is_file():
                continue
            meta = _yaml(meta_file)
            if meta.get("lifecycle_stage") == "deleted" or "run_id" not in meta:
                continue
            run = MlflowRun(
                str(meta["run_id"]),
                experiment_id,
                meta.get("run_name"),
                _status(meta.get("status", 3)),
                meta.get("start_time"),
                meta.get("end_time"),
                meta.get("user_id"),
                meta.get("artifact_uri"),
                params={k: p.read_text(encoding="utf-8") for k, p in _key_files(child / "params")},
                tags={k: p.read_text(encoding="utf-8") for k, p in _key_files(child / "tags")},
                metric_keys=[k for k, _ in _key_files(child / "metrics")],
            )
            self._run_folders[run.id] = child
            runs.append(run)
        runs.sort(key=lambda r: (r.start_time or 0, r.id))
        return runs

    def metric_history(self, run: MlflowRun) -> list[Point]:
        points = []
        for key, path in _key_files(self._run_folders[run.id] / "metrics"):
            for line in path.read_text(encoding="utf-8").splitlines():
                parts = line.split()
                if len(parts) < 2:
                    continue
                step = int(parts[2]) if len(parts) > 2 else 0
                points.append((key, float(parts[1]), step, int(parts[0])))
        return points

    def _artifact_root(self, uri: str | None, fallback: Path) -> Path:
        local = _local_path(uri) if uri else None
        # A store moved after it was written keeps its old absolute artifact URIs.
        return local if local is not None and local.is_dir() else fallback

    def run_artifacts(self, run: MlflowRun) -> Iterator[tuple[str, BinaryIO]]:
        folder = self._run_folders[run.id]
        yield from walk_folder(self._artifact_root(run.artifact_uri, folder / "artifacts"))

    def models(self) -> list[MlflowModel]:
        base = self.root / "models"
        models = []
        for child in sorted(base.iterdir()) if base.is_dir() else []:
            if not (child / "meta.yaml").is_file():
                continue
            meta = _yaml(child / "meta.yaml")
            model = MlflowModel(
                str(meta.get("name", child.name)),
                meta.get("description"),
                {k: p.read_text(encoding="utf-8") for k, p in _key_files(child / "tags")},
            )
            for alias, version in (meta.get("aliases") or {}).items():
                model.aliases[str(alias)] = int(version)
            for path, alias in ((p, p.name) for p in sorted((child / "aliases").glob("*"))):
                model.aliases.setdefault(alias, int(path.read_text().strip()))
            for vdir in sorted(child.glob("version-*"), key=lambda p: int(p.name[8:] or 0)):
                if not (vdir / "meta.yaml").is_file():
                    continue
                vmeta = _yaml(vdir / "meta.yaml")
                if vmeta.get("current_stage") == "Deleted_Internal":
                    continue
                model.versions.append(
                    MlflowVersion(
                        int(vmeta.get("version", vdir.name[8:])),
                        vmeta.get("run_id"),
                        vmeta.get("source"),
                        vmeta.get("storage_location"),
                        vmeta.get("description"),
                        {k: p.read_text(encoding="utf-8") for k, p in _key_files(vdir / "tags")},
                    )
                )
            models.append(model)
        return models

    def version_files(
        self, model: MlflowModel, version: MlflowVersion
    ) -> Iterator[tuple[str, BinaryIO]]:
        location = version.storage_location or version.source
        local = _local_path(location) if location else None
        if local is not None and not local.is_dir() and version.source:
            # a moved store: find the logged model's folder (models:/m-<id>) under this root
            model_id = version.source.rsplit("/", 1)[-1]
            matches = sorted(self.root.glob(f"*/models/{model_id}/artifacts"))
            local = matches[0] if matches else local
        if local is not None:
            yield from walk_folder(local)
        else:
            yield from walk_uri(location)

    def close(self) -> None:
        pass
