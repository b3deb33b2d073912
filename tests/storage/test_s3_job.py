"""A notebook job on the local pool with the artifact store on S3: the worker process and
the job's kernel get the storage options from the dispatcher (this process has no
``LABCYCLE_STORAGE_OPTIONS``), and what the kernel logs, and the executed notebook, land in
the bucket."""

from __future__ import annotations

import os

import pytest
from jobs.conftest import write_notebook

from labcycle.jobs.dispatcher import Dispatcher
from labcycle.jobs.runner import kernel_store_env
from labcycle.services import Services

pytestmark = pytest.mark.kernel


def test_a_local_job_logs_to_s3(s3_server, bucket, tmp_path):
    assert "LABCYCLE_STORAGE_OPTIONS" not in os.environ
    url, options = f"s3://{bucket}/jobs", s3_server.storage_options()
    db_url = f"sqlite:///{tmp_path / 'labcycle.db'}"
    notebook = write_notebook(
        tmp_path / "job.ipynb",
        "from pathlib import Path\n"
        "import labcycle as lc\n"
        "Path('report.txt').write_text(f'report {x}')\n"
        "lc.log_artifact('report.txt', 'out/report.txt')\n"
        "lc.log_metric('x', x)",
        parameters="x = 0",
    )
    services = Services.open(db_url, url, storage_options=options)
    dispatcher = Dispatcher(
        services,
        executor="local",
        max_jobs=1,
        db_url=db_url,
        artifact_url=url,
        kernel_env=kernel_store_env(db_url=db_url, artifact_url=url, storage_options=options),
        job_ids=set(),
        poll_interval=0.2,
        prestart_kernels=False,
    )
    try:
        dispatcher.start()
        job = services.jobs.submit(
            actor="t", notebook=str(notebook), parameters={"x": 7}, cwd=str(tmp_path)
        )
        dispatcher.add_jobs([job["id"]])
        done = services.jobs.wait(job["id"], timeout=170)
        assert done["status"] == "succeeded", done
        run = services.tracking.get_run(done["run_id"])
        assert run["metrics"] == {"x": 7.0}
        assert services.artifacts.read_artifact(run["id"], "out/report.txt") == b"report 7"
        paths = {a["path"] for a in services.artifacts.list_artifacts(run["id"])}
        assert len(paths) >= 2, paths  # the report and the executed notebook
    finally:
        dispatcher.stop()
        services.close()

    import s3fs

    fs = s3fs.S3FileSystem(**options, skip_instance_cache=True)
    assert len(fs.find(f"{bucket}/jobs/blobs/sha256")) >= 2
