"""Artifacts (content-addressed blobs), cell executions and the notebook snapshot."""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
from pathlib import Path

import pytest

from labcycle.errors import InvalidInput, NotFound
from labcycle.services import Services
from labcycle.services.artifacts import out_of_order
from labcycle.store.artifacts import ArtifactStore, validate_artifact_path


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _blob_files(root: Path) -> list[Path]:
    return sorted(p for p in (root / "blobs").rglob("*") if p.is_file())


def test_bytes_file_and_stream_round_trip(
    services: Services, run: dict, tmp_path: Path, artifact_root: Path
) -> None:
    small = b'{"a": 1}'
    local = tmp_path / "model.bin"
    local.write_bytes(os.urandom(100_000))
    big = os.urandom(3 * (1 << 20) + 17)  # several of the store's 1 MiB chunks

    meta = services.artifacts.log_bytes(run["id"], "config.json", small, actor="alice")
    assert meta["digest"] == _digest(small) and meta["size"] == len(small)
    assert meta["media_type"] == "application/json"
    file_meta = services.artifacts.log_file(
        run["id"], "models/model.bin", str(local), actor="alice"
    )
    assert file_meta["digest"] == _digest(local.read_bytes())
    stream_meta = services.artifacts.log_stream(
        run["id"], "data/big.bin", io.BytesIO(big), actor="alice", media_type="application/x-test"
    )
    assert stream_meta["size"] == len(big) and stream_meta["media_type"] == "application/x-test"

    assert services.artifacts.read_artifact(run["id"], "config.json") == small
    assert services.artifacts.read_artifact(run["id"], "models/model.bin") == local.read_bytes()
    meta, chunks = services.artifacts.open_artifact(run["id"], "data/big.bin")
    assert meta == stream_meta
    assert b"".join(chunks) == big
    listed = services.artifacts.list_artifacts(run["id"])
    assert [a["path"] for a in listed] == ["config.json", "data/big.bin", "models/model.bin"]
    assert services.tracking.get_run(run["id"])["artifact_count"] == 3
    # Every blob is where its digest says, and nothing else was left behind (no .tmp files).
    expected = {
        artifact_root / "blobs" / "sha256" / d[7:9] / d[9:] for d in (a["digest"] for a in listed)
    }
    assert set(_blob_files(artifact_root)) == expected


def test_stream_spool_files_are_removed(
    services: Services, run: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spool = tmp_path / "spool"
    spool.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spool))
    services.artifacts.log_stream(run["id"], "s.bin", io.BytesIO(b"x" * 10_000), actor="alice")
    assert list(spool.iterdir()) == []


def test_same_content_is_stored_once(services: Services, run: dict, artifact_root: Path) -> None:
    other = services.tracking.create_run(actor="bob")
    data = b"same bytes" * 1000
    first = services.artifacts.log_bytes(run["id"], "a.bin", data, actor="alice")
    second = services.artifacts.log_bytes(run["id"], "copy/a.bin", data, actor="alice")
    third = services.artifacts.log_stream(other["id"], "b.bin", io.BytesIO(data), actor="bob")
    assert first["digest"] == second["digest"] == third["digest"] == _digest(data)
    assert len(_blob_files(artifact_root)) == 1
    assert services.artifacts.read_artifact(other["id"], "b.bin") == data


def test_logging_a_path_again_replaces_it(services: Services, run: dict) -> None:
    old = services.artifacts.log_bytes(run["id"], "model.bin", b"v1", actor="alice")
    new = services.artifacts.log_bytes(run["id"], "model.bin", b"v2", actor="bob")
    assert services.artifacts.read_artifact(run["id"], "model.bin") == b"v2"
    assert [a["digest"] for a in services.artifacts.list_artifacts(run["id"])] == [new["digest"]]
    event = services.audit.list(user="bob", action="artifact.put")["items"][0]
    assert event["details"]["replaced"] == old["digest"]
    assert event["details"]["digest"] == new["digest"]


BAD_PATHS = [
    "../a",
    "..",
    "a/../b",
    "a/..",
    "/abs",
    "/",
    "C:/x",
    "c:x",
    "a\\b",
    "..\\a",
    "a\x00b",
    "a\nb",
    "%2e%2e/x",
    "%2E%2E%2Fx",
    "a%2fb",
    "%252e%252e%252f",
    "a%5cb",
    "a//b",
    "a/",
    "./a",
    ".",
    "a/./b",
    "",
    "x" * 1001,
]


@pytest.mark.parametrize("path", BAD_PATHS, ids=repr)
def test_unsafe_paths_are_refused(
    services: Services, run: dict, artifact_root: Path, tmp_path: Path, path: str
) -> None:
    local = tmp_path / "f.bin"
    local.write_bytes(b"data")
    attempts = [
        lambda: services.artifacts.log_bytes(run["id"], path, b"data", actor="eve"),
        lambda: services.artifacts.log_file(run["id"], path, str(local), actor="eve"),
        lambda: services.artifacts.log_stream(run["id"], path, io.BytesIO(b"data"), actor="eve"),
        lambda: services.artifacts.record_blob(run["id"], path, _digest(b"data"), 4, actor="eve"),
        lambda: services.artifacts.get_artifact(run["id"], path),
        lambda: services.artifacts.read_artifact(run["id"], path),
    ]
    for attempt in attempts:
        with pytest.raises(InvalidInput) as info:
            attempt()
        assert info.value.details["field"] == "path"
    assert services.artifacts.list_artifacts(run["id"]) == []
    assert _blob_files(artifact_root) == []  # refused before anything was written


@pytest.mark.parametrize(
    "path", ["a", "a/b/c.txt", "..a", "a..", "a/.hidden", "a b/ü.txt", "a%b", "50%", "a.b.c"]
)
def test_ordinary_paths_are_accepted(path: str) -> None:
    assert validate_artifact_path(path) == path


def test_files_never_leave_the_root(
    services: Services, run: dict, tmp_path: Path, artifact_root: Path
) -> None:
    watched = [artifact_root.parent, tmp_path]  # the store's neighbourhood and a test folder

    def files() -> set[Path]:
        return {p for folder in watched for p in folder.rglob("*") if p.is_file()}

    before = files()
    for i in range(3):
        services.artifacts.log_bytes(run["id"], f"dir/{i}.bin", bytes([i]) * 10, actor="alice")
    services.artifacts.log_stream(run["id"], "s.bin", io.BytesIO(b"s"), actor="alice")
    local = tmp_path / "local.bin"
    local.write_bytes(b"local")
    services.artifacts.log_file(run["id"], "l.bin", str(local), actor="alice")
    for bad in ("../escape.bin", "/tmp/escape.bin", "%2e%2e/escape.bin", "..%2fescape.bin"):
        with pytest.raises(InvalidInput):
            services.artifacts.log_bytes(run["id"], bad, b"escape", actor="eve")
    new = files() - before - {local}
    outside = [
        p for p in new if artifact_root not in p.parents and not p.name.startswith("labcycle.db")
    ]  # SQLite's -wal/-shm files
    assert outside == []
    blobs = _blob_files(artifact_root)
    assert len(blobs) == 5
    assert all(p.parent.parent.parent == artifact_root / "blobs" for p in blobs)
    assert not any(p.name.startswith("escape") for p in new)


def test_blob_paths_come_only_from_digests(tmp_path: Path) -> None:
    blobs = ArtifactStore(str(tmp_path / "root"))
    for bad in (
        "sha256:../../etc/passwd",
        "sha256:" + "A" * 64,
        "md5:" + "0" * 32,
        "sha256:" + "0" * 63,
        "../" + "0" * 64,
    ):
        with pytest.raises(InvalidInput):
            blobs.blob_path(bad)
    good = blobs.blob_path("sha256:" + "ab" * 32)
    assert good.startswith(str(tmp_path / "root" / "blobs" / "sha256" / "ab"))


def test_a_missing_blob_is_not_found(services: Services, run: dict, artifact_root: Path) -> None:
    services.artifacts.log_bytes(run["id"], "model.bin", b"weights", actor="alice")
    for blob in _blob_files(artifact_root):
        blob.unlink()
    with pytest.raises(NotFound) as info:
        services.artifacts.read_artifact(run["id"], "model.bin")
    assert "missing" in info.value.message
    # Before any byte is sent: a streaming handler can still answer 404.
    with pytest.raises(NotFound):
        services.artifacts.open_artifact(run["id"], "model.bin")


def test_unknown_artifacts_and_runs(services: Services, run: dict) -> None:
    with pytest.raises(NotFound):
        services.artifacts.get_artifact(run["id"], "nope.bin")
    with pytest.raises(NotFound):
        services.artifacts.read_artifact(run["id"], "nope.bin")
    with pytest.raises(NotFound):
        services.artifacts.log_bytes("0" * 32, "a.bin", b"x", actor="alice")
    with pytest.raises(NotFound):
        services.artifacts.list_artifacts("0" * 32)
    with pytest.raises(NotFound):
        services.artifacts.record_blob(
            run["id"], "a.bin", _digest(b"never stored"), 12, actor="alice"
        )
    with pytest.raises(InvalidInput):
        services.artifacts.record_blob(run["id"], "a.bin", "sha256:xyz", 1, actor="alice")
    assert services.artifacts.list_artifacts(run["id"]) == []


def test_record_blob_attaches_an_uploaded_blob(services: Services, run: dict) -> None:
    digest, size = services.blobs.put_bytes(b"uploaded")
    meta = services.artifacts.record_blob(run["id"], "up.bin", digest, size, actor="alice")
    assert meta["digest"] == digest and meta["size"] == 8
    assert services.artifacts.read_artifact(run["id"], "up.bin") == b"uploaded"


# -- cells and the notebook snapshot -------------------------------------------------------


def _notebook(*cell_ids: str) -> bytes:
    return json.dumps(
        {
            "nbformat": 4,
            "nbformat_minor": 5,
            "metadata": {},
            "cells": [
                {
                    "id": c,
                    "cell_type": "code",
                    "source": f"# {c}",
                    "metadata": {},
                    "outputs": [],
                    "execution_count": None,
                }
                for c in cell_ids
            ],
        }
    ).encode()


def _executed(services: Services, run_id: str, *cell_ids: str | None) -> None:
    services.artifacts.log_cells(
        run_id,
        [
            {"cell_id": c, "source": f"# {c}", "execution_count": n, "duration_ms": 1.5}
            for n, c in enumerate(cell_ids, start=1)
        ],
        actor="alice",
    )


@pytest.mark.parametrize(
    ("executed", "expected"),
    [
        (["a", "b", "c"], False),  # top to bottom
        (["a", "a", "b", "c"], False),  # re-running the same cell is not going back
        (["a", "c"], False),  # skipping a cell is not going back either
        (["a", "b", "c", "b"], True),  # an earlier cell after a later one
        (["b", "a"], True),
        (["a", "x", "b", None, "c"], False),  # cells not in the notebook are ignored
        (["x", "y", None], None),  # nothing matches: unknown
        ([], None),
    ],
)
def test_out_of_order_detection(
    services: Services, run: dict, executed: list, expected: bool | None
) -> None:
    if executed:
        _executed(services, run["id"], *executed)
    meta = services.artifacts.attach_notebook(run["id"], _notebook("a", "b", "c"), actor="alice")
    assert meta["path"] == "notebook.ipynb"
    assert meta["media_type"] == "application/x-ipynb+json"
    got = services.tracking.get_run(run["id"])
    assert got["out_of_order"] is expected
    assert got["cell_count"] == len(executed)
    assert json.loads(services.artifacts.read_artifact(run["id"], "notebook.ipynb"))["cells"]


def test_out_of_order_is_recomputed_with_each_snapshot(services: Services, run: dict) -> None:
    _executed(services, run["id"], "a", "b")
    services.artifacts.attach_notebook(run["id"], _notebook("a", "b"), actor="alice")
    assert services.tracking.get_run(run["id"])["out_of_order"] is False
    _executed(services, run["id"], "a")  # a second batch: seq continues, "a" after "b"
    services.artifacts.attach_notebook(run["id"], _notebook("a", "b"), actor="alice")
    assert services.tracking.get_run(run["id"])["out_of_order"] is True
    assert [c["seq"] for c in services.artifacts.list_cells(run["id"])] == [1, 2, 3]


def test_out_of_order_function_places_cells_by_id_then_source() -> None:
    notebook = {
        "cells": [
            {"id": "a", "source": "x = 1"},
            {"id": "b", "source": ["y = ", "2"]},
            {"source": "z = 3"},
            {"id": "c", "source": "w = 4"},
        ]
    }

    def cell(cell_id=None, source=""):
        return {"cell_id": cell_id, "source": source}

    assert out_of_order([cell("a"), cell("c")], notebook) is False
    assert out_of_order([cell("c"), cell("b")], notebook) is True
    assert out_of_order([cell(None), cell("zzz")], notebook) is None
    assert out_of_order([cell("a")], {"cells": []}) is None
    # Without ids (nbclient, papermill) the source places a cell; list sources are joined.
    assert (
        out_of_order([cell(source="x = 1"), cell(source="y = 2"), cell(source="z = 3")], notebook)
        is False
    )
    assert out_of_order([cell(source="z = 3"), cell(source="y = 2")], notebook) is True


def test_snapshot_matches_cells_without_ids_by_source(services: Services, run: dict) -> None:
    services.artifacts.log_cells(run["id"], [{"source": "# b"}, {"source": "# a"}], actor="alice")
    services.artifacts.attach_notebook(run["id"], _notebook("a", "b"), actor="alice")
    assert services.tracking.get_run(run["id"])["out_of_order"] is True


@pytest.mark.parametrize("content", [b"not json", b"[]", b'{"metadata": {}}', b"\xff\xfe"])
def test_bad_notebook_snapshots(services: Services, run: dict, content: bytes) -> None:
    with pytest.raises(InvalidInput) as info:
        services.artifacts.attach_notebook(run["id"], content, actor="alice")
    assert info.value.details["field"] == "notebook"
    assert services.artifacts.list_artifacts(run["id"]) == []


def test_cells_round_trip(services: Services, run: dict) -> None:
    services.artifacts.log_cells(
        run["id"],
        [
            {
                "cell_id": "a",
                "source": "x = 1",
                "execution_count": 1,
                "duration_ms": 2,
                "started_at": 1_767_225_600_000,
            },
            {"cell_id": "b", "source": "1/0", "status": "error", "error": "ZeroDivisionError"},
        ],
        actor="alice",
    )
    cells = services.artifacts.list_cells(run["id"])
    assert [(c["seq"], c["cell_id"], c["status"], c["error"]) for c in cells] == [
        (1, "a", "ok", None),
        (2, "b", "error", "ZeroDivisionError"),
    ]
    assert cells[0]["started_at"].startswith("2026-01-01T00:00:00")
    assert cells[0]["duration_ms"] == 2.0
    assert services.artifacts.log_cells(run["id"], [], actor="alice") == 0


@pytest.mark.parametrize(
    ("cells", "field"),
    [
        ("cells", "cells"),
        (["x"], "cells[0]"),
        ([{"source": 1}], "cells[0].source"),
        ([{"status": "maybe"}], "cells[0].status"),
        ([{"duration_ms": "1s"}], "cells[0].duration_ms"),
        ([{"duration_ms": True}], "cells[0].duration_ms"),
        ([{}, {"execution_count": "one"}], "cells[1].execution_count"),
        ([{"started_at": 2**64}], "cells[0].started_at"),
    ],
)
def test_bad_cells_name_the_field(services: Services, run: dict, cells, field: str) -> None:
    with pytest.raises(InvalidInput) as info:
        services.artifacts.log_cells(run["id"], cells, actor="alice")
    assert info.value.details["field"] == field
    assert services.artifacts.list_cells(run["id"]) == []
