"""Flavors and signatures, on model folders (no store): round trips and trust rules."""

from __future__ import annotations

import os
import sys

import numpy as np
import pandas as pd
import pytest

from labcycle.errors import Forbidden, InvalidInput
from labcycle.models import (
    FLAVORS,
    Flavor,
    guess_flavor,
    infer_signature,
    load_model_dir,
    register_flavor,
    save_model_dir,
)
from labcycle.models.flavors.sklearn import allowed_type


def _custom_feature(X):  # a function in user code: skops must not trust it by default
    return X


def test_sklearn_pipeline_round_trips_through_skops(tmp_path, sk_model, churn_data):
    X, _ = churn_data
    meta = save_model_dir(sk_model, tmp_path / "m", input_example=X.head(10))
    assert meta["flavor"] == "sklearn" and not meta["requires_trust"]
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == [
        "labcycle-model.json",
        "model.skops",
    ]
    loaded = load_model_dir(tmp_path / "m")
    np.testing.assert_array_equal(loaded.predict(X), sk_model.predict(X))
    np.testing.assert_allclose(loaded.predict_proba(X), sk_model.predict_proba(X))
    assert loaded.flavor == "sklearn" and loaded.classes == [0, 1]
    # columns in another order are put back in the signature's order
    np.testing.assert_array_equal(
        loaded.predict(X[["plan", "charges", "tenure"]]), sk_model.predict(X)
    )
    assert meta["environment"]["python"].count(".") == 2
    assert meta["environment"]["packages"]["scikit-learn"]


def test_predict_proba_is_none_without_one(tmp_path):
    from sklearn.linear_model import LinearRegression

    X = np.arange(20, dtype=float).reshape(10, 2)
    save_model_dir(LinearRegression().fit(X, X.sum(axis=1)), tmp_path / "m", input_example=X)
    loaded = load_model_dir(tmp_path / "m")
    assert loaded.predict_proba(pd.DataFrame(X, columns=["x0", "x1"])) is None
    np.testing.assert_allclose(loaded.predict(pd.DataFrame(X, columns=["x0", "x1"])), X.sum(axis=1))
    assert loaded.signature["input_type"] == "ndarray"


def test_skops_types_outside_the_allow_list_are_refused_unless_trusted(tmp_path):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    X = np.random.default_rng(1).normal(size=(30, 2))
    model = make_pipeline(FunctionTransformer(_custom_feature), LogisticRegression()).fit(
        X, X[:, 0] > 0
    )
    with pytest.raises(Forbidden, match="_custom_feature"):
        save_model_dir(model, tmp_path / "refused")
    meta = save_model_dir(model, tmp_path / "m", trusted=True)
    assert meta["requires_trust"] is True
    assert any("_custom_feature" in t for t in meta["flavor_options"]["untrusted_types"])
    with pytest.raises(Forbidden, match="_custom_feature"):
        load_model_dir(tmp_path / "m")
    assert load_model_dir(tmp_path / "m", trusted=True).predict(X).shape == (30,)


def test_a_skops_file_calling_os_system_is_refused(tmp_path):
    from sklearn.preprocessing import FunctionTransformer

    marker = tmp_path / "pwned"
    save_model_dir(FunctionTransformer(os.system), tmp_path / "m", flavor="sklearn", trusted=True)
    with pytest.raises(Forbidden, match="system"):
        load_model_dir(tmp_path / "m")
    assert not marker.exists()


@pytest.mark.parametrize(
    "name, allowed",
    [
        ("sklearn.tree._tree.Tree", True),
        ("numpy.float64", True),
        ("scipy.sparse._csr.csr_matrix", True),
        ("numpy.load", False),
        ("numpy.lib.npyio.save", False),
        ("builtins.eval", False),
        ("posix.system", False),
        ("mymodule.Custom", False),
        ("sklearn.utils._testing.ignore_warnings", False),
    ],
)
def test_allow_list(name, allowed):
    assert allowed_type(name) is allowed


class Evil:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("flavor", ["pickle", "joblib"])
def test_pickle_flavors_need_trust_to_log_and_to_load(tmp_path, flavor, sk_model):
    with pytest.raises(Forbidden, match="trusted=True"):
        save_model_dir(sk_model, tmp_path / "refused", flavor=flavor)
    save_model_dir(sk_model, tmp_path / "m", flavor=flavor, trusted=True)
    with pytest.raises(Forbidden, match="trusted=True"):
        load_model_dir(tmp_path / "m")
    assert load_model_dir(tmp_path / "m", trusted=True).raw is not None


def test_malicious_pickle_never_runs_without_trust(tmp_path, sk_model):
    import pickle

    marker = tmp_path / "marker"
    save_model_dir(sk_model, tmp_path / "m", flavor="pickle", trusted=True)
    (tmp_path / "m" / "model.pkl").write_bytes(pickle.dumps(Evil(str(marker))))
    with pytest.raises(Forbidden):
        load_model_dir(tmp_path / "m")
    assert not marker.exists()
    load_model_dir(tmp_path / "m", trusted=True)  # the payload is real: trust runs it
    assert marker.exists()


CODE = '''
class Doubler:
    """Predicts twice column x."""

    def predict(self, df):
        return (df["x"] * 2).to_numpy()
'''


def test_python_flavor_loads_its_code_from_the_stored_copy(tmp_path, monkeypatch):
    src = tmp_path / "src"
    src.mkdir()
    (src / "lc_doubler_mod.py").write_text(CODE)
    monkeypatch.syspath_prepend(str(src))
    import lc_doubler_mod

    model = lc_doubler_mod.Doubler()
    example = pd.DataFrame({"x": [1.0, 2.0]})
    with pytest.raises(Forbidden):
        save_model_dir(
            model, tmp_path / "refused", flavor="python", code_paths=[src / "lc_doubler_mod.py"]
        )
    save_model_dir(
        model,
        tmp_path / "m",
        flavor="python",
        code_paths=[src / "lc_doubler_mod.py"],
        input_example=example,
        trusted=True,
    )
    assert (tmp_path / "m" / "code" / "lc_doubler_mod.py").is_file()
    # the original code is gone: loading must import the stored copy
    (src / "lc_doubler_mod.py").unlink()
    monkeypatch.delitem(sys.modules, "lc_doubler_mod")
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p != str(src)])
    with pytest.raises(Forbidden, match="trusted=True"):
        load_model_dir(tmp_path / "m")
    loaded = load_model_dir(tmp_path / "m", trusted=True)
    np.testing.assert_array_equal(loaded.predict(pd.DataFrame({"x": [3.0]})), [6.0])
    assert loaded.predict_proba(example) is None
    assert sys.modules["lc_doubler_mod"].__file__.startswith(str(tmp_path / "m" / "code"))
    sys.path.remove(str((tmp_path / "m" / "code").resolve()))
    del sys.modules["lc_doubler_mod"]


class Predictor:
    def predict(self, df):
        return df


def test_python_flavor_needs_predict_and_existing_code_paths(tmp_path):
    with pytest.raises(InvalidInput, match="predict"):
        save_model_dir(object(), tmp_path / "a", flavor="python", trusted=True)
    with pytest.raises(InvalidInput, match="code_paths"):
        save_model_dir(
            Predictor(),
            tmp_path / "b",
            flavor="python",
            trusted=True,
            code_paths=[tmp_path / "missing.py"],
        )


def test_flavor_registry(tmp_path, sk_model):
    assert guess_flavor(sk_model) == "sklearn"
    with pytest.raises(InvalidInput, match="No flavor"):
        guess_flavor(object())
    with pytest.raises(InvalidInput, match="Unknown model flavor"):
        save_model_dir(sk_model, tmp_path / "m", flavor="nope")

    class Text(Flavor):
        def save(self, model, folder, **options):
            (folder / "m.txt").write_text(str(model))
            return {}

        def load(self, folder, options, *, trusted):
            return (folder / "m.txt").read_text()

    register_flavor("text_test", Text)
    try:
        save_model_dir(41, tmp_path / "t", flavor="text_test")
        assert load_model_dir(tmp_path / "t").raw == "41"
    finally:
        FLAVORS.pop("text_test")


def test_signature_inference():
    df = pd.DataFrame(
        {
            "age": [20, 35, 61],
            "income": [1.5, np.nan, 3.25],
            "member": [True, False, True],
            "plan": ["basic", "pro", "basic"],
            "region": pd.Categorical(["n", "s", "n"], categories=["n", "s", "e"]),
            "when": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03"]),
            "free": [f"t{i}" for i in range(3)],
        }
    )
    sig = infer_signature(df)
    cols = {c["name"]: c for c in sig["inputs"]}
    assert sig["input_type"] == "dataframe" and list(cols) == list(df.columns)
    assert cols["age"] == {"name": "age", "dtype": "int64", "nullable": False, "min": 20, "max": 61}
    assert cols["income"]["dtype"] == "float64" and cols["income"]["nullable"] is True
    assert (cols["income"]["min"], cols["income"]["max"]) == (1.5, 3.25)
    assert cols["member"] == {"name": "member", "dtype": "bool", "nullable": False}
    assert cols["plan"]["dtype"] == "string" and cols["plan"]["categories"] == ["basic", "pro"]
    assert cols["region"]["dtype"] == "category" and cols["region"]["categories"] == ["e", "n", "s"]
    assert cols["when"]["dtype"] == "datetime"
    many = pd.DataFrame({"id": [f"c{i}" for i in range(51)]})
    assert "categories" not in infer_signature(many)["inputs"][0]
    # training data widens ranges, categories and nullability
    train = pd.DataFrame({"age": [18, 90, None], "plan": ["basic", "plus", "pro"]})
    wide = {
        c["name"]: c for c in infer_signature(df[["age", "plan"]], training_data=train)["inputs"]
    }
    assert (wide["age"]["min"], wide["age"]["max"], wide["age"]["nullable"]) == (18, 90, True)
    assert wide["plan"]["categories"] == ["basic", "plus", "pro"]
    arr = infer_signature(np.array([[1.0, 2.0], [3.0, 4.0]]))
    assert arr["input_type"] == "ndarray" and [c["name"] for c in arr["inputs"]] == ["x0", "x1"]
    assert infer_signature(None) is None


def test_signature_outputs_from_the_model(sk_model, churn_data):
    X, _ = churn_data
    sig = infer_signature(X.head(), sk_model)
    assert sig["outputs"][0] == {"name": "prediction", "dtype": "int64", "classes": [0, 1]}
    assert sig["outputs"][1] == {"name": "probability", "dtype": "float64"}
