"""Shared by the bench scripts: their section of ``bench/RESULTS.md`` and its header.

Each script owns the part of ``RESULTS.md`` between ``<!-- bench:NAME -->`` and
``<!-- /bench:NAME -->``; :func:`write_section` replaces it (appends it when missing) and
keeps the rest of the file as it is.
"""

from __future__ import annotations

import os
import platform
from datetime import datetime, timezone
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def markers(name: str) -> tuple[str, str]:
    """The opening and closing comments of section ``name``."""
    return f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"


def write_section(name: str, text: str, path: Path = RESULTS) -> None:
    """Put ``text`` (which starts and ends with the markers) in place of section ``name``."""
    begin, end = markers(name)
    current = path.read_text() if path.exists() else "# Benchmark results\n"
    if begin in current and end in current:
        head, rest = current.split(begin, 1)
        tail = rest.split(end, 1)[1]
        current = head + text + tail
    else:
        current = current.rstrip("\n") + "\n\n" + text + "\n"
    path.write_text(current)


def stamp() -> str:
    """Now, as ``2026-11-27 14:48 UTC``."""
    return f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC"


def machine() -> str:
    """The machine, as ``x86_64, 2 cores``."""
    return f"{platform.machine()}, {os.cpu_count()} cores"


def load_average() -> str:
    """The 1, 5 and 15 minute load averages, as ``1.02 0.87 0.66``."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())
