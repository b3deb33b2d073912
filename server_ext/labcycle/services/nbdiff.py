"""A cell-by-cell diff of two notebooks (our own view; nbdime is not needed).

**Alignment.** When every cell of both notebooks has an id (nbformat ≥ 4.5), ids are
unique within each, and at least half of the smaller notebook's ids are in the other
(snapshots of one notebook; two notebooks made apart share no ids), cells are paired by id: a cell whose id is in both is the same cell,
``moved`` when it is not in the longest common order of ids. Otherwise cells are paired
by a sequence match (``difflib.SequenceMatcher``) on (cell type, source); inside a replaced
stretch, cells at the same offset are paired as *modified* when their sources are similar
(``ratio`` ≥ 0.5 on their first 2,000 characters), else reported as removed + added; a removed and an added cell with
the very same source are paired as *moved*.

**Each entry** has ``status`` (``unchanged`` / ``modified`` / ``added`` / ``removed``),
``a_index`` / ``b_index`` (cell positions, None on the missing side), ``id``, ``cell_type``,
``moved``, ``source_changed``, ``outputs_changed`` and ``parameters`` (a cell tagged
``parameters`` or ``injected-parameters``). A modified cell carries ``source_diff`` (unified
diff lines, 3 lines of context) and, when its outputs changed, ``outputs_diff`` (a unified
diff of the outputs' text: streams, ``text/plain``, errors without ANSI colours, and a
``[image/png, 1,234 bytes, sha256 …]`` line per rich output, so a changed plot shows). An
added/removed cell carries its ``source`` and ``outputs_text``. Execution counts and cell
metadata are ignored.

**Limits** (so 10,000 cells or 5 MB of outputs stay cheap; all reported in ``limits``):
output text is cut at ``max_output_chars`` per cell (default 10,000; ``outputs_truncated``
says so — whether outputs changed is still decided on the full outputs, by hash), sources
at 100,000 characters, diffs at 400 lines per cell, and only the first
``max_detailed_cells`` changed cells (default 2,000) get diffs; later ones carry
``detail_omitted: true`` and the result ``truncated: true``. Unchanged cells carry no
source. The notebook's parameters (papermill's ``injected-parameters`` cell, else the
``parameters`` cell) are compared name by name in ``parameters``.
"""

from __future__ import annotations

import ast
import difflib
import hashlib
import json
import re
from typing import Any

from ..errors import InvalidInput

MAX_SNAPSHOT_BYTES = 100 * 1024 * 1024
MAX_OUTPUT_CHARS = 10_000
MAX_SOURCE_CHARS = 100_000
MAX_DIFF_LINES = 400
MAX_DETAILED_CELLS = 2_000
MAX_CELLS = 100_000
PARAMETER_TAGS = ("injected-parameters", "parameters")
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "".join(v for v in value if isinstance(v, str))
    return ""


def _output_text(output: Any) -> str:
    if not isinstance(output, dict):
        return "[output of an unknown shape]\n"
    kind = output.get("output_type")
    if kind == "stream":
        return _text(output.get("text"))
    if kind in ("error", "pyerr"):
        lines = [f"{_text(output.get('ename'))}: {_text(output.get('evalue'))}"]
        tb = output.get("traceback")
        if isinstance(tb, list):
            lines += [_ANSI.sub("", t) for t in tb if isinstance(t, str)]
        return "\n".join(lines) + "\n"
    if kind in ("execute_result", "display_data", "pyout", "update_display_data"):
        data = output.get("data")
        if not isinstance(data, dict):
            data = {}
        parts = []
        for mime in sorted(data):
            value = data[mime]
            if mime == "text/plain":
                parts.append(_text(value).rstrip("\n") + "\n")
            else:
                raw = (
                    value
                    if isinstance(value, str)
                    else json.dumps(value, sort_keys=True, default=str)
                )
                raw = raw if isinstance(raw, str) else _text(raw)
                digest = hashlib.sha256(raw.encode("utf-8", "replace")).hexdigest()[:12]
                parts.append(f"[{mime[:100]}, {len(raw):,} bytes, sha256 {digest}]\n")
        if not data and isinstance(output.get("text"), (str, list)):  # nbformat 3 pyout
            parts.append(_text(output.get("text")))
        return "".join(parts)
    return f"[{str(kind)[:50]} output]\n"


class Cell:
    __slots__ = (
        "index",
        "id",
        "cell_type",
        "source",
        "source_truncated",
        "tags",
        "outputs_text",
        "outputs_hash",
    )

    def __init__(self, index: int, raw: Any) -> None:
        if not isinstance(raw, dict):
            raw = {}
        self.index = index
        cid = raw.get("id")
        self.id = cid if isinstance(cid, str) and cid and len(cid) <= 256 else None
        kind = raw.get("cell_type")
        self.cell_type = kind if isinstance(kind, str) and len(kind) <= 50 else "code"
        source = _text(raw.get("source", raw.get("input")))
        self.source_truncated = len(source) > MAX_SOURCE_CHARS
        self.source = source[:MAX_SOURCE_CHARS]
        meta = raw.get("metadata")
        if not isinstance(meta, dict):
            meta = {}
        tags = meta.get("tags")
        if not isinstance(tags, list):
            tags = []
        self.tags = [t for t in tags if isinstance(t, str)]
        outputs = raw.get("outputs")
        if not isinstance(outputs, list):
            outputs = []
        text = "".join(_output_text(o) for o in outputs)
        # Whether outputs changed is decided on everything but counts and metadata.
        canon = [
            {k: v for k, v in o.items() if k not in ("execution_count", "metadata")}
            if isinstance(o, dict)
            else o
            for o in outputs
        ]
        self.outputs_hash = hashlib.sha256(
            json.dumps(canon, sort_keys=True, default=str).encode("utf-8", "replace")
        ).hexdigest()
        self.outputs_text = text

    def cap(self, limit: int) -> str:
        return self.outputs_text[:limit]

    @property
    def parameters(self) -> bool:
        return any(t in PARAMETER_TAGS for t in self.tags)

    @property
    def key(self) -> str:
        return f"{self.cell_type}\0{self.source}"


def parse_notebook(data: bytes | str, field: str = "notebook") -> list[Cell]:
    """The cells of a notebook file; InvalidInput naming ``field`` if it is not one."""
    try:
        nb = json.loads(data)
    except (ValueError, RecursionError):
        raise InvalidInput(
            f"The notebook snapshot of {field} is not valid JSON.", field=field
        ) from None
    if not isinstance(nb, dict):
        raise InvalidInput(f"The notebook snapshot of {field} is not a notebook.", field=field)
    cells = nb.get("cells")
    if cells is None and isinstance(nb.get("worksheets"), list):  # nbformat 3
        cells = [
            c
            for ws in nb["worksheets"]
            if isinstance(ws, dict)
            for c in (ws.get("cells") or [])
            if isinstance(ws.get("cells"), list)
        ]
    if not isinstance(cells, list):
        raise InvalidInput(f"The notebook snapshot of {field} has no list of cells.", field=field)
    if len(cells) > MAX_CELLS:
        raise InvalidInput(
            f"The notebook snapshot of {field} has {len(cells):,} cells; at most "
            f"{MAX_CELLS:,} are diffed.",
            field=field,
        )
    return [Cell(i, c) for i, c in enumerate(cells)]


def _unified(a: str, b: str, limit: int) -> tuple[list[str], bool]:
    lines = list(difflib.unified_diff(a.splitlines(), b.splitlines(), lineterm="", n=3))[2:]
    return lines[:limit], len(lines) > limit


def _align_by_id(a: list[Cell], b: list[Cell]) -> list[tuple[Cell | None, Cell | None, bool]]:
    ids_a, ids_b = [c.id for c in a], [c.id for c in b]
    pos_a = {cid: i for i, cid in enumerate(ids_a)}
    in_b = set(ids_b)
    pairs: list[tuple[Cell | None, Cell | None, bool]] = []
    matcher = difflib.SequenceMatcher(None, ids_a, ids_b, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            pairs += [(a[i1 + k], b[j1 + k], False) for k in range(i2 - i1)]
            continue
        pairs += [(a[i], None, False) for i in range(i1, i2) if ids_a[i] not in in_b]
        for j in range(j1, j2):
            i = pos_a.get(ids_b[j])
            pairs.append((a[i], b[j], True) if i is not None else (None, b[j], False))
    return pairs


def _similar(a: str, b: str) -> bool:
    """Sources alike enough to be one edited cell: ``ratio() >= 0.5`` on their first
    2,000 characters (``quick_ratio`` first, a cheap upper bound)."""
    matcher = difflib.SequenceMatcher(None, a[:2000], b[:2000], autojunk=False)
    return matcher.quick_ratio() >= 0.5 and matcher.ratio() >= 0.5


def _align_by_source(a: list[Cell], b: list[Cell]) -> list[tuple[Cell | None, Cell | None, bool]]:
    pairs: list[tuple[Cell | None, Cell | None, bool]] = []
    matcher = difflib.SequenceMatcher(None, [c.key for c in a], [c.key for c in b], autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            pairs += [(a[i1 + k], b[j1 + k], False) for k in range(i2 - i1)]
            continue
        n = min(i2 - i1, j2 - j1)
        for k in range(n):
            x, y = a[i1 + k], b[j1 + k]
            similar = x.cell_type == y.cell_type and _similar(x.source, y.source)
            pairs += [(x, y, False)] if similar else [(x, None, False), (None, y, False)]
        pairs += [(a[i], None, False) for i in range(i1 + n, i2)]
        pairs += [(None, b[j], False) for j in range(j1 + n, j2)]
    # A removed and an added cell with the same source: one cell that moved.
    removed: dict[str, list[int]] = {}
    for index, (before, after, _) in enumerate(pairs):
        if after is None and before is not None:
            removed.setdefault(before.key, []).append(index)
    merged: list[tuple[Cell | None, Cell | None, bool] | None] = list(pairs)
    for index, (before, after, _) in enumerate(pairs):
        if before is None and after is not None and removed.get(after.key):
            gone = removed[after.key].pop(0)
            merged[index] = (pairs[gone][0], after, True)
            merged[gone] = None
    return [p for p in merged if p is not None]


def _assignments(source: str) -> dict[str, str] | None:
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    values: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if node.value is None:
                continue
            text = (ast.get_source_segment(source, node.value) or "")[:200]
            for target in targets:
                if isinstance(target, ast.Name):
                    values[target.id] = text
    return values


def _parameters(a: list[Cell], b: list[Cell]) -> dict[str, Any]:
    def find(cells: list[Cell]) -> Cell | None:
        for tag in PARAMETER_TAGS:  # the injected values win over the defaults
            found = [c for c in cells if tag in c.tags]
            if found:
                return found[-1]
        return None

    x, y = find(a), find(b)
    va = _assignments(x.source) if x else {}
    vb = _assignments(y.source) if y else {}
    values = None
    if va is not None and vb is not None:
        values = [
            {"name": k, "a": va.get(k), "b": vb.get(k), "changed": va.get(k) != vb.get(k)}
            for k in sorted(set(va) | set(vb))
        ]
    return {
        "a_index": x.index if x else None,
        "b_index": y.index if y else None,
        "a_source": x.source[:MAX_OUTPUT_CHARS] if x else None,
        "b_source": y.source[:MAX_OUTPUT_CHARS] if y else None,
        "values": values,
        "changed": (x.source if x else None) != (y.source if y else None),
    }


def diff_notebooks(
    a: list[Cell], b: list[Cell], *, max_output_chars: Any = None, max_detailed_cells: Any = None
) -> dict[str, Any]:
    """The diff of two parsed notebooks (see the module docstring)."""
    out_cap = _limit(max_output_chars, "max_output_chars", MAX_OUTPUT_CHARS, 0, 1_000_000)
    detail_cap = _limit(max_detailed_cells, "max_detailed_cells", MAX_DETAILED_CELLS, 0, 100_000)
    ids_a, ids_b = {c.id for c in a}, {c.id for c in b}
    by_id = (
        all(c.id for c in a)
        and all(c.id for c in b)
        and len(ids_a) == len(a)
        and len(ids_b) == len(b)
        # notebooks made apart (every id new) are matched by source instead
        and 2 * len(ids_a & ids_b) >= min(len(a), len(b))
    )
    pairs = _align_by_id(a, b) if by_id else _align_by_source(a, b)
    cells, summary = [], {"unchanged": 0, "modified": 0, "added": 0, "removed": 0, "moved": 0}
    detailed, truncated = 0, False
    for x, y, moved in pairs:
        cell = y or x
        assert cell is not None  # a pair has a cell on one side at least
        entry: dict[str, Any] = {
            "a_index": x.index if x else None,
            "b_index": y.index if y else None,
            "id": cell.id,
            "cell_type": cell.cell_type,
            "moved": moved,
            "parameters": bool((x and x.parameters) or (y and y.parameters)),
        }
        if x is not None and y is not None:
            source_changed = x.source != y.source or x.cell_type != y.cell_type
            outputs_changed = x.outputs_hash != y.outputs_hash
            status = "modified" if source_changed or outputs_changed else "unchanged"
            entry.update(source_changed=source_changed, outputs_changed=outputs_changed)
            if x.cell_type != y.cell_type:
                entry["cell_type_a"] = x.cell_type
        else:
            status = "added" if x is None else "removed"
            entry.update(source_changed=True, outputs_changed=bool(cell.outputs_text))
        entry["status"] = status
        summary[status] += 1
        summary["moved"] += int(moved)
        if status != "unchanged" or moved:
            if detailed >= detail_cap:
                entry["detail_omitted"] = True
                truncated = True
            else:
                detailed += 1
                _detail(entry, x, y, out_cap)
        cells.append(entry)
    return {
        "alignment": "id" if by_id else "source",
        "cells": cells,
        "summary": summary,
        "identical": summary["unchanged"] == len(cells) and not summary["moved"],
        "counts": {"a": len(a), "b": len(b)},
        "parameters": _parameters(a, b),
        "truncated": truncated,
        "limits": {
            "max_output_chars": out_cap,
            "max_source_chars": MAX_SOURCE_CHARS,
            "max_diff_lines": MAX_DIFF_LINES,
            "max_detailed_cells": detail_cap,
        },
    }


def _detail(entry: dict[str, Any], x: Cell | None, y: Cell | None, out_cap: int) -> None:
    if x is None or y is None:
        cell = y or x
        assert cell is not None  # a pair has a cell on one side at least
        entry["source"] = cell.source
        entry["outputs_text"] = cell.cap(out_cap)
        entry["outputs_truncated"] = len(cell.outputs_text) > out_cap
        entry["source_truncated"] = cell.source_truncated
        return
    if entry["source_changed"]:
        entry["source_diff"], cut = _unified(x.source, y.source, MAX_DIFF_LINES)
        entry["source_diff_truncated"] = cut or x.source_truncated or y.source_truncated
    if entry["outputs_changed"]:
        ta, tb = x.cap(out_cap), y.cap(out_cap)
        entry["outputs_diff"], cut = _unified(ta, tb, MAX_DIFF_LINES)
        entry["outputs_truncated"] = (
            cut or len(x.outputs_text) > out_cap or len(y.outputs_text) > out_cap
        )
        if not entry["outputs_diff"] and ta == tb:
            entry["outputs_note"] = (
                "the outputs differ beyond the shown text (after the cut, "
                "or in fields without text)"
            )


def _limit(value: Any, field: str, default: int, low: int, high: int) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidInput(f"{field} must be an integer from {low} to {high}.", field=field)
    return value


__all__ = ["diff_notebooks", "parse_notebook"]
