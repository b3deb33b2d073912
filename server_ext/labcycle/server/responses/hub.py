"""Response models of the hub's projects, members, reviews (see responses.py for why)."""

from __future__ import annotations

from pydantic import Field

from .core import AuditEvent, Out, Project


class Member(Out):
    project_id: str
    user: str
    role: str = Field(description="viewer, editor or owner")
    added_by: str
    at: str


class MemberList(Out):
    project_id: str
    open: bool = Field(description="true: no members, every user acts as an owner")
    items: list[Member]


class Activity(Out):
    project_id: str
    items: list[AuditEvent]
    next_page_token: str | None


class ImportedProject(Out):
    project: Project
    created: bool
    readme: str | None = Field(description="the README file read, if any")
    git_url: str | None


class Review(Out):
    id: str
    model_version_id: str
    reviewer: str
    role: str | None = Field(description="owner, approver or editor when they reviewed")
    decision: str = Field(description="approve, reject or comment")
    comment: str
    at: str
    counts: bool = Field(description="true: an owner's or approver's decision (sets the state)")


class CreatedReview(Review):
    model_name: str
    version: int
    state: str
    decided_by: str | None
    decided_at: str | None


class ReviewPolicy(Out):
    require_approval: bool
    projects: list[str]
    requiring_projects: list[str]
    approvers: list[str]


class ReviewList(Out):
    model_name: str
    version: int
    model_version_id: str
    items: list[Review]
    state: str = Field(description="approved, rejected or pending")
    decided_by: str | None
    decided_at: str | None
    approvals: int
    rejections: int
    comments: int
    policy: ReviewPolicy
