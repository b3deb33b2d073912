"""``labcycle run`` / ``labcycle jobs`` (click's CliRunner) and ``lc.submit`` (Python)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

import labcycle as lc
from labcycle.cli.base import main
from labcycle.cli.jobs import parse_value

from .conftest import write_notebook

pytestmark = pytest.mark.kernel


@pytest.fixture
def home(tmp_path, monkeypatch):
    home = tmp_path / "home"
    for name in ("LABCYCLE_DB_URL", "LABCYCLE_ARTIFACT_URL", "LABCYCLE_API_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LABCYCLE_HOME", str(home))
    monkeypatch.setenv("LABCYCLE_MAX_JOBS", "1")
    return home


def test_parse_value():
    assert parse_value("0.1") == 0.1 and parse_value("5") == 5 and parse_value("true") is True
    assert parse_value("[1, 2]") == [1, 2] and parse_value("null") is None
    assert parse_value("rf") == "rf" and parse_value("'quoted'") == "'quoted'"


def test_cli_run_then_jobs_ls_show_cancel(home, tmp_path):
    nb = write_notebook(
        tmp_path / "train.ipynb",
        "import labcycle as lc\nlc.log_metric('score', lr * depth)\n"
        "assert model == 'rf' and flag is True",
        parameters="lr = 0.0\ndepth = 0\nmodel = ''\nflag = False",
    )
    runner = CliRunner()
    result = runner.invoke(
        main,
        [
            "run",
            str(nb),
            "-p",
            "lr",
            "0.5",
            "-p",
            "depth",
            "4",
            "-p",
            "model",
            "rf",
            "-p",
            "flag",
            "true",
            "-e",
            "cli",
            "--env",
            "A=1",
            "--timeout",
            "120",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "succeeded" in result.output and "score" in result.output and "run " in result.output
    listed = runner.invoke(main, ["jobs", "ls", "--json"])
    assert listed.exit_code == 0, listed.output
    jobs = json.loads(listed.output)
    assert len(jobs) == 1 and jobs[0]["status"] == "succeeded"
    assert jobs[0]["parameters"] == {"lr": 0.5, "depth": 4, "model": "rf", "flag": True}
    job_id = jobs[0]["id"]
    shown = runner.invoke(main, ["jobs", "show", job_id[:8], "--json"])
    assert json.loads(shown.output)["run_id"] == jobs[0]["run_id"]
    table = runner.invoke(main, ["jobs", "ls"])
    assert job_id[:12] in table.output
    cancelled = runner.invoke(main, ["jobs", "cancel", job_id])
    assert cancelled.exit_code == 1 and "succeeded already" in cancelled.output
    missing = runner.invoke(main, ["jobs", "show", "nope"])
    assert missing.exit_code == 1 and "No job" in missing.output
    bad = runner.invoke(main, ["run", str(nb), "-p", "not-a-name", "1"])
    assert bad.exit_code == 1 and "not-a-name" in bad.output


def test_lc_submit_waits_and_gives_the_run(home, tmp_path):
    nb = write_notebook(
        tmp_path / "p.ipynb",
        "import labcycle as lc\nlc.log_metric('x3', x * 3)",
        parameters="x = 0",
    )
    lc.configure(home=str(home))
    try:
        job = lc.submit(nb, {"x": 7}, wait=True, timeout=170, experiment="py")
        assert isinstance(job, lc.Job)
        assert job.status == "succeeded", job.data
        assert job.progress == (3, 3)
        assert job.run.metrics == {"x3": 21.0}
        assert job.run.params == {"x": "7"}
        assert lc.get_job(job.id).status == "succeeded"
        with pytest.raises(lc.errors.Conflict):
            job.cancel()
    finally:
        from labcycle.client.jobs import stop_process_dispatcher

        stop_process_dispatcher()
        lc.api.fluent._state.reset()
