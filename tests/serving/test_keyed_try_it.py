"""The try-it app against a real keyed deployment: it asks for the key, never reads it from
the URL, and keeps its try-outs out of the prediction log. (Collected before test_switch.py,
which stops the keyed deployment last.)"""

from __future__ import annotations


def test_the_try_it_app_asks_for_the_key_of_a_keyed_deployment(fleet):
    from labcycle.apps.predict_form import open_app, parameters

    d = fleet["keyed"]
    params = parameters({"QUERY_STRING": f"deployment_url={d['url']}&api_key={d['api_key']}"})
    assert params["api_key"] is None  # a key in the URL is ignored: it would end up in logs
    box = open_app(params)
    message, key, button = box.children
    assert "needs its API key" in message.value
    key.value = "not-the-key"
    button.click()
    assert "Wrong key" in message.value and box.children[1] is key
    key.value = d["api_key"]
    button.click()
    (form,) = box.children
    assert key.value == ""  # not left in the widget state
    assert "Try bc v1" in form.children[0].value
    assert "Prediction:" in form.children[-1].value and "Probability:" in form.children[-1].value
