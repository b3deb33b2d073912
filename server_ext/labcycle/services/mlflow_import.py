"""Import an MLflow store into the hub: experiments, runs, artifacts, registered models.

The readers (:mod:`labcycle.services.mlflow_sources`) give plain records; this module writes
them through the tracking, artifact and registry services, so every rule (validation,
immutable params, model names, audit) is the same as for anything else logged.

**Idempotent.** Every imported run carries the tag ``labcycle.mlflow.run_id`` (MLflow's run
id), and ``labcycle.mlflow.imported = true`` once all its data is in; every imported model
version carries ``labcycle.mlflow.version`` (``name/version``). A second import skips what
carries them and adds nothing; a run that an interrupted import left half-written is
deleted and imported again.

**Keys.** MLflow allows ``/`` in param, metric and tag keys (``train/loss``); LabCycle keys
are not paths, so ``/`` and ``\\`` become ``.`` and the summary counts the renamed keys.

**Models.** A version's files (``MLmodel``, the model file, environment files) are copied
into the run that logged it and registered as the next version of the same name, with
MLflow's version number in the tag ``labcycle.mlflow.version``. MLflow 3 saves
scikit-learn models with skops by default; those become ``sklearn``-flavor versions that
load under LabCycle's skops allow-list. A pickled (cloudpickle) model becomes a
``pickle``-flavor version only with ``trust_pickled_models=True`` (audited as
``model.log.trusted``; loading it still needs ``trusted=True``); otherwise it is skipped
and the summary says so.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from sqlalchemy import select

from ..errors import InvalidInput, LabCycleError
from ..store.models import ModelVersion, ModelVersionTag, Tag
from .common import new_id
from .mlflow_rest import RestSource
from .mlflow_sources import (
    FileStoreSource,
    MlflowModel,
    MlflowRun,
    MlflowSource,
    MlflowVersion,
    SqlSource,
)
from .tracking import MAX_BATCH, TrackingService

RUN_TAG = "labcycle.mlflow.run_id"
EXPERIMENT_TAG = "labcycle.mlflow.experiment_id"
COMPLETE_TAG = "labcycle.mlflow.imported"
SOURCE_TAG = "labcycle.mlflow.source"
VERSION_TAG = "labcycle.mlflow.version"
STAGING = "_mlflow_import"

#: progress(stage, done, total, label): stage is "runs" or "models"
Progress = Callable[[str, int, int, str], None]


def open_source(location: str, *, token: str | None = None) -> MlflowSource:
    """The reader for ``sqlite:///...`` (or another database URL), ``http(s)://...`` or an
    ``mlruns`` folder (a path or ``file://``)."""
    if not isinstance(location, str) or not location.strip():
        raise InvalidInput(
            "Give the MLflow store to import: sqlite:///mlflow.db, ./mlruns or "
            "http://mlflow-server:5000.",
            field="from",
        )
    location = location.strip()
    scheme = urlparse(location).scheme
    if scheme in ("http", "https"):
        return RestSource(location, token=token or os.environ.get("MLFLOW_TRACKING_TOKEN"))
    if scheme.split("+")[0] in ("sqlite", "postgresql", "mysql", "mssql"):
        return SqlSource(location)
    if scheme in ("", "file"):
        return FileStoreSource(location)
    raise InvalidInput(
        f"Cannot import from {location!r}: use sqlite:///path.db, a database URL, "
        "an mlruns folder or http(s)://host:port.",
        field="from",
    )


@dataclass
class ImportSummary:
    """What one import added and skipped (``as_dict`` for JSON)."""

    source: str
    experiments: int = 0
    runs_imported: int = 0
    runs_skipped: int = 0
    runs_repaired: int = 0
    params: int = 0
    metric_points: int = 0
    tags: int = 0
    artifacts: int = 0
    artifact_bytes: int = 0
    models: int = 0
    versions_imported: int = 0
    versions_skipped: int = 0
    aliases_set: int = 0
    renamed_keys: int = 0
    warnings: list[str] = field(default_factory=list)

    @property
    def added(self) -> int:
        """How many runs, versions and aliases this import added (0 for a repeat)."""
        return self.runs_imported + self.versions_imported + self.aliases_set

    def as_dict(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        data["added"] = self.added
        return data


_SEPARATORS = re.compile(r"[/\\]+")


def safe_key(key: str) -> str:
    """An MLflow key as a LabCycle key: no path syntax, no control characters."""
    clean = _SEPARATORS.sub(".", key)
    clean = "".join(ch for ch in clean if ord(ch) >= 32)
    while ".." in clean:
        clean = clean.replace("..", ".")
    return clean.strip().strip(".") or "_"


def _safe_mapping(values: dict[str, str], summary: ImportSummary) -> dict[str, str]:
    out = {}
    for key, value in values.items():
        clean = safe_key(key)
        if clean != key:
            summary.renamed_keys += 1
        out[clean] = value
    return out


def _model_meta(files: dict[str, Path], trust_pickled: bool) -> tuple[dict[str, Any] | None, str]:
    """``labcycle-model.json`` for an MLflow model folder, or (None, why it is skipped)."""
    import yaml

    from ..models.signature import current_environment

    mlmodel = files.get("MLmodel")
    if mlmodel is None:
        return None, "it has no MLmodel file"
    try:
        spec = yaml.safe_load(mlmodel.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        return None, f"its MLmodel file cannot be read ({exc})"
    flavors = spec.get("flavors") or {}
    sklearn = flavors.get("sklearn")
    environment = current_environment()
    environment["mlflow_version"] = spec.get("mlflow_version")
    base = {
        "format": 1,
        "signature": None,
        "environment": environment,
        "imported_from": "mlflow",
        "mlflow_flavors": sorted(flavors),
    }
    if not sklearn:
        return None, f"its flavors ({', '.join(sorted(flavors)) or 'none'}) have no sklearn model"
    file = sklearn.get("pickled_model") or "model.pkl"
    if file not in files:
        return None, f"its model file {file!r} is missing"
    if sklearn.get("serialization_format") == "skops":
        import skops.io as sio

        from ..models.flavors.sklearn import allowed_type

        untrusted = sio.get_untrusted_types(file=files[file])
        return {
            **base,
            "flavor": "sklearn",
            "flavor_options": {"file": file, "untrusted_types": untrusted},
            "requires_trust": any(not allowed_type(t) for t in untrusted),
        }, ""
    if not trust_pickled:
        return None, (
            f"it is pickled ({sklearn.get('serialization_format', 'pickle')}): "
            "import again with --trust-pickled-models if you trust its author"
        )
    return {
        **base,
        "flavor": "pickle",
        "flavor_options": {"file": file},
        "requires_trust": True,
    }, ""


class MlflowImporter:
    """Copy one MLflow store into the hub (see the module docstring)."""

    def __init__(self, services: Any) -> None:
        self.services = services
        self.tracking: TrackingService = services.tracking

    def run(
        self,
        location: str,
        *,
        actor: str,
        project: str | None = None,
        token: str | None = None,
        trust_pickled_models: bool = False,
        progress: Progress | None = None,
    ) -> ImportSummary:
        source = open_source(location, token=token)
        try:
            return self._import(
                source,
                actor=actor,
                project=project,
                trust_pickled=trust_pickled_models,
                progress=progress or (lambda *a: None),
            )
        finally:
            source.close()

    # -- what is here already -------------------------------------------------------------
    def _imported_runs(self) -> tuple[dict[str, str], set[str]]:
        """MLflow run id → LabCycle run id, and the LabCycle runs fully imported."""
        T = Tag.__table__
        with self.services.store.read() as conn:
            ids = {
                value: run_id
                for run_id, value in conn.execute(
                    select(T.c.run_id, T.c.value).where(T.c.key == RUN_TAG)
                )
            }
            complete = set(
                conn.execute(
                    select(T.c.run_id).where(T.c.key == COMPLETE_TAG, T.c.value == "true")
                ).scalars()
            )
        return ids, complete

    def _imported_versions(self) -> dict[tuple[str, str], int]:
        """(MLflow ``name/version``, LabCycle run) → the LabCycle version number it became.

        The run tells apart two stores that both have a version 1 of a model named alike.
        """
        MV, MVT = ModelVersion.__table__, ModelVersionTag.__table__
        with self.services.store.read() as conn:
            return {
                (value, run_id): version
                for value, run_id, version in conn.execute(
                    select(MVT.c.value, MV.c.run_id, MV.c.version)
                    .join(MV, MV.c.id == MVT.c.version_id)
                    .where(MVT.c.key == VERSION_TAG)
                )
            }

    # -- the import -----------------------------------------------------------------------
    def _import(
        self,
        source: MlflowSource,
        *,
        actor: str,
        project: str | None,
        trust_pickled: bool,
        progress: Progress,
    ) -> ImportSummary:
        summary = ImportSummary(source=source.location)
        experiments = source.experiments()
        runs = [(e, r) for e in experiments for r in source.runs(e.id)]
        summary.experiments = len(experiments)
        imported, complete = self._imported_runs()
        run_ids: dict[str, str] = {}
        for done, (experiment, run) in enumerate(runs):
            progress("runs", done, len(runs), run.name or run.id)
            existing = imported.get(run.id)
            if existing and existing in complete:
                summary.runs_skipped += 1
                run_ids[run.id] = existing
                continue
            if existing:  # an interrupted import: start this run again
                self.tracking.delete_run(existing, actor=actor)
                summary.runs_repaired += 1
            run_ids[run.id] = self._import_run(
                source, experiment.name, run, actor=actor, project=project, summary=summary
            )
        progress("runs", len(runs), len(runs), "")
        models = source.models()
        summary.models = len(models)
        done_versions = self._imported_versions()
        total = sum(len(m.versions) for m in models)
        done = 0
        for model in models:
            numbers: dict[int, int] = {}
            for version in model.versions:
                progress("models", done, total, f"{model.name} v{version.version}")
                done += 1
                key = (f"{model.name}/{version.version}", run_ids.get(version.run_id or ""))
                if key in done_versions:
                    summary.versions_skipped += 1
                    numbers[version.version] = done_versions[key]
                    continue
                number = self._import_version(
                    source,
                    model,
                    version,
                    run_ids,
                    actor=actor,
                    trust_pickled=trust_pickled,
                    summary=summary,
                )
                if number is not None:
                    numbers[version.version] = number
            self._sync_model(model, numbers, actor=actor, summary=summary)
        progress("models", total, total, "")
        return summary

    def _import_run(
        self,
        source: MlflowSource,
        experiment: str,
        run: MlflowRun,
        *,
        actor: str,
        project: str | None,
        summary: ImportSummary,
    ) -> str:
        tags = _safe_mapping(run.tags, summary)
        params = _safe_mapping(run.params, summary)
        name = (run.name or tags.get("mlflow.runName") or f"mlflow-{run.id[:8]}")[:250]
        created = self.tracking.create_run(
            actor=actor,
            experiment=experiment,
            project=project,
            name=name,
            source="script",
            start_time=run.start_time,
            tags={RUN_TAG: run.id, EXPERIMENT_TAG: run.experiment_id, SOURCE_TAG: source.location},
        )
        run_id = created["id"]
        self.tracking.log_batch(run_id, actor=actor, params=params, tags=tags)
        points = [(safe_key(k), v, s, t) for k, v, s, t in source.metric_history(run)]
        for start in range(0, len(points), MAX_BATCH):
            self.tracking.log_batch(run_id, actor=actor, metrics=points[start : start + MAX_BATCH])
        renamed = {k for k in run.metric_keys if safe_key(k) != k}
        summary.renamed_keys += len(renamed)
        for path, stream in source.run_artifacts(run):
            artifact = self.services.artifacts.log_stream(run_id, path, stream, actor=actor)
            summary.artifacts += 1
            summary.artifact_bytes += artifact["size"]
        self.tracking.update_run(
            run_id,
            actor=actor,
            status=run.status,
            end_time=run.end_time if run.status != "running" else None,
        )
        self.tracking.set_tags(run_id, {COMPLETE_TAG: "true"}, actor=actor)
        summary.runs_imported += 1
        summary.params += len(params)
        summary.tags += len(tags)
        summary.metric_points += len(points)
        return run_id

    def _import_version(
        self,
        source: MlflowSource,
        model: MlflowModel,
        version: MlflowVersion,
        run_ids: dict[str, str],
        *,
        actor: str,
        trust_pickled: bool,
        summary: ImportSummary,
    ) -> int | None:
        label = f"{model.name} version {version.version}"
        run_id = run_ids.get(version.run_id or "")
        if run_id is None:
            summary.versions_skipped += 1
            summary.warnings.append(
                f"{label} skipped: its run {version.run_id!r} is not in the "
                "store (deleted, or logged elsewhere)."
            )
            return None
        staging = f"{STAGING}/{new_id()}"  # fresh: never mixes with a failed attempt
        with tempfile.TemporaryDirectory(prefix="labcycle-mlflow-") as tmp:
            folder = Path(tmp)
            files: dict[str, Path] = {}
            for path, stream in source.version_files(model, version):
                target = folder / path
                if folder.resolve() not in target.resolve().parents:
                    continue  # never write outside the temporary folder
                target.parent.mkdir(parents=True, exist_ok=True)
                with open(target, "wb") as out:
                    while chunk := stream.read(1 << 20):
                        out.write(chunk)
                files[path] = target
            meta, why = _model_meta(files, trust_pickled)
            if meta is None:
                summary.versions_skipped += 1
                summary.warnings.append(f"{label} skipped: {why}.")
                return None
            artifacts = self.services.artifacts
            for path, local in files.items():
                artifacts.log_file(run_id, f"{staging}/{path}", str(local), actor=actor)
            artifacts.log_bytes(
                run_id,
                f"{staging}/labcycle-model.json",
                json.dumps(meta, indent=2, default=str).encode(),
                actor=actor,
            )
        tags = _safe_mapping(version.tags, summary)
        tags[VERSION_TAG] = f"{model.name}/{version.version}"
        try:
            created = self.services.registry.create_version(
                model.name,
                run_id=run_id,
                source_path=staging,
                actor=actor,
                description=version.description or "",
                tags=tags,
                trusted=bool(meta["requires_trust"]),
            )
        except LabCycleError as exc:
            summary.versions_skipped += 1
            summary.warnings.append(f"{label} skipped: {exc.message}")
            return None
        summary.versions_imported += 1
        return created["version"]

    def _sync_model(
        self, model: MlflowModel, numbers: dict[int, int], *, actor: str, summary: ImportSummary
    ) -> None:
        """The model's description, tags and aliases, changed only where they differ."""
        registry = self.services.registry
        if not numbers:
            return
        current = registry.get_model(model.name)
        tags = _safe_mapping(model.tags, summary)
        changed_tags = {k: v for k, v in tags.items() if current["tags"].get(k) != v}
        description = model.description or ""
        if changed_tags or (description and current["description"] != description):
            registry.update_model(
                model.name,
                actor=actor,
                description=description if description else None,
                tags=changed_tags or None,
            )
        for alias, mlflow_version in sorted(model.aliases.items()):
            number = numbers.get(mlflow_version)
            if number is None:
                summary.warnings.append(
                    f"Alias {alias!r} of {model.name} skipped: version "
                    f"{mlflow_version} was not imported."
                )
                continue
            try:
                if current["aliases"].get(alias.casefold()) == number:
                    continue
                registry.set_alias(model.name, alias, number, actor=actor)
            except InvalidInput as exc:
                summary.warnings.append(f"Alias {alias!r} of {model.name} skipped: {exc.message}")
                continue
            summary.aliases_set += 1


def import_mlflow(services: Any, location: str, **options: Any) -> ImportSummary:
    """Import the MLflow store at ``location`` (see :class:`MlflowImporter`)."""
    return MlflowImporter(services).run(location, **options)
