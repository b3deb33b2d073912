"""The CLI of sweeps, schedules and reproduce (no kernels: --no-wait and --against)."""

from __future__ import annotations

import json

from click.testing import CliRunner

from labcycle.cli.base import main


def _invoke(*args: str):
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result


def test_sweep_no_wait_then_show_and_cancel(home, train_notebook, services):
    result = _invoke(
        "sweep",
        str(train_notebook),
        "--grid",
        "lr=0.01,0.1",
        "--grid",
        "depth=3,5,8",
        "--parallel",
        "4",
        "--no-wait",
        "--json",
    )
    assert result.exit_code == 0, result.output
    sweep = json.loads(result.output)
    assert sweep["n_trials"] == 6 and sweep["parallel"] == 4
    assert sweep["progress"]["pending"] == 4  # 4 submitted, 2 waiting for a slot
    shown = _invoke("sweeps", "show", sweep["id"][:8])
    assert shown.exit_code == 0 and "lr" in shown.output and "depth" in shown.output
    assert sweep["id"][:12] in _invoke("sweeps", "ls").output
    cancelled = _invoke("sweeps", "cancel", sweep["id"])
    assert cancelled.exit_code == 0 and "cancelled" in cancelled.output
    random = _invoke(
        "sweep",
        str(train_notebook),
        "--random",
        "lr=loguniform(1e-4,1e-1)",
        "--random",
        "depth=choice(3,5,8)",
        "--trials",
        "5",
        "--seed",
        "1",
        "--no-wait",
        "--json",
    )
    first = json.loads(random.output)
    again = json.loads(
        _invoke(
            "sweep",
            str(train_notebook),
            "--random",
            "lr=loguniform(1e-4,1e-1)",
            "--random",
            "depth=choice(3,5,8)",
            "--trials",
            "5",
            "--seed",
            "1",
            "--no-wait",
            "--json",
        ).output
    )
    params = [[r["parameters"] for r in services.sweeps.runs(s["id"])] for s in (first, again)]
    assert params[0] == params[1] and len(params[0]) == 5


def test_bad_sweep_is_one_clear_line(home, train_notebook):
    result = _invoke("sweep", str(train_notebook), "--random", "lr=uniform(1,0)", "--trials", "3")
    assert result.exit_code == 1
    assert "error:" in result.output and "random.lr" in result.output
    assert "Traceback" not in result.output


def test_schedules_commands(home, train_notebook):
    added = _invoke(
        "schedules",
        "add",
        str(train_notebook),
        "--cron",
        "0 3 * * *",
        "--tz",
        "Europe/Paris",
        "-p",
        "lr=0.5",
        "--json",
    )
    assert added.exit_code == 0, added.output
    schedule = json.loads(added.output)
    assert schedule["payload"]["parameters"] == {"lr": 0.5}
    listed = _invoke("schedules", "ls")
    assert schedule["id"][:12] in listed.output and "0 3 * * *" in listed.output
    assert "paused" in _invoke("schedules", "pause", schedule["id"][:8]).output
    assert "resumed" in _invoke("schedules", "resume", schedule["id"][:8]).output
    assert "history" in _invoke("schedules", "show", schedule["id"][:8]).output
    assert "deleted" in _invoke("schedules", "rm", schedule["id"][:8]).output
    bad = _invoke("schedules", "add", str(train_notebook), "--cron", "99 * * * *")
    assert bad.exit_code == 1 and "cron" in bad.output


def test_reproduce_against_prints_the_report(home, services):
    a = services.tracking.create_run(actor="a", experiment="e", packages={"numpy": "1.0"})
    b = services.tracking.create_run(actor="a", experiment="e", packages={"numpy": "2.0"})
    for run in (a, b):
        services.tracking.log_metrics(run["id"], [{"key": "acc", "value": 0.5}], actor="a")
    result = _invoke("reproduce", a["id"], "--against", b["id"])
    assert result.exit_code == 0, result.output
    assert "package numpy" in result.output and "metric acc" in result.output
    assert "+0%" in result.output
    as_json = json.loads(_invoke("reproduce", a["id"], "--against", b["id"], "--json").output)
    assert as_json["packages"]["changed"] == {"numpy": {"a": "1.0", "b": "2.0"}}
    refused = _invoke("reproduce", a["id"])
    assert refused.exit_code == 1 and "snapshot" in refused.output
