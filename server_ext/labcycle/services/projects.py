"""Projects and experiments: the folders that every run belongs to.

Projects are also the hub's top entities: a Markdown README (``description``),
owners and members with roles (:mod:`.access`), tags, a status (active/archived), the git
repository they live in, a policy (``settings``: ``require_approval``, ``approvers``), an
activity feed (the audit log of everything that belongs to them) and an import of a folder
(its README.md and git remote).
"""

from __future__ import annotations

import configparser
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import Connection, and_, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from ..errors import Conflict, InvalidInput, NotFound
from ..store import Store
from ..store.models import (
    AuditEvent,
    Experiment,
    Project,
    ProjectMember,
    Run,
)
from .access import ROLES, AccessService
from .common import (
    audit,
    iso,
    new_id,
    next_token,
    now_ms,
    page_bounds,
    validate_id,
    validate_name,
)
from .ownership import can_read, readable
from .paths import is_inside, resolve_under

DEFAULT_PROJECT = "default"
P, E, R = Project.__table__, Experiment.__table__, Run.__table__
PM, AE = ProjectMember.__table__, AuditEvent.__table__
STATUSES = ("active", "archived")
MAX_README = 1_000_000  # characters of a README kept as the description
MAX_TAGS = 50
README_NAMES = (
    "README.md",
    "readme.md",
    "Readme.md",
    "README.markdown",
    "README.rst",
    "README.txt",
    "README",
)
_GIT_URL = re.compile(r"^(?:(?:https?|ssh|git|file)://\S+|[\w.-]+@[\w.-]+:\S+)$")


def project_dict(row: Any, members: dict[str, str] | None = None) -> dict[str, Any]:
    members = members or {}
    settings = getattr(row, "settings", None) or {}
    return {
        "id": row.id,
        "name": row.name,
        "description": row.description,
        "created_by": row.created_by,
        "created_at": iso(row.created_at),
        "updated_at": iso(row.updated_at),
        "tags": list(getattr(row, "tags", None) or []),
        "status": getattr(row, "status", None) or "active",
        "git_url": getattr(row, "git_url", None),
        "source_path": getattr(row, "source_path", None),
        "owners": [u for u, r in members.items() if r == "owner"],
        "member_count": len(members),
        "settings": {
            "require_approval": bool(settings.get("require_approval")),
            "approvers": list(settings.get("approvers") or []),
        },
        "updated_by": getattr(row, "updated_by", None) or row.created_by,
    }


def validate_tags(tags: Any) -> list[str]:
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise InvalidInput("tags must be a list of strings.", field="tags")
    out: list[str] = []
    for i, tag in enumerate(tags):
        tag = validate_name(tag, f"tags[{i}]", 64)
        if tag not in out:
            out.append(tag)
    if len(out) > MAX_TAGS:
        raise InvalidInput(f"A project may have at most {MAX_TAGS} tags.", field="tags")
    return out


def clean_git_url(url: Any, field: str = "git_url") -> str | None:
    """A repository URL without credentials (https://user:token@host/... → https://host/...)."""
    if url is None or url == "":
        return None
    if not isinstance(url, str) or len(url) > 1000 or any(ord(c) < 33 for c in url.strip()):
        raise InvalidInput(
            f"{field} must be a repository URL of at most 1000 characters, "
            "without spaces or control characters.",
            field=field,
        )
    url = url.strip()
    if not _GIT_URL.match(url):
        raise InvalidInput(
            f"{field} {url!r} is not a repository URL (https://host/org/repo.git, "
            "ssh://..., git@host:org/repo.git).",
            field=field,
        )
    if "://" in url:
        parts = urlsplit(url)
        if parts.password or (parts.username and parts.scheme in ("http", "https")):
            host = parts.hostname or ""
            netloc = host + (f":{parts.port}" if parts.port else "")
            url = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    return url


def validate_description(description: Any) -> str:
    if not isinstance(description, str):
        raise InvalidInput("description must be a string (Markdown).", field="description")
    if len(description) > MAX_README:
        raise InvalidInput(
            f"description may have at most {MAX_README:,} characters.", field="description"
        )
    if "\x00" in description:
        raise InvalidInput("description may not contain NUL characters.", field="description")
    return description


def validate_user(user: Any, field: str = "user") -> str:
    user = validate_name(user, field)
    if any(c in user for c in "/\\") or user != user.strip():
        raise InvalidInput(f"{field} {user!r} is not a user name.", field=field)
    return user


class ProjectService:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.access = AccessService(store)

    # -- projects -----------------------------------------------------------------------
    def create_project(
        self,
        name: str,
        *,
        actor: str,
        description: str = "",
        tags: Any = None,
        git_url: Any = None,
        status: Any = None,
    ) -> dict[str, Any]:
        name = validate_name(name, "name")
        extra = self._hub_values(
            description=description or "", tags=tags, git_url=git_url, status=status
        )
        with self.store.write() as conn:
            if conn.execute(select(P.c.id).where(P.c.name == name)).first():
                raise Conflict(f"A project named {name!r} exists already.", field="name")
            try:
                with conn.begin_nested():
                    row = self._insert_project(
                        conn, name, extra.pop("description", ""), actor, **extra
                    )
            except IntegrityError:  # created meanwhile by another process (PostgreSQL)
                raise Conflict(f"A project named {name!r} exists already.", field="name") from None
        return project_dict(row)

    def _insert_project(
        self, conn: Connection, name: str, description: str, actor: str, **extra: Any
    ) -> Any:
        now = now_ms()
        values = dict(
            id=new_id(),
            name=name,
            description=description,
            created_by=actor,
            created_at=now,
            updated_at=now,
            status="active",
            **extra,
        )
        conn.execute(insert(P).values(**values))
        audit(
            conn,
            actor,
            "project.create",
            "project",
            values["id"],
            {"name": name, **{k: v for k, v in extra.items() if k != "source_path"}},
        )
        return conn.execute(select(P).where(P.c.id == values["id"])).one()

    @staticmethod
    def _hub_values(**fields: Any) -> dict[str, Any]:
        """Validated column values of the hub fields given (None = not given)."""
        out: dict[str, Any] = {}
        if fields.get("description") is not None:
            out["description"] = validate_description(fields["description"])
        if fields.get("tags") is not None:
            out["tags"] = validate_tags(fields["tags"])
        if fields.get("git_url") is not None:
            out["git_url"] = clean_git_url(fields["git_url"])
        if fields.get("status") is not None:
            if fields["status"] not in STATUSES:
                raise InvalidInput("status must be 'active' or 'archived'.", field="status")
            out["status"] = fields["status"]
        return out

    def _project_row(self, conn: Connection, project_id: str) -> Any:
        validate_id(project_id, "project_id")
        row = conn.execute(select(P).where(P.c.id == project_id)).first()
        if row is None:
            row = conn.execute(select(P).where(P.c.name == project_id)).first()
        if row is None or not can_read(conn, "project", row.id):
            raise NotFound(f"No project with id {project_id!r}.")
        return row

    def get_project(self, project_id: str) -> dict[str, Any]:
        """A project by id (or by name)."""
        with self.store.read() as conn:
            row = self._project_row(conn, project_id)
            return project_dict(row, self.access.members(conn, row.id))

    def list_projects(
        self,
        max_results: Any = None,
        page_token: str | None = None,
        *,
        status: str | None = None,
        tag: str | None = None,
        member: str | None = None,
    ) -> dict:
        limit, offset = page_bounds(max_results, page_token)
        query = select(P)
        with self.store.read() as conn:
            query = query.where(readable(conn, "project", P.c.id))
        if status:
            if status not in STATUSES:
                raise InvalidInput("status must be 'active' or 'archived'.", field="status")
            query = query.where(P.c.status == status)
        if member:
            query = query.where(P.c.id.in_(select(PM.c.project_id).where(PM.c.user == member)))
        page: Sequence[Any]
        if tag:  # few projects: filtering tags (a JSON list) in Python stays portable
            with self.store.read() as conn:
                rows = [
                    r for r in conn.execute(query.order_by(P.c.name)).all() if tag in (r.tags or [])
                ]
                page = rows[offset : offset + limit + 1]
                members = self._members_of(conn, [r.id for r in page[:limit]])
        else:
            with self.store.read() as conn:
                page = conn.execute(query.order_by(P.c.name).limit(limit + 1).offset(offset)).all()
                members = self._members_of(conn, [r.id for r in page[:limit]])
        return {
            "items": [project_dict(r, members.get(r.id)) for r in page[:limit]],
            "next_page_token": next_token(offset, limit, len(page)),
        }

    @staticmethod
    def _members_of(conn: Connection, ids: list[str]) -> dict[str, dict[str, str]]:
        out: dict[str, dict[str, str]] = {}
        if ids:
            for pid, user, role in conn.execute(
                select(PM.c.project_id, PM.c.user, PM.c.role)
                .where(PM.c.project_id.in_(ids))
                .order_by(PM.c.user)
            ):
                out.setdefault(pid, {})[user] = role
        return out

    def update_project(
        self,
        project_id: str,
        *,
        actor: str,
        name: Any = None,
        description: Any = None,
        tags: Any = None,
        status: Any = None,
        git_url: Any = ...,
        require_approval: Any = None,
        approvers: Any = None,
    ) -> dict[str, Any]:
        """Change a project's README, tags, status, repository or name (editors), or its
        policy: ``require_approval`` and ``approvers`` (owners). Audited with before/after."""
        values = self._hub_values(description=description, tags=tags, status=status)
        if git_url is not ...:
            values["git_url"] = clean_git_url(git_url)
        if name is not None:
            values["name"] = validate_name(name, "name")
        policy: dict[str, Any] = {}
        if require_approval is not None:
            if not isinstance(require_approval, bool):
                raise InvalidInput(
                    "require_approval must be true or false.", field="require_approval"
                )
            policy["require_approval"] = require_approval
        if approvers is not None:
            if not isinstance(approvers, list):
                raise InvalidInput("approvers must be a list of user names.", field="approvers")
            policy["approvers"] = list(
                dict.fromkeys(validate_user(u, f"approvers[{i}]") for i, u in enumerate(approvers))
            )
        if not values and not policy:
            raise InvalidInput(
                "Nothing to change: give name, description, tags, status, git_url, "
                "require_approval or approvers.",
                field="body",
            )
        with self.store.write() as conn:
            row = self._project_row(conn, project_id)
            if policy:
                self.access.check(
                    conn, [row.id], actor, "owner", what="change the project's approval policy"
                )
                values["settings"] = {**(row.settings or {}), **policy}
            if (
                "name" in values
                and values["name"] != row.name
                and conn.execute(select(P.c.id).where(P.c.name == values["name"])).first()
            ):
                raise Conflict(f"A project named {values['name']!r} exists already.", field="name")
            before = {k: getattr(row, k) for k in values}
            conn.execute(
                update(P)
                .where(P.c.id == row.id)
                .values(**values, updated_at=now_ms(), updated_by=actor)
            )
            shown = {k: v for k, v in values.items() if k != "description"}
            if "description" in values:  # READMEs can be long: the audit keeps their size
                shown["description_chars"] = len(values["description"])
                before["description_chars"] = len(before.pop("description") or "")
            audit(
                conn, actor, "project.update", "project", row.id, {"before": before, "after": shown}
            )
        return self.get_project(row.id)

    # -- members --------------------------------------------------------------------------
    def list_members(self, project_id: str) -> dict[str, Any]:
        with self.store.read() as conn:
            row = self._project_row(conn, project_id)
            rows = conn.execute(
                select(PM).where(PM.c.project_id == row.id).order_by(PM.c.user)
            ).all()
        return {
            "project_id": row.id,
            "open": not rows,
            "items": [self._member_dict(m) for m in rows],
        }

    @staticmethod
    def _member_dict(m: Any) -> dict[str, Any]:
        return {
            "project_id": m.project_id,
            "user": m.user,
            "role": m.role,
            "added_by": m.added_by,
            "at": iso(m.at),
        }

    def get_member(self, project_id: str, user: str) -> dict[str, Any]:
        user = validate_user(user)
        with self.store.read() as conn:
            row = self._project_row(conn, project_id)
            m = conn.execute(select(PM).where(PM.c.project_id == row.id, PM.c.user == user)).first()
            if m is None:
                role = self.access.role_in(conn, row.id, user)
                raise NotFound(
                    f"{user} is not a member of project {row.name!r}"
                    + (
                        f" (their role is {role}: the project has no members, so it is open)."
                        if role == "owner"
                        else "."
                    ),
                    field="user",
                )
        return self._member_dict(m)

    def set_member(self, project_id: str, user: str, role: Any, *, actor: str) -> dict[str, Any]:
        """Add ``user`` with ``role`` or change their role (owners only). Making the first
        member of an open project also adds the actor as an owner, so it keeps one."""
        user = validate_user(user)
        if role not in ROLES:
            raise InvalidInput("role must be one of viewer, editor, owner.", field="role")
        with self.store.write() as conn:
            row = self._project_row(conn, project_id)
            self.access.check(conn, [row.id], actor, "owner", what="change the project's members")
            members = self.access.members(conn, row.id)
            now = now_ms()
            changes = {user: role}
            if not members and user != actor:
                changes = {actor: "owner", user: role}
            elif not members and role != "owner":
                raise Conflict(
                    f"Project {row.name!r} has no members yet; its first member must be "
                    "an owner (add yourself as owner first).",
                    field="role",
                )
            after = {**members, **changes}
            if "owner" not in after.values():
                raise Conflict(
                    f"Project {row.name!r} must keep an owner: make someone else owner "
                    f"before changing {user}'s role.",
                    field="role",
                )
            for who, their_role in changes.items():
                before = members.get(who)
                if before == their_role:
                    continue
                if before is None:
                    conn.execute(
                        insert(PM).values(
                            project_id=row.id, user=who, role=their_role, added_by=actor, at=now
                        )
                    )
                else:
                    conn.execute(
                        update(PM)
                        .where(PM.c.project_id == row.id, PM.c.user == who)
                        .values(role=their_role, added_by=actor, at=now)
                    )
                audit(
                    conn,
                    actor,
                    "project.member.set",
                    "project",
                    row.id,
                    {"user": who, "before": before, "after": their_role},
                )
            m = conn.execute(select(PM).where(PM.c.project_id == row.id, PM.c.user == user)).one()
            return self._member_dict(m)

    def remove_member(self, project_id: str, user: str, *, actor: str) -> None:
        user = validate_user(user)
        with self.store.write() as conn:
            row = self._project_row(conn, project_id)
            self.access.check(conn, [row.id], actor, "owner", what="change the project's members")
            members = self.access.members(conn, row.id)
            if user not in members:
                raise NotFound(f"{user} is not a member of project {row.name!r}.", field="user")
            rest = {u: r for u, r in members.items() if u != user}
            if rest and "owner" not in rest.values():
                raise Conflict(
                    f"{user} is the last owner of project {row.name!r}: make someone "
                    "else owner first (or remove every other member to open the "
                    "project again).",
                    field="user",
                )
            conn.execute(delete(PM).where(PM.c.project_id == row.id, PM.c.user == user))
            audit(
                conn,
                actor,
                "project.member.remove",
                "project",
                row.id,
                {"user": user, "before": members[user], "after": None},
            )

    # -- activity -------------------------------------------------------------------------
    def entity_filter(self, conn: Connection, project_id: str, project_name: str) -> Any:
        """A WHERE clause on audit_events: events of the project and of everything in it
        (which entity is in which project: :mod:`.ownership`)."""
        from .ownership import entity_ids_in

        kinds = (
            "experiment",
            "run",
            "model_version",
            "model",
            "deployment",
            "monitor",
            "job",
            "sweep",
        )
        return or_(
            and_(AE.c.entity_type == "project", AE.c.entity_id == project_id),
            *(
                and_(
                    AE.c.entity_type == kind, AE.c.entity_id.in_(entity_ids_in(kind, [project_id]))
                )
                for kind in kinds
            ),
        )

    def activity(
        self, project_id: str, max_results: Any = None, page_token: str | None = None
    ) -> dict[str, Any]:
        """The audit events of the project and of its experiments, runs, model versions,
        models, deployments, monitors, jobs and sweeps, newest first."""
        from .audit import event_dict

        limit, offset = page_bounds(max_results, page_token, default=50)
        with self.store.read() as conn:
            row = self._project_row(conn, project_id)
            rows = conn.execute(
                select(AE)
                .where(self.entity_filter(conn, row.id, row.name))
                .order_by(AE.c.id.desc())
                .limit(limit + 1)
                .offset(offset)
            ).all()
        return {
            "project_id": row.id,
            "items": [event_dict(r) for r in rows[:limit]],
            "next_page_token": next_token(offset, limit, len(rows)),
        }

    # -- import of a folder -----------------------------------------------------------------
    def import_folder(
        self, path: Any, *, root: str, actor: str, name: Any = None
    ) -> dict[str, Any]:
        """Create (or update) the project of a folder under ``root`` (the Jupyter server's
        contents root): its README (README.md, ...) becomes the description and its git
        remote (``origin``, else the first) the repository. The project is named ``name`` or
        after the folder. Returns ``{"project", "created", "readme", "git_url"}``."""
        folder, relative = resolve_under(root, path)
        if not folder.is_dir():
            raise InvalidInput(
                f"{relative or '.'} is not a folder under the server's root.", field="path"
            )
        base = Path(root).resolve()
        name = validate_name(name if name is not None else (folder.name or base.name), "name")
        readme_name, readme = read_readme(folder, base)
        git_url = read_git_remote(folder, base)
        with self.store.write() as conn:
            row = conn.execute(select(P).where(P.c.name == name)).first()
            values: dict[str, Any] = {"source_path": relative or "."}
            if readme is not None:
                values["description"] = readme
            if git_url:
                values["git_url"] = git_url
            if row is None:
                try:
                    with conn.begin_nested():
                        row = self._insert_project(
                            conn, name, values.pop("description", ""), actor, **values
                        )
                except IntegrityError:
                    raise Conflict(
                        f"A project named {name!r} was created meanwhile; import "
                        "again to update it.",
                        field="name",
                    ) from None
                created = True
            else:
                self.access.check(conn, [row.id], actor, "editor", what="update this project")
                before = {k: getattr(row, k) for k in values if k != "description"}
                conn.execute(
                    update(P)
                    .where(P.c.id == row.id)
                    .values(**values, updated_at=now_ms(), updated_by=actor)
                )
                audit(
                    conn,
                    actor,
                    "project.import",
                    "project",
                    row.id,
                    {
                        "path": relative or ".",
                        "readme": readme_name,
                        "before": before,
                        "after": {k: v for k, v in values.items() if k != "description"},
                    },
                )
                created = False
            project_id = row.id
        return {
            "project": self.get_project(project_id),
            "created": created,
            "readme": readme_name,
            "git_url": git_url,
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
                raise Conflict(
                    f"The project has an experiment named {name!r} already.", field="name"
                )
            try:
                with conn.begin_nested():
                    experiment_id = self._insert_experiment(
                        conn, project_id, name, description, actor
                    )
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
            insert(E).values(
                id=experiment_id,
                project_id=project_id,
                name=name,
                description=description or "",
                created_by=actor,
                created_at=now,
                updated_at=now,
            )
        )
        audit(
            conn,
            actor,
            "experiment.create",
            "experiment",
            experiment_id,
            {"name": name, "project_id": project_id},
        )
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
            row = conn.execute(
                self._experiment_query().where(
                    E.c.id == experiment_id, readable(conn, "experiment", E.c.id)
                )
            ).first()
        if row is None:
            raise NotFound(f"No experiment with id {experiment_id!r}.")
        return self._experiment_dict(row)

    def find_experiment(self, name: str, project: str | None = None) -> dict[str, Any]:
        query = self._experiment_query().where(E.c.name == name)
        if project:
            query = query.where(P.c.name == project)
        with self.store.read() as conn:
            rows = conn.execute(query.where(readable(conn, "experiment", E.c.id))).all()
        if not rows:
            raise NotFound(
                f"No experiment named {name!r}" + (f" in project {project!r}." if project else ".")
            )
        if len(rows) > 1:
            raise Conflict(
                f"{len(rows)} projects have an experiment named {name!r}; name the project too.",
                field="project",
            )
        return self._experiment_dict(rows[0])

    def list_experiments(
        self,
        project_id: str | None = None,
        max_results: Any = None,
        page_token: str | None = None,
        *,
        project_name: str | None = None,
    ) -> dict:
        """Experiments with their run counts, by project name then name; optionally of one
        project (by id or by name)."""
        limit, offset = page_bounds(max_results, page_token)
        query = self._experiment_query()
        if project_id:
            query = query.where(E.c.project_id == validate_id(project_id, "project_id"))
        if project_name:
            query = query.where(P.c.name == validate_name(project_name, "project"))
        with self.store.read() as conn:
            rows = conn.execute(
                query.where(readable(conn, "experiment", E.c.id))
                .order_by(P.c.name, E.c.name)
                .limit(limit + 1)
                .offset(offset)
            ).all()
        return {
            "items": [self._experiment_dict(r) for r in rows[:limit]],
            "next_page_token": next_token(offset, limit, len(rows)),
        }


# -- folders under the server's root ----------------------------------------------------------
def read_readme(folder: Path, base: Path) -> tuple[str | None, str | None]:
    """The first README of ``folder`` (a regular file inside ``base``) and its text."""
    for candidate in README_NAMES:
        path = folder / candidate
        if path.is_file() and is_inside(path, base):
            with open(path, "rb") as fh:
                raw = fh.read(MAX_README * 4 + 1)
            text = raw.decode("utf-8", errors="replace").replace("\x00", "")[:MAX_README]
            return candidate, text
    return None, None


def _git_config_path(folder: Path, base: Path) -> Path | None:
    """The config file of the git repository ``folder`` is in (searched up to ``base``)."""
    current = folder
    while True:
        dot_git = current / ".git"
        if dot_git.is_dir() and is_inside(dot_git, base):
            config = dot_git / "config"
            return config if config.is_file() and is_inside(config, base) else None
        if dot_git.is_file() and is_inside(dot_git, base):  # a worktree or submodule: "gitdir: X"
            text = dot_git.read_text(errors="replace")[:4096].strip()
            if text.startswith("gitdir:"):
                gitdir = (current / text[len("gitdir:") :].strip()).resolve()
                commondir = gitdir / "commondir"
                if commondir.is_file():
                    gitdir = (gitdir / commondir.read_text(errors="replace").strip()).resolve()
                config = gitdir / "config"
                if config.is_file() and is_inside(config, base):
                    return config
            return None
        if current == base or current.parent == current:
            return None
        current = current.parent


def read_git_remote(folder: Path, base: Path) -> str | None:
    """The URL of remote ``origin`` (else the first remote) of the folder's repository,
    without credentials; read from the repository's config file (git is not run)."""
    config_path = _git_config_path(folder, base)
    if config_path is None:
        return None
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    try:
        parser.read_string(config_path.read_text(errors="replace")[:200_000])
    except configparser.Error:
        return None
    remotes = {}
    for section in parser.sections():
        found = re.fullmatch(r'remote\s+"(.+)"', section.strip())
        if found and parser.has_option(section, "url"):
            remotes[found.group(1)] = parser.get(section, "url")
    url = remotes.get("origin") or next(iter(remotes.values()), None)
    if not url:
        return None
    try:
        return clean_git_url(url)
    except InvalidInput:
        return None
