"""A demo hub trained on scikit-learn's bundled datasets (nothing is downloaded)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.progress import Progress

from ..api import fluent as lc

DEMO_PROJECT = "demo"


def _classification_runs() -> list[dict[str, Any]]:
    runs = [{"model": "logreg", "C": c} for c in (0.01, 0.1, 1.0, 10.0)]
    runs += [{"model": "random_forest", "max_depth": d, "n_estimators": 100} for d in (3, 6, 12)]
    runs += [
        {"model": "gradient_boosting", "learning_rate": lr, "n_estimators": 80}
        for lr in (0.05, 0.1, 0.3)
    ]
    return runs


def _fit_classifier(spec: dict[str, Any], X_train, X_test, y_train, y_test) -> None:
    from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, f1_score, log_loss, roc_auc_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    params = {k: v for k, v in spec.items() if k != "model"}
    if spec["model"] == "logreg":
        model = make_pipeline(StandardScaler(), LogisticRegression(C=spec["C"], max_iter=2000))
    elif spec["model"] == "random_forest":
        model = RandomForestClassifier(random_state=0, n_jobs=1, **params)
    else:
        model = GradientBoostingClassifier(random_state=0, **params)
    lc.log_params({"model": spec["model"], **params, "test_size": 0.25})
    model.fit(X_train, y_train)
    if spec["model"] == "gradient_boosting":
        # One point per boosting stage: a learning curve to look at.
        for stage, proba in enumerate(model.staged_predict_proba(X_test)):
            lc.log_metric("val_loss", log_loss(y_test, proba), step=stage)
    proba = model.predict_proba(X_test)[:, 1]
    pred = (proba >= 0.5).astype(int)
    lc.log_metrics(
        {
            "accuracy": accuracy_score(y_test, pred),
            "f1": f1_score(y_test, pred),
            "roc_auc": roc_auc_score(y_test, proba),
        }
    )


def _regression_runs() -> list[dict[str, Any]]:
    return [{"model": "ridge", "alpha": a} for a in (0.1, 1.0, 10.0)] + [
        {"model": "gradient_boosting", "learning_rate": lr, "n_estimators": 60}
        for lr in (0.05, 0.2)
    ]


def _fit_regressor(spec: dict[str, Any], X_train, X_test, y_train, y_test) -> None:
    import numpy as np
    from sklearn.ensemble import GradientBoostingRegressor
    from sklearn.linear_model import Ridge
    from sklearn.metrics import mean_absolute_error, r2_score

    params = {k: v for k, v in spec.items() if k != "model"}
    model = (
        Ridge(**params)
        if spec["model"] == "ridge"
        else GradientBoostingRegressor(random_state=0, **params)
    )
    lc.log_params({"model": spec["model"], **params})
    model.fit(X_train, y_train)
    if spec["model"] == "gradient_boosting":
        for stage, pred in enumerate(model.staged_predict(X_test)):
            lc.log_metric("val_rmse", float(np.sqrt(np.mean((y_test - pred) ** 2))), step=stage)
    pred = model.predict(X_test)
    lc.log_metrics(
        {
            "rmse": float(np.sqrt(np.mean((y_test - pred) ** 2))),
            "mae": mean_absolute_error(y_test, pred),
            "r2": r2_score(y_test, pred),
        }
    )


def _confusion_figure(y_true, y_pred):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import ConfusionMatrixDisplay

    fig, ax = plt.subplots(figsize=(3.2, 3.2))
    ConfusionMatrixDisplay.from_predictions(y_true, y_pred, ax=ax, colorbar=False)
    ax.set_title("Confusion matrix")
    return fig


GETTING_STARTED = [
    (
        "markdown",
        "# Getting started with LabCycle\n\nRun the cells below: the run appears live in the "
        "**LabCycle** panel of the left sidebar, with its params, metrics, the history of the "
        "cells you run and, when it ends, a snapshot of this notebook.",
    ),
    ("code", "%load_ext labcycle\n%lc start --experiment churn"),
    (
        "code",
        "from sklearn.datasets import load_breast_cancer\n"
        "from sklearn.ensemble import RandomForestClassifier\n"
        "from sklearn.model_selection import train_test_split\n"
        "import labcycle as lc\n\n"
        "data = load_breast_cancer(as_frame=True)\n"
        "X_train, X_test, y_train, y_test = train_test_split(data.data, data.target, random_state=0)\n"
        "lc.log_dataset(data.frame, 'breast_cancer')",
    ),
    (
        "code",
        "depth = 5\nlc.log_params({'model': 'random_forest', 'max_depth': depth})\n"
        "model = RandomForestClassifier(max_depth=depth, random_state=0)\n"
        "for n in range(10, 110, 10):\n"
        "    model.set_params(n_estimators=n).fit(X_train, y_train)\n"
        "    lc.log_metric('accuracy', model.score(X_test, y_test), step=n)",
    ),
    ("code", "%lc log f1=0.95\n%lc status"),
    ("code", "%lc end"),
    (
        "markdown",
        "From a terminal: `labcycle runs ls --experiment churn`, then "
        "`labcycle runs compare RUN1 RUN2`.",
    ),
]


def write_getting_started(folder: Path) -> Path:
    import nbformat

    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    for kind, source in GETTING_STARTED:
        cell = (
            nbformat.v4.new_code_cell(source)
            if kind == "code"
            else nbformat.v4.new_markdown_cell(source)
        )
        notebook.cells.append(cell)
    path = folder / "getting-started.ipynb"
    if not path.exists():
        nbformat.write(notebook, path)
    return path


def seed(workspace: str | Path = ".") -> dict[str, Any]:
    """Train small models on bundled datasets and log them as runs; write demo notebooks."""
    from sklearn.datasets import load_breast_cancer, load_diabetes
    from sklearn.model_selection import train_test_split

    folder = Path(workspace).expanduser().resolve()
    folder.mkdir(parents=True, exist_ok=True)
    notebook = write_getting_started(folder)
    cancer = load_breast_cancer(as_frame=True)
    diabetes = load_diabetes(as_frame=True)
    classification, regression = _classification_runs(), _regression_runs()
    count = 0
    with Progress(transient=True) as progress:
        task = progress.add_task(
            "Seeding the demo hub", total=len(classification) + len(regression)
        )
        split = train_test_split(cancer.data, cancer.target, test_size=0.25, random_state=0)
        with lc.start_run(
            "breast-cancer", project=DEMO_PROJECT, name="model-selection", tags={"kind": "sweep"}
        ):
            for spec in classification:
                name = f"{spec['model']}-" + "-".join(
                    f"{k}{v}" for k, v in spec.items() if k != "model"
                )
                with lc.start_run(
                    "breast-cancer",
                    project=DEMO_PROJECT,
                    name=name,
                    nested=True,
                    tags={"dataset": "breast_cancer"},
                ):
                    lc.log_dataset(cancer.frame, "breast_cancer")
                    _fit_classifier(spec, *split)
                    if spec["model"] == "random_forest" and spec["max_depth"] == 6:
                        from sklearn.ensemble import RandomForestClassifier

                        model = RandomForestClassifier(max_depth=6, random_state=0).fit(
                            split[0], split[2]
                        )
                        lc.log_artifact(
                            _confusion_figure(split[3], model.predict(split[1])),
                            "confusion_matrix.png",
                        )
                count += 1
                progress.advance(task)
        split = train_test_split(diabetes.data, diabetes.target, test_size=0.25, random_state=0)
        for spec in regression:
            name = f"{spec['model']}-" + "-".join(
                f"{k}{v}" for k, v in spec.items() if k != "model"
            )
            with lc.start_run(
                "diabetes", project=DEMO_PROJECT, name=name, tags={"dataset": "diabetes"}
            ):
                lc.log_dataset(diabetes.frame, "diabetes", store_content=False)
                _fit_regressor(spec, *split)
            count += 1
            progress.advance(task)
        # Monitoring: a deployed model whose traffic drifted, and its fired monitor.
        from .monitoring import seed_monitoring

        progress.update(task, description="Seeding the monitoring demo")
        monitoring = seed_monitoring()
    summary = {
        "runs": count + 2,
        "experiments": 3,
        "workspace": str(folder),
        "notebook": str(notebook),
        "monitoring": monitoring,
    }
    (folder / ".labcycle-demo.json").write_text(json.dumps(summary))
    return summary
