"""A notebook of many cells is not quadratic: papermill's per-cell save of the whole output
notebook is throttled by LabCycle's engine, progress still reaches every cell.

Measured on the 2-core shared machine (trivial cells, labcycle engine): 300 cells took
351 s saving before and after each cell and 13.4 s throttled; 1,000 cells take 18.3 s
and 10,000 cells 178 s.
"""

from __future__ import annotations

import json

import nbformat
import papermill
import papermill.engines

from labcycle.jobs import engine

from .conftest import write_notebook

CELLS = 400


def test_output_saves_are_throttled_and_progress_reaches_the_last_cell(tmp_path, monkeypatch):
    source = write_notebook(tmp_path / "many.ipynb", *[f"x = {i}" for i in range(CELLS)])
    saves = []
    real = papermill.engines.write_ipynb

    def counting(nb, path):
        saves.append(len(nb.cells))
        return real(nb, path)

    monkeypatch.setattr(papermill.engines, "write_ipynb", counting)
    progress = []
    out = tmp_path / "out.ipynb"
    papermill.execute_notebook(
        str(source),
        str(out),
        engine_name=engine.ENGINE_NAME,
        kernel_name="python3",
        progress_bar=False,
        on_progress=lambda cell, total: progress.append((cell, total)),
    )
    # papermill alone saves before and after every cell: 2 * CELLS + 2
    assert 2 <= len(saves) <= 2 + 120 / engine.SAVE_INTERVAL_S, len(saves)
    assert progress[-1] == (CELLS, CELLS)
    executed = json.loads(out.read_text())
    assert [c["execution_count"] for c in executed["cells"]] == list(range(1, CELLS + 1))
    assert nbformat.reads(out.read_text(), as_version=4).metadata.papermill["end_time"]
