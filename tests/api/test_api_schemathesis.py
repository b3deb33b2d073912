"""Schemathesis over the served OpenAPI document: no generated request gets a 5xx.

A real JupyterLab with LabCycle runs in a subprocess (schemathesis calls it synchronously);
every operation of ``openapi.json`` gets a fixed budget of generated examples, so the run
is bounded (about a minute on a quiet machine).
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from live_jupyter import LiveJupyter

EXAMPLES = 3


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    server = LiveJupyter(tmp_path_factory.mktemp("schemathesis")).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def api_schema(live):
    return schemathesis.openapi.from_url(
        live.url + "labcycle/api/v1/openapi.json",
        headers={"Authorization": f"token {live.token}"},
    )


def test_no_generated_request_gets_a_5xx(api_schema, live):
    base_url = live.url.rstrip("/") + "/labcycle/api/v1"
    headers = {"Authorization": f"token {live.token}"}
    failures, calls = [], 0
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) > 50

    for operation in operations:

        @given(operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def check(case):
            nonlocal calls
            calls += 1
            response = case.call(base_url=base_url, headers=headers, timeout=60)
            if response.status_code >= 500:
                failures.append(
                    f"{case.method} {case.formatted_path} {case.query} -> "
                    f"{response.status_code}: {response.text[:300]}"
                )

        check()
    assert calls >= len(operations), calls
    assert not failures, "\n".join(failures[:20])
