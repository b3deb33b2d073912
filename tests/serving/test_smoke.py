from .conftest import records


def test_predict_smoke(deployment, http, data):
    X, _ = data
    r = http.post(deployment["url"] + "predict", json=records(X, 3))
    assert r.status_code == 200, r.text
    body = r.json()
    assert len(body["predictions"]) == 3 and len(body["prediction_ids"]) == 3
    assert body["model_version"] == 1
