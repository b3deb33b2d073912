"""The hub's projects, roles, reviews, audit log, search and notes (``lc.get_project``...)."""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from typing import Any

from .domain import HttpDomain, LocalDomain, q


class HubClient(ABC):
    @abstractmethod
    def get_project(self, project: str) -> dict[str, Any]: ...

    @abstractmethod
    def list_projects(self, max_results: int, **filters: Any) -> dict[str, Any]: ...

    @abstractmethod
    def update_project(self, project: str, changes: dict[str, Any]) -> dict[str, Any]: ...

    @abstractmethod
    def import_project(self, folder: str, name: str | None) -> dict[str, Any]: ...

    @abstractmethod
    def members(self, project: str) -> dict[str, Any]: ...

    @abstractmethod
    def set_member(self, project: str, user: str, role: str) -> dict[str, Any]: ...

    @abstractmethod
    def remove_member(self, project: str, user: str) -> None: ...

    @abstractmethod
    def add_review(
        self, name: str, version: int, decision: str, comment: str
    ) -> dict[str, Any]: ...

    @abstractmethod
    def reviews(self, name: str, version: int) -> dict[str, Any]: ...

    @abstractmethod
    def review_bundle(self, name: str, version: int) -> str: ...

    @abstractmethod
    def audit(self, max_results: int, **filters: Any) -> dict[str, Any]: ...

    @abstractmethod
    def search(self, **params: Any) -> dict[str, Any]: ...

    @abstractmethod
    def create_note(self, **fields: Any) -> dict[str, Any]: ...

    @abstractmethod
    def notes(self, **params: Any) -> dict[str, Any]: ...

    @abstractmethod
    def update_note(self, note_id: str, body: str) -> dict[str, Any]: ...

    @abstractmethod
    def delete_note(self, note_id: str) -> None: ...


class LocalHub(LocalDomain, HubClient):
    def get_project(self, project: str) -> dict[str, Any]:
        return self.services.projects.get_project(project)

    def list_projects(self, max_results: int, **filters: Any) -> dict[str, Any]:
        return self.services.projects.list_projects(max_results, None, **filters)

    def update_project(self, project: str, changes: dict[str, Any]) -> dict[str, Any]:
        return self.services.projects.update_project(project, actor=self.user, **changes)

    def import_project(self, folder: str, name: str | None) -> dict[str, Any]:
        root = os.environ.get("LABCYCLE_SERVER_ROOT") or folder
        return self.services.projects.import_folder(folder, root=root, actor=self.user, name=name)

    def members(self, project: str) -> dict[str, Any]:
        return self.services.projects.list_members(project)

    def set_member(self, project: str, user: str, role: str) -> dict[str, Any]:
        return self.services.projects.set_member(project, user, role, actor=self.user)

    def remove_member(self, project: str, user: str) -> None:
        self.services.projects.remove_member(project, user, actor=self.user)

    def add_review(self, name: str, version: int, decision: str, comment: str) -> dict[str, Any]:
        return self.services.reviews.add_review(
            name, version, decision=decision, comment=comment, actor=self.user
        )

    def reviews(self, name: str, version: int) -> dict[str, Any]:
        return self.services.reviews.list_reviews(name, version)

    def review_bundle(self, name: str, version: int) -> str:
        return self.services.reviews.bundle(name, version)

    def audit(self, max_results: int, **filters: Any) -> dict[str, Any]:
        return self.services.audit.list(max_results=max_results, **filters)

    def search(self, **params: Any) -> dict[str, Any]:
        return self.services.search.search(**params)

    def create_note(self, **fields: Any) -> dict[str, Any]:
        return self.services.notes.create(actor=self.user, **fields)

    def notes(self, **params: Any) -> dict[str, Any]:
        return self.services.notes.list(**params)

    def update_note(self, note_id: str, body: str) -> dict[str, Any]:
        return self.services.notes.update(note_id, actor=self.user, body=body)

    def delete_note(self, note_id: str) -> None:
        self.services.notes.delete(note_id, actor=self.user)


class HttpHub(HttpDomain, HubClient):
    def get_project(self, project: str) -> dict[str, Any]:
        return self.request("GET", f"projects/{q(project)}")

    def list_projects(self, max_results: int, **filters: Any) -> dict[str, Any]:
        return self.request("GET", "projects", params={**filters, "max_results": max_results})

    def update_project(self, project: str, changes: dict[str, Any]) -> dict[str, Any]:
        return self.request("PATCH", f"projects/{q(project)}", body=changes)

    def import_project(self, folder: str, name: str | None) -> dict[str, Any]:
        return self.request("POST", "projects/import", body={"path": folder, "name": name})

    def members(self, project: str) -> dict[str, Any]:
        return self.request("GET", f"projects/{q(project)}/members")

    def set_member(self, project: str, user: str, role: str) -> dict[str, Any]:
        return self.request("PUT", f"projects/{q(project)}/members/{q(user)}", body={"role": role})

    def remove_member(self, project: str, user: str) -> None:
        self.request("DELETE", f"projects/{q(project)}/members/{q(user)}")

    def add_review(self, name: str, version: int, decision: str, comment: str) -> dict[str, Any]:
        return self.request(
            "POST",
            f"models/{q(name)}/versions/{version}/reviews",
            body={"decision": decision, "comment": comment},
        )

    def reviews(self, name: str, version: int) -> dict[str, Any]:
        return self.request("GET", f"models/{q(name)}/versions/{version}/reviews")

    def review_bundle(self, name: str, version: int) -> str:
        html = self.request("GET", f"models/{q(name)}/versions/{version}/review-bundle")
        return html.decode() if isinstance(html, bytes) else html

    def audit(self, max_results: int, **filters: Any) -> dict[str, Any]:
        return self.request("GET", "audit", params={**filters, "max_results": max_results})

    def search(self, **params: Any) -> dict[str, Any]:
        return self.request(
            "GET", "search", params={k: v for k, v in params.items() if v is not None}
        )

    def create_note(self, **fields: Any) -> dict[str, Any]:
        return self.request("POST", "notes", body=fields)

    def notes(self, **params: Any) -> dict[str, Any]:
        return self.request("GET", "notes", params=params)

    def update_note(self, note_id: str, body: str) -> dict[str, Any]:
        return self.request("PATCH", f"notes/{q(note_id)}", body={"body": body})

    def delete_note(self, note_id: str) -> None:
        self.request("DELETE", f"notes/{q(note_id)}")
