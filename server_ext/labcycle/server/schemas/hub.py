"""Request models of the hub's projects, members, reviews and audit browse.

Shapes only; the rules (name syntax, roles, policy) live in services/projects.py,
services/access.py and services/reviews.py.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .core import Body, Name, Query

Tag = Field(None, description="tags: a list of short strings")


class ListProjectsQuery(Query):
    status: Literal["active", "archived"] | None = None
    tag: str | None = Field(None, max_length=64, description="only projects with this tag")
    member: str | None = Field(
        None, max_length=200, description="only projects this user is a member of"
    )


class UpdateProject(Body):
    name: Name | None = None
    description: str | None = Field(None, description="the README, in Markdown")
    tags: list[str] | None = Tag
    status: Literal["active", "archived"] | None = None
    git_url: str | None = Field(None, description='repository URL; "" removes it')
    require_approval: bool | None = Field(
        None, description="policy (owners only): deploy only approved model versions"
    )
    approvers: list[str] | None = Field(
        None, description="policy (owners only): users whose review decisions count, besides owners"
    )


class SetMember(Body):
    role: Literal["viewer", "editor", "owner"]


class ImportProject(Body):
    path: str = Field(
        "", max_length=4096, description="folder under the Jupyter server's root ('' = the root)"
    )
    name: Name | None = Field(None, description="default: the folder's name")


class ActivityQuery(Query):
    pass


class CreateReview(Body):
    decision: Literal["approve", "reject", "comment"]
    comment: str = Field("", description="Markdown; required to reject or comment")
