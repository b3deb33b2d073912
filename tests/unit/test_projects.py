"""Projects and experiments."""

from __future__ import annotations

import threading

import pytest

from labcycle.errors import Conflict, InvalidInput, NotFound
from labcycle.services import Services


def _all_pages(list_page, page_size: int) -> list[dict]:
    items, token, pages = [], None, 0
    while True:
        page = list_page(max_results=page_size, page_token=token)
        assert len(page["items"]) <= page_size
        items += page["items"]
        pages += 1
        token = page["next_page_token"]
        if token is None:
            return items
        assert pages < 100, "pagination does not end"


def test_create_and_get_project(services: Services) -> None:
    created = services.projects.create_project("  churn  ", actor="alice", description="why")
    assert created["name"] == "churn"  # surrounding blanks are not part of a name
    assert created["description"] == "why"
    assert created["created_by"] == "alice"
    assert created["created_at"] and created["updated_at"]
    assert services.projects.get_project(created["id"]) == created


def test_duplicate_project_is_a_conflict(services: Services) -> None:
    services.projects.create_project("churn", actor="alice")
    with pytest.raises(Conflict) as info:
        services.projects.create_project("churn", actor="bob")
    assert "churn" in info.value.message
    assert info.value.details["field"] == "name"
    assert len(services.projects.list_projects()["items"]) == 1


@pytest.mark.parametrize("name", ["", "   ", None, 42, "a" * 201, "tab\tname"])
def test_invalid_project_names(services: Services, name: object) -> None:
    with pytest.raises(InvalidInput) as info:
        services.projects.create_project(name, actor="alice")
    assert info.value.details["field"] == "name"


def test_unknown_project_and_experiment(services: Services) -> None:
    with pytest.raises(NotFound):
        services.projects.get_project("0" * 32)
    with pytest.raises(NotFound):
        services.projects.get_experiment("0" * 32)
    with pytest.raises(NotFound) as info:
        services.projects.create_experiment("e", actor="alice", project_id="0" * 32)
    assert info.value.details["field"] == "project_id"


def test_runs_without_a_home_land_in_the_default_project(services: Services) -> None:
    run = services.tracking.create_run(actor="alice")
    assert run["project_name"] == "default"
    assert run["experiment_name"] == "Default"
    experiment = services.projects.get_experiment(run["experiment_id"])
    assert experiment["project_name"] == "default"
    assert experiment["run_count"] == 1
    # Creating an experiment without a project uses the same default project.
    other = services.projects.create_experiment("other", actor="alice")
    assert other["project_id"] == experiment["project_id"]
    assert [p["name"] for p in services.projects.list_projects()["items"]] == ["default"]


def test_experiments_are_unique_per_project(services: Services) -> None:
    first = services.projects.create_experiment("baseline", actor="alice", project="a")
    with pytest.raises(Conflict):
        services.projects.create_experiment("baseline", actor="alice", project="a")
    second = services.projects.create_experiment("baseline", actor="alice", project="b")
    assert first["id"] != second["id"]
    assert first["project_name"] == "a" and second["project_name"] == "b"
    with pytest.raises(Conflict) as info:
        services.projects.find_experiment("baseline")
    assert info.value.details["field"] == "project"
    assert services.projects.find_experiment("baseline", project="b")["id"] == second["id"]
    with pytest.raises(NotFound):
        services.projects.find_experiment("baseline", project="c")


def test_project_pagination_is_complete_and_ordered(services: Services) -> None:
    names = [f"project-{i:02d}" for i in range(11)]
    for name in reversed(names):
        services.projects.create_project(name, actor="alice")
    pages = _all_pages(services.projects.list_projects, 4)
    assert [p["name"] for p in pages] == names
    first = services.projects.list_projects(max_results=4)
    assert len(first["items"]) == 4 and first["next_page_token"]
    assert services.projects.list_projects(max_results=11)["next_page_token"] is None


def test_experiment_pagination_and_run_counts(services: Services) -> None:
    for i in range(7):
        services.projects.create_experiment(f"exp-{i}", actor="alice", project="p")
    exp = services.projects.find_experiment("exp-3", project="p")
    for _ in range(3):
        services.tracking.create_run(actor="alice", experiment_id=exp["id"])
    pages = _all_pages(
        lambda **kw: services.projects.list_experiments(project_id=exp["project_id"], **kw), 3
    )
    assert [e["name"] for e in pages] == [f"exp-{i}" for i in range(7)]
    counts = {e["name"]: e["run_count"] for e in pages}
    assert counts["exp-3"] == 3 and sum(counts.values()) == 3
    assert services.projects.get_experiment(exp["id"])["last_run_at"] is not None


@pytest.mark.parametrize(
    ("max_results", "page_token"), [(0, None), (1001, None), ("ten", None), (10, "not-a-token")]
)
def test_bad_pagination_arguments(services: Services, max_results, page_token) -> None:
    with pytest.raises(InvalidInput):
        services.projects.list_projects(max_results=max_results, page_token=page_token)


def test_ensure_experiment_is_idempotent(services: Services) -> None:
    with services.store.write() as conn:
        first = services.projects.ensure_experiment(conn, "exp", "proj", "alice")
        again = services.projects.ensure_experiment(conn, "exp", "proj", "alice")
    with services.store.write() as conn:
        later = services.projects.ensure_experiment(conn, "exp", "proj", "bob")
    assert first == again == later
    run_a = services.tracking.create_run(actor="alice", experiment="exp", project="proj")
    run_b = services.tracking.create_run(actor="bob", experiment="exp", project="proj")
    assert run_a["experiment_id"] == run_b["experiment_id"] == first
    experiments = services.projects.list_experiments()["items"]
    assert [(e["project_name"], e["name"], e["run_count"]) for e in experiments] == [
        ("proj", "exp", 2)
    ]
    creations = services.audit.list(action="experiment.create")["items"]
    assert len(creations) == 1 and creations[0]["user"] == "alice"


def test_concurrent_first_runs_share_one_new_project_and_experiment(services: Services) -> None:
    """Eight kernels starting their first run in a new project at once: no duplicate, no error."""
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []
    runs: list[dict] = []

    def start() -> None:
        barrier.wait(timeout=30)
        try:
            runs.append(services.tracking.create_run(actor="alice", experiment="E", project="P"))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert len(runs) == 8
    assert len({r["experiment_id"] for r in runs}) == 1
    assert [p["name"] for p in services.projects.list_projects()["items"]] == ["P"]
    assert services.projects.find_experiment("E", project="P")["run_count"] == 8


def test_concurrent_creation_of_one_project_name(services: Services) -> None:
    """Exactly one creator wins; the others get Conflict, not a database error."""
    barrier = threading.Barrier(6)
    outcomes: list[object] = []

    def create(i: int) -> None:
        barrier.wait(timeout=30)
        try:
            outcomes.append(services.projects.create_project("race", actor=f"user-{i}"))
        except BaseException as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=create, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    created = [o for o in outcomes if isinstance(o, dict)]
    assert len(created) == 1
    assert all(isinstance(o, Conflict) for o in outcomes if not isinstance(o, dict)), outcomes
    assert len(services.audit.list(action="project.create")["items"]) == 1
