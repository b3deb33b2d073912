"""Projects and experiments: the folders that every run belongs to."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, insert, select
from sqlalchemy.exc import IntegrityError

from ..errors import Conflict, NotFound
from ..store import Store
from ..store.models import Experiment, Project, Run
from .common import audit, iso, new_id, next_token, now_ms, page_bounds, validate_id, validate_name

DEFAULT_PROJECT = "default"
P, E, R = Project.__table__, Experiment.__table__, Run.__table__


def project_dict(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "description": row.description,
        "created_by": row.created_by,
        "created_at": iso(row.created_at),
        "updated_at": iso(row.updated_at),
    }


class ProjectService:
    def __init__(self, store: Store) -> None:
        self.store = store

    # -- projects -----------------------------------------------------------------------
    def create_project(self, name: str, *, actor: str, description: str = "") -> dict[str, Any]:
        name = validate_name(name, "name")
        with self.store.write() as conn:
            if conn.execute(select(P.c.id).where(P.c.name == name)).first():
                raise Conflict(f"A project named {name!r} exists already.", field="name")
            try:
                with conn.begin_nested():
                    row = self._insert_project(conn, name, description or "", actor)
            except IntegrityError:  # created meanwhile by another process (PostgreSQL)
                raise Conflict(f"A project named {name!r} exists already.", field="name") from None
        return project_dict(row)

    def _insert_project(self, conn: Connection, name: str, description: str, actor: str) -> Any:
        now = now_ms()
        values = dict(id=new_id(), name=name, description=description, created_by=actor,
                      created_at=now, updated_at=now)
        conn.execute(insert(P).values(**values))
        audit(conn, actor, "project.create", "project", values["id"], {"name": name})
        return conn.execute(select(P).where(P.c.id == values["id"])).one()

    def get_project(self, project_id: str) -> dict[str, Any]:
        validate_id(project_id, "project_id")
        with self.store.read() as conn:
            row = conn.execute(select(P).where(P.c.id == project_id)).first()
        if row is None:
            raise NotFound(f"No project with id {project_id!r}.")
        return project_dict(row)

    def list_projects(self, max_results: Any = None, page_token: str | None = None) -> dict:
        limit, offset = page_bounds(max_results, page_token)
        with self.store.read() as conn:
            rows = conn.execute(
                select(P).order_by(P.c.name).limit(limit + 1).offset(offset)
            ).all()
        return {
            "items": [project_dict(r) for r in rows[:limit]],
            "next_page_token": next_token(offset, limit, len(rows)),
        }

    def ensure_project(self, conn: Connection, name: str, actor: str) -> str:
        """The id of the project named ``name``, created if missing (inside ``conn``)."""
        name = validate_name(name, "project")
        found = conn.execute(select(P.c.id).where(P.c.name == name)).scalar()
        if found:
            return found
        try:
            with conn.begin_nested():
                return self._insert_project(conn, name, "", actor).id
        except IntegrityError:  # created meanwhile by another process (PostgreSQL)
            return conn.execute(select(P.c.id).where(P.c.name == name)).scalar_one()

    # -- experiments --------------------------------------------------------------------
    def _experiment_query(self):
        stats = (
            select(
                R.c.experiment_id,
                func.count().label("run_count"),
                func.max(R.c.start_time).label("last_run_at"),
            )
            .group_by(R.c.experiment_id)
            .subquery()
        )
        return (
            select(E, P.c.name.label("project_name"), stats.c.run_count, stats.c.last_run_at)
            .join(P, P.c.id == E.c.project_id)
            .outerjoin(stats, stats.c.experiment_id == E.c.id)
        )

    @staticmethod
    def _experiment_dict(row: Any) -> dict[str, Any]:
        return {
            "id": row.id,
            "project_id": row.project_id,
            "project_name": row.project_name,
            "name": row.name,
            "description": row.description,
            "created_by": row.created_by,
            "created_at": iso(row.created_at),
            "updated_at": iso(row.updated_at),
            "run_count": row.run_count or 0,
            "last_run_at": iso(row.last_run_at),
        }

    def create_experiment(
        self,
        name: str,
        *,
        actor: str,
        project_id: str | None = None,
        project: str | None = None,
        description: str = "",
    ) -> dict[str, Any]:
        name = validate_name(name, "name")
        with self.store.write() as conn:
            project_id = self._resolve_project(conn, project_id, project, actor)
            exists = conn.execute(
                select(E.c.id).where(E.c.project_id == project_id, E.c.name == name)
            ).first()
            if exists:
                raise Conflict(f"The project has an experiment named {name!r} already.", field="name")
            try:
                with conn.begin_nested():
                    experiment_id = self._insert_experiment(conn, project_id, name, description, actor)
            except IntegrityError:  # created meanwhile by another process (PostgreSQL)
                raise Conflict(
                    f"The project has an experiment named {name!r} already.", field="name"
                ) from None
        return self.get_experiment(experiment_id)

    def _resolve_project(
        self, conn: Connection, project_id: str | None, project: str | None, actor: str
    ) -> str:
        if project_id:
            validate_id(project_id, "project_id")
            if not conn.execute(select(P.c.id).where(P.c.id == project_id)).first():
                raise NotFound(f"No project with id {project_id!r}.", field="project_id")
            return project_id
        return self.ensure_project(conn, project or DEFAULT_PROJECT, actor)

    def _insert_experiment(
        self, conn: Connection, project_id: str, name: str, description: str, actor: str
    ) -> str:
        now = now_ms()
        experiment_id = new_id()
        conn.execute(
            insert(E).values(id=experiment_id, project_id=project_id, name=name,
                             description=description or "", created_by=actor,
                             created_at=now, updated_at=now)
        )
        audit(conn, actor, "experiment.create", "experiment", experiment_id,
              {"name": name, "project_id": project_id})
        return experiment_id

    def ensure_experiment(
        self, conn: Connection, name: str, project: str | None, actor: str
    ) -> str:
        """The id of experiment ``name`` in ``project`` (default project if None), created if missing."""
        name = validate_name(name, "experiment")
        project_id = self.ensure_project(conn, project or DEFAULT_PROJECT, actor)
        found = conn.execute(
            select(E.c.id).where(E.c.project_id == project_id, E.c.name == name)
        ).scalar()
        if found:
            return found
        try:
            with conn.begin_nested():
                return self._insert_experiment(conn, project_id, name, "", actor)
        except IntegrityError:  # created meanwhile by another process
            return conn.execute(
                select(E.c.id).where(E.c.project_id == project_id, E.c.name == name)
            ).scalar_one()

    def get_experiment(self, experiment_id: str) -> dict[str, Any]:
        validate_id(experiment_id, "experiment_id")
        with self.store.read() as conn:
            row = conn.execute(self._experiment_query().where(E.c.id == experiment_id)).first()
        if row is None:
            raise NotFound(f"No experiment with id {experiment_id!r}.")
        return self._experiment_dict(row)

    def find_experiment(self, name: str, project: str | None = None) -> dict[str, Any]:
        query = self._experiment_query().where(E.c.name == name)
        if project:
            query = query.where(P.c.name == project)
        with self.store.read() as conn:
            rows = conn.execute(query).all()
        if not rows:
            raise NotFound(f"No experiment named {name!r}" + (f" in project {project!r}." if project else "."))
        if len(rows) > 1:
            raise Conflict(
                f"{len(rows)} projects have an experiment named {name!r}; name the project too.",
                field="project",
            )
        return self._experiment_dict(rows[0])

    def list_experiments(
        self, project_id: str | None = None, max_results: Any = None, page_token: str | None = None
    ) -> dict:
        limit, offset = page_bounds(max_results, page_token)
        query = self._experiment_query()
        if project_id:
            query = query.where(E.c.project_id == validate_id(project_id, "project_id"))
        with self.store.read() as conn:
            rows = conn.execute(
                query.order_by(P.c.name, E.c.name).limit(limit + 1).offset(offset)
            ).all()
        return {
            "items": [self._experiment_dict(r) for r in rows[:limit]],
            "next_page_token": next_token(offset, limit, len(rows)),
        }
