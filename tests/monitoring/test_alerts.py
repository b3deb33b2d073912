"""Alerts: URL policy, channels, deduplication, messages and delivery.

Delivery runs against real receivers on 127.0.0.1: an ``http.server`` in a thread (plain and
TLS), and an aiosmtpd SMTP server (plain, STARTTLS with AUTH, implicit TLS). Certificates are
made for each run with the ``openssl`` command line tool.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import shutil
import socket
import ssl
import statistics
import subprocess
import threading
import time
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path

import pytest

from labcycle.errors import InvalidInput
from labcycle.monitoring.alerts import (
    AlertDecision,
    allow_from_env,
    build_message,
    decide,
    evaluate_check,
    parse_allow,
    redact_channels,
    validate_channels,
    validate_emails,
    validate_webhook_url,
)
from labcycle.monitoring.channels import AlertDelivery, SmtpSettings

from ._support import Receiver

LOOPBACK = ["127.0.0.0/8"]
SECRET = "s3cr3t-HMAC-key-Ω"
SMTP_PASSWORD = "pa55-word-never-shown"
FAST = {"backoff_s": 0.05, "timeout_s": 1.0}


# --------------------------------------------------------------------------------------------
# Real receivers (the webhook one, ``receiver``, is in _support.py / conftest.py)
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for localhost and 127.0.0.1 (cert, key)."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command line tool is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


def server_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(certificate[0]), str(certificate[1]))
    return context


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Inbox:
    """aiosmtpd handler that keeps every message it accepts."""

    def __init__(self) -> None:
        self.envelopes: list = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


def start_smtp(**kwargs):
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port(), **kwargs)
    controller.start()
    return inbox, controller


def smtp_auth(server, session, envelope, mechanism, auth_data):
    from aiosmtpd.smtp import AuthResult

    ok = auth_data.login == b"alerts" and auth_data.password == SMTP_PASSWORD.encode()
    return AuthResult(success=ok, handled=False)


class Results:
    """on_result collector."""

    def __init__(self) -> None:
        self.records: list[dict] = []
        self.lock = threading.Lock()

    def __call__(self, record: dict) -> None:
        with self.lock:
            self.records.append(record)


def sample_check(**changes) -> dict:
    check = {
        "id": "chk_1",
        "status": "drift",
        "summary": "2 of 4 columns drift",
        "started_at": 1_700_000_000_000,
        "drift": {
            "dataset_drift": True,
            "share_drifted": 0.5,
            "columns": {
                "age": {"drifted": True, "method": "ks", "score": 0.001, "threshold": 0.05},
                "income": {"drifted": True, "method": "wasserstein", "score": 0.31,
                           "threshold": 0.1},
                "plan": {"drifted": False, "method": "chi2", "score": 0.4, "threshold": 0.05},
                "city": {"drifted": False, "method": "jensenshannon", "score": float("nan"),
                         "threshold": 0.1},
            },
        },
        "performance": {"drops": [{"metric": "accuracy", "reference": 0.91, "current": 0.8}]},
    }  # fmt: skip
    check.update(changes)
    return check


MONITOR = {"id": "mon_1", "name": "churn-prod", "deployment_id": "dep_7"}


def message(action: str = "fire", **check_changes) -> dict:
    return build_message(
        monitor=MONITOR,
        check=sample_check(**check_changes),
        action=action,
        app_url="http://127.0.0.1:8888/voila/render/drift.ipynb?monitor=mon_1",
    )


# --------------------------------------------------------------------------------------------
# URL policy
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url, reason",
    [
        ("http://169.254.169.254/latest/meta-data/", "cloud metadata"),
        ("http://[fe80::1]/hook", "link-local"),
        ("http://169.254.10.20/hook", "link-local"),
        ("http://metadata.google.internal/computeMetadata/v1/", "cloud metadata"),
        ("http://[fd00:ec2::254]/", "cloud metadata"),
        ("http://2852039166/", "cloud metadata"),  # 169.254.169.254 written as a number
        ("http://[::ffff:169.254.169.254]/", "cloud metadata"),
        ("file:///etc/passwd", "https:// or http://"),
        ("ftp://example.com/hook", "https:// or http://"),
        ("gopher://example.com/", "https:// or http://"),
        ("http://user:pass@example.com/hook", "user name or password"),
        ("https://token@example.com/hook", "user name or password"),
        ("http://10.0.0.1/hook", "private"),
        ("http://192.168.1.5:8080/hook", "private"),
        ("http://100.64.0.1/", "private"),
        ("http://127.0.0.1/hook", "loopback"),
        ("http://0x7f.1/hook", "loopback"),
        ("http://localhost/hook", "loopback"),
        ("http://[::1]/hook", "loopback"),
        ("http://0.0.0.0/hook", "unspecified"),
        ("http://[::]/hook", "unspecified"),
        ("http://224.0.0.1/hook", "multicast"),
        ("http://255.255.255.255/hook", "reserved"),
        ("http://example.com:0/", "port 0"),
        ("http://example.com:99999/", "cannot be parsed"),
        ("http://exa mple.com/", "spaces or control"),
        ("http://example.com/\r\nX-Evil: 1", "spaces or control"),
        ("http:///nohost", "no host"),
        ("https://" + "a" * 2100 + ".com/", "longer than"),
        ("http://no-such-host.invalid/hook", "cannot be resolved"),
    ],
)
def test_refused_by_default(url: str, reason: str) -> None:
    with pytest.raises(InvalidInput) as info:
        validate_webhook_url(url, field="channels[0].url")
    assert reason in info.value.message
    assert info.value.details == {"field": "channels[0].url"}
    assert info.value.status == 400


@pytest.mark.parametrize("value", [None, "", "   ", 42, ["http://example.com"], {"url": "x"}])
def test_not_a_url(value) -> None:
    with pytest.raises(InvalidInput, match="needs a URL"):
        validate_webhook_url(value)


def test_private_refusal_says_how_to_allow_it() -> None:
    with pytest.raises(InvalidInput) as info:
        validate_webhook_url("http://10.0.0.1/hook")
    text = info.value.message
    assert "allow-list" in text and "LABCYCLE_WEBHOOK_ALLOW" in text and "'10.0.0.1'" in text
    with pytest.raises(InvalidInput) as info:
        validate_webhook_url("http://localhost:9/x")
    assert (
        "resolving to 127.0.0.1" in info.value.message or "resolving to ::1" in info.value.message
    )


@pytest.mark.parametrize(
    "url, allow",
    [
        ("http://10.0.0.1/hook", ["10.0.0.0/8"]),
        ("http://10.0.0.1/hook", ["10.0.0.1"]),
        ("http://10.0.0.1/hook", "192.168.0.0/16, 10.0.0.0/24"),
        ("http://192.168.1.5:8080/hook", ["192.168.0.0/16"]),
        ("http://127.0.0.1:8080/hook", ["127.0.0.0/8"]),
        ("http://0x7f.1/hook", ["127.0.0.0/8"]),
        ("http://localhost/hook", ["localhost"]),
        ("http://LOCALHOST./hook", ["localhost"]),
        ("http://[::1]:8080/hook", ["::1/128"]),
        ("http://[::1]:8080/hook", ["[::1]"]),
        ("http://[fd12::5]/hook", ["fd00::/8"]),
        ("http://169.254.169.254/", ["169.254.169.254"]),  # named on purpose
        ("http://169.254.10.20/", ["169.254.10.0/24"]),
        ("https://93.184.215.14/hook", None),  # public: no allow-list needed
        ("https://[2606:2800:21f:cb07:6820:80da:af6b:8b2c]/hook", None),
    ],
)
def test_allowed(url: str, allow) -> None:
    assert validate_webhook_url(url, allow=allow) == url


def test_broad_entries_do_not_open_metadata_or_link_local() -> None:
    for allow in (["0.0.0.0/0"], ["*"], ["169.0.0.0/8"], ["::/0"]):
        with pytest.raises(InvalidInput, match="do not open these"):
            validate_webhook_url("http://169.254.169.254/latest", allow=allow)
        with pytest.raises(InvalidInput):
            validate_webhook_url("http://[fe80::1]/", allow=allow)
    # a broad entry does open private networks
    assert validate_webhook_url("http://10.1.2.3/", allow=["*"])
    assert validate_webhook_url("http://10.1.2.3/", allow=["0.0.0.0/0"])
    # the metadata host name needs its own entry; unspecified/multicast never
    with pytest.raises(InvalidInput, match="cloud metadata"):
        validate_webhook_url("http://metadata.google.internal/", allow=["*.internal"])
    with pytest.raises(InvalidInput, match="multicast"):
        validate_webhook_url("http://224.0.0.1/", allow=["224.0.0.0/4"])
    with pytest.raises(InvalidInput, match="unspecified"):
        validate_webhook_url("http://0.0.0.0/", allow=["0.0.0.0/0"])


def test_host_patterns(monkeypatch: pytest.MonkeyPatch) -> None:
    rules = parse_allow(["*.corp.example", "hooks.example.org", "10.0.0.0/8"])
    assert rules.allows_host("a.corp.example") and rules.allows_host("a.b.corp.example")
    assert not rules.allows_host("corp.example") and not rules.allows_host("evilcorp.example")
    assert rules.allows_host("hooks.example.org") and not rules.allows_host("x.hooks.example.org")


@pytest.mark.parametrize("entry", ["http://x", "a b", "10.0.0.0/33", "host/path", "", 5])
def test_bad_allow_entries(entry) -> None:
    if entry == "":
        assert parse_allow([entry]).names == frozenset()  # empty entries are skipped
        return
    with pytest.raises(InvalidInput) as info:
        parse_allow([entry])
    assert info.value.details["field"] == "webhook_allow"


def test_allow_from_env() -> None:
    env = {"LABCYCLE_WEBHOOK_ALLOW": " 10.0.0.0/8, *.corp.example ,,hooks.local"}
    assert allow_from_env(env) == ["10.0.0.0/8", "*.corp.example", "hooks.local"]
    assert allow_from_env({}) == []
    with pytest.raises(InvalidInput):
        allow_from_env({"LABCYCLE_WEBHOOK_ALLOW": "ftp://nope"})


# --------------------------------------------------------------------------------------------
# E-mail addresses, channels, redaction
# --------------------------------------------------------------------------------------------


def test_emails() -> None:
    assert validate_emails("a@example.com, B@Example.com; a@EXAMPLE.com") == [
        "a@example.com",
        "B@Example.com",
    ]
    assert validate_emails(["ops+ml@corp.example.co.uk"]) == ["ops+ml@corp.example.co.uk"]
    hostile = [
        "a@example.com\r\nBcc: victim@example.com",
        "Name <a@example.com>",
        "no-at-sign",
        "a@b",
        "a..b@example.com@x",
        "a@exa..mple.com",
        "x" * 65 + "@example.com",
    ]
    for value in hostile:
        with pytest.raises(InvalidInput) as info:
            validate_emails([value], field="to")
        assert info.value.details["field"] == "to[0]"
    for value in ([], "", None, 5, [5], ["a@example.com"] * 0):
        with pytest.raises(InvalidInput):
            validate_emails(value)
    with pytest.raises(InvalidInput, match="at most 50"):
        validate_emails([f"u{i}@example.com" for i in range(51)])


def test_channels_validate_and_redact() -> None:
    raw = [
        {"type": "webhook", "url": "http://127.0.0.1:9/hook", "secret": SECRET},
        {"type": "webhook", "url": "https://93.184.215.14/x", "secret": ""},
        {"type": "email", "to": "ops@example.com, ml@example.com"},
    ]
    channels = validate_channels(raw, allow=LOOPBACK)
    assert channels == [
        {"type": "webhook", "url": "http://127.0.0.1:9/hook", "secret": SECRET},
        {"type": "webhook", "url": "https://93.184.215.14/x"},
        {"type": "email", "to": ["ops@example.com", "ml@example.com"]},
    ]
    redacted = redact_channels(channels)
    assert redacted == [
        {"type": "webhook", "url": "http://127.0.0.1:9/hook", "secret_set": True},
        {"type": "webhook", "url": "https://93.184.215.14/x", "secret_set": False},
        {"type": "email", "to": ["ops@example.com", "ml@example.com"]},
    ]
    assert SECRET not in json.dumps(redacted) and SECRET not in repr(redacted)
    assert channels[0]["secret"] == SECRET  # redaction copies, never mutates

    # what the API returned comes back unchanged: the stored secret is kept
    again = validate_channels(redacted, allow=LOOPBACK, previous=channels)
    assert again[0]["secret"] == SECRET and "secret" not in again[1]
    with pytest.raises(InvalidInput, match="send the secret again") as info:
        validate_channels(redacted, allow=LOOPBACK)
    assert info.value.details["field"] == "channels[0].secret"
    assert validate_channels(None, allow=None) == []


@pytest.mark.parametrize(
    "value, field",
    [
        ("http://example.com", "channels"),
        ({"type": "webhook"}, "channels"),
        ([{"type": "sms", "to": "123"}], "channels[0].type"),
        (["http://x"], "channels[0]"),
        ([{"type": "webhook", "url": "http://10.0.0.1/"}], "channels[0].url"),
        ([{"type": "webhook", "url": "http://93.184.215.14/", "token": "x"}], "channels[0]"),
        ([{"type": "webhook", "url": "http://93.184.215.14/", "secret": 5}], "channels[0].secret"),
        ([{"type": "webhook", "url": "http://93.184.215.14/", "secret": "x" * 600}],
         "channels[0].secret"),
        ([{"type": "email", "to": []}], "channels[0].to"),
        ([{"type": "email", "to": ["a@example.com"], "cc": ["b@example.com"]}], "channels[0]"),
        ([{"type": "email", "to": ["ok@example.com", "bad"]}], "channels[0].to[1]"),
        ([{"type": "email", "to": ["a@example.com"]}] * 21, "channels"),
    ],
)  # fmt: skip
def test_bad_channels(value, field: str) -> None:
    with pytest.raises(InvalidInput) as info:
        validate_channels(value, allow=None)
    assert info.value.details["field"] == field


# --------------------------------------------------------------------------------------------
# Deduplication, cooldown, recovery
# --------------------------------------------------------------------------------------------

MIN = 60_000


def run_sequence(problems, *, cooldown_s=600.0, remind_s=None, step_ms=MIN, fingerprints=None):
    state, actions = None, []
    for i, problem in enumerate(problems):
        fp = fingerprints[i] if fingerprints else ("drift:age" if problem else "")
        decision = decide(
            state,
            problem=problem,
            fingerprint=fp,
            now_ms=1_000_000 + i * step_ms,
            cooldown_s=cooldown_s,
            remind_s=remind_s,
        )
        assert isinstance(decision, AlertDecision)
        json.dumps(decision.state)  # stored as JSON on the monitor
        state = decision.state
        actions.append(decision.action)
    return actions, state


def test_a_persisting_problem_alerts_once_then_recovers_once() -> None:
    actions, state = run_sequence([False, True, True, True, True, False, False])
    assert actions == ["none", "fire", "none", "none", "none", "recover", "none"]
    assert state["status"] == "ok" and state["fingerprint"] is None
    assert state["last_sent"] == 1_000_000 + 5 * MIN and state["recovered_at"] == state["last_sent"]


def test_first_check_with_a_problem_fires_and_state_is_complete() -> None:
    decision = decide(None, problem=True, fingerprint="fp1", now_ms=5, cooldown_s=60)
    assert decision.action == "fire"
    assert decision.state == {
        "status": "alerting",
        "since": 5,
        "last_sent": 5,
        "fingerprint": "fp1",
        "recovered_at": None,
        "suppressed_since": None,
    }


def test_flapping_within_the_cooldown_does_not_fire_again() -> None:
    # cooldown 10 min, a check every minute: problem, ok, problem, ok, problem...
    pattern = [True, False] * 8 + [True] * 4
    actions, _ = run_sequence(pattern, cooldown_s=600)
    assert actions[:2] == ["fire", "recover"]
    # after the recovery at minute 1, problems at minutes 2..10 are quiet
    assert actions[2:10] == ["none"] * 8
    # minute 12 (>= 10 min after the recovery at minute 1): fires again, then recovers once
    fired = [i for i, a in enumerate(actions) if a == "fire"]
    assert fired == [0, 12]
    assert actions.count("recover") == 2 and actions[13] == "recover"
    assert actions[14:] == ["none"] * 6  # minute 14..19: within the cooldown again


def test_suppressed_problem_that_persists_fires_when_the_cooldown_ends() -> None:
    actions, state = run_sequence([True, False, True, True, True, True], cooldown_s=150)
    # recovery at t=1 min; problem at 2 (quiet: 1 min < 2.5), 3 (2 min, quiet), 4 (3 min: fire)
    assert actions == ["fire", "recover", "none", "none", "fire", "none"]
    assert state["since"] == 1_000_000 + 2 * MIN  # the problem started when first seen


def test_suppressed_problem_that_clears_sends_nothing() -> None:
    actions, state = run_sequence([True, False, True, False, False], cooldown_s=600)
    assert actions == ["fire", "recover", "none", "none", "none"]
    assert state["suppressed_since"] is None and state["status"] == "ok"


def test_reminders() -> None:
    actions, _ = run_sequence([True] * 8, remind_s=180)
    assert actions == ["fire", "none", "none", "remind", "none", "none", "remind", "none"]


def test_a_changed_problem_fires_again_but_not_within_the_cooldown() -> None:
    fps = ["a", "a", "a,b", "a,b", "a,b", "a", "a"]
    actions, state = run_sequence([True] * 7, fingerprints=fps, cooldown_s=180)
    # new fingerprint at minute 2 (2 min after the alert: wait), fires at minute 3
    assert actions == ["fire", "none", "none", "fire", "none", "none", "fire"]
    assert state["fingerprint"] == "a"


def test_zero_cooldown_and_broken_states() -> None:
    actions, _ = run_sequence([True, False, True, False], cooldown_s=0)
    assert actions == ["fire", "recover", "fire", "recover"]
    for broken in ({}, {"status": "weird"}, {"status": "alerting", "since": "x"}, [], "x"):
        decision = decide(broken, problem=True, fingerprint="f", now_ms=10, cooldown_s=60)
        assert decision.action in ("fire", "none")
        json.dumps(decision.state)
    assert (
        decide({"status": "weird"}, problem=True, fingerprint="f", now_ms=10, cooldown_s=1).action
        == "fire"
    )
    with pytest.raises(ValueError):
        decide(None, problem=True, fingerprint="f", now_ms=1, cooldown_s=-1)
    with pytest.raises(ValueError):
        decide(None, problem=True, fingerprint="f", now_ms=1, cooldown_s=1, remind_s=0)


def test_evaluate_check() -> None:
    problem, fp = evaluate_check(sample_check())
    assert problem and len(fp) == 16
    # the same problem gives the same fingerprint; scores do not matter, columns do
    other = sample_check()
    other["drift"]["columns"]["age"]["score"] = 0.002
    assert evaluate_check(other) == (True, fp)
    other["drift"]["columns"]["plan"]["drifted"] = True
    assert evaluate_check(other)[1] != fp
    assert evaluate_check(sample_check(drift={"dataset_drift": False}, performance=None)) == (
        False,
        "",
    )
    assert evaluate_check(sample_check(), on=["performance"])[0] is True
    assert evaluate_check(sample_check(performance=None), on=["performance"])[0] is False
    assert evaluate_check({"id": 1, "status": "failed"}, on=["error"])[0] is True
    with pytest.raises(InvalidInput):
        evaluate_check(sample_check(), on=["vibes"])


# --------------------------------------------------------------------------------------------
# Messages
# --------------------------------------------------------------------------------------------


def test_fired_message() -> None:
    msg = message("fire")
    assert msg["event"] == "labcycle.alert.fired" and msg["reminder"] is False
    assert msg["monitor"] == MONITOR
    check = msg["check"]
    assert check["id"] == "chk_1" and check["started_at"] == 1_700_000_000_000
    assert check["dataset_drift"] is True and check["share_drifted"] == 0.5
    assert check["drifted_columns"] == [
        {"column": "age", "method": "ks", "score": 0.001, "threshold": 0.05},
        {"column": "income", "method": "wasserstein", "score": 0.31, "threshold": 0.1},
    ]
    assert check["drifted_columns_total"] == 2 and check["columns_total"] == 4
    assert check["performance_drops"] == [{"metric": "accuracy", "reference": 0.91, "current": 0.8}]
    assert msg["summary"] == (
        "Monitor 'churn-prod' (deployment dep_7): drift in 2 of 4 columns (age, income); "
        "accuracy 0.91 → 0.8"
    )
    assert msg["link"].endswith("monitor=mon_1")
    assert msg["subject"].startswith("[LabCycle] Alert: Monitor 'churn-prod'")
    assert "  - age: ks = 0.001 (threshold 0.05)" in msg["text"]
    assert "Open the monitoring app: http://127.0.0.1:8888/" in msg["text"]
    # strict JSON: NaN scores never reach a receiver
    json.loads(json.dumps(msg, allow_nan=False))


def test_recovered_and_reminder_messages() -> None:
    msg = message("recover", status="ok", drift={"dataset_drift": False, "columns": {}})
    assert msg["event"] == "labcycle.alert.recovered"
    assert (
        msg["summary"]
        == "Monitor 'churn-prod' (deployment dep_7) recovered: check chk_1 found no problem"
    )
    assert msg["subject"].startswith("[LabCycle] Recovered:")
    remind = message("remind")
    assert remind["event"] == "labcycle.alert.fired" and remind["reminder"] is True
    assert remind["subject"].startswith("[LabCycle] Reminder:")
    with pytest.raises(ValueError):
        message("explode")


def test_hostile_names_cannot_inject_headers() -> None:
    msg = build_message(
        monitor={
            "id": 1,
            "name": "x\r\nBcc: victim@example.com" + "y" * 500,
            "deployment_id": None,
        },
        check={"id": 2, "status": "drift", "summary": "s\nt", "drift": {"dataset_drift": True}},
        action="fire",
        app_url=None,
    )
    assert "\n" not in msg["subject"] and "\r" not in msg["subject"] and len(msg["subject"]) <= 200
    assert "\n" not in msg["summary"] and msg["link"] is None
    assert msg["summary"].endswith("dataset drift")


# --------------------------------------------------------------------------------------------
# Webhook delivery
# --------------------------------------------------------------------------------------------


def test_webhook_delivers_signed_json(receiver: Receiver, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    results = Results()
    channels = validate_channels(
        [{"type": "webhook", "url": receiver.url(), "secret": SECRET}], allow=LOOPBACK
    )
    delivery = AlertDelivery(smtp=None, on_result=results, allow=LOOPBACK, **FAST)
    msg = message("fire")
    delivery.send(channels, msg)
    assert delivery.flush(10)
    delivery.close()

    assert len(receiver.requests) == 1
    request = receiver.requests[0]
    body, headers = request["body"], request["headers"]
    assert request["path"] == "/hook?token=abc"
    assert json.loads(body) == msg
    expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["x-labcycle-signature"], expected)
    assert headers["content-type"] == "application/json"
    assert headers["user-agent"].startswith("LabCycle/")
    assert headers["x-labcycle-event"] == "labcycle.alert.fired"
    assert headers["host"] == f"127.0.0.1:{receiver.port}"

    [record] = results.records
    assert record["status"] == "sent" and record["attempts"] == 1 and record["error"] is None
    assert record["delivery_id"] == headers["x-labcycle-delivery"]
    assert record["monitor_id"] == "mon_1" and record["check_id"] == "chk_1"
    assert record["event"] == "labcycle.alert.fired" and isinstance(record["sent_at"], int)
    assert record["channel"] == {"type": "webhook", "url": receiver.url(), "secret_set": True}
    assert SECRET not in json.dumps(results.records, ensure_ascii=False)
    assert SECRET not in caplog.text and "token=abc" not in caplog.text
    assert SECRET not in repr(delivery)


def test_no_signature_without_secret(receiver: Receiver) -> None:
    delivery = AlertDelivery(smtp=None, allow=LOOPBACK, **FAST)
    delivery.send([{"type": "webhook", "url": receiver.url()}], message())
    assert delivery.flush(10)
    delivery.close()
    assert "x-labcycle-signature" not in receiver.requests[0]["headers"]


def test_500_then_200_is_retried_with_the_same_delivery_id(receiver: Receiver) -> None:
    receiver.plan = [(500, 0.0), (503, 0.0)]
    results = Results()
    delivery = AlertDelivery(smtp=None, on_result=results, allow=LOOPBACK, **FAST)
    delivery.send([{"type": "webhook", "url": receiver.url(), "secret": SECRET}], message())
    assert delivery.flush(10)
    delivery.close()
    assert len(receiver.requests) == 3
    ids = {r["headers"]["x-labcycle-delivery"] for r in receiver.requests}
    bodies = {r["body"] for r in receiver.requests}
    assert len(ids) == 1 and len(bodies) == 1  # same delivery, same bytes, same signature
    gaps = [
        b["at"] - a["at"]
        for a, b in zip(receiver.requests[:-1], receiver.requests[1:], strict=True)
    ]
    assert gaps[0] >= 0.05 and gaps[1] >= 0.1  # exponential backoff: 0.05 s, then 0.1 s
    [record] = results.records
    assert record["status"] == "sent" and record["attempts"] == 3


@pytest.mark.parametrize(
    "plan, attempts, status, error",
    [
        ([(404, 0.0)], 1, "failed", "HTTP 404"),  # a client error is not retried
        ([(400, 0.0)], 1, "failed", "receiver says no"),
        ([(302, 0.0)], 1, "failed", "redirects are not followed"),
        ([(429, 0.0), (408, 0.0)], 3, "sent", None),  # throttled / timed out: retried
        ([(500, 0.0)] * 5, 3, "failed", "HTTP 500"),  # gives up after `attempts`
    ],
)
def test_status_codes(receiver: Receiver, plan, attempts, status, error) -> None:
    receiver.plan = list(plan)
    results = Results()
    delivery = AlertDelivery(smtp=None, on_result=results, allow=LOOPBACK, attempts=3, **FAST)
    delivery.send([{"type": "webhook", "url": receiver.url()}], message())
    assert delivery.flush(10)
    delivery.close()
    [record] = results.records
    assert (record["status"], record["attempts"]) == (status, attempts)
    assert len(receiver.requests) == attempts
    if error:
        assert error in record["error"]
        assert "token=abc" not in record["error"]  # the URL's query is not repeated in errors
    else:
        assert record["error"] is None


def test_connection_refused_is_retried_then_reported() -> None:
    port = free_port()  # nothing listens there
    results = Results()
    delivery = AlertDelivery(smtp=None, on_result=results, allow=LOOPBACK, attempts=3, **FAST)
    started = time.perf_counter()
    delivery.send([{"type": "webhook", "url": f"http://127.0.0.1:{port}/hook"}], message())
    sent_in = time.perf_counter() - started
    assert delivery.flush(10)
    delivery.close()
    [record] = results.records
    assert record["status"] == "failed" and record["attempts"] == 3
    assert "cannot connect" in record["error"] and "refused" in record["error"].lower()
    assert sent_in < 0.05  # vs ~0.15 s of attempts; the strict figure: the hanging test


def test_send_never_waits_for_a_hanging_receiver(receiver: Receiver) -> None:
    receiver.plan = [(200, 3.0)] * 3  # each request hangs longer than the timeout
    results = Results()
    delivery = AlertDelivery(
        smtp=None, on_result=results, allow=LOOPBACK, attempts=2, backoff_s=0.05, timeout_s=0.5
    )
    channel = [{"type": "webhook", "url": receiver.url()}]
    delivery.send(channel, message())  # starts the delivery threads
    assert receiver.got_request.wait(5)  # the receiver now holds the request
    timings = []
    for _ in range(20):
        started = time.perf_counter()
        delivery.send(channel, message())
        timings.append(time.perf_counter() - started)
    median, worst = statistics.median(timings), max(timings)
    assert median < 0.005, f"send() median {median * 1000:.2f} ms"
    assert worst < 0.05, f"send() worst {worst * 1000:.2f} ms"
    delivery.close(timeout=0.2)  # what is still queued is reported, not lost silently
    deadline = time.monotonic() + 5  # the two attempts in flight end at their 0.5 s timeout
    while len(results.records) < 21 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(results.records) == 21
    assert all(r["status"] == "failed" for r in results.records)
    errors = {r["error"].split(";")[0] for r in results.records}
    assert errors and all("timed out" in e or "stopped" in e for e in errors), errors


def test_timeout_bounds_an_attempt(receiver: Receiver) -> None:
    receiver.plan = [(200, 2.0), (200, 0.0)]
    results = Results()
    delivery = AlertDelivery(
        smtp=None, on_result=results, allow=LOOPBACK, attempts=2, backoff_s=0.01, timeout_s=0.3
    )
    started = time.monotonic()
    delivery.send([{"type": "webhook", "url": receiver.url()}], message())
    assert delivery.flush(10)
    elapsed = time.monotonic() - started
    delivery.close()
    [record] = results.records
    assert record["status"] == "sent" and record["attempts"] == 2
    assert elapsed < 1.5  # the first attempt was cut at ~0.3 s, not after the 2 s hang


def test_a_hanging_receiver_does_not_hold_back_another(receiver: Receiver) -> None:
    slow = Receiver()
    slow.plan = [(200, 1.0)]
    try:
        results = Results()
        delivery = AlertDelivery(
            smtp=None, on_result=results, allow=LOOPBACK, attempts=1, timeout_s=3.0, workers=2
        )
        started = time.monotonic()
        delivery.send(
            [{"type": "webhook", "url": slow.url()}, {"type": "webhook", "url": receiver.url()}],
            message(),
        )
        deadline = time.monotonic() + 5
        while not receiver.requests and time.monotonic() < deadline:
            time.sleep(0.01)
        fast_done = time.monotonic() - started
        assert receiver.requests and fast_done < 1.0
        assert delivery.flush(10)
        delivery.close()
        assert sorted(r["status"] for r in results.records) == ["sent", "sent"]
    finally:
        slow.close()


def test_policy_is_checked_again_at_delivery(receiver: Receiver) -> None:
    # stored when 127.0.0.0/8 was allowed; the allow-list no longer has it
    channels = validate_channels([{"type": "webhook", "url": receiver.url()}], allow=LOOPBACK)
    results = Results()
    delivery = AlertDelivery(smtp=None, on_result=results, allow=None, **FAST)
    delivery.send(channels, message())
    assert delivery.flush(10)
    delivery.close()
    [record] = results.records
    assert record["status"] == "failed" and record["attempts"] == 1
    assert record["error"].startswith("refused at delivery time")
    assert receiver.requests == []


def test_dns_rebinding_is_refused_and_connections_are_pinned(
    receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A name that resolves to an allowed address at validation and to the metadata service
    at delivery is refused; a name is connected to at the address just checked, with its
    Host header. (DNS answers are simulated: no DNS server of our own runs here.)"""
    real = socket.getaddrinfo
    answers = {"rebind.test": ["93.184.215.14", "169.254.169.254"], "hooks.test": ["127.0.0.1"]}

    def fake_getaddrinfo(host, port, *args, **kwargs):
        if host in answers:
            queue = answers[host]
            address = queue.pop(0) if len(queue) > 1 else queue[0]
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    url = f"http://rebind.test:{receiver.port}/hook"
    assert validate_webhook_url(url) == url  # first answer: a public address
    results = Results()
    delivery = AlertDelivery(smtp=None, on_result=results, allow=["hooks.test"], **FAST)
    delivery.send([{"type": "webhook", "url": url}], message())
    delivery.send([{"type": "webhook", "url": f"http://hooks.test:{receiver.port}/h"}], message())
    assert delivery.flush(10)
    delivery.close()
    by_url = {r["channel"]["url"]: r for r in results.records}
    refused = by_url[url]
    assert refused["status"] == "failed" and "cloud metadata" in refused["error"]
    assert by_url[f"http://hooks.test:{receiver.port}/h"]["status"] == "sent"
    [request] = receiver.requests
    assert request["headers"]["host"] == f"hooks.test:{receiver.port}"


def test_https_webhook_checks_the_certificate(certificate) -> None:
    tls = Receiver(context=server_context(certificate))
    try:
        url = tls.url(host="localhost", scheme="https")
        results = Results()
        trusted = AlertDelivery(
            smtp=None, on_result=results, allow=["localhost"], cafile=str(certificate[0]), **FAST
        )
        untrusted = AlertDelivery(smtp=None, on_result=results, allow=["localhost"], **FAST)
        trusted.send([{"type": "webhook", "url": url, "secret": SECRET}], message())
        assert trusted.flush(10)
        untrusted.send([{"type": "webhook", "url": url}], message())
        assert untrusted.flush(10)
        trusted.close()
        untrusted.close()
        ok, bad = results.records
        assert ok["status"] == "sent" and len(tls.requests) == 1
        assert tls.requests[0]["headers"]["host"] == f"localhost:{tls.port}"
        assert bad["status"] == "failed" and bad["attempts"] == 1
        assert "certificate" in bad["error"] and "not trusted" in bad["error"]
    finally:
        tls.close()


def test_full_queue_drops_and_reports(receiver: Receiver) -> None:
    receiver.plan = [(200, 0.3)]
    results = Results()
    delivery = AlertDelivery(
        smtp=None, on_result=results, allow=LOOPBACK, max_queue=3, workers=1, **FAST
    )
    channel = [{"type": "webhook", "url": receiver.url()}]
    for _ in range(5):
        delivery.send(channel, message())
    assert delivery.flush(10)
    delivery.close()
    statuses = sorted(r["status"] for r in results.records)
    assert statuses == ["failed", "failed", "sent", "sent", "sent"]
    assert delivery.dropped_count == 2
    assert all("already waiting" in r["error"] for r in results.records if r["status"] == "failed")


def test_on_result_errors_do_not_stop_delivery(receiver: Receiver) -> None:
    calls = []

    def explode(record: dict) -> None:
        calls.append(record["status"])
        raise RuntimeError("the alert log is down")

    delivery = AlertDelivery(smtp=None, on_result=explode, allow=LOOPBACK, **FAST)
    channel = [{"type": "webhook", "url": receiver.url()}]
    delivery.send(channel, message())
    delivery.send(channel, message())
    assert delivery.flush(10)
    delivery.close()
    assert calls == ["sent", "sent"] and len(receiver.requests) == 2
    delivery.send(channel, message())  # after close: ignored, not raised


# --------------------------------------------------------------------------------------------
# E-mail delivery
# --------------------------------------------------------------------------------------------


def parse(envelope):
    return message_from_bytes(envelope.original_content, policy=default_policy)


def test_email_arrives() -> None:
    inbox, controller = start_smtp()
    try:
        results = Results()
        smtp = SmtpSettings(port=controller.port, sender="alerts@labcycle.example", timeout_s=5)
        delivery = AlertDelivery(smtp=smtp, on_result=results, **FAST)
        channels = validate_channels(
            [{"type": "email", "to": ["ops@example.com", "ml@example.com"]}], allow=None
        )
        msg = message("fire")
        delivery.send(channels, msg)
        assert delivery.flush(10)
        delivery.close()
    finally:
        controller.stop()
    [envelope] = inbox.envelopes
    assert envelope.mail_from == "alerts@labcycle.example"
    assert envelope.rcpt_tos == ["ops@example.com", "ml@example.com"]
    mail = parse(envelope)
    assert mail["Subject"] == msg["subject"]
    assert mail["To"] == "ops@example.com, ml@example.com"
    assert mail["X-LabCycle-Event"] == "labcycle.alert.fired"
    text = mail.get_content()
    assert "drift in 2 of 4 columns" in text and "monitor=mon_1" in text
    [record] = results.records
    assert record["status"] == "sent" and record["channel"] == channels[0]


def test_email_starttls_with_login(certificate, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    inbox, controller = start_smtp(
        tls_context=server_context(certificate),
        require_starttls=True,
        authenticator=smtp_auth,
        auth_require_tls=True,
    )
    try:
        results = Results()
        settings = dict(port=controller.port, starttls=True, username="alerts",
                        cafile=str(certificate[0]), timeout_s=5)  # fmt: skip
        good = AlertDelivery(
            smtp=SmtpSettings(password=SMTP_PASSWORD, **settings), on_result=results, **FAST
        )
        bad = AlertDelivery(
            smtp=SmtpSettings(password="wrong-" + SMTP_PASSWORD, **settings),
            on_result=results,
            **FAST,
        )
        channel = [{"type": "email", "to": ["ops@example.com"]}]
        good.send(channel, message())
        assert good.flush(10)
        bad.send(channel, message("recover"))
        assert bad.flush(10)
        good.close()
        bad.close()
    finally:
        controller.stop()
    assert len(inbox.envelopes) == 1
    sent, refused = results.records
    assert sent["status"] == "sent"
    assert refused["status"] == "failed" and refused["attempts"] == 1  # not retried
    assert "refused the login of 'alerts'" in refused["error"]
    assert SMTP_PASSWORD not in json.dumps(results.records) and SMTP_PASSWORD not in caplog.text
    assert SMTP_PASSWORD not in repr(good) and SMTP_PASSWORD not in repr(good._smtp)


def test_email_implicit_tls_and_untrusted_certificate(certificate) -> None:
    inbox, controller = start_smtp(ssl_context=server_context(certificate))
    try:
        results = Results()
        trusted = AlertDelivery(
            smtp=SmtpSettings(port=controller.port, ssl=True, cafile=str(certificate[0])),
            on_result=results,
            **FAST,
        )
        untrusted = AlertDelivery(
            smtp=SmtpSettings(port=controller.port, ssl=True, timeout_s=5),
            on_result=results,
            **FAST,
        )
        channel = [{"type": "email", "to": ["ops@example.com"]}]
        trusted.send(channel, message())
        assert trusted.flush(10)
        untrusted.send(channel, message())
        assert untrusted.flush(10)
        trusted.close()
        untrusted.close()
    finally:
        controller.stop()
    ok, bad = results.records
    assert ok["status"] == "sent" and len(inbox.envelopes) == 1
    assert bad["status"] == "failed" and bad["attempts"] == 1
    assert "not trusted" in bad["error"] and "LABCYCLE_SMTP_CAFILE" in bad["error"]


def test_email_server_down_and_not_configured() -> None:
    results = Results()
    down = AlertDelivery(
        smtp=SmtpSettings(port=free_port(), timeout_s=1), on_result=results, attempts=3, **FAST
    )
    unconfigured = AlertDelivery(smtp=None, on_result=results, **FAST)
    channel = [{"type": "email", "to": ["ops@example.com"]}]
    started = time.perf_counter()
    down.send(channel, message())
    assert time.perf_counter() - started < 0.05  # the relay is not even tried in send()
    unconfigured.send(channel, message())
    assert down.flush(10) and unconfigured.flush(10)
    down.close()
    unconfigured.close()
    by_attempts = sorted(results.records, key=lambda r: r["attempts"])
    assert by_attempts[0]["attempts"] == 1 and "not configured" in by_attempts[0]["error"]
    assert by_attempts[1]["attempts"] == 3 and "ConnectionRefusedError" in by_attempts[1]["error"]


def test_smtp_settings_from_env() -> None:
    env = {
        "LABCYCLE_SMTP_HOST": "smtp.example.com",
        "LABCYCLE_SMTP_USERNAME": "alerts",
        "LABCYCLE_SMTP_PASSWORD": SMTP_PASSWORD,
        "LABCYCLE_SMTP_STARTTLS": "true",
        "LABCYCLE_SMTP_SENDER": "labcycle@example.com",
    }
    settings = SmtpSettings.from_env(env)
    assert (settings.host, settings.port, settings.starttls, settings.ssl) == (
        "smtp.example.com",
        587,
        True,
        False,
    )
    assert settings.password == SMTP_PASSWORD and SMTP_PASSWORD not in repr(settings)
    assert SmtpSettings.from_env({"LABCYCLE_SMTP_SSL": "1"}).port == 465
    assert SmtpSettings.from_env({}) == SmtpSettings()
    assert SmtpSettings.from_env({"LABCYCLE_SMTP_PORT": "2525"}).port == 2525
    for bad in (
        {"LABCYCLE_SMTP_PORT": "smtp"},
        {"LABCYCLE_SMTP_PORT": "70000"},
        {"LABCYCLE_SMTP_SSL": "maybe"},
        {"LABCYCLE_SMTP_SSL": "1", "LABCYCLE_SMTP_STARTTLS": "1"},
        {"LABCYCLE_SMTP_SENDER": "x\r\nBcc: a@b.c"},
        {"LABCYCLE_SMTP_TIMEOUT": "soon"},
    ):
        with pytest.raises(InvalidInput):
            SmtpSettings.from_env(bad)
