"""The faces: lc.get_deployment / Deployment.predict / curl_example, and the CLI listing."""

from __future__ import annotations

import json
import subprocess


def test_python_api_predicts_and_the_curl_example_works(deployment, data):
    import labcycle as lc

    X, _ = data
    dep = lc.get_deployment("bc-shared")
    assert dep.id == deployment["id"] and dep.status == "ready"
    preds = dep.predict(X.head(3))
    assert preds.shape == (3,)
    full = dep.predict(X.head(2).to_dict("records"), full=True)
    assert full["model_version"] == 1 and len(full["prediction_ids"]) == 2
    example = dep.curl_example
    assert example.startswith("curl ") and deployment["url"] + "predict" in example
    out = subprocess.run(["bash", "-c", example], capture_output=True, text=True, timeout=30)
    assert len(json.loads(out.stdout)["predictions"]) == 1, out
    assert any(d.id == dep.id for d in lc.list_deployments())


def test_cli_lists_and_shows(deployment):
    from click.testing import CliRunner

    from labcycle.cli.base import main

    result = CliRunner().invoke(main, ["deployments", "ls", "--json"])
    assert result.exit_code == 0, result.output
    assert deployment["id"] in {d["id"] for d in json.loads(result.output)}
    result = CliRunner().invoke(main, ["deployments", "show", "bc-shared"])
    assert result.exit_code == 0 and deployment["url"] in result.output, result.output
    result = CliRunner().invoke(main, ["deployments", "split", "bc-shared", "1=50", "2=40"])
    assert result.exit_code == 1 and "add up to 100" in result.output
