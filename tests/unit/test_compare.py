"""Run comparison (both stores) and the notebook diff of two runs' snapshots."""

from __future__ import annotations

import json
import math
import time

import nbformat
import pytest

from labcycle.errors import InvalidInput, NotFound
from labcycle.services.compare import downsample
from labcycle.services.nbdiff import diff_notebooks, parse_notebook

ACTOR = "alice"


def _run(svc, name, *, params, user=ACTOR, packages=None, python="3.11.9", tags=None):
    run = svc.tracking.create_run(
        actor=user,
        experiment="cmp",
        project="churn",
        name=name,
        python_version=python,
        packages=packages or {},
        git={"commit": "abc123" if name != "c" else "def456"},
        tags=tags,
    )
    svc.tracking.log_params(run["id"], params, actor=user)
    return run


@pytest.fixture
def three(services):
    svc = services
    a = _run(
        svc,
        "a",
        params={"lr": 0.1, "model": "rf", "optimizer": "adam", "depth": 3},
        packages={"numpy": "1.26.4", "pandas": "2.2.0"},
        tags={"team": "x"},
    )
    b = _run(
        svc,
        "b",
        params={"lr": 0.01, "model": "rf", "optimizer": "sgd", "depth": 5},
        packages={"numpy": "2.0.0", "pandas": "2.2.0"},
        user="bob",
        tags={"team": "x"},
    )
    c = _run(
        svc,
        "c",
        params={"lr": 0.1, "model": "rf", "optimizer": "adam"},
        packages={"numpy": "1.26.4", "pandas": "2.2.0", "torch": "2.3.0"},
        python="3.12.1",
    )
    now = int(time.time() * 1000)
    # loss: 5,000 smooth points with one single-point spike at step 2345 (run a)
    points = [("loss", 1.0 / (s + 1), s, now + s) for s in range(5000)]
    points[2345] = ("loss", 50.0, 2345, now + 2345)
    points[4000] = ("loss", -7.5, 4000, now + 4000)  # and a dip
    svc.tracking.log_metrics(a["id"], points, actor=ACTOR)
    svc.tracking.log_metrics(b["id"], [("loss", 0.5, s, now) for s in range(10)], actor=ACTOR)
    for run, acc in ((a, 0.91), (b, 0.87), (c, float("nan"))):
        svc.tracking.log_metrics(run["id"], [("acc", acc, 0, now)], actor=ACTOR)
    return a, b, c


def _row(table, key):
    return next(r for r in table["rows"] if r["key"] == key)


def test_compare_three_runs(services, three):
    a, b, c = three
    ids = [a["id"], b["id"], c["id"]]
    out = services.compare.runs(ids, metric="acc")
    assert out["run_ids"] == ids and [r["name"] for r in out["runs"]] == ["a", "b", "c"]
    params = out["params"]
    assert params["differing"] == ["depth", "lr", "optimizer"] and params["constant"] == ["model"]
    assert _row(params, "lr")["values"] == {a["id"]: "0.1", b["id"]: "0.01", c["id"]: "0.1"}
    assert _row(params, "depth")["values"][c["id"]] is None  # missing counts as different
    acc = _row(out["metrics"], "acc")
    assert acc["values"][a["id"]] == 0.91 and math.isnan(acc["values"][c["id"]]) and acc["differs"]
    assert out["tags"]["constant"] == [] and "team" in out["tags"]["differing"]
    attrs = out["attributes"]
    assert "user" in attrs["differing"] and "python_version" in attrs["differing"]
    assert "git_commit" in attrs["differing"] and "project" in attrs["constant"]
    assert out["packages"]["same"] == 1  # pandas
    assert {p["name"]: p["values"][c["id"]] for p in out["packages"]["differing"]} == {
        "numpy": "1.26.4",
        "torch": "2.3.0",
    }
    # metric histories, downsampled so that the spike and the dip survive
    loss = out["histories"]["loss"]
    assert set(loss) == {a["id"], b["id"]}  # c logged no loss
    series = loss[a["id"]]
    assert series["points"] == 5000 and series["downsampled"] is True
    assert len(series["steps"]) <= 1000 and len(series["steps"]) == len(series["values"])
    assert 50.0 in series["values"] and -7.5 in series["values"]
    assert series["steps"][0] == 0 and series["steps"][-1] == 4999
    assert series["steps"] == sorted(series["steps"])
    assert loss[b["id"]] == {
        "steps": list(range(10)),
        "values": [0.5] * 10,
        "points": 10,
        "downsampled": False,
    }
    # parallel coordinates: differing params against acc
    par = out["parallel"]
    assert par["metric"] == "acc" and par["metric_range"] == [0.87, 0.91]
    dims = {d["key"]: d for d in par["dimensions"]}
    assert dims["lr"] == {"key": "lr", "kind": "numeric", "min": 0.01, "max": 0.1}
    assert dims["optimizer"] == {
        "key": "optimizer",
        "kind": "categorical",
        "categories": ["adam", "sgd"],
    }
    rows = {r["run_id"]: r for r in par["rows"]}
    assert rows[b["id"]]["values"] == {"depth": 5.0, "lr": 0.01, "optimizer": 1}
    assert rows[c["id"]]["values"]["depth"] is None and rows[a["id"]]["metric"] == 0.91
    # only some keys, fewer points
    few = services.compare.runs(ids, keys=["loss"], max_points=50)
    assert (
        list(few["histories"]) == ["loss"] and len(few["histories"]["loss"][a["id"]]["steps"]) <= 50
    )
    assert 50.0 in few["histories"]["loss"][a["id"]]["values"]
    assert few["parallel"]["metric"] == "acc"  # default: the first key every run has


@pytest.mark.parametrize(
    "run_ids, field",
    [
        ("abc", "run_ids"),
        (None, "run_ids"),
        (["x"], "run_ids"),
        ([f"r{i}" for i in range(51)], "run_ids"),
        (["a", 5], "run_ids[1]"),
        (["a", "a"], "run_ids[1]"),
        (["a", "b\x00"], "run_ids[1]"),
        (["a", "x" * 65], "run_ids[1]"),
    ],
)
def test_compare_refuses_bad_run_lists(services, run_ids, field):
    with pytest.raises(InvalidInput) as err:
        services.compare.runs(run_ids)
    assert err.value.details["field"] == field


def test_compare_unknown_runs_and_bad_options(services, three):
    a, b, _ = three
    with pytest.raises(NotFound) as err:
        services.compare.runs([a["id"], "nope1", b["id"], "nope2"])
    assert err.value.details["missing"] == ["nope1", "nope2"] and "nope1" in err.value.message
    with pytest.raises(InvalidInput) as err:
        services.compare.runs([a["id"], b["id"]], metric="f1")
    assert err.value.details["field"] == "metric" and "acc" in err.value.message
    for kwargs, field in [
        ({"max_points": 1}, "max_points"),
        ({"max_points": 10**6}, "max_points"),
        ({"keys": "loss"}, "keys"),
        ({"keys": ["../x"]}, "keys[0]"),
        ({"metric": "a/b"}, "metric"),
    ]:
        with pytest.raises(InvalidInput) as err:
            services.compare.runs([a["id"], b["id"]], **kwargs)
        assert err.value.details["field"] == field


def test_downsample_keeps_spikes_extremes_and_gaps():
    import random

    rng = random.Random(7)
    points = [(i, rng.gauss(0, 1)) for i in range(100_000)]
    spikes = {12_345: 1e6, 67_890: -1e6, 99_000: math.inf}
    for step, value in spikes.items():
        points[step] = (step, value)
    kept = downsample(points, 1000)
    assert len(kept) <= 1000 and kept[0] == points[0] and kept[-1] == points[-1]
    assert all(points[s] in kept for s in spikes)
    assert [s for s, _ in kept] == sorted(s for s, _ in kept)
    # every bucket keeps its own min and max: the envelope of the series is preserved
    assert max(v for _, v in kept) == math.inf and min(v for _, v in kept) == -1e6
    gap = (
        [(i, 1.0) for i in range(100)]
        + [(i, math.nan) for i in range(100, 200)]
        + [(i, 2.0) for i in range(200, 300)]
    )
    small = downsample(gap, 20)
    assert len(small) <= 20 and any(math.isnan(v) for _, v in small)
    assert downsample(points[:10], 1000) == points[:10]


# -- notebook diff ------------------------------------------------------------------------
def _nb(cells, *, ids=True):
    nb = nbformat.v4.new_notebook()
    for spec in cells:
        kind, source, *rest = spec
        cell = (
            nbformat.v4.new_code_cell(source)
            if kind == "code"
            else nbformat.v4.new_markdown_cell(source)
        )
        extra = rest[0] if rest else {}
        if "id" in extra:
            cell.id = extra["id"]
        if "outputs" in extra:
            cell.outputs = extra["outputs"]
        if "tags" in extra:
            cell.metadata["tags"] = extra["tags"]
        nb.cells.append(cell)
    text = nbformat.writes(nb)
    if not ids:
        raw = json.loads(text)
        for c in raw["cells"]:
            c.pop("id", None)
        raw["nbformat_minor"] = 4
        text = json.dumps(raw)
    return text.encode()


def _stream(text):
    return nbformat.v4.new_output("stream", name="stdout", text=text)


def _by_id(result):
    return {c["id"]: c for c in result["cells"]}


def test_notebook_diff_by_cell_id():
    a = _nb(
        [
            ("code", "alpha = 0.1\nepochs = 3", {"id": "p", "tags": ["parameters"]}),
            ("code", "import numpy as np", {"id": "imp"}),
            (
                "code",
                "x = np.arange(10)\nprint(x.sum())",
                {"id": "sum", "outputs": [_stream("45\n")]},
            ),
            ("markdown", "# Results", {"id": "md"}),
            ("code", "old_cell()", {"id": "gone"}),
            (
                "code",
                "plot()",
                {
                    "id": "plot",
                    "outputs": [
                        nbformat.v4.new_output(
                            "display_data",
                            data={"image/png": "iVBORw0KGgo=", "text/plain": "<Figure>"},
                        )
                    ],
                },
            ),
        ]
    )
    b = _nb(
        [
            ("code", "alpha = 0.01\nepochs = 3", {"id": "p", "tags": ["parameters"]}),
            ("markdown", "# Results", {"id": "md"}),  # moved up
            ("code", "import numpy as np", {"id": "imp"}),
            (
                "code",
                "x = np.arange(11)\nprint(x.sum())",
                {"id": "sum", "outputs": [_stream("55\n")]},
            ),
            ("code", "new_cell()", {"id": "new"}),
            (
                "code",
                "plot()",
                {
                    "id": "plot",
                    "outputs": [
                        nbformat.v4.new_output(
                            "display_data",
                            data={"image/png": "AAAAAAAAAAA=", "text/plain": "<Figure>"},
                        )
                    ],
                },
            ),
        ]
    )
    out = diff_notebooks(parse_notebook(a), parse_notebook(b))
    assert out["alignment"] == "id"
    cells = _by_id(out)
    assert cells["p"]["status"] == "modified" and cells["p"]["parameters"] is True
    assert (
        "-alpha = 0.1" in cells["p"]["source_diff"] and "+alpha = 0.01" in cells["p"]["source_diff"]
    )
    assert cells["imp"]["status"] == "unchanged" and "source" not in cells["imp"]
    assert cells["md"]["moved"] is True and cells["md"]["status"] == "unchanged"
    assert cells["imp"]["moved"] is False
    s = cells["sum"]
    assert s["status"] == "modified" and s["source_changed"] and s["outputs_changed"]
    assert "-45" in s["outputs_diff"] and "+55" in s["outputs_diff"]
    assert cells["gone"]["status"] == "removed" and cells["gone"]["source"] == "old_cell()"
    assert cells["gone"]["b_index"] is None and cells["gone"]["a_index"] == 4
    assert cells["new"]["status"] == "added" and cells["new"]["b_index"] == 4
    plot = cells["plot"]  # same source, a different image: outputs changed, shown by hash
    assert plot["status"] == "modified" and not plot["source_changed"] and plot["outputs_changed"]
    assert any(line.startswith("-[image/png") for line in plot["outputs_diff"])
    assert out["summary"] == {"unchanged": 2, "modified": 3, "added": 1, "removed": 1, "moved": 1}
    assert out["parameters"]["values"] == [
        {"name": "alpha", "a": "0.1", "b": "0.01", "changed": True},
        {"name": "epochs", "a": "3", "b": "3", "changed": False},
    ]
    same = diff_notebooks(parse_notebook(a), parse_notebook(a))
    assert same["identical"] is True and same["summary"]["unchanged"] == 6


def test_notebook_diff_by_source_without_ids():
    a = _nb(
        [
            ("code", "a = 1"),
            ("code", "b = 2\nc = 3\nd = 4"),
            ("code", "print('x')"),
            ("code", "removed_thing = True\nfor i in range(3): pass"),
            ("markdown", "moved text"),
        ],
        ids=False,
    )
    b = _nb(
        [
            ("markdown", "moved text"),
            ("code", "a = 1"),
            ("code", "b = 2\nc = 30\nd = 4"),
            ("code", "print('x')", {"outputs": [_stream("x\n")]}),
            ("code", "brand_new_function_call(with_args=1)"),
        ],
        ids=False,
    )
    out = diff_notebooks(parse_notebook(a), parse_notebook(b))
    assert out["alignment"] == "source"
    statuses = [(c["status"], c["a_index"], c["b_index"], c["moved"]) for c in out["cells"]]
    assert ("unchanged", 4, 0, True) in statuses  # the markdown cell moved to the top
    assert ("unchanged", 0, 1, False) in statuses
    assert ("modified", 1, 2, False) in statuses
    assert ("modified", 2, 3, False) in statuses  # outputs only
    assert ("removed", 3, None, False) in statuses and ("added", None, 4, False) in statuses
    mod = next(c for c in out["cells"] if c["a_index"] == 1)
    assert mod["source_diff"] == ["@@ -1,3 +1,3 @@", " b = 2", "-c = 3", "+c = 30", " d = 4"]


def _raw_nb(cells: list[dict]) -> bytes:
    """A notebook file written directly (nbformat's validation of 10,000 cells is slow)."""
    return json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}).encode()


def _raw_cell(cid, source, text):
    return {
        "cell_type": "code",
        "id": cid,
        "source": source,
        "metadata": {},
        "execution_count": 1,
        "outputs": [{"output_type": "stream", "name": "stdout", "text": text}],
    }


def test_notebook_diff_large_and_hostile():
    big = "x" * 5_000_000  # 5 MB of output in one cell
    cells = [_raw_cell(f"c{i}", f"print({i})", f"{i}\n") for i in range(10_000)]
    a = _raw_nb(cells + [_raw_cell("big", "dump()", big)])
    changed = list(cells)
    changed[5000] = _raw_cell("c5000", "print('changed')", "changed\n")
    b = _raw_nb(changed + [_raw_cell("big", "dump()", big + "y")])
    started = time.perf_counter()
    out = diff_notebooks(parse_notebook(a), parse_notebook(b))
    elapsed = time.perf_counter() - started
    assert elapsed < 20, elapsed  # ~1 s on an idle machine; a bound, not a benchmark
    cells_by_id = _by_id(out)
    assert out["summary"]["modified"] == 2 and out["summary"]["unchanged"] == 9_999
    big_entry = cells_by_id["big"]
    assert big_entry["outputs_changed"] is True and big_entry["outputs_truncated"] is True
    assert len(json.dumps(out)) < 3_000_000  # unchanged cells carry no source or outputs
    # detail cap
    capped = diff_notebooks(parse_notebook(a), parse_notebook(b), max_detailed_cells=1)
    assert capped["truncated"] is True
    assert sum(1 for c in capped["cells"] if c.get("detail_omitted")) == 1
    # hostile notebooks: bad JSON, not a notebook, odd cells, ANSI, duplicate ids
    for data in (b"{not json", b"[1, 2]", b'{"cells": 5}', b"\xff\xfe"):
        with pytest.raises(InvalidInput) as err:
            parse_notebook(data, "run_a")
        assert err.value.details["field"] == "run_a"
    odd = json.dumps(
        {
            "cells": [
                7,
                {
                    "cell_type": {"x": 1},
                    "source": ["a", 5, "b"],
                    "outputs": [
                        None,
                        {
                            "output_type": "error",
                            "ename": "E",
                            "evalue": "v",
                            "traceback": ["\x1b[31mred\x1b[0m", 3],
                        },
                    ],
                },
                {"id": "d", "source": "1"},
                {"id": "d", "source": "2"},
            ]
        }
    )
    parsed = parse_notebook(odd.encode())
    assert parsed[1].source == "ab" and parsed[1].cell_type == "code"
    assert "E: v\nred\n" in parsed[1].outputs_text and "\x1b" not in parsed[1].outputs_text
    res = diff_notebooks(parsed, parse_notebook(b'{"cells": []}'))
    assert res["alignment"] == "source" and res["summary"]["removed"] == 4
    with pytest.raises(InvalidInput) as err:
        diff_notebooks(parsed, parsed, max_output_chars=-1)
    assert err.value.details["field"] == "max_output_chars"


def test_notebook_diff_of_two_runs(services):
    svc = services
    a = svc.tracking.create_run(actor=ACTOR, experiment="nb")
    b = svc.tracking.create_run(actor=ACTOR, experiment="nb")
    bare = svc.tracking.create_run(actor=ACTOR, experiment="nb")
    svc.artifacts.log_bytes(
        a["id"], "notebook.ipynb", _nb([("code", "x = 1", {"id": "c1"})]), actor=ACTOR
    )
    # b has both: the executed copy wins (as reproduce chooses)
    svc.artifacts.log_bytes(
        b["id"], "notebook.ipynb", _nb([("code", "x = 1", {"id": "c1"})]), actor=ACTOR
    )
    svc.artifacts.log_bytes(
        b["id"], "executed.ipynb", _nb([("code", "x = 2", {"id": "c1"})]), actor=ACTOR
    )
    out = svc.compare.notebooks(a["id"], b["id"])
    assert (
        out["run_a"]["snapshot"] == "notebook.ipynb"
        and out["run_b"]["snapshot"] == "executed.ipynb"
    )
    assert out["cells"][0]["source_diff"] == ["@@ -1 +1 @@", "-x = 1", "+x = 2"]
    with pytest.raises(NotFound) as err:
        svc.compare.notebooks(a["id"], bare["id"])
    assert err.value.details["field"] == "run_b" and "no notebook snapshot" in err.value.message
    with pytest.raises(NotFound) as err:
        svc.compare.notebooks("nope", a["id"])
    assert err.value.details["field"] == "run_a"
    svc.artifacts.log_bytes(
        bare["id"], "notebook.ipynb", b"<html>not a notebook</html>", actor=ACTOR
    )
    with pytest.raises(InvalidInput) as err:
        svc.compare.notebooks(a["id"], bare["id"])
    assert err.value.details["field"] == "run_b"
    with pytest.raises(InvalidInput) as err:
        svc.compare.notebooks(a["id"], None)
    assert err.value.details["field"] == "run_b"


def test_database_downsampling_matches_the_reference(services):
    """Long series are bucketed in SQL; the result is exactly :func:`downsample`'s."""
    import random

    rng = random.Random(3)
    values = [rng.choice([rng.gauss(0, 1), 0.25, 0.25]) for _ in range(3001)]  # with ties
    values[10], values[2000] = math.inf, -math.inf
    for i in range(500, 560):  # a NaN gap, and NaN mixed into a bucket
        values[i] = math.nan
    values[1234] = math.nan
    a = services.tracking.create_run(actor=ACTOR, experiment="ds")
    b = services.tracking.create_run(actor=ACTOR, experiment="ds")
    services.tracking.log_metrics(
        a["id"], [("v", v, s, 7) for s, v in enumerate(values)], actor=ACTOR
    )
    services.tracking.log_metrics(b["id"], [("v", 1.0, 0, 7)], actor=ACTOR)
    for max_points in (2, 3, 100, 999):
        got = services.compare.runs([a["id"], b["id"]], max_points=max_points)["histories"]["v"]
        expected = downsample(list(enumerate(values)), max_points)
        series = got[a["id"]]
        assert series["steps"] == [s for s, _ in expected], max_points
        assert [("nan" if math.isnan(v) else v) for v in series["values"]] == [
            ("nan" if math.isnan(v) else v) for _, v in expected
        ]
        assert series["points"] == 3001 and series["downsampled"]
        assert len(series["steps"]) <= max_points
