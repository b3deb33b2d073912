"""A lone UTF-16 surrogate ("\\ud800") through the Python API: refused at the call, naming
the field, never buffered for a flush that would fail for ever; captured cells keep it as
its escape. (Over REST the same input is a 400; tests/api covers it.)"""

from __future__ import annotations

import pytest

import labcycle as lc
from labcycle.api.fluent import _state
from labcycle.errors import InvalidInput

LONE = "\ud800"


@pytest.fixture
def local_lc(tmp_path, sqlite_template):
    home = tmp_path / "home"
    home.mkdir()
    (home / "labcycle.db").write_bytes(sqlite_template.read_bytes())
    lc.configure(home=str(home))
    yield lc
    _state.reset(None)


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: lc.log_params({"lr": f"0.1{LONE}"}), "params.lr"),
        (lambda: lc.log_params({f"lr{LONE}": 0.1}), "params.lr\\ud800"),
        (lambda: lc.set_tags({"team": LONE}), "tags.team"),
        (lambda: lc.log_metric(f"acc{LONE}", 0.5), "key"),
    ],
)
def test_the_call_is_refused_and_the_run_keeps_logging(local_lc, call, field):
    with lc.start_run("surrogates") as run:
        with pytest.raises(InvalidInput) as err:
            call()
        assert err.value.details["field"] == field
        assert "surrogate" in err.value.message
        err.value.message.encode("utf-8")  # the message itself can be printed
        lc.log_params({"after": 1})
        lc.log_metric("after", 1.0)
    lc.flush()
    logged = lc.get_run(run.id)
    assert logged.params == {"after": "1"} and logged.metrics == {"after": 1.0}


def test_names_and_notes_are_refused(local_lc):
    with pytest.raises(InvalidInput) as err:
        lc.start_run("surrogates", name=f"n{LONE}")
    assert err.value.details["field"] == "name"
    with lc.start_run("surrogates") as run:
        pass
    with pytest.raises(InvalidInput) as err:
        lc.add_note(f"see {LONE}", entity=("run", run.id))
    assert err.value.details["field"] == "body"


def test_captured_cells_keep_the_character_as_its_escape(services, run):
    services.artifacts.log_cells(
        run["id"],
        [{"cell_id": "c1", "source": f"x = '{LONE}'", "execution_count": 1}],
        actor="alice",
    )
    assert [c["source"] for c in services.artifacts.list_cells(run["id"])] == ["x = '\\ud800'"]
