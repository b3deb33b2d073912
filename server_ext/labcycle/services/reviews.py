"""Reviews of model versions and the approval policy that gates deployments.

A review is a decision (``approve``, ``reject``) or a ``comment`` on a model version, in
Markdown, by a user; it records the reviewer's standing in the version's project then:
``owner`` (project owners, server owners, anyone in an open project), ``approver`` (listed
in the project's ``settings.approvers``) or ``editor``. A version's **review state** is the
latest decision by an owner or approver: ``approved``, ``rejected``, or ``pending`` when
there is none (editors' decisions and comments are kept and shown, but do not count).

**Policy**: a project with ``settings.require_approval`` refuses to deploy a version of it
that is not approved: :meth:`ReviewService.require_deployable` is called by
``DeploymentService.create`` and ``update`` (model reference or traffic split) and answers
409 naming the version and who can approve. When an alias moves to an unapproved version
under a running deployment (or an approval is withdrawn by a later rejection), the serving
processes' target (:meth:`ReviewService.gate_target`, used by ``DeploymentService.target``)
holds the unapproved version back: the deployment keeps serving the approved versions it
serves, or else the newest approved version of the model, and the deployment's
``serving.error`` says why; with no approved version at all it serves nothing new.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, insert, select

from ..errors import Conflict, Forbidden, InvalidInput, NotFound
from ..store.models import ModelReview, ModelVersion, Project, RegisteredModel
from .access import RANK, version_project_ids
from .common import audit, iso, new_id, now_ms

MR, MV, RM, P = (
    ModelReview.__table__,
    ModelVersion.__table__,
    RegisteredModel.__table__,
    Project.__table__,
)
DECISIONS = ("approve", "reject", "comment")
COUNTING = ("owner", "approver")
MAX_COMMENT = 100_000


def review_dict(r: Any) -> dict[str, Any]:
    return {
        "id": r.id,
        "model_version_id": r.model_version_id,
        "reviewer": r.reviewer,
        "role": r.role,
        "decision": r.decision,
        "comment": r.comment,
        "at": iso(r.at),
        "counts": r.decision != "comment" and r.role in COUNTING,
    }


class ReviewService:
    def __init__(self, services: Any) -> None:
        self.services = services

    @property
    def store(self):
        return self.services.store

    @property
    def access(self):
        return self.services.access

    # -- reading ------------------------------------------------------------------------------
    def _version(self, name: Any, version: Any) -> dict[str, Any]:
        return self.services.registry.get_version(name, version)

    def state_in(self, conn: Connection, version_id: str) -> dict[str, Any]:
        """``{"state", "decided_by", "decided_at", "approvals", "rejections", "comments"}``."""
        rows = conn.execute(
            select(MR).where(MR.c.model_version_id == version_id).order_by(MR.c.at, MR.c.id)
        ).all()
        counted = [r for r in rows if r.decision != "comment" and r.role in COUNTING]
        latest = counted[-1] if counted else None
        return {
            "state": {"approve": "approved", "reject": "rejected"}[latest.decision]
            if latest
            else "pending",
            "decided_by": latest.reviewer if latest else None,
            "decided_at": iso(latest.at) if latest else None,
            "approvals": sum(r.decision == "approve" for r in rows),
            "rejections": sum(r.decision == "reject" for r in rows),
            "comments": sum(r.decision == "comment" for r in rows),
        }

    def policy_in(self, conn: Connection, version_id: str) -> dict[str, Any]:
        """Whether a project of the version requires approval, and who can approve."""
        ids = sorted({r[0] for r in conn.execute(version_project_ids(conn, [version_id])) if r[0]})
        rows = (
            conn.execute(select(P.c.id, P.c.name, P.c.settings).where(P.c.id.in_(ids))).all()
            if ids
            else []
        )
        requiring = [r for r in rows if (r.settings or {}).get("require_approval")]
        approvers: list[str] = []
        for r in requiring or rows:
            approvers += self.access.approvers(conn, r.id)
        return {
            "require_approval": bool(requiring),
            "projects": [r.name for r in rows],
            "requiring_projects": [r.name for r in requiring],
            "approvers": list(dict.fromkeys(approvers)),
        }

    def list_reviews(self, name: Any, version: Any) -> dict[str, Any]:
        """Every review of the version (oldest first), its state and the policy."""
        v = self._version(name, version)
        with self.store.read() as conn:
            rows = conn.execute(
                select(MR).where(MR.c.model_version_id == v["id"]).order_by(MR.c.at, MR.c.id)
            ).all()
            return {
                "model_name": v["model_name"],
                "version": v["version"],
                "model_version_id": v["id"],
                "items": [review_dict(r) for r in rows],
                **self.state_in(conn, v["id"]),
                "policy": self.policy_in(conn, v["id"]),
            }

    def state(self, version_id: str) -> dict[str, Any]:
        with self.store.read() as conn:
            return {**self.state_in(conn, version_id), "policy": self.policy_in(conn, version_id)}

    # -- writing ------------------------------------------------------------------------------
    def add_review(
        self, name: Any, version: Any, *, decision: Any, actor: str, comment: Any = ""
    ) -> dict[str, Any]:
        """Approve, reject (with a reason) or comment on a version. Reviewing needs the
        editor role in the version's projects, or being one of their approvers."""
        if decision not in DECISIONS:
            raise InvalidInput("decision must be approve, reject or comment.", field="decision")
        if comment is None:
            comment = ""
        if not isinstance(comment, str):
            raise InvalidInput("comment must be a string (Markdown).", field="comment")
        if len(comment) > MAX_COMMENT:
            raise InvalidInput(
                f"comment may have at most {MAX_COMMENT:,} characters.", field="comment"
            )
        if "\x00" in comment:
            raise InvalidInput("comment may not contain NUL characters.", field="comment")
        if decision in ("reject", "comment") and not comment.strip():
            raise InvalidInput(
                f"A {decision} needs a comment" + (" saying why." if decision == "reject" else "."),
                field="comment",
            )
        v = self._version(name, version)
        with self.store.write() as conn:
            if not conn.execute(select(MV.c.id).where(MV.c.id == v["id"])).first():
                raise NotFound(f"Model version {v['ref']} was deleted.", field="version")
            role = self.standing(conn, v["id"], actor)
            if role is None:
                policy = self.policy_in(conn, v["id"])
                raise Forbidden(
                    f"You ({actor}) cannot review {v['ref']}: it needs the editor role in project "
                    f"{', '.join(repr(p) for p in policy['projects'])} or being one of its "
                    f"approvers ({', '.join(policy['approvers']) or 'none listed'}).",
                    role_needed="editor",
                    user=actor,
                )
            before = self.state_in(conn, v["id"])["state"]
            now = now_ms()
            review_id = new_id()
            conn.execute(
                insert(MR).values(
                    id=review_id,
                    model_version_id=v["id"],
                    reviewer=actor,
                    role=role,
                    decision=decision,
                    comment=comment,
                    at=now,
                )
            )
            audit(
                conn,
                actor,
                f"model.version.review.{decision}",
                "model_version",
                v["id"],
                {
                    "model": v["model_name"],
                    "version": v["version"],
                    "review_id": review_id,
                    "role": role,
                    "comment_chars": len(comment),
                    "before": before,
                    "after": self.state_in(conn, v["id"])["state"],
                },
            )
            row = conn.execute(select(MR).where(MR.c.id == review_id)).one()
            return {
                **review_dict(row),
                "model_name": v["model_name"],
                "version": v["version"],
                **{
                    k: val
                    for k, val in self.state_in(conn, v["id"]).items()
                    if k in ("state", "decided_by", "decided_at")
                },
            }

    def standing(self, conn: Connection, version_id: str, user: str) -> str | None:
        """owner, approver, editor (weakest over the version's projects) or None."""
        ids = sorted({r[0] for r in conn.execute(version_project_ids(conn, [version_id])) if r[0]})
        if not ids:  # a version outside any project (its run and project are gone): open
            return "owner"
        worst = "owner"
        for project_id in ids:
            role = self.access.role_in(conn, project_id, user)
            if role == "owner":
                standing = "owner"
            elif self.access.is_approver(conn, project_id, user):
                standing = "approver"
            elif role is not None and RANK[role] >= RANK["editor"]:
                standing = "editor"
            else:
                return None
            order = ("editor", "approver", "owner")
            worst = min(worst, standing, key=order.index)
        return worst

    # -- the deployment policy ----------------------------------------------------------------
    def blocked(self, conn: Connection, version: dict[str, Any]) -> str | None:
        """Why ``version`` may not be deployed, or None."""
        policy = self.policy_in(conn, version["id"])
        if not policy["require_approval"]:
            return None
        state = self.state_in(conn, version["id"])
        if state["state"] == "approved":
            return None
        ref = version.get("ref") or f"{version.get('model_name')}/{version.get('version')}"
        why = (
            f"it was rejected by {state['decided_by']}"
            if state["state"] == "rejected"
            else "it has no approval yet"
        )
        return (
            f"Model version {ref} is not approved ({why}) and project "
            f"{', '.join(repr(p) for p in policy['requiring_projects'])} requires approval "
            f"before deployment. Who can approve: {', '.join(policy['approvers'])} "
            f"(labcycle models review {ref} --approve, or POST "
            f"models/{version.get('model_name')}/versions/{version.get('version')}/reviews)."
        )

    def require_deployable(self, versions: list[dict[str, Any]]) -> None:
        """409 unless every version may be deployed under its projects' policy."""
        with self.store.read() as conn:
            for version in versions:
                reason = self.blocked(conn, version)
                if reason:
                    raise Conflict(
                        reason,
                        reason="approval_required",
                        version=version.get("ref"),
                        field="model",
                    )

    def gate_target(
        self, deployment: dict[str, Any], versions: list[tuple[dict[str, Any], float]]
    ) -> tuple[list, str | None]:
        """What a serving process may serve of ``versions``: the unapproved ones are held
        back (module docstring). Returns the versions and a message when something was."""
        with self.store.read() as conn:
            reasons = {v["id"]: self.blocked(conn, v) for v, _ in versions}
            if not any(reasons.values()):
                return versions, None
            kept = [(v, pct) for v, pct in versions if not reasons[v["id"]]]
            held = "; ".join(r for r in reasons.values() if r)
            if kept:
                return kept, f"{held} Serving the approved versions only."
            fallback = self._last_approved(conn, deployment)
            if fallback is None:
                return [], f"{held} No approved version of {deployment['model_name']} to serve."
            return [(fallback, 100.0)], (
                f"{held} Still serving {fallback['ref']}, the last approved version."
            )

    def _last_approved(self, conn: Connection, deployment: dict[str, Any]) -> dict | None:
        registry = self.services.registry
        serving = list(((deployment.get("serving") or {}).get("routes") or {}).keys())
        for version_id in serving:  # what it serves now, if that is approved
            try:
                v = registry.get_version_by_id(version_id)
            except Exception:  # not a version id (a fixed model file)
                continue
            if not self.blocked(conn, v):
                return v
        model = conn.execute(
            select(RM.c.id, RM.c.name).where(RM.c.name == deployment["model_name"])
        ).first()
        if model is None:
            return None
        for (version_id,) in conn.execute(
            select(MV.c.id).where(MV.c.model_id == model.id).order_by(MV.c.version.desc())
        ):
            v = registry.get_version_by_id(version_id)
            if not self.blocked(conn, v):
                return v
        return None

    # -- the review bundle --------------------------------------------------------------------
    def bundle(self, name: Any, version: Any) -> str:
        """A self-contained HTML review bundle (model card) of the version."""
        from .review_bundle import render_bundle

        return render_bundle(self.services, name, version)
