"""The sweep service without kernels: jobs are moved through their states by hand, as a
worker would, to check dispatch, the parallel limit, progress, best and cancel."""

from __future__ import annotations

import threading

import pytest

from labcycle.errors import Conflict, InvalidInput, NotFound
from labcycle.services import Services

#: each test that takes ``services`` runs on SQLite and on PostgreSQL (see conftest.py)
BOTH_BACKENDS = True


def _run_jobs(
    services: Services,
    sweep_id: str,
    scores: dict[int, float] | None = None,
    fail: set[int] = frozenset(),
) -> list[str]:
    """Claim every pending job of the sweep, give it a run with a metric, finish it."""
    pending = services.jobs.list(sweep_id=sweep_id, status="pending")["items"]
    done = []
    for job in services.jobs.claim(
        "test", "local", job_ids=[j["id"] for j in pending], limit=len(pending)
    ):
        trial = int(job["name"].rsplit("#", 1)[1])
        run = services.tracking.create_run(
            actor="alice", experiment="sw", source="job", name=job["name"]
        )
        services.jobs.report(job["id"], run_id=run["id"])
        if scores is not None:
            services.tracking.log_metrics(
                run["id"], [{"key": "score", "value": scores[trial]}], actor="alice"
            )
        services.jobs.finish(job["id"], "failed" if trial in fail else "succeeded")
        done.append(job["id"])
    return done


def test_a_sweep_keeps_at_most_parallel_jobs_in_flight(services: Services, train_notebook):
    sweep = services.sweeps.create(
        actor="alice",
        notebook=str(train_notebook),
        grid={"lr": [0.01, 0.1, 1.0], "depth": [3, 5]},
        parallel=2,
        parameters={"seed": 7},
    )
    assert sweep["n_trials"] == 6 and sweep["status"] == "running"
    assert sweep["progress"]["pending"] == 2 and sweep["progress"]["not_submitted"] == 4
    jobs = services.jobs.list(sweep_id=sweep["id"])["items"]
    assert sorted(j["parameters"]["lr"] for j in jobs) == [0.01, 0.01]
    assert all(j["parameters"]["seed"] == 7 for j in jobs)
    # Nothing finished: advancing submits nothing more.
    assert services.sweeps.advance(sweep["id"]) == 0
    scores = {i: float(i) for i in range(6)}
    seen = 0
    while services.sweeps.get(sweep["id"])["status"] == "running":
        in_flight = services.jobs.list(sweep_id=sweep["id"], status=["pending", "running"])
        assert len(in_flight["items"]) <= 2
        seen += len(_run_jobs(services, sweep["id"], scores, fail={4}))
        services.sweeps.advance(sweep["id"])
    assert seen == 6
    detail = services.sweeps.get(sweep["id"], with_runs=True)
    assert detail["status"] == "failed"  # one trial failed
    assert detail["progress"] == {
        "total": 6,
        "not_submitted": 0,
        "pending": 0,
        "queued": 0,
        "running": 0,
        "succeeded": 5,
        "failed": 1,
        "cancelled": 0,
        "done": 6,
    }
    assert [r["trial"] for r in detail["runs"]] == list(range(6))
    assert detail["runs"][3]["parameters"] == {"seed": 7, "lr": 0.1, "depth": 5}
    assert all(r["run_id"] for r in detail["runs"])
    best = services.sweeps.best(sweep["id"], "score")
    assert best["trial"] == 5 and best["metrics"]["score"] == 5.0
    assert services.sweeps.best(sweep["id"], "score", "min")["trial"] == 0
    with pytest.raises(NotFound):
        services.sweeps.best(sweep["id"], "nope")
    listed = services.sweeps.list()["items"]
    assert [s["id"] for s in listed] == [sweep["id"]] and listed[0]["progress"]["done"] == 6


def test_concurrent_dispatchers_respect_the_limit(
    services: Services, train_notebook, home, store_url
):
    sweep = services.sweeps.create(
        actor="alice",
        notebook=str(train_notebook),
        trials=[{"lr": i} for i in range(12)],
        parallel=3,
        start=False,
    )
    others = [Services.open(store_url, str(home / "artifacts"), migrate=False) for _ in range(4)]
    barrier = threading.Barrier(len(others))

    def advance(svc: Services) -> None:
        barrier.wait()
        for _ in range(5):
            svc.sweeps.advance(sweep["id"])

    threads = [threading.Thread(target=advance, args=(svc,)) for svc in others]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        for svc in others:
            svc.close()
    jobs = services.jobs.list(sweep_id=sweep["id"])["items"]
    assert len(jobs) == 3
    assert sorted(j["parameters"]["lr"] for j in jobs) == [0, 1, 2]


def test_lost_slots_are_resubmitted_once_and_only_after_the_grace(
    services: Services, train_notebook, home, store_url
):
    """A process claimed every slot and died before submitting: not while it may still be
    submitting, then each lost trial exactly once, however many servers advance at once."""
    from sqlalchemy import update

    from labcycle.services.common import now_ms
    from labcycle.services.sweeps import LOST_SLOT_GRACE_MS, SW

    sweep = services.sweeps.create(
        actor="alice",
        notebook=str(train_notebook),
        trials=[{"lr": i} for i in range(4)],
        parallel=2,
        start=False,
    )
    with services.store.write() as conn:  # the dead claimer's compare-and-set
        conn.execute(
            update(SW).where(SW.c.id == sweep["id"]).values(submitted=4, updated_at=now_ms())
        )
    assert services.sweeps.advance(sweep["id"]) == 0
    assert services.jobs.list(sweep_id=sweep["id"])["items"] == []  # it may still submit

    with services.store.write() as conn:
        conn.execute(
            update(SW)
            .where(SW.c.id == sweep["id"])
            .values(updated_at=now_ms() - LOST_SLOT_GRACE_MS - 1000)
        )
    others = [Services.open(store_url, str(home / "artifacts"), migrate=False) for _ in range(4)]
    barrier = threading.Barrier(len(others))

    def advance(svc: Services) -> None:
        barrier.wait()
        for _ in range(3):
            svc.sweeps.advance(sweep["id"])

    threads = [threading.Thread(target=advance, args=(svc,)) for svc in others]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        for svc in others:
            svc.close()
    jobs = services.jobs.list(sweep_id=sweep["id"])["items"]
    assert sorted(j["parameters"]["lr"] for j in jobs) == [0, 1, 2, 3]


def test_cancel_stops_the_sweep_and_its_jobs(services: Services, train_notebook):
    sweep = services.sweeps.create(
        actor="alice",
        notebook=str(train_notebook),
        random={"lr": {"uniform": [0, 1]}},
        n_trials=5,
        seed=3,
        parallel=2,
    )
    cancelled = services.sweeps.cancel(sweep["id"], actor="bob")
    assert cancelled["status"] == "cancelled"
    assert cancelled["progress"]["cancelled"] == 2 and cancelled["progress"]["not_submitted"] == 3
    assert services.sweeps.advance(sweep["id"]) == 0
    with pytest.raises(Conflict):
        services.sweeps.cancel(sweep["id"], actor="bob")


def test_same_seed_same_trials_in_the_store(services: Services, train_notebook):
    spec = {
        "random": {
            "lr": {"distribution": "loguniform", "low": 1e-4, "high": 1e-1},
            "depth": {"choice": [3, 5, 8]},
        },
        "n_trials": 4,
        "seed": 11,
    }
    a = services.sweeps.create(actor="a", notebook=str(train_notebook), start=False, **spec)
    b = services.sweeps.create(actor="a", notebook=str(train_notebook), start=False, **spec)
    assert [r["parameters"] for r in services.sweeps.runs(a["id"])] == [
        r["parameters"] for r in services.sweeps.runs(b["id"])
    ]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"grid": {"lr": []}}, "grid.lr"),
        ({"grid": {"lr": [1]}, "parallel": 0}, "parallel"),
        ({"grid": {"lr": [1]}, "env": {"bad name": "x"}}, "env.bad name"),
        ({"grid": {"lr": [1]}, "timeout_s": -1}, "timeout_s"),
        ({"grid": {"lr": [1]}, "notebook": "train.py"}, "notebook"),
    ],
)
def test_bad_sweeps_are_refused_before_anything_runs(
    services: Services, train_notebook, fields, field
):
    fields = {"notebook": str(train_notebook), **fields}
    with pytest.raises(InvalidInput) as info:
        services.sweeps.create(actor="a", **fields)
    assert info.value.details["field"] == field
    assert services.sweeps.list()["items"] == []


def test_a_sweep_that_cannot_submit_stops_and_says_why(services: Services, train_notebook):
    sweep = services.sweeps.create(
        actor="alice", notebook=str(train_notebook), grid={"lr": [1, 2, 3]}, parallel=1
    )
    train_notebook.unlink()  # the notebook disappears mid-sweep
    _run_jobs(services, sweep["id"], {0: 1.0, 1: 2.0, 2: 3.0})
    assert services.sweeps.advance(sweep["id"]) == 0
    stopped = services.sweeps.get(sweep["id"])
    assert stopped["status"] == "cancelled"
    assert "trial 1" in stopped["error"] and "notebook" in stopped["error"].lower()
    assert services.sweeps.advance(sweep["id"]) == 0
