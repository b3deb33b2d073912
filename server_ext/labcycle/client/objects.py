"""Turning Python objects into files (artifacts) and fingerprints (datasets)."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import Any


def describe_object(obj: Any) -> str | None:
    """The kind of a loggable object: 'matplotlib', 'plotly', 'dataframe', or None."""
    module = type(obj).__module__
    if module.startswith("matplotlib") and hasattr(obj, "savefig"):
        return "matplotlib"
    if module.startswith("plotly") and hasattr(obj, "to_html"):
        return "plotly"
    if module.startswith("pandas") and hasattr(obj, "to_parquet"):
        return "dataframe"
    return None


def serialize_object(obj: Any, kind: str) -> tuple[bytes, str]:
    """The bytes and default file suffix of a figure or a DataFrame."""
    buffer = io.BytesIO()
    if kind == "matplotlib":
        obj.savefig(buffer, format="png", bbox_inches="tight", dpi=110)
        return buffer.getvalue(), ".png"
    if kind == "plotly":
        # plotly.js inline: the page must open without reaching a CDN.
        return obj.to_html(include_plotlyjs=True, full_html=True).encode(), ".html"
    if kind == "dataframe":
        obj.to_parquet(buffer, index=True)
        return buffer.getvalue(), ".parquet"
    raise TypeError(f"Cannot serialize {type(obj).__name__}")


def dataframe_fingerprint(df: Any) -> dict[str, Any]:
    """A content fingerprint that ignores how the frame is stored, plus schema and size."""
    import pandas as pd

    sha = hashlib.sha256()
    sha.update(repr([(str(c), str(t)) for c, t in df.dtypes.items()]).encode())
    sha.update(pd.util.hash_pandas_object(df, index=True).values.tobytes())
    return {
        "digest": "sha256:" + sha.hexdigest(),
        "schema": {str(c): str(t) for c, t in df.dtypes.items()},
        "row_count": int(len(df)),
    }


def file_fingerprint(path: Path) -> dict[str, Any]:
    """Fingerprint of a data file; schema and rows when pandas can read it cheaply."""
    sha = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            sha.update(chunk)
    result: dict[str, Any] = {
        "digest": "sha256:" + sha.hexdigest(),
        "schema": {},
        "row_count": None,
    }
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            import pyarrow.parquet as pq

            meta = pq.read_schema(path)
            result["schema"] = {f.name: str(f.type) for f in meta}
            result["row_count"] = pq.ParquetFile(path).metadata.num_rows
        elif suffix in (".csv", ".tsv"):
            import pandas as pd

            df = pd.read_csv(path, sep="\t" if suffix == ".tsv" else ",")
            result["schema"] = {str(c): str(t) for c, t in df.dtypes.items()}
            result["row_count"] = int(len(df))
    except Exception:  # an unreadable file is still a dataset with a fingerprint
        pass
    return result
