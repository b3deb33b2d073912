"""Jobs on a real Dask cluster: a ``dask scheduler`` and two ``dask worker`` processes on
127.0.0.1 (one with a GPU resource), no LocalCluster. The workers run in a folder of their
own, with none of the submitter's LabCycle or cloud variables: what a job needs travels
with it."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from processes import stop_processes

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


def worker_env() -> dict[str, str]:
    """A worker's environment: nothing of the submitter's store or storage settings."""
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("LABCYCLE_", "AWS_")) and k != "PYTHONPATH"
    }


def spawn_dask(args: list[str], log: Path, cwd: Path) -> subprocess.Popen:
    cwd.mkdir(parents=True, exist_ok=True)
    with open(log, "w") as out:
        return subprocess.Popen(
            [*_dask(), *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=worker_env(),
            cwd=cwd,
            start_new_session=True,
        )


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory) -> Iterator[str]:
    port = _free_port()
    address = f"127.0.0.1:{port}"
    logs = tmp_path_factory.mktemp("dask")

    def spawn(args: list[str], log: str) -> subprocess.Popen:
        return spawn_dask(args, logs / log, logs / "workdir" / log.split(".")[0])

    procs = [
        spawn(
            ["scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
            "scheduler.log",
        )
    ]
    for name, extra in (("cpu-worker", []), ("gpu-worker", ["--resources", "GPU=1"])):
        procs.append(
            spawn(
                [
                    "worker",
                    f"tcp://{address}",
                    "--nworkers",
                    "1",
                    "--nthreads",
                    "1",
                    "--name",
                    name,
                    "--no-dashboard",
                    "--host",
                    "127.0.0.1",
                    *extra,
                ],
                f"{name}.log",
            )
        )
    from distributed import Client

    try:
        client = Client(f"tcp://{address}", timeout=60)
        client.wait_for_workers(2, timeout=120)
        client.close()
        yield f"dask://{address}"
    finally:
        stop_processes(procs)


def test_resource_hints_map_to_dask_resources():
    assert dask_resources({"cpus": 2, "memory": 4e9, "gpus": 1}) == {
        "CPU": 2,
        "MEMORY": 4e9,
        "GPU": 1,
    }
    assert dask_resources({}) is None and dask_resources(None) is None


def test_jobs_run_on_dask_workers_and_gpu_hints_land_on_the_gpu_worker(
    services, store_urls, dask_cluster, tmp_path
):
    db_url, artifact_url = store_urls
    nb = write_notebook(
        tmp_path / "dask.ipynb",
        "import labcycle as lc\nlc.log_metric('square', x * x)",
        parameters="x = 0",
    )
    dispatcher = Dispatcher(
        services,
        executor=dask_cluster,
        max_jobs=2,
        db_url=db_url,
        artifact_url=artifact_url,
        kernel_env=kernel_store_env(db_url=db_url, artifact_url=artifact_url),
        job_ids=set(),
        poll_interval=0.2,
    )
    gpu_jobs = [
        services.jobs.submit(
            actor="t", notebook=str(nb), parameters={"x": i}, resources={"gpus": 1}
        )
        for i in (3,)
    ]
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


def _dask_dispatcher(services, store_urls, executor: str, **kwargs) -> Dispatcher:
    db_url, artifact_url = store_urls
    return Dispatcher(
        services,
        executor=executor,
        max_jobs=2,
        db_url=db_url,
        artifact_url=artifact_url,
        kernel_env=kernel_store_env(db_url=db_url, artifact_url=artifact_url),
        job_ids=set(),
        poll_interval=0.2,
        **kwargs,
    )


def _wait_status(services, job_id: str, wanted: str, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = services.jobs.get(job_id)
        if job["status"] == wanted:
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} is {job['status']}, not {wanted}: {job}")


def test_a_queued_job_carries_its_notebook_modules_and_storage_settings(
    services, store_urls, dask_cluster, tmp_path, monkeypatch
):
    """The job waits in Dask (``queued``) for a worker with enough memory; its folder is
    deleted meanwhile; a worker started in another folder then runs it from what it
    carried: the notebook, the local module and package it imports, the storage options
    and credential variables."""
    project = tmp_path / "project"
    (project / "pkg").mkdir(parents=True)
    (project / "helpers.py").write_text(
        "from pkg.sub import twice\n\ndef square(x):\n    return twice(x * x) / 2\n"
    )
    (project / "pkg" / "__init__.py").write_text("")
    (project / "pkg" / "sub.py").write_text("def twice(x):\n    return 2 * x\n")
    (project / "unused.py").write_text("raise SystemExit('never imported')\n")
    nb = write_notebook(
        project / "carried.ipynb",
        "%matplotlib inline\nimport os\nimport labcycle as lc\nfrom helpers import square",
        "lc.log_metric('square', square(x))\n"
        "lc.log_param('options', os.environ.get('LABCYCLE_STORAGE_OPTIONS'))\n"
        "lc.log_param('region', os.environ.get('AWS_DEFAULT_REGION'))\n"
        "lc.log_param('cwd_files', ','.join(sorted(os.listdir('.'))))",
        parameters="x = 0",
    )
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-3")
    dispatcher = _dask_dispatcher(
        services, store_urls, dask_cluster, storage_options={"auto_mkdir": True}
    )
    # no worker of the cluster has 1 TB: the job waits for one
    job = services.jobs.submit(
        actor="t", notebook=str(nb), parameters={"x": 4}, resources={"memory": "1TB"}
    )
    big_worker = None
    try:
        dispatcher.start()
        dispatcher.add_jobs([job["id"]])
        queued = _wait_status(services, job["id"], "queued", 30)
        assert queued["executor"] == dask_cluster and queued["run_id"] is None
        import shutil

        shutil.rmtree(project)  # the job carries what it needs
        time.sleep(1)
        assert services.jobs.get(job["id"])["status"] == "queued"
        elsewhere = tmp_path / "big-worker"
        big_worker = spawn_dask(
            [
                "worker",
                dask_cluster.replace("dask://", "tcp://"),
                "--nworkers",
                "1",
                "--nthreads",
                "1",
                "--name",
                "big-worker",
                "--no-dashboard",
                "--host",
                "127.0.0.1",
                "--resources",
                "MEMORY=2e12",
            ],
            tmp_path / "big-worker.log",
            elsewhere,
        )
        done = services.jobs.wait(job["id"], timeout=150)
        assert done["status"] == "succeeded", (done, (tmp_path / "big-worker.log").read_text())
        run = services.tracking.get_run(done["run_id"])
        assert run["metrics"] == {"square": 16.0}
        assert run["tags"]["labcycle.worker"] == "big-worker"
        assert run["notebook_path"] == str(nb)  # the run names the original notebook
        assert run["params"]["options"] == '{"auto_mkdir": true}'
        assert run["params"]["region"] == "eu-west-3"
        # the kernel ran in the unpacked folder: the notebook, the imported code, no more
        assert run["params"]["cwd_files"] == "carried.ipynb,helpers.py,labcycle-bundle.json,pkg"
        code = {a["path"] for a in services.artifacts.list_artifacts(done["run_id"])}
        assert {"code/helpers.py", "code/pkg/sub.py"} <= code
        assert not any(p.endswith("unused.py") for p in code)
        assert not list(elsewhere.iterdir())  # the task removed its scratch folder
    finally:
        dispatcher.stop()
        if big_worker is not None:
            stop_processes([big_worker])


def test_an_unreachable_scheduler_fails_the_job_with_a_clear_message(
    services, store_urls, tmp_path, monkeypatch
):
    monkeypatch.setenv("LABCYCLE_DASK_CONNECT_TIMEOUT", "1.5")
    nb = write_notebook(tmp_path / "nowhere.ipynb", "x = 1")
    address = f"dask://127.0.0.1:{_free_port()}"
    dispatcher = _dask_dispatcher(services, store_urls, address)
    job = services.jobs.submit(actor="t", notebook=str(nb))
    try:
        dispatcher.start()
        dispatcher.add_jobs([job["id"]])
        done = services.jobs.wait(job["id"], timeout=30)
    finally:
        dispatcher.stop()
    assert done["status"] == "failed"
    assert done["error"].startswith(
        f"Could not reach the Dask scheduler at tcp://127.0.0.1:{address.rsplit(':', 1)[1]} "
        "within 1.5 s"
    ), done["error"]
    assert "--executor" in done["error"]
    assert done["error_detail"]["reason"] == "executor_unavailable"


def _cli(
    args: list[str], store_urls, cwd: Path, timeout: float = 150
) -> subprocess.CompletedProcess:
    db_url, artifact_url = store_urls
    env = {**worker_env(), "LABCYCLE_DB_URL": db_url, "LABCYCLE_ARTIFACT_URL": artifact_url}
    return subprocess.run(
        [sys.executable, "-m", "labcycle", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture
def cli_store(store_urls, monkeypatch):
    db_url, artifact_url = store_urls
    monkeypatch.setenv("LABCYCLE_DB_URL", db_url)
    monkeypatch.setenv("LABCYCLE_ARTIFACT_URL", artifact_url)
    monkeypatch.delenv("LABCYCLE_EXECUTOR", raising=False)
    return store_urls


def test_cli_run_and_sweep_on_dask_with_executor_option(
    services, cli_store, dask_cluster, tmp_path
):
    from click.testing import CliRunner

    from labcycle.cli.base import main

    nb = write_notebook(
        tmp_path / "cli.ipynb",
        "import labcycle as lc\nfrom helpers import inc\nlc.log_metric('y', inc(x))",
        parameters="x = 0",
    )
    (tmp_path / "helpers.py").write_text("def inc(x):\n    return x + 1\n")
    run = CliRunner().invoke(
        main, ["run", str(nb), "-p", "x", "41", "--executor", dask_cluster, "--json"]
    )
    assert run.exit_code == 0, run.output
    job = json.loads(run.output)
    assert job["status"] == "succeeded" and job["executor"] == dask_cluster
    assert services.tracking.get_run(job["run_id"])["metrics"] == {"y": 42.0}
    # the sweep in a process of its own: its exit is where Dask's noise used to come from
    sweep = _cli(
        [
            "sweep",
            str(nb),
            "--grid",
            "x=2",
            "--parallel",
            "2",
            "--executor",
            dask_cluster,
            "-m",
            "y",
        ],
        cli_store,
        tmp_path,
    )
    assert sweep.returncode == 0, sweep.stderr
    assert "succeeded" in sweep.stdout and "best y = 3" in sweep.stdout, sweep.stdout
    assert "cannot schedule new futures" not in sweep.stderr, sweep.stderr
    assert "Traceback" not in sweep.stderr, sweep.stderr
    # the same through the Python API in a script: its exit is as quiet
    script = tmp_path / "sweep.py"
    script.write_text(
        "import labcycle as lc\n"
        "if __name__ == '__main__':\n"
        f"    s = lc.sweep({str(nb)!r}, grid={{'x': [5]}}, wait=True)\n"
        "    print('STATUS', s.status)\n"
    )
    db_url, artifact_url = cli_store
    done = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=150,
        check=False,
        env={
            **worker_env(),
            "LABCYCLE_DB_URL": db_url,
            "LABCYCLE_ARTIFACT_URL": artifact_url,
            "LABCYCLE_EXECUTOR": dask_cluster,
        },
    )
    assert done.returncode == 0 and "STATUS succeeded" in done.stdout, done.stderr
    assert "cannot schedule new futures" not in done.stderr, done.stderr
    assert "Traceback" not in done.stderr, done.stderr


def test_cli_executor_refusals(cli_store, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from labcycle.cli.base import main

    monkeypatch.setenv("LABCYCLE_DASK_CONNECT_TIMEOUT", "1")
    nb = write_notebook(tmp_path / "bad.ipynb", "x = 1")
    runner = CliRunner()
    for spec in ("ftp://host", "dask://", "k8s"):
        bad = runner.invoke(main, ["run", str(nb), "--executor", spec])
        assert bad.exit_code == 1, bad.output
        assert f"--executor {spec!r} is not an executor" in bad.output, bad.output
    down = runner.invoke(main, ["run", str(nb), "--executor", f"dask://127.0.0.1:{_free_port()}"])
    assert down.exit_code == 1
    assert "Could not reach the Dask scheduler" in down.output, down.output
    assert "Traceback" not in down.output
    swept = runner.invoke(main, ["sweep", str(nb), "--grid", "x=1", "--executor", "nope://"])
    assert swept.exit_code == 1 and "is not an executor" in swept.output, swept.output
