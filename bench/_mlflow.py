"""For the bench scripts that compare with MLflow: which Python runs it, and its environment.

MLflow pins older releases of packages LabCycle needs newer (pyarrow), so it lives in an
environment of its own. ``--mlflow-python`` (default ``$LABCYCLE_BENCH_MLFLOW_PYTHON``, else
this interpreter; the option ``serving.py`` has too) names a Python that has it; the MLflow
half of a benchmark runs there as a subprocess. ``make bench`` builds one in
``bench/.work/mlflow-venv``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ENV_VAR = "LABCYCLE_BENCH_MLFLOW_PYTHON"
# MLflow stays offline in every benchmark: no telemetry.
OFFLINE = {"MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"}
SETUP = (
    "python3 -m venv bench/.work/mlflow-venv && "
    "bench/.work/mlflow-venv/bin/pip install 'mlflow==3.17.2' scikit-learn pandas skops"
)


def add_argument(parser: argparse.ArgumentParser) -> None:
    """The ``--mlflow-python`` option."""
    parser.add_argument(
        "--mlflow-python",
        default=os.environ.get(ENV_VAR, sys.executable),
        help=f"a Python with mlflow (default: ${ENV_VAR}, else this one)",
    )


def environment(python: str, base: dict[str, str]) -> dict[str, str]:
    """``base`` made MLflow's: offline, and ``python``'s bin folder first on PATH (for the
    ``mlflow`` and ``gunicorn`` commands it starts)."""
    path = f"{Path(python).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    return {**base, **OFFLINE, "PATH": path}


def version(python: str, env: dict[str, str]) -> str:
    """MLflow's version in ``python``; exits with what to do when it cannot import it."""
    out = subprocess.run(
        [python, "-c", "import mlflow; print(mlflow.__version__)"],
        env=env,
        capture_output=True,
        text=True,
    )
    if out.returncode:
        last = (out.stderr.strip().splitlines() or ["?"])[-1]
        sys.exit(
            f"MLflow does not import in {python} ({last}).\n"
            "Its pins clash with LabCycle's, so it runs from an environment of its own:\n"
            f"    {SETUP}\n"
            f"then pass --mlflow-python bench/.work/mlflow-venv/bin/python (or set {ENV_VAR}),"
            " or run `make bench`."
        )
    return out.stdout.strip().splitlines()[-1]
