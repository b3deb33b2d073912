"""The model registry: registered models, immutable versions, movable aliases, tags.

A **version** is created from model files already stored as artifacts of a run (under a
staging folder that ``lc.log_model`` uploads, holding ``labcycle-model.json``): the
registry numbers it (1, 2, 3... per model, race-free: the number is taken from the model
row under a write lock, and ``(model_id, version)`` is unique), moves the files to
``models/<name>/v<version>/`` in the same run (artifact rows only: blobs are
content-addressed and never copied), and snapshots the run's lineage (run, experiment,
notebook, git commit, input datasets) and latest metrics. A version never changes after
that, except its description, tags and status.

**Aliases** (``champion``, ``challenger``, any name) point at one version of a model and
move; every move is audited with the version before and after.

**Model names** are compared by a normalised key, so two names that look the same cannot
coexist (409 naming the existing model):

1. percent-decoding, repeated until nothing changes (``churn%20model`` = ``churn model``);
2. Unicode NFKC normalisation (``ﬁ`` = ``fi``; composed ``é`` = ``e`` + combining accent);
3. case folding with ``str.casefold`` (``Churn`` = ``churn``, ``STRASSE`` = ``straße``),
   then NFKC again.

A name is stored as first given (without leading and trailing white space); registering
under any *other* spelling with the same key is refused with 409, so a typo in case or
encoding never adds a version to the wrong-looking name. A (decoded) name may not contain ``/``,
``\\``, ``@`` or control characters, nor be ``.`` or ``..`` (``name@alias`` and
``name/3`` are references). Lookups (``GET models/Churn``) use the same key, so any
spelling of a name finds its model. Alias names are case-folded and must start with a
letter or ``_``; ``latest`` is reserved (``name@latest`` is the newest version).
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections.abc import Sequence
from typing import Any
from urllib.parse import unquote

from sqlalchemy import Connection, delete, func, insert, select, update

from ..errors import Conflict, Forbidden, InvalidInput, NotFound
from ..store import ArtifactStore, Store
from ..store.artifacts import validate_artifact_path
from ..store.models import (
    Artifact,
    Dataset,
    Experiment,
    LatestMetric,
    ModelAlias,
    ModelVersion,
    ModelVersionTag,
    Project,
    RegisteredModel,
    RegisteredModelTag,
    Run,
    RunInput,
)
from .common import (
    audit,
    insert_on_conflict,
    iso,
    new_id,
    next_token,
    now_ms,
    page_bounds,
    param_value,
    to_int,
    validate_id,
    validate_key,
)
from .ownership import readable

RM, MV, MA = RegisteredModel.__table__, ModelVersion.__table__, ModelAlias.__table__
RMT, MVT = RegisteredModelTag.__table__, ModelVersionTag.__table__
A, R, E, P = Artifact.__table__, Run.__table__, Experiment.__table__, Project.__table__
LM, RI, D = LatestMetric.__table__, RunInput.__table__, Dataset.__table__

META_FILE = "labcycle-model.json"
MAX_NAME = 200
_ALIAS = re.compile(r"^[a-z_][a-z0-9_.-]{0,99}$")
RESERVED_ALIASES = ("latest",)


# -- names ------------------------------------------------------------------------------
def _decode(name: str) -> str:
    for _ in range(10):
        decoded = unquote(name)
        if decoded == name:
            break
        name = decoded
    return name


def name_segment(name: str) -> str:
    """The folder of a model's files (``models/<segment>/v<n>``): its percent-decoded NFC form."""
    return unicodedata.normalize("NFC", _decode(name.strip()).strip())


def normalise_name(name: Any, field: str = "name") -> tuple[str, str]:
    """``(name, key)`` of a model name; raises InvalidInput for a bad name.

    The name is kept as given (without surrounding white space); the key, which must be
    unique, is its percent-decoded, NFKC, case-folded form (see the module docstring).
    """
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput(f"{field} must be a non-empty string.", field=field)
    if len(name.strip()) > MAX_NAME:
        raise InvalidInput(f"{field} may have at most {MAX_NAME} characters.", field=field)
    decoded = name_segment(name)
    if not decoded:
        raise InvalidInput(f"{field} must not be empty once percent-decoded.", field=field)
    if len(decoded) > MAX_NAME:
        raise InvalidInput(f"{field} may have at most {MAX_NAME} characters.", field=field)
    bad = sorted({ch for ch in decoded if ch in "/\\@" or ord(ch) < 32 or ord(ch) == 127})
    if bad:
        shown = ", ".join(repr(ch) for ch in bad)
        raise InvalidInput(
            f"{field} {decoded!r} may not contain {shown}: '/' and '@' separate a model name "
            "from a version or alias ('churn/3', 'churn@champion'). Use letters, digits, "
            "spaces, '-', '_' or '.'.",
            field=field,
        )
    if decoded in (".", ".."):
        raise InvalidInput(f"{field} may not be '.' or '..'.", field=field)
    key = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", decoded).casefold())
    if len(key) > MAX_NAME:
        raise InvalidInput(f"{field} may have at most {MAX_NAME} characters.", field=field)
    return name.strip(), key


def normalise_alias(alias: Any, field: str = "alias") -> str:
    if not isinstance(alias, str) or not alias.strip():
        raise InvalidInput(f"{field} must be a non-empty string.", field=field)
    folded = unicodedata.normalize("NFKC", alias.strip()).casefold()
    if not _ALIAS.match(folded):
        raise InvalidInput(
            f"{field} {alias!r} must start with a letter or '_' and contain only letters, "
            "digits, '_', '-' or '.' (at most 100), e.g. 'champion'.",
            field=field,
        )
    if folded in RESERVED_ALIASES:
        raise InvalidInput(
            f"{field} {folded!r} is reserved: 'name@latest' is the newest version.", field=field
        )
    return folded


def parse_ref(ref: Any) -> tuple[str, str | None, int | None]:
    """``"name@alias"`` → (name, alias, None); ``"name/3"`` → (name, None, 3); ``"name"`` →
    (name, None, None) meaning the latest version."""
    if not isinstance(ref, str) or not ref.strip():
        raise InvalidInput(
            "A model reference is 'name', 'name/VERSION' or 'name@ALIAS'.", field="ref"
        )
    ref = ref.strip()
    if ref.startswith("models:/"):
        ref = ref[len("models:/") :]
    if "@" in ref:
        name, alias = ref.rsplit("@", 1)
        if alias.strip().casefold() == "latest":
            return name, None, None
        return name, normalise_alias(alias, "ref"), None
    if "/" in ref:
        name, version = ref.rsplit("/", 1)
        text = version[1:] if version[:1] in ("v", "V") else version
        if not text.isdigit():
            raise InvalidInput(f"{version!r} in {ref!r} is not a version number.", field="ref")
        return name, None, int(text)
    return ref, None, None


def parse_version_ref(ref: Any) -> tuple[str, int]:
    """``churn/3`` (or ``churn/v3``) → ("churn", 3): a reference to one version, no alias."""
    name, alias, number = (
        parse_ref(ref) if isinstance(ref, str) and "/" in ref else ("", None, None)
    )
    if not name or alias is not None or number is None:
        raise InvalidInput(f"{ref!r} is not NAME/VERSION (e.g. churn/3).", field="ref")
    return name, number


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    return value


def _clean_tags(tags: Any, field: str = "tags") -> dict[str, str]:
    if tags is None:
        return {}
    if not isinstance(tags, dict):
        raise InvalidInput(f"{field} must be an object of key → value.", field=field)
    return {
        validate_key(k, f"{field}.{k}"): param_value(v, f"{field}.{k}") for k, v in tags.items()
    }


def _description(value: Any, field: str = "description") -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidInput(f"{field} must be a string.", field=field)
    if len(value) > 65_535:
        raise InvalidInput(f"{field} may have at most 65,535 characters.", field=field)
    return value


class RegistryService:
    """Registered models, their versions and aliases (see the module docstring)."""

    def __init__(self, store: Store, blobs: ArtifactStore) -> None:
        self.store = store
        self.blobs = blobs

    # -- reading --------------------------------------------------------------------------
    def _model_row(self, conn: Connection, name: Any, field: str = "name") -> Any:
        _, key = normalise_name(name, field)
        row = conn.execute(
            select(RM).where(RM.c.name_key == key, readable(conn, "model", RM.c.id))
        ).first()
        if row is None:
            raise NotFound(f"No registered model named {name!r}.", field=field)
        return row

    def _model_dict(self, conn: Connection, row: Any) -> dict[str, Any]:
        tags = dict(
            conn.execute(select(RMT.c.key, RMT.c.value).where(RMT.c.model_id == row.id)).all()
        )
        aliases = dict(
            conn.execute(
                select(MA.c.alias, MV.c.version)
                .join(MV, MV.c.id == MA.c.version_id)
                .where(MA.c.model_id == row.id)
                .order_by(MA.c.alias)
            ).all()
        )
        latest = conn.execute(
            select(MV.c.version, MV.c.id)
            .where(MV.c.model_id == row.id)
            .order_by(MV.c.version.desc())
            .limit(1)
        ).first()
        count = conn.execute(
            select(func.count()).select_from(MV).where(MV.c.model_id == row.id)
        ).scalar()
        return {
            "id": row.id,
            "name": row.name,
            "description": row.description,
            "tags": tags,
            "aliases": aliases,
            "latest_version": latest.version if latest else None,
            "version_count": count,
            "created_by": row.created_by,
            "created_at": iso(row.created_at),
            "updated_at": iso(row.updated_at),
        }

    def _version_dicts(
        self, conn: Connection, rows: Sequence[Any], model_name: str
    ) -> list[dict[str, Any]]:
        ids = [r.id for r in rows]
        tags: dict[str, dict[str, str]] = {i: {} for i in ids}
        aliases: dict[str, list[str]] = {i: [] for i in ids}
        if ids:
            for vid, key, value in conn.execute(
                select(MVT.c.version_id, MVT.c.key, MVT.c.value).where(MVT.c.version_id.in_(ids))
            ):
                tags[vid][key] = value
            for vid, alias in conn.execute(
                select(MA.c.version_id, MA.c.alias)
                .where(MA.c.version_id.in_(ids))
                .order_by(MA.c.alias)
            ):
                aliases[vid].append(alias)
        return [
            {
                "id": r.id,
                "model_id": r.model_id,
                "model_name": model_name,
                "version": r.version,
                "ref": f"{model_name}/{r.version}",
                "flavor": r.flavor,
                "run_id": r.run_id,
                "artifact_prefix": r.artifact_prefix,
                "files": r.files,
                "signature": r.signature,
                "environment": r.environment,
                "metrics": r.metrics or {},
                "lineage": r.lineage or {},
                "flavor_options": r.flavor_options or {},
                "aliases": aliases[r.id],
                "tags": tags[r.id],
                "trusted": bool(r.trusted),
                "status": r.status,
                "description": r.description,
                "created_by": r.created_by,
                "created_at": iso(r.created_at),
                "updated_at": iso(r.updated_at),
            }
            for r in rows
        ]

    def list_models(self, max_results: Any = None, page_token: str | None = None) -> dict[str, Any]:
        """``{"items": [model], "next_page_token"}``, newest change first."""
        limit, offset = page_bounds(max_results, page_token)
        with self.store.read() as conn:
            rows = conn.execute(
                select(RM)
                .where(readable(conn, "model", RM.c.id))
                .order_by(RM.c.updated_at.desc(), RM.c.name)
                .limit(limit + 1)
                .offset(offset)
            ).all()
            items = [self._model_dict(conn, r) for r in rows[:limit]]
        return {"items": items, "next_page_token": next_token(offset, limit, len(rows))}

    def get_model(self, name: Any) -> dict[str, Any]:
        with self.store.read() as conn:
            return self._model_dict(conn, self._model_row(conn, name))

    def list_versions(
        self, name: Any, max_results: Any = None, page_token: str | None = None
    ) -> dict[str, Any]:
        """``{"items": [version], "next_page_token"}``, newest version first."""
        limit, offset = page_bounds(max_results, page_token)
        with self.store.read() as conn:
            model = self._model_row(conn, name)
            rows = conn.execute(
                select(MV)
                .where(MV.c.model_id == model.id)
                .order_by(MV.c.version.desc())
                .limit(limit + 1)
                .offset(offset)
            ).all()
            items = self._version_dicts(conn, rows[:limit], model.name)
        return {"items": items, "next_page_token": next_token(offset, limit, len(rows))}

    def _version_row(self, conn: Connection, model: Any, version: Any) -> Any:
        number = to_int(version, "version")
        row = conn.execute(
            select(MV).where(MV.c.model_id == model.id, MV.c.version == number)
        ).first()
        if row is None:
            raise NotFound(f"Model {model.name!r} has no version {number}.", field="version")
        return row

    def get_version(self, name: Any, version: Any) -> dict[str, Any]:
        with self.store.read() as conn:
            model = self._model_row(conn, name)
            return self._version_dicts(conn, [self._version_row(conn, model, version)], model.name)[
                0
            ]

    def get_version_by_id(self, version_id: str) -> dict[str, Any]:
        validate_id(version_id, "version_id")
        with self.store.read() as conn:
            row = conn.execute(
                select(MV).where(MV.c.id == version_id, readable(conn, "model_version", MV.c.id))
            ).first()
            if row is None:
                raise NotFound(f"No model version with id {version_id!r}.", field="version_id")
            name = conn.execute(select(RM.c.name).where(RM.c.id == row.model_id)).scalar_one()
            return self._version_dicts(conn, [row], name)[0]

    def resolve(self, ref: Any) -> dict[str, Any]:
        """The version a reference names: ``name@alias``, ``name/3``, ``name`` (latest), or a
        version dict (re-read by its id)."""
        if isinstance(ref, dict):
            if ref.get("id"):
                return self.get_version_by_id(ref["id"])
            return self.get_version(ref.get("model_name"), ref.get("version"))
        name, alias, number = parse_ref(ref)
        with self.store.read() as conn:
            model = self._model_row(conn, name, "ref")
            if alias:
                row = conn.execute(
                    select(MV)
                    .join(MA, MA.c.version_id == MV.c.id)
                    .where(MA.c.model_id == model.id, MA.c.alias == alias)
                ).first()
                if row is None:
                    raise NotFound(f"Model {model.name!r} has no alias {alias!r}.", field="ref")
            elif number is not None:
                row = self._version_row(conn, model, number)
            else:
                row = conn.execute(
                    select(MV)
                    .where(MV.c.model_id == model.id)
                    .order_by(MV.c.version.desc())
                    .limit(1)
                ).first()
                if row is None:
                    raise NotFound(f"Model {model.name!r} has no versions yet.", field="ref")
            return self._version_dicts(conn, [row], model.name)[0]

    # -- creating versions ----------------------------------------------------------------
    def _read_meta(self, run_id: str, source: str) -> tuple[dict[str, Any], Sequence[Any]]:
        with self.store.read() as conn:
            if not conn.execute(select(R.c.id).where(R.c.id == run_id)).first():
                raise NotFound(f"No run with id {run_id!r}.", field="run_id")
            rows = conn.execute(
                select(A).where(
                    A.c.run_id == run_id, A.c.path.startswith(source + "/", autoescape=True)
                )
            ).all()
        meta_row = next((r for r in rows if r.path == f"{source}/{META_FILE}"), None)
        if meta_row is None:
            raise InvalidInput(
                f"Run {run_id} has no model at {source!r}: {source}/{META_FILE} is missing. "
                "Upload the folder written by labcycle.models.save_model_dir first.",
                field="source_path",
            )
        try:
            meta = json.loads(self.blobs.read_bytes(meta_row.digest))
        except ValueError:
            raise InvalidInput(
                f"{source}/{META_FILE} is not valid JSON.", field="source_path"
            ) from None
        if not isinstance(meta, dict) or not isinstance(meta.get("flavor"), str):
            raise InvalidInput(f"{source}/{META_FILE} does not name a flavor.", field="source_path")
        return meta, rows

    @staticmethod
    def _needs_trust(meta: dict[str, Any]) -> bool:
        from ..models.flavors import get_flavor
        from ..models.flavors.sklearn import allowed_type

        flavor = get_flavor(meta["flavor"])
        if flavor.requires_trust:
            return True
        untrusted = (meta.get("flavor_options") or {}).get("untrusted_types") or []
        return any(not allowed_type(str(t)) for t in untrusted)

    def _lineage(self, conn: Connection, run_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
        run = conn.execute(
            select(R, E.c.name.label("experiment_name"), P.c.name.label("project_name"))
            .join(E, E.c.id == R.c.experiment_id)
            .join(P, P.c.id == E.c.project_id)
            .where(R.c.id == run_id)
        ).one()  # the run exists: its artifacts are the source of the version
        datasets = conn.execute(
            select(D.c.id, D.c.name, D.c.digest, RI.c.context)
            .join(RI, RI.c.dataset_id == D.c.id)
            .where(RI.c.run_id == run_id)
            .order_by(D.c.name)
        ).all()
        metrics = {
            key: _json_safe(math.nan if value is None else value)
            for key, value in conn.execute(
                select(LM.c.key, LM.c.value).where(LM.c.run_id == run_id)
            )
        }
        lineage = {
            "run_id": run.id,
            "run_name": run.name,
            "experiment_id": run.experiment_id,
            "experiment_name": run.experiment_name,
            "project_name": run.project_name,
            "notebook_path": run.notebook_path,
            "source": run.source,
            "git_commit": run.git_commit,
            "user": run.user,
            "datasets": [
                {"id": d.id, "name": d.name, "digest": d.digest, "context": d.context}
                for d in datasets
            ],
        }
        return lineage, metrics

    def create_version(
        self,
        name: Any,
        *,
        run_id: Any,
        source_path: Any,
        actor: str,
        description: Any = None,
        tags: Any = None,
        trusted: Any = False,
        keep_source: bool = False,
    ) -> dict[str, Any]:
        """Register the model stored in run ``run_id`` under ``source_path`` as a new version.

        The model is created on first use. A flavor that runs code when loaded (pickle,
        joblib, python, or skops with types outside the allow-list) needs ``trusted=True``.
        """
        display, key = normalise_name(name)
        run_id = validate_id(run_id, "run_id")
        source = validate_artifact_path(source_path, "source_path").rstrip("/")
        if not isinstance(trusted, bool):
            raise InvalidInput("trusted must be true or false.", field="trusted")
        description = _description(description)
        clean_tags = _clean_tags(tags)
        meta, source_rows = self._read_meta(run_id, source)
        needs_trust = self._needs_trust(meta)
        if needs_trust and not trusted:
            raise Forbidden(
                f"This {meta['flavor']}-flavor model runs its own code when it is loaded; register "
                "it with trusted=True (recorded in the audit log) if you trust it, or log a "
                "scikit-learn model with the default sklearn (skops) flavor.",
                field="trusted",
            )
        now = now_ms()
        with self.store.write() as conn:
            inserted = conn.execute(
                insert_on_conflict(conn, RM)
                .values(
                    id=new_id(),
                    name=display,
                    name_key=key,
                    description="",
                    last_version=0,
                    created_by=actor,
                    created_at=now,
                    updated_at=now,
                )
                .on_conflict_do_nothing(index_elements=["name_key"])
                .returning(RM.c.id)
            ).first()
            model = conn.execute(select(RM).where(RM.c.name_key == key)).one()
            if model.name != display:
                raise Conflict(
                    f"A model named {model.name!r} already exists, and {display!r} is the same "
                    "name once case, Unicode form and URL-encoding are normalised. Use "
                    f"{model.name!r} to add a version to it, or choose another name.",
                    field="name",
                    existing=model.name,
                    existing_id=model.id,
                )
            created_model = inserted is not None
            # The row lock taken by this UPDATE serialises concurrent registrations on
            # PostgreSQL; SQLite writers already hold the database lock (BEGIN IMMEDIATE).
            conn.execute(
                update(RM)
                .where(RM.c.id == model.id)
                .values(last_version=RM.c.last_version + 1, updated_at=now)
            )
            number = conn.execute(select(RM.c.last_version).where(RM.c.id == model.id)).scalar()
            prefix = f"models/{name_segment(model.name)}/v{number}"
            validate_artifact_path(prefix, "name")
            files = []
            for row in sorted(source_rows, key=lambda r: r.path):
                relative = row.path[len(source) + 1 :]
                files.append({"path": relative, "digest": row.digest, "size": row.size})
                conn.execute(
                    delete(A).where(A.c.run_id == run_id, A.c.path == f"{prefix}/{relative}")
                )
                conn.execute(
                    insert(A).values(
                        run_id=run_id,
                        path=f"{prefix}/{relative}",
                        digest=row.digest,
                        size=row.size,
                        media_type=row.media_type,
                        created_at=now,
                    )
                )
            if not keep_source:
                conn.execute(
                    delete(A).where(
                        A.c.run_id == run_id, A.c.path.in_([r.path for r in source_rows])
                    )
                )
            lineage, metrics = self._lineage(conn, run_id)
            version_id = new_id()
            conn.execute(
                insert(MV).values(
                    id=version_id,
                    model_id=model.id,
                    version=number,
                    flavor=meta["flavor"],
                    run_id=run_id,
                    artifact_prefix=prefix,
                    files=files,
                    signature=meta.get("signature"),
                    environment=meta.get("environment"),
                    metrics=metrics,
                    lineage=lineage,
                    flavor_options=meta.get("flavor_options"),
                    trusted=needs_trust,
                    status="ready",
                    description=description,
                    created_by=actor,
                    created_at=now,
                    updated_at=now,
                )
            )
            if clean_tags:
                conn.execute(
                    insert(MVT),
                    [
                        {"version_id": version_id, "key": k, "value": v}
                        for k, v in clean_tags.items()
                    ],
                )
            if created_model:
                audit(conn, actor, "model.create", "model", model.id, {"name": model.name})
            audit(
                conn,
                actor,
                "model.version.create",
                "model_version",
                version_id,
                {
                    "model": model.name,
                    "version": number,
                    "run_id": run_id,
                    "flavor": meta["flavor"],
                    "trusted": needs_trust,
                    "artifact_prefix": prefix,
                },
            )
            if needs_trust:
                audit(
                    conn,
                    actor,
                    "model.log.trusted",
                    "model_version",
                    version_id,
                    {"model": model.name, "version": number, "flavor": meta["flavor"]},
                )
            row = conn.execute(select(MV).where(MV.c.id == version_id)).one()
            return self._version_dicts(conn, [row], model.name)[0]

    def create_model(
        self, name: Any, *, actor: str, description: Any = None, tags: Any = None
    ) -> dict[str, Any]:
        """A registered model with no version yet (versions also create their model on
        first use). 409 when the name, once normalised, is taken."""
        display, key = normalise_name(name)
        description = _description(description)
        clean_tags = _clean_tags(tags)
        now = now_ms()
        with self.store.write() as conn:
            inserted = conn.execute(
                insert_on_conflict(conn, RM)
                .values(
                    id=new_id(),
                    name=display,
                    name_key=key,
                    description=description,
                    last_version=0,
                    created_by=actor,
                    created_at=now,
                    updated_at=now,
                )
                .on_conflict_do_nothing(index_elements=["name_key"])
                .returning(RM.c.id)
            ).first()
            if inserted is None:
                existing = conn.execute(select(RM.c.name).where(RM.c.name_key == key)).scalar()
                raise Conflict(
                    f"A registered model named {existing!r} already exists.",
                    field="name",
                    existing=existing,
                )
            if clean_tags:
                conn.execute(
                    insert(RMT),
                    [
                        {"model_id": inserted.id, "key": k, "value": v}
                        for k, v in clean_tags.items()
                    ],
                )
            audit(conn, actor, "model.create", "model", inserted.id, {"name": display})
            return self._model_dict(
                conn, conn.execute(select(RM).where(RM.c.id == inserted.id)).one()
            )

    # -- changing -------------------------------------------------------------------------
    def update_version(
        self, name: Any, version: Any, *, actor: str, description: Any = None, tags: Any = None
    ) -> dict[str, Any]:
        """Change a version's description and/or tags (set; a tag with value None is removed)."""
        if description is None and tags is None:
            raise InvalidInput("Give a description or tags to change.", field="body")
        if tags is not None and not isinstance(tags, dict):
            raise InvalidInput("tags must be an object of key → value.", field="tags")
        removed = [validate_key(k, f"tags.{k}") for k, v in (tags or {}).items() if v is None]
        clean = _clean_tags({k: v for k, v in (tags or {}).items() if v is not None})
        with self.store.write() as conn:
            model = self._model_row(conn, name)
            row = self._version_row(conn, model, version)
            before = {"description": row.description}
            values: dict[str, Any] = {"updated_at": now_ms()}
            if description is not None:
                values["description"] = _description(description)
            conn.execute(update(MV).where(MV.c.id == row.id).values(**values))
            if removed or clean:
                conn.execute(
                    delete(MVT).where(
                        MVT.c.version_id == row.id, MVT.c.key.in_(removed + list(clean))
                    )
                )
            if clean:
                conn.execute(
                    insert(MVT),
                    [{"version_id": row.id, "key": k, "value": v} for k, v in clean.items()],
                )
            audit(
                conn,
                actor,
                "model.version.update",
                "model_version",
                row.id,
                {
                    "model": model.name,
                    "version": row.version,
                    "before": before,
                    "after": {"description": values.get("description", row.description)},
                    "tags_set": clean or None,
                    "tags_removed": removed or None,
                },
            )
            row = conn.execute(select(MV).where(MV.c.id == row.id)).one()
            return self._version_dicts(conn, [row], model.name)[0]

    def update_model(
        self, name: Any, *, actor: str, description: Any = None, tags: Any = None
    ) -> dict[str, Any]:
        if description is None and tags is None:
            raise InvalidInput("Give a description or tags to change.", field="body")
        clean = (
            _clean_tags({k: v for k, v in (tags or {}).items() if v is not None})
            if tags is not None
            else {}
        )
        with self.store.write() as conn:
            model = self._model_row(conn, name)
            values: dict[str, Any] = {"updated_at": now_ms()}
            if description is not None:
                values["description"] = _description(description)
            conn.execute(update(RM).where(RM.c.id == model.id).values(**values))
            if tags is not None:
                conn.execute(
                    delete(RMT).where(RMT.c.model_id == model.id, RMT.c.key.in_(list(tags)))
                )
                if clean:
                    conn.execute(
                        insert(RMT),
                        [{"model_id": model.id, "key": k, "value": v} for k, v in clean.items()],
                    )
            audit(
                conn,
                actor,
                "model.update",
                "model",
                model.id,
                {
                    "before": {"description": model.description},
                    "after": {"description": values.get("description", model.description)},
                    "tags": clean or None,
                },
            )
            return self._model_dict(conn, conn.execute(select(RM).where(RM.c.id == model.id)).one())

    def set_alias(self, name: Any, alias: Any, version: Any, *, actor: str) -> dict[str, Any]:
        """Point ``alias`` at ``version`` (moving it if it pointed elsewhere); returns the
        version dict it now names. Audited with the version before and after."""
        alias = normalise_alias(alias)
        now = now_ms()
        with self.store.write() as conn:
            model = self._model_row(conn, name)
            target = self._version_row(conn, model, version)
            previous = conn.execute(
                select(MV.c.version)
                .join(MA, MA.c.version_id == MV.c.id)
                .where(MA.c.model_id == model.id, MA.c.alias == alias)
            ).scalar()
            stmt = insert_on_conflict(conn, MA).values(
                model_id=model.id,
                alias=alias,
                version_id=target.id,
                created_by=actor,
                created_at=now,
                updated_at=now,
            )
            conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=["model_id", "alias"],
                    set_={"version_id": target.id, "updated_at": now, "created_by": actor},
                )
            )
            conn.execute(update(RM).where(RM.c.id == model.id).values(updated_at=now))
            audit(
                conn,
                actor,
                "model.alias.set",
                "model",
                model.id,
                {
                    "model": model.name,
                    "alias": alias,
                    "before": previous,
                    "after": target.version,
                },
            )
            return self._version_dicts(conn, [target], model.name)[0]

    def delete_alias(self, name: Any, alias: Any, *, actor: str) -> None:
        alias = normalise_alias(alias)
        with self.store.write() as conn:
            model = self._model_row(conn, name)
            previous = conn.execute(
                select(MV.c.version)
                .join(MA, MA.c.version_id == MV.c.id)
                .where(MA.c.model_id == model.id, MA.c.alias == alias)
            ).scalar()
            if previous is None:
                raise NotFound(f"Model {model.name!r} has no alias {alias!r}.", field="alias")
            conn.execute(delete(MA).where(MA.c.model_id == model.id, MA.c.alias == alias))
            conn.execute(update(RM).where(RM.c.id == model.id).values(updated_at=now_ms()))
            audit(
                conn,
                actor,
                "model.alias.delete",
                "model",
                model.id,
                {"model": model.name, "alias": alias, "before": previous, "after": None},
            )

    def record_trusted_load(self, version_id: str, *, actor: str, purpose: str = "load") -> None:
        """Audit a decision to load a version with ``trusted=True`` (``model.load.trusted``)."""
        validate_id(version_id, "version_id")
        with self.store.write() as conn:
            row = conn.execute(
                select(MV.c.id, MV.c.version, MV.c.flavor, RM.c.name)
                .join(RM, RM.c.id == MV.c.model_id)
                .where(MV.c.id == version_id)
            ).first()
            if row is None:
                raise NotFound(f"No model version with id {version_id!r}.", field="version_id")
            audit(
                conn,
                actor,
                "model.load.trusted",
                "model_version",
                version_id,
                {
                    "model": row.name,
                    "version": row.version,
                    "flavor": row.flavor,
                    "purpose": purpose,
                },
            )
