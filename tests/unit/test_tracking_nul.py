"""A NUL character in a param or tag value is refused on both stores, never a 500."""

from __future__ import annotations

import pytest

from labcycle.errors import InvalidInput


@pytest.mark.parametrize("kind", ["params", "tags"])
def test_nul_in_a_value_is_refused_naming_the_field(services, kind):
    run = services.tracking.create_run(actor="alice", experiment="e")
    with pytest.raises(InvalidInput) as err:
        services.tracking.log_batch(run["id"], actor="alice", **{kind: {"k": "a\x00b"}})
    assert err.value.details["field"] == f"{kind}.k" and "NUL" in err.value.message
    services.tracking.log_batch(run["id"], actor="alice", **{kind: {"k": "ok"}})
