"""The "try it" Voila template: the form from a signature, and the notebook run headless."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from labcycle.apps.predict_form import build_form, parameters, result_html, widget_for

from .conftest import register

NOTEBOOK = Path(__file__).parents[2] / "voila_apps" / "predict.ipynb"


def test_one_widget_per_column_from_the_signature():
    import ipywidgets as w

    assert isinstance(widget_for({"name": "t", "dtype": "int64", "min": 1, "max": 71}), w.IntSlider)
    slider = widget_for({"name": "c", "dtype": "float64", "min": 18.5, "max": 118.0})
    assert isinstance(slider, w.FloatSlider) and (slider.min, slider.max) == (18.5, 118.0)
    drop = widget_for({"name": "p", "dtype": "string", "categories": ["basic", "pro"]})
    assert isinstance(drop, w.Dropdown) and drop.options == ("basic", "pro")
    assert isinstance(widget_for({"name": "b", "dtype": "bool"}), w.Checkbox)
    assert isinstance(widget_for({"name": "f", "dtype": "float64"}), w.FloatText)
    assert isinstance(widget_for({"name": "s", "dtype": "string"}), w.Text)
    text = result_html(1, [0.25, 0.75], [0, 1])
    assert "Prediction" in text and "75.0%" in text
    assert parameters({"QUERY_STRING": "model=churn%40champion", "LABCYCLE_API_KEY": "k"}) == {
        "deployment_url": None,
        "model": "churn@champion",
        "api_key": "k",
    }


def test_form_predicts_with_a_fake_deployment():
    class Fake:
        title = "m v1"
        signature = {
            "inputs": [{"name": "x", "dtype": "float64", "min": 0, "max": 1}],
            "outputs": [{"name": "prediction", "dtype": "int64", "classes": ["no", "yes"]}],
        }
        rows = []

        def predict(self, row):
            self.rows.append(row)
            return "yes", [0.1, 0.9]

    fake = Fake()
    form = build_form(fake)
    assert fake.rows == [{"x": 0.5}]
    assert "90.0%" in form.children[-1].value and "yes" in form.children[-1].value
    form.children[1].value = 0.2
    form.children[2].click()
    assert fake.rows[-1] == {"x": 0.2}


@pytest.mark.kernel
def test_the_notebook_runs_headless_with_a_real_model(tmp_path, monkeypatch, sk_model, churn_data):
    from nbclient import NotebookClient

    from labcycle.services import Services

    X, _ = churn_data
    monkeypatch.setenv("LABCYCLE_HOME", str(tmp_path / "home"))
    for var in ("LABCYCLE_DB_URL", "LABCYCLE_ARTIFACT_URL", "LABCYCLE_API_URL"):
        monkeypatch.delenv(var, raising=False)
    services = Services.from_config()
    register(services, "churn", sk_model, input_example=X.head(), training_data=X)
    services.registry.set_alias("churn", "champion", 1, actor="alice")
    services.close()
    monkeypatch.setenv("QUERY_STRING", "model=churn@champion")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(
        nb,
        timeout=120,
        kernel_name="python3",
        store_widget_state=True,
        resources={"metadata": {"path": str(tmp_path)}},
    ).execute()
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert errors == []
    states = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    models = [s["state"] for s in states.values()]
    html_values = [m.get("value", "") for m in models if m.get("_model_name") == "HTMLModel"]
    assert any("Try churn v1" in v for v in html_values)
    assert any("Prediction:" in v and "Probability:" in v for v in html_values)
    described = {m.get("description"): m for m in models if m.get("description")}
    assert described["plan"]["_model_name"] == "DropdownModel"
    assert described["plan"]["_options_labels"] == ["basic", "plus", "pro"]
    assert described["tenure"]["_model_name"] == "IntSliderModel"
    assert described["tenure"]["min"] == int(X["tenure"].min())
    assert described["charges"]["_model_name"] == "FloatSliderModel"
