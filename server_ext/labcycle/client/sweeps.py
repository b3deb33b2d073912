"""Sweeps, schedules and reproductions (``lc.sweep``, ``lc.schedule``, ``lc.reproduce``).

Over the REST API the server's job queue and scheduler do the work. Over the local store a
sweep's trials (and a reproduction) run in this process's own workers while it waits
(:meth:`SweepsClient.advance`), so a script needs no server.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from typing import Any

from .domain import HttpDomain, LocalDomain, q
from .jobs import HttpJobs, process_dispatcher


class SweepsClient(ABC):
    # -- sweeps
    @abstractmethod
    def create(self, **fields: Any) -> dict[str, Any]: ...

    @abstractmethod
    def get(self, sweep_id: str) -> dict[str, Any]:
        """The sweep with its trials (``runs``)."""

    @abstractmethod
    def runs(self, sweep_id: str) -> list[dict[str, Any]]: ...

    @abstractmethod
    def best(self, sweep_id: str, metric: str, mode: str) -> dict[str, Any]: ...

    @abstractmethod
    def cancel(self, sweep_id: str) -> dict[str, Any]: ...

    def advance(self, sweep_id: str) -> Any:
        """Move the sweep on where nothing else does; a token for :meth:`pause`."""
        return None

    def pause(self, token: Any) -> None:
        """Wait a little (or until one of this process's jobs finished) before the next look."""
        time.sleep(0.2)

    # -- schedules
    @abstractmethod
    def create_schedule(self, **fields: Any) -> dict[str, Any]: ...

    @abstractmethod
    def update_schedule(self, schedule_id: str, changes: dict[str, Any]) -> dict[str, Any]: ...

    @abstractmethod
    def schedule_history(self, schedule_id: str) -> list[dict[str, Any]]: ...

    @abstractmethod
    def delete_schedule(self, schedule_id: str) -> None: ...

    @abstractmethod
    def schedules(self, max_results: int) -> list[dict[str, Any]]: ...

    # -- reproductions
    @abstractmethod
    def reproduce(self, run_id: str) -> dict[str, Any]:
        """The job re-executing the run."""

    @abstractmethod
    def wait_job(self, job_id: str, timeout: float | None) -> dict[str, Any]:
        """The job (a reproduction) once it is finished, or as it is after ``timeout``."""

    @abstractmethod
    def reproduction_report(self, run_id: str, against: str) -> dict[str, Any]: ...


class LocalSweeps(LocalDomain, SweepsClient):
    #: where this process runs the trials (None: the configured executor)
    executor: str | None = None

    def create(self, **fields: Any) -> dict[str, Any]:
        return self.services.sweeps.create(actor=self.user, **fields)

    def get(self, sweep_id: str) -> dict[str, Any]:
        return self.services.sweeps.get(sweep_id, with_runs=True)

    def runs(self, sweep_id: str) -> list[dict[str, Any]]:
        return self.services.sweeps.runs(sweep_id)

    def best(self, sweep_id: str, metric: str, mode: str) -> dict[str, Any]:
        return self.services.sweeps.best(sweep_id, metric, mode)

    def cancel(self, sweep_id: str) -> dict[str, Any]:
        return self.services.sweeps.cancel(sweep_id, actor=self.user)

    def advance(self, sweep_id: str) -> Any:
        """No server: submit the trials that are due and run them in this process's workers."""
        token = self.services.jobs.change_token()
        self.services.sweeps.advance(sweep_id)
        process_dispatcher(self.services, self.executor).add_jobs(
            self.services.sweeps.unfinished_job_ids(sweep_id)
        )
        return token

    def pause(self, token: Any) -> None:
        self.services.jobs.wait_for_change(token, 0.2)  # woken when one of our workers finishes

    def create_schedule(self, **fields: Any) -> dict[str, Any]:
        return self.services.schedules.create(actor=self.user, **fields)

    def update_schedule(self, schedule_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        return self.services.schedules.update(schedule_id, actor=self.user, **changes)

    def schedule_history(self, schedule_id: str) -> list[dict[str, Any]]:
        return self.services.schedules.history(schedule_id)

    def delete_schedule(self, schedule_id: str) -> None:
        self.services.schedules.delete(schedule_id, actor=self.user)

    def schedules(self, max_results: int) -> list[dict[str, Any]]:
        return self.services.schedules.list(max_results=max_results)["items"]

    def reproduce(self, run_id: str) -> dict[str, Any]:
        job = self.services.reproduce.reproduce(run_id, actor=self.user)
        process_dispatcher(self.services, self.executor).add_jobs([job["id"]])  # no server
        return job

    def wait_job(self, job_id: str, timeout: float | None) -> dict[str, Any]:
        process_dispatcher(self.services, self.executor).add_jobs([job_id])  # no server
        return self.services.jobs.wait(job_id, timeout)

    def reproduction_report(self, run_id: str, against: str) -> dict[str, Any]:
        return self.services.reproduce.compare(run_id, against)


class HttpSweeps(HttpDomain, SweepsClient):
    def create(self, **fields: Any) -> dict[str, Any]:
        return self.request(
            "POST", "sweeps", body={k: v for k, v in fields.items() if v is not None}
        )

    def get(self, sweep_id: str) -> dict[str, Any]:
        return self.request("GET", f"sweeps/{q(sweep_id)}")

    def runs(self, sweep_id: str) -> list[dict[str, Any]]:
        return self.get(sweep_id)["runs"]

    def best(self, sweep_id: str, metric: str, mode: str) -> dict[str, Any]:
        return self.request(
            "GET", f"sweeps/{q(sweep_id)}/best", params={"metric": metric, "mode": mode}
        )

    def cancel(self, sweep_id: str) -> dict[str, Any]:
        return self.request("POST", f"sweeps/{q(sweep_id)}/cancel")

    def create_schedule(self, **fields: Any) -> dict[str, Any]:
        return self.request(
            "POST", "schedules", body={k: v for k, v in fields.items() if v is not None}
        )

    def update_schedule(self, schedule_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        return self.request("PATCH", f"schedules/{q(schedule_id)}", body=changes)

    def schedule_history(self, schedule_id: str) -> list[dict[str, Any]]:
        return self.request("GET", f"schedules/{q(schedule_id)}")["history"]

    def delete_schedule(self, schedule_id: str) -> None:
        self.request("DELETE", f"schedules/{q(schedule_id)}")

    def schedules(self, max_results: int) -> list[dict[str, Any]]:
        return self.request("GET", "schedules", params={"max_results": max_results})["items"]

    def reproduce(self, run_id: str) -> dict[str, Any]:
        return self.request("POST", f"runs/{q(run_id)}/reproduce")["job"]

    def wait_job(self, job_id: str, timeout: float | None) -> dict[str, Any]:
        return HttpJobs(self.request).wait(job_id, timeout)

    def reproduction_report(self, run_id: str, against: str) -> dict[str, Any]:
        return self.request(
            "GET", f"runs/{q(run_id)}/reproduction-report", params={"against": against}
        )
