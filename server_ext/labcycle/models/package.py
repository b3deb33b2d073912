"""A model on disk: the flavor's files plus ``labcycle-model.json`` describing them.

This folder is what is stored as run artifacts under ``models/<name>/v<version>/``, what
``labcycle deploy export`` copies into a container, and what ``load_model_dir`` loads.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from .._version import __version__
from ..errors import Forbidden, InvalidInput, NotFound
from .flavors import get_flavor, guess_flavor
from .flavors.sklearn import allowed_type
from .signature import current_environment, infer_signature

META_FILE = "labcycle-model.json"
FORMAT = 1


def save_model_dir(
    model: Any,
    folder: Path,
    *,
    flavor: str | None = None,
    input_example: Any = None,
    training_data: Any = None,
    code_paths: list | None = None,
    trusted: bool = False,
) -> dict[str, Any]:
    """Write ``model`` into the empty folder ``folder``; returns the metadata written."""
    name = flavor or guess_flavor(model)
    implementation = get_flavor(name)
    if implementation.requires_trust and not trusted:
        raise Forbidden(
            f"The {name} flavor runs the model's own code when it is loaded, so it must be "
            "logged with trusted=True (and loaded with trusted=True), which the audit log "
            "records. Use the default sklearn flavor (skops) for scikit-learn models.",
            field="trusted",
        )
    if code_paths and name != "python":
        raise InvalidInput("code_paths is only used by the python flavor.", field="code_paths")
    folder.mkdir(parents=True, exist_ok=True)
    options = (
        implementation.save(model, folder, code_paths=code_paths)
        if name == "python"
        else implementation.save(model, folder)
    )
    refused = [t for t in (options or {}).get("untrusted_types") or [] if not allowed_type(str(t))]
    if refused and not trusted:
        raise Forbidden(
            "This model holds types outside the scikit-learn/numpy/scipy allow-list, which run "
            f"their own code when loaded: {', '.join(refused)}. Log it with trusted=True "
            "(audited) if you trust that code, or use only scikit-learn components.",
            field="trusted",
            untrusted_types=refused,
        )
    meta = {
        "format": FORMAT,
        "flavor": name,
        "flavor_options": options,
        "requires_trust": implementation.requires_trust or bool(refused),
        "signature": infer_signature(input_example, model, training_data),
        "environment": current_environment(),
        "labcycle_version": __version__,
        "model_class": f"{type(model).__module__}.{type(model).__qualname__}",
    }
    if input_example is not None:
        from .signature import to_frame

        frame, _ = to_frame(input_example)
        example = frame.head(5)
        meta["input_example"] = json.loads(
            example.to_json(orient="split", index=False, date_format="iso")
        )
    (folder / META_FILE).write_text(json.dumps(meta, indent=2, default=str))
    return meta


def file_digest(path: Path) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            sha.update(chunk)
    return "sha256:" + sha.hexdigest()


def read_meta(folder: Path) -> dict[str, Any]:
    path = Path(folder) / META_FILE
    if not path.is_file():
        raise NotFound(f"{folder} is not a LabCycle model folder: it has no {META_FILE}.")
    try:
        meta = json.loads(path.read_text())
    except ValueError:
        raise InvalidInput(f"{path} is not valid JSON.", field="model") from None
    if not isinstance(meta, dict) or "flavor" not in meta:
        raise InvalidInput(f"{path} does not describe a model (no flavor).", field="model")
    return meta


def load_object(folder: Path, meta: dict[str, Any], *, trusted: bool) -> Any:
    """The model object stored in ``folder`` by its flavor."""
    implementation = get_flavor(meta["flavor"])
    if implementation.requires_trust and not trusted:
        raise Forbidden(
            f"This is a {meta['flavor']}-flavor model: loading it runs code chosen by whoever "
            "wrote the file. Pass trusted=True (recorded in the audit log) if you trust its "
            "author.",
            flavor=meta["flavor"],
        )
    return implementation.load(Path(folder), meta.get("flavor_options") or {}, trusted=trusted)
