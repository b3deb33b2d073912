"""Cell executions, the notebook snapshot (read through the contents manager), datasets."""

from __future__ import annotations

import nbformat

from labcycle.server.responses import core as out


def write_notebook(path, sources):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src, id=f"c{i}") for i, src in enumerate(sources, 1)]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(nbformat.writes(nb), encoding="utf-8")
    return nb


async def test_cells_are_logged_in_sequence(api, make_run):
    run = await make_run()
    first = await api(
        "POST",
        "runs",
        run["id"],
        "cells",
        body={
            "cells": [
                {
                    "execution_count": 1,
                    "cell_id": "c1",
                    "source": "import numpy",
                    "started_at": "2026-11-27T10:00:00Z",
                    "duration_ms": 12.5,
                },
                {
                    "execution_count": 2,
                    "cell_id": "c2",
                    "source": "1/0",
                    "started_at": 1_795_000_000_000,
                    "duration_ms": 3,
                    "status": "error",
                    "error": "ZeroDivisionError: division by zero",
                },
            ]
        },
    )
    assert first.status == 200 and first.json == {"logged": 2}
    second = await api("POST", "runs", run["id"], "cells", body={"cells": [{"source": "x = 1"}]})
    assert second.json == {"logged": 1}

    cells = out.CellExecutionList.model_validate(
        (await api("GET", "runs", run["id"], "cells")).json
    ).items
    assert [c.seq for c in cells] == [1, 2, 3]
    assert cells[0].started_at.isoformat() == "2026-11-27T10:00:00+00:00"
    assert (cells[1].status, cells[1].error) == ("error", "ZeroDivisionError: division by zero")
    assert cells[2].source == "x = 1" and cells[2].status == "ok"
    assert (await api("GET", "runs", run["id"])).json["cell_count"] == 3
    assert (await api("GET", "runs", "nope", "cells")).status == 404
    assert (await api("POST", "runs", "nope", "cells", body={"cells": [{}]})).status == 404


async def test_notebook_snapshot_from_the_contents_manager(api, make_run, jp_root_dir, jp_base_url):
    nb = write_notebook(jp_root_dir / "work" / "train.ipynb", ["a = 1", "b = a + 1", "print(b)"])
    run = await make_run(notebook_path="work/train.ipynb", source="notebook")
    # cells ran out of order: c3 before c2
    await api(
        "POST",
        "runs",
        run["id"],
        "cells",
        body={
            "cells": [
                {"cell_id": "c1", "source": "a = 1"},
                {"cell_id": "c3", "source": "print(b)"},
                {"cell_id": "c2", "source": "b = a + 1"},
            ]
        },
    )

    reply = await api("POST", "runs", run["id"], "notebook", body={"path": "work/train.ipynb"})
    assert reply.status == 201, reply
    artifact = out.Artifact.model_validate(reply.json)
    assert artifact.path == "notebook.ipynb"
    assert artifact.media_type == "application/x-ipynb+json"
    assert reply.headers["Location"] == (
        f"{jp_base_url}labcycle/api/v1/runs/{run['id']}/artifacts/notebook.ipynb"
    )

    saved = await api("GET", "runs", run["id"], "artifacts", "notebook.ipynb")
    assert saved.status == 200
    snapshot = nbformat.reads(saved.body.decode(), as_version=4)
    assert [c.source for c in snapshot.cells] == [c.source for c in nb.cells]
    assert [c.id for c in snapshot.cells] == ["c1", "c2", "c3"]
    assert (await api("GET", "runs", run["id"])).json["out_of_order"] is True


async def test_notebook_snapshot_refuses_what_the_contents_manager_refuses(
    api, make_run, jp_root_dir, tmp_path
):
    write_notebook(tmp_path / "outside.ipynb", ["secret = 42"])
    (jp_root_dir / "notes.txt").write_text("not a notebook")
    run = await make_run()
    for path in ("missing.ipynb", "../outside.ipynb", "/etc/passwd", "work/../../outside.ipynb"):
        reply = await api("POST", "runs", run["id"], "notebook", body={"path": path})
        assert reply.status == 404, (path, reply)
        assert reply.error["code"] == "not_found"
    reply = await api("POST", "runs", run["id"], "notebook", body={"path": "notes.txt"})
    assert reply.status == 400 and reply.error["code"] == "invalid_input"
    reply = await api("POST", "runs", run["id"], "notebook", body={"path": ""})
    assert reply.status == 400 and reply.error["details"]["field"] == "path"
    write_notebook(jp_root_dir / "ok.ipynb", ["x = 1"])
    reply = await api("POST", "runs", "nope", "notebook", body={"path": "ok.ipynb"})
    assert reply.status == 404
    assert (await api("GET", "runs", run["id"], "artifacts")).json == {"items": []}


async def test_datasets_and_run_inputs(api, make_run, jp_base_url):
    fields = {
        "name": "train.csv",
        "digest": "sha256:" + "ab" * 32,
        "schema": {"age": "int64", "city": "object"},
        "row_count": 1000,
        "source": "/data/train.csv",
    }
    reply = await api("POST", "datasets", body=fields)
    assert reply.status == 201, reply
    dataset = out.Dataset.model_validate(reply.json)
    assert dataset.schema_ == fields["schema"] and dataset.row_count == 1000
    assert reply.headers["Location"] == f"{jp_base_url}labcycle/api/v1/datasets/{dataset.id}"
    again = await api("POST", "datasets", body=fields)
    assert again.status == 200 and "Location" not in again.headers
    assert again.json == reply.json  # same name and fingerprint: the same dataset
    other = await api("POST", "datasets", body={**fields, "digest": "sha256:" + "cd" * 32})
    assert other.status == 201 and other.json["id"] != dataset.id

    assert (await api("GET", "datasets", dataset.id)).json == reply.json
    listed = out.DatasetList.model_validate((await api("GET", "datasets")).json)
    assert sorted(d.id for d in listed.items) == sorted([dataset.id, other.json["id"]])

    run = await make_run()
    link = await api(
        "POST", "runs", run["id"], "inputs", body={"dataset_id": dataset.id, "context": "training"}
    )
    assert link.status == 200
    assert out.RunInput.model_validate(link.json).model_dump() == {
        "run_id": run["id"],
        "dataset_id": dataset.id,
        "context": "training",
    }
    detail = out.RunDetail.model_validate((await api("GET", "runs", run["id"])).json)
    assert [(d.dataset.id, d.context) for d in detail.datasets] == [(dataset.id, "training")]

    missing = await api("POST", "runs", run["id"], "inputs", body={"dataset_id": "nope"})
    assert missing.status == 404 and missing.error["details"]["field"] == "dataset_id"
    bad = await api("POST", "datasets", body={"name": "x", "digest": "d", "schema": ["a"]})
    assert bad.status == 400 and bad.error["details"]["field"] == "schema"
