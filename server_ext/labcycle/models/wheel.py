"""A serving wheel of the running LabCycle, for an exported container's build context.

No package index has this LabCycle (``labcycle==0.1.0`` is not published), so the export
bundles a wheel. Building the project's own wheel needs its source tree and Node (the
wheel carries the JupyterLab extension); a model server needs neither the extension nor
JupyterLab. So the export writes, in well under a second, a wheel of the ``labcycle``
package as it is imported right now (an editable or a regular install alike), without
the labextension and the Voila apps, whose metadata requires only the ``serve`` extra's
distributions (``pip install "labcycle[serve]"`` names the same list).
"""

from __future__ import annotations

import base64
import hashlib
import re
import zipfile
from importlib import metadata
from pathlib import Path

from .._version import __version__

#: folders of the package a model server never reads
_SKIPPED = {"__pycache__", "labextension", "voila_apps"}
SERVE_EXTRA = "serve"


def serve_requirements() -> list[str]:
    """The requirements of LabCycle's ``serve`` extra, as installed metadata lists them."""
    try:
        requires = metadata.requires("labcycle") or []
    except metadata.PackageNotFoundError:
        return []
    marker = re.compile(r"""^(?P<req>[^;]+?)\s*;\s*extra\s*==\s*['"]serve['"]\s*$""")
    return [m.group("req") for line in requires if (m := marker.match(line))]


def _digest(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def build_serving_wheel(folder: Path) -> Path:
    """Write ``labcycle-<version>-py3-none-any.whl`` into ``folder``; returns its path."""
    package = Path(__file__).resolve().parents[1]
    name = f"labcycle-{__version__}"
    dist_info = f"{name}.dist-info"
    requirements = serve_requirements()
    files: list[tuple[str, bytes]] = []
    for path in sorted(package.rglob("*")):
        relative = path.relative_to(package)
        if path.is_dir() or _SKIPPED & set(relative.parts) or path.suffix in (".pyc", ".pyo"):
            continue
        files.append((f"labcycle/{relative.as_posix()}", path.read_bytes()))
    meta = [
        "Metadata-Version: 2.1",
        "Name: labcycle",
        f"Version: {__version__}",
        "Summary: LabCycle's model server (a serving build: no JupyterLab extension)",
        "Requires-Python: >=3.10",
        *(f"Requires-Dist: {req}" for req in requirements),
    ]
    files += [
        (f"{dist_info}/METADATA", ("\n".join(meta) + "\n").encode()),
        (
            f"{dist_info}/WHEEL",
            b"Wheel-Version: 1.0\nGenerator: labcycle-export\n"
            b"Root-Is-Purelib: true\nTag: py3-none-any\n",
        ),
        (
            f"{dist_info}/entry_points.txt",
            b"[console_scripts]\nlabcycle = labcycle.cli.base:main\n",
        ),
    ]
    record = [f"{arc},{_digest(data)},{len(data)}" for arc, data in files]
    record.append(f"{dist_info}/RECORD,,")
    folder.mkdir(parents=True, exist_ok=True)
    wheel = folder / f"{name}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for arc, data in files:
            archive.writestr(arc, data)
        archive.writestr(f"{dist_info}/RECORD", "\n".join(record) + "\n")
    return wheel
