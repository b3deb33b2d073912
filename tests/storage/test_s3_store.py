"""The artifact store and models on a real S3-compatible server (moto), reached only through
the storage options: artifacts and a model logged with the Python API and read back (the
model with an empty cache), an endpoint that does not answer, a credentials profile."""

from __future__ import annotations

import pytest

from labcycle.errors import Unavailable
from labcycle.services import Services
from labcycle.store import ArtifactStore


def _iris():
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True, as_frame=True)
    X.columns = [c.replace(" (cm)", "").replace(" ", "_") for c in X.columns]
    return X, y


def test_python_api_artifacts_and_a_model_on_s3(s3_server, bucket, tmp_path, monkeypatch):
    from sklearn.ensemble import RandomForestClassifier

    import labcycle as lc
    from labcycle.api import fluent

    monkeypatch.setenv("LABCYCLE_HOME", str(tmp_path / "home"))  # an empty model cache
    url = f"s3://{bucket}/team"
    options = s3_server.storage_options()
    notes = tmp_path / "notes.txt"
    notes.write_bytes(b"object storage works\n" * 1000)
    db = tmp_path / "labcycle.db"
    X, y = _iris()
    model = RandomForestClassifier(n_estimators=5, random_state=0).fit(X, y)

    lc.configure(db_url=f"sqlite:///{db}", artifact_url=url, storage_options=options)
    try:
        with lc.start_run(name="s3-run") as run:
            lc.log_artifact(str(notes), "reports/notes.txt")
            lc.log_artifact(X.head(20), "data/head.parquet")
            version = lc.log_model(model, "iris-s3", input_example=X.head(5))
    finally:
        fluent._state.reset()
    assert version.version == 1

    # the blobs are objects of the bucket
    import s3fs

    fs = s3fs.S3FileSystem(**options, skip_instance_cache=True)
    assert len(fs.find(f"{bucket}/team/blobs/sha256")) >= 4  # notes, parquet, model files

    services = Services.open(f"sqlite:///{db}", url, storage_options=options)
    try:
        listed = {a["path"]: a for a in services.artifacts.list_artifacts(run.id)}
        assert {"reports/notes.txt", "data/head.parquet"} <= set(listed)
        assert any(p.startswith("models/iris-s3/") for p in listed), listed
        assert services.artifacts.read_artifact(run.id, "reports/notes.txt") == notes.read_bytes()
        blob = services.blobs.blob_path(listed["reports/notes.txt"]["digest"])
        assert fs.cat(blob) == notes.read_bytes()
    finally:
        services.close()

    # loaded with an empty model cache: the files come from the bucket (a deployment's own
    # process loads a model from S3 with the options of its environment: test_s3_capture.py)
    lc.configure(db_url=f"sqlite:///{db}", artifact_url=url, storage_options=options)
    try:
        loaded = lc.load_model("iris-s3/1")
    finally:
        fluent._state.reset()
    assert loaded.predict(X.head(10)).tolist() == model.predict(X.head(10)).tolist()
    assert not (tmp_path / "home" / "artifacts").exists()


def test_an_endpoint_that_does_not_answer_fails_with_what_to_check():
    with pytest.raises(Unavailable) as err:
        ArtifactStore(
            "s3://nowhere/team",
            {
                "endpoint_url": "http://127.0.0.1:1",
                "key": "k",
                "secret": "s",
                "config_kwargs": {"connect_timeout": 1, "retries": {"max_attempts": 1}},
            },
        )
    message = err.value.message
    assert "s3://nowhere/team cannot be used" in message
    assert "LABCYCLE_STORAGE_OPTIONS" in message and "LABCYCLE_ARTIFACT_URL" in message
    assert "\n" not in message


def test_a_credentials_profile_named_in_the_options_reaches_the_bucket(
    s3_server, bucket, tmp_path, monkeypatch
):
    from s3_server import KEY, SECRET

    credentials = tmp_path / "credentials"
    credentials.write_text(f"[team]\naws_access_key_id = {KEY}\naws_secret_access_key = {SECRET}\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    options = {
        "endpoint_url": s3_server.endpoint_url,
        "profile": "team",
        "client_kwargs": {"region_name": "eu-west-1"},
    }
    store = ArtifactStore(f"s3://{bucket}/profiled", options)
    digest, size = store.put_bytes(b"via the team profile")
    assert store.read_bytes(digest) == b"via the team profile" and size == 20
    assert store.storage_options == options
