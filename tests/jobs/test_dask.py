"""Jobs on a real Dask cluster: a ``dask scheduler`` and two ``dask worker`` processes on
127.0.0.1 (one with a GPU resource), no LocalCluster."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from labcycle.jobs.dispatcher import Dispatcher
from labcycle.jobs.executors import dask_resources
from labcycle.jobs.runner import kernel_store_env

from .conftest import write_notebook

pytestmark = pytest.mark.kernel


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _dask() -> list[str]:
    exe = shutil.which("dask", path=str(Path(sys.executable).parent))
    return [exe] if exe else [sys.executable, "-m", "dask"]


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory) -> Iterator[str]:
    port = _free_port()
    address = f"127.0.0.1:{port}"
    logs = tmp_path_factory.mktemp("dask")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LABCYCLE_")}

    def spawn(args: list[str], log: str) -> subprocess.Popen:
        with open(logs / log, "w") as out:
            return subprocess.Popen([*_dask(), *args], stdout=out, stderr=subprocess.STDOUT,
                                    env=env, start_new_session=True)

    procs = [spawn(["scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                   "scheduler.log")]
    for name, extra in (("cpu-worker", []), ("gpu-worker", ["--resources", "GPU=1"])):
        procs.append(spawn(["worker", f"tcp://{address}", "--nworkers", "1", "--nthreads", "1",
                            "--name", name, "--no-dashboard", "--host", "127.0.0.1", *extra],
                           f"{name}.log"))
    from distributed import Client

    try:
        client = Client(f"tcp://{address}", timeout=60)
        client.wait_for_workers(2, timeout=120)
        client.close()
        yield f"dask://{address}"
    finally:
        for proc in procs[::-1]:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


def test_resource_hints_map_to_dask_resources():
    assert dask_resources({"cpus": 2, "memory": 4e9, "gpus": 1}) == {
        "CPU": 2, "MEMORY": 4e9, "GPU": 1}
    assert dask_resources({}) is None and dask_resources(None) is None


def test_jobs_run_on_dask_workers_and_gpu_hints_land_on_the_gpu_worker(
        services, store_urls, dask_cluster, tmp_path):
    db_url, artifact_url = store_urls
    nb = write_notebook(
        tmp_path / "dask.ipynb",
        "import labcycle as lc\nlc.log_metric('square', x * x)",
        parameters="x = 0",
    )
    dispatcher = Dispatcher(services, executor=dask_cluster, max_jobs=2, db_url=db_url,
                            artifact_url=artifact_url,
                            kernel_env=kernel_store_env(db_url=db_url, artifact_url=artifact_url),
                            job_ids=set(), poll_interval=0.2)
    gpu_jobs = [services.jobs.submit(actor="t", notebook=str(nb), parameters={"x": i},
                                     resources={"gpus": 1}) for i in (3,)]
    plain = services.jobs.submit(actor="t", notebook=str(nb), parameters={"x": 5})
    try:
        dispatcher.start()
        dispatcher.add_jobs([j["id"] for j in [*gpu_jobs, plain]])
        deadline = time.monotonic() + 170
        for job in [*gpu_jobs, plain]:
            done = services.jobs.wait(job["id"], timeout=max(1, deadline - time.monotonic()))
            assert done["status"] == "succeeded", done
            assert done["executor"] == dask_cluster
        for job, x in zip(gpu_jobs, (3,), strict=True):
            run = services.tracking.get_run(services.jobs.get(job["id"])["run_id"])
            assert run["metrics"] == {"square": float(x * x)}
            assert run["tags"]["labcycle.worker"] == "gpu-worker"
        plain_run = services.tracking.get_run(services.jobs.get(plain["id"])["run_id"])
        assert plain_run["metrics"] == {"square": 25.0}
        assert plain_run["tags"]["labcycle.worker"] in ("cpu-worker", "gpu-worker")
    finally:
        dispatcher.stop()
