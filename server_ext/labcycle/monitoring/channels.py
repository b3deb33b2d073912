"""Alert delivery: webhooks (HTTP POST) and e-mail (SMTP), off the caller's thread.

:class:`AlertDelivery` owns a few daemon threads and a bounded queue. ``send()`` only puts
work on the queue, so a monitor check (or a model server) never waits for a slow or dead
receiver. Every attempt has a timeout; transient failures (connection refused, timeouts,
HTTP 408/429/5xx, SMTP 4xx) are retried with exponential backoff; permanent ones (other HTTP
4xx, redirects, an SMTP login refused, a URL the policy refuses at delivery time) stop at the
first attempt. The outcome of each delivery goes to ``on_result`` for the alert log.

The rules (URL policy, deduplication, messages) are in :mod:`labcycle.monitoring.alerts`;
see its docstring for the webhook headers and how to verify ``X-LabCycle-Signature``.
"""

from __future__ import annotations

import contextlib
import heapq
import hmac
import http.client
import itertools
import json
import logging
import os
import smtplib
import socket
import ssl
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from hashlib import sha256
from typing import Any
from urllib.parse import urlsplit

from labcycle._version import __version__
from labcycle.errors import InvalidInput
from labcycle.monitoring.alerts import (
    ResolutionError,
    ResolvedWebhook,
    _text,
    parse_allow,
    redact_channels,
    resolve_webhook,
)

__all__ = ["AlertDelivery", "SmtpSettings", "sign_body"]

log = logging.getLogger("labcycle.monitoring.alerts")

USER_AGENT = f"LabCycle/{__version__}"
SIGNATURE_HEADER = "X-LabCycle-Signature"


def sign_body(secret: str, body: bytes) -> str:
    """The ``X-LabCycle-Signature`` value: ``sha256=`` + hex HMAC-SHA256 of the body bytes."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, sha256).hexdigest()


# --------------------------------------------------------------------------------------------
# SMTP settings
# --------------------------------------------------------------------------------------------

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _env_bool(env: Mapping[str, str], name: str) -> bool:
    raw = (env.get(name) or "").strip().lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise InvalidInput(f"{name} must be true or false, not {raw!r}", field=name)


@dataclass
class SmtpSettings:
    """Where alert e-mail goes. Credentials come from configuration only; ``repr`` hides them.

    ``ssl`` is implicit TLS (usually port 465), ``starttls`` upgrades a plain connection
    (usually port 587); both verify the server certificate with Python's default context,
    plus ``cafile`` when the relay uses a private certificate authority.
    """

    host: str = "127.0.0.1"
    port: int = 25
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    starttls: bool = False
    ssl: bool = False
    sender: str = "labcycle@localhost"
    timeout_s: float = 10.0
    cafile: str | None = None

    def __post_init__(self) -> None:
        if self.ssl and self.starttls:
            raise InvalidInput(
                "choose either SSL (implicit TLS, port 465) or STARTTLS (port 587), not both",
                field="smtp",
            )
        if not (0 < int(self.port) < 65536):
            raise InvalidInput(f"SMTP port {self.port} is out of range", field="smtp.port")
        if any(c in (self.sender or "") for c in "\r\n") or "@" not in (self.sender or ""):
            raise InvalidInput(
                "the SMTP sender must be an e-mail address such as labcycle@example.com",
                field="smtp.sender",
            )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SmtpSettings:
        """Read ``LABCYCLE_SMTP_HOST``, ``_PORT``, ``_USERNAME``, ``_PASSWORD``, ``_STARTTLS``,
        ``_SSL``, ``_SENDER`` (and ``_TIMEOUT``, ``_CAFILE``); unset ones keep the defaults.
        Without ``_PORT`` the port is 465 with SSL, 587 with STARTTLS, else 25."""
        env = os.environ if environ is None else environ
        use_ssl = _env_bool(env, "LABCYCLE_SMTP_SSL")
        use_starttls = _env_bool(env, "LABCYCLE_SMTP_STARTTLS")
        raw_port = (env.get("LABCYCLE_SMTP_PORT") or "").strip()
        try:
            port = int(raw_port) if raw_port else (465 if use_ssl else 587 if use_starttls else 25)
        except ValueError:
            raise InvalidInput(
                f"LABCYCLE_SMTP_PORT must be a number, not {raw_port!r}", field="LABCYCLE_SMTP_PORT"
            ) from None
        raw_timeout = (env.get("LABCYCLE_SMTP_TIMEOUT") or "").strip()
        try:
            timeout = float(raw_timeout) if raw_timeout else cls.timeout_s
        except ValueError:
            raise InvalidInput(
                f"LABCYCLE_SMTP_TIMEOUT must be a number of seconds, not {raw_timeout!r}",
                field="LABCYCLE_SMTP_TIMEOUT",
            ) from None
        return cls(
            host=(env.get("LABCYCLE_SMTP_HOST") or "").strip() or cls.host,
            port=port,
            username=env.get("LABCYCLE_SMTP_USERNAME") or None,
            password=env.get("LABCYCLE_SMTP_PASSWORD") or None,
            starttls=use_starttls,
            ssl=use_ssl,
            sender=(env.get("LABCYCLE_SMTP_SENDER") or "").strip() or cls.sender,
            timeout_s=timeout,
            cafile=env.get("LABCYCLE_SMTP_CAFILE") or None,
        )


# --------------------------------------------------------------------------------------------
# Delivery
# --------------------------------------------------------------------------------------------


class _Transient(Exception):
    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class _Permanent(Exception):
    pass


@dataclass
class _Job:
    channel: dict
    event: str
    body: bytes
    message: dict
    delivery_id: str
    attempts: int = 0
    error: str | None = None
    dropped: bool = False


class _Watchdog:
    """Shuts a socket down when an attempt outlives its deadline (slow-drip receivers)."""

    def __init__(self, seconds: float) -> None:
        self._sock: socket.socket | None = None
        self.fired = False
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True

    def watch(self, sock: socket.socket | None) -> None:
        self._sock = sock

    def _fire(self) -> None:
        self.fired = True
        sock = self._sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def __enter__(self) -> _Watchdog:
        self._timer.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._timer.cancel()


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """An HTTP(S) connection to one already-checked address, whatever DNS says now."""

    def __init__(
        self,
        target: ResolvedWebhook,
        address: str,
        timeout: float,
        context: ssl.SSLContext | None,
    ) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self._address = address
        self._target = target
        self._context = context

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self._target.port), self.timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self._target.scheme == "https":
            assert self._context is not None
            sock = self._context.wrap_socket(sock, server_hostname=self._target.host)
        self.sock = sock


def _now_ms() -> int:
    return int(time.time() * 1000)


class AlertDelivery:
    """Sends alert messages to channels from background threads, with timeouts and retries.

    ``send()`` returns at once (it never blocks a check or serving); each delivery (one
    message to one channel) is tried up to ``attempts`` times, waiting ``backoff_s``,
    ``2 × backoff_s``, ``4 × backoff_s``... between attempts (longer when a receiver sends
    ``Retry-After``, at most 60 s); each attempt is bounded by ``timeout_s`` (e-mail: by
    ``smtp.timeout_s``). ``on_result(record)`` is called from a delivery thread once per
    delivery with ``{"channel": redacted channel, "status": "sent"|"failed", "attempts": n,
    "error": str|None, "event": ..., "monitor_id": ..., "check_id": ..., "sent_at": ms,
    "delivery_id": ..., "summary": the message's one-line summary}``; it must be thread-safe, and its exceptions are logged, not raised.

    At most ``max_queue`` deliveries wait; beyond that new ones are dropped (and reported as
    failed). ``workers`` threads deliver in parallel, so one hanging receiver does not hold
    the others back. ``cafile`` adds a certificate authority for https webhooks on a private
    network. ``allow`` is the webhook allow-list, checked again before every attempt.
    """

    def __init__(
        self,
        *,
        smtp: SmtpSettings | None,
        on_result: Callable[[dict], None] | None = None,
        attempts: int = 4,
        backoff_s: float = 0.5,
        timeout_s: float = 5.0,
        allow: Sequence[str] | None = None,
        max_queue: int = 1000,
        workers: int = 2,
        cafile: str | None = None,
    ) -> None:
        if attempts < 1 or backoff_s < 0 or timeout_s <= 0 or max_queue < 1 or workers < 1:
            raise ValueError("attempts, max_queue, workers >= 1; backoff_s >= 0; timeout_s > 0")
        self._smtp = smtp
        self._on_result = on_result
        self._attempts = int(attempts)
        self._backoff_s = float(backoff_s)
        self._timeout_s = float(timeout_s)
        self._allow = parse_allow(allow)
        self._max_queue = int(max_queue)
        self._workers = int(workers)
        self._cafile = cafile
        self._context: ssl.SSLContext | None = None
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, _Job]] = []
        self._seq = itertools.count()
        self._pending = 0  # deliveries accepted and not yet reported
        self._dropped: deque[_Job] = deque()
        self._threads: list[threading.Thread] = []
        self._closed = False
        self.dropped_count = 0
        with self._cond:
            self._start_threads()  # now, so that send() never pays for it

    def __repr__(self) -> str:
        return (
            f"<AlertDelivery pending={self._pending} workers={self._workers} "
            f"attempts={self._attempts} smtp={'yes' if self._smtp else 'no'}>"
        )

    # -- public API ---------------------------------------------------------------------------

    def send(self, channels: list[dict], message: dict) -> None:
        """Queue ``message`` for every channel and return at once."""
        if not channels:
            return
        body = json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        event = str(message.get("event") or "labcycle.alert")
        with self._cond:
            if self._closed:
                log.warning("alert delivery is closed; %d channel(s) not notified", len(channels))
                return
            self._start_threads()
            now = time.monotonic()
            for channel in channels:
                job = _Job(dict(channel), event, body, message, uuid.uuid4().hex)
                self._pending += 1
                if self._pending > self._max_queue:
                    self.dropped_count += 1
                    if len(self._dropped) >= self._max_queue:  # not even room to report it
                        self._pending -= 1
                        log.warning("alert delivery queue full: dropped %s", job.event)
                        continue
                    job.dropped = True
                    job.error = (
                        f"not delivered: {self._max_queue} alert deliveries were already "
                        "waiting (receivers down or slow?)"
                    )
                    self._dropped.append(job)
                else:
                    heapq.heappush(self._heap, (now, next(self._seq), job))
            self._cond.notify_all()

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every queued delivery has been reported; ``False`` on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while self._pending > 0:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._cond.wait(remaining)
            return True

    def close(self, timeout: float = 10.0) -> None:
        """Finish what is queued (within ``timeout``), report the rest as failed, stop."""
        start = time.monotonic()
        self.flush(timeout)
        with self._cond:
            self._closed = True
            leftovers = [job for _, _, job in self._heap]
            self._heap.clear()
            self._cond.notify_all()
        if leftovers:
            log.warning("alert delivery stopped with %d delivery(ies) not done", len(leftovers))
        for job in leftovers:
            job.error = (
                f"not delivered: LabCycle stopped alert delivery after {job.attempts} "
                f"attempt(s)" + (f"; last error: {job.error}" if job.error else "")
            )
            self._finish(job, "failed", quiet=True)
        for thread in self._threads:
            thread.join(max(0.0, timeout - (time.monotonic() - start)) + 0.1)

    # -- threads ------------------------------------------------------------------------------

    def _start_threads(self) -> None:
        alive = [t for t in self._threads if t.is_alive()]
        for i in range(len(alive), self._workers):
            thread = threading.Thread(target=self._run, name=f"labcycle-alerts-{i}", daemon=True)
            thread.start()
            alive.append(thread)
        self._threads = alive

    def _next_job(self) -> _Job | None:
        with self._cond:
            while True:
                if self._dropped:
                    return self._dropped.popleft()
                if self._closed:
                    return None
                now = time.monotonic()
                if self._heap and self._heap[0][0] <= now:
                    return heapq.heappop(self._heap)[2]
                self._cond.wait(self._heap[0][0] - now if self._heap else None)

    def _run(self) -> None:
        while True:
            job = self._next_job()
            if job is None:
                return
            if job.dropped:
                self._finish(job, "failed")
                continue
            job.attempts += 1
            try:
                job.error = self._attempt(job)
                self._finish(job, "sent")
            except _Permanent as exc:
                job.error = str(exc)
                self._finish(job, "failed")
            except _Transient as exc:
                job.error = str(exc)
                self._retry(job, exc.retry_after)
            except Exception as exc:  # a bug must not kill the thread
                log.exception("alert delivery %s crashed", job.delivery_id)
                job.error = f"internal error: {type(exc).__name__}: {exc}"
                self._finish(job, "failed")

    def _retry(self, job: _Job, retry_after: float | None) -> None:
        if job.attempts >= self._attempts:
            self._finish(job, "failed")
            return
        delay = self._backoff_s * (2 ** (job.attempts - 1))
        if retry_after is not None:
            delay = max(delay, min(retry_after, 60.0))
        with self._cond:
            if not self._closed:
                heapq.heappush(self._heap, (time.monotonic() + delay, next(self._seq), job))
                self._cond.notify_all()
                return
        job.error = f"not delivered: LabCycle stopped alert delivery; last error: {job.error}"
        self._finish(job, "failed")

    def _finish(self, job: _Job, status: str, quiet: bool = False) -> None:
        channel = redact_channels([job.channel])[0]
        record = {
            "channel": channel,
            "status": status,
            "attempts": job.attempts,
            "error": job.error,
            "event": job.event,
            "monitor_id": (job.message.get("monitor") or {}).get("id"),
            "check_id": (job.message.get("check") or {}).get("id"),
            "sent_at": _now_ms(),
            "delivery_id": job.delivery_id,
            "summary": job.message.get("summary"),
        }
        if quiet:
            pass
        elif status == "failed":
            log.warning(
                "alert %s to %s failed after %d attempt(s): %s",
                job.event,
                _describe(job.channel),
                job.attempts,
                job.error,
            )
        else:
            log.info("alert %s sent to %s", job.event, _describe(job.channel))
        try:
            if self._on_result is not None:
                self._on_result(record)
        except Exception:
            log.exception("on_result failed for alert delivery %s", job.delivery_id)
        finally:
            with self._cond:
                self._pending -= 1
                self._cond.notify_all()

    # -- one attempt --------------------------------------------------------------------------

    def _attempt(self, job: _Job) -> str | None:
        """Deliver once; return a note for a partial success, raise _Transient/_Permanent."""
        kind = job.channel.get("type")
        if kind == "webhook":
            self._post(job)
            return None
        if kind == "email":
            return self._mail(job)
        raise _Permanent(f"unknown channel type {kind!r}")

    def _ssl_context(self) -> ssl.SSLContext:
        if self._context is None:
            self._context = ssl.create_default_context(cafile=self._cafile)
        return self._context

    def _post(self, job: _Job) -> None:
        try:
            target = resolve_webhook(job.channel.get("url"), allow=self._allow)
        except ResolutionError as exc:
            raise _Transient(exc.message) from None
        except InvalidInput as exc:
            raise _Permanent(f"refused at delivery time: {exc.message}") from None
        headers = {
            "Host": target.host_header,
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "X-LabCycle-Event": job.event,
            "X-LabCycle-Delivery": job.delivery_id,
            "Connection": "close",
        }
        secret = job.channel.get("secret")
        if secret:
            headers[SIGNATURE_HEADER] = sign_body(secret, job.body)
        context = self._ssl_context() if target.scheme == "https" else None
        with _Watchdog(self._timeout_s) as watchdog:
            conn: _PinnedHTTPConnection | None = None
            errors: list[str] = []
            for address in target.addresses:
                candidate = _PinnedHTTPConnection(target, address, self._timeout_s, context)
                try:
                    candidate.connect()
                except ssl.SSLCertVerificationError as exc:
                    candidate.close()
                    raise _Permanent(
                        f"the TLS certificate of {target.display} is not trusted "
                        f"({exc.verify_message or exc})"
                    ) from None
                except OSError as exc:
                    candidate.close()
                    errors.append(f"{address}: {exc.strerror or exc}")
                    continue
                conn = candidate
                break
            if conn is None:
                raise _Transient(f"cannot connect to {target.display} ({'; '.join(errors)})")
            watchdog.watch(conn.sock)
            try:
                conn.request("POST", target.target, body=job.body, headers=headers)
                response = conn.getresponse()
                status = response.status
                snippet = b"" if 200 <= status < 300 else response.read(300)
                retry_after = response.getheader("Retry-After")
            except (OSError, http.client.HTTPException) as exc:
                reason = "timed out" if watchdog.fired else f"{type(exc).__name__}: {exc}"
                raise _Transient(f"no answer from {target.display} ({reason})") from None
            finally:
                conn.close()
        if 200 <= status < 300:
            return None
        text = _text(snippet.decode("utf-8", "replace"), 200)
        error = f"HTTP {status} from {target.display}" + (f": {text}" if text else "")
        if 300 <= status < 400:
            raise _Permanent(error + " (redirects are not followed: configure the final URL)")
        if status in (408, 429) or status >= 500:
            wait = None
            if retry_after and retry_after.strip().isdigit():
                wait = float(retry_after.strip())
            raise _Transient(error, wait)
        raise _Permanent(error)

    def _mail(self, job: _Job) -> str | None:
        settings = self._smtp
        if settings is None:
            raise _Permanent(
                "e-mail is not configured: set LABCYCLE_SMTP_HOST (and LABCYCLE_SMTP_PORT, "
                "_USERNAME, _PASSWORD, _STARTTLS or _SSL, _SENDER) for the LabCycle server"
            )
        recipients = [str(r) for r in job.channel.get("to") or []]
        if not recipients:
            raise _Permanent("the e-mail channel has no recipients")
        message = job.message
        mail = EmailMessage()
        mail["From"] = settings.sender
        mail["To"] = ", ".join(recipients)
        mail["Subject"] = _text(message.get("subject") or message.get("summary") or job.event)
        mail["Date"] = formatdate(localtime=True)
        mail["Message-ID"] = make_msgid(domain=settings.sender.rpartition("@")[2] or None)
        mail["X-LabCycle-Event"] = job.event
        mail["X-LabCycle-Delivery"] = job.delivery_id
        mail.set_content(str(message.get("text") or message.get("summary") or job.event))
        where = f"SMTP server {settings.host}:{settings.port}"
        context = (
            ssl.create_default_context(cafile=settings.cafile)
            if (settings.ssl or settings.starttls)
            else None
        )
        try:
            with _Watchdog(settings.timeout_s * 3) as watchdog:
                if settings.ssl:
                    client: smtplib.SMTP = smtplib.SMTP_SSL(
                        settings.host, settings.port, timeout=settings.timeout_s, context=context
                    )
                else:
                    client = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout_s)
                watchdog.watch(client.sock)
                with client:
                    if settings.starttls:
                        client.starttls(context=context)
                        watchdog.watch(client.sock)
                    if settings.username:
                        client.login(settings.username, settings.password or "")
                    refused = client.send_message(mail, to_addrs=recipients)
        except smtplib.SMTPAuthenticationError as exc:
            raise _Permanent(
                f"{where} refused the login of {settings.username!r} ({exc.smtp_code}); "
                "check LABCYCLE_SMTP_USERNAME and LABCYCLE_SMTP_PASSWORD"
            ) from None
        except smtplib.SMTPRecipientsRefused as exc:
            raise _Permanent(
                f"{where} refused every recipient ({_smtp_refusals(exc.recipients)})"
            ) from None
        except smtplib.SMTPNotSupportedError as exc:
            raise _Permanent(f"{where} does not support {exc}") from None
        except smtplib.SMTPResponseException as exc:
            error = f"{where} answered {exc.smtp_code} {_text(_decode(exc.smtp_error), 200)}"
            if 500 <= exc.smtp_code < 600:
                raise _Permanent(error) from None
            raise _Transient(error) from None
        except ssl.SSLCertVerificationError as exc:
            raise _Permanent(
                f"the TLS certificate of {where} is not trusted ({exc.verify_message or exc}); "
                "set LABCYCLE_SMTP_CAFILE to its certificate authority"
            ) from None
        except (OSError, smtplib.SMTPException) as exc:
            raise _Transient(f"{where}: {type(exc).__name__}: {exc}") from None
        if refused:
            return f"delivered, but {where} refused {_smtp_refusals(refused)}"
        return None


def _decode(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _smtp_refusals(refused: Mapping[str, Any]) -> str:
    parts = []
    for address, answer in list(refused.items())[:5]:
        code = answer[0] if isinstance(answer, tuple) and answer else answer
        parts.append(f"{address}: {code}")
    return ", ".join(parts)


def _describe(channel: Mapping[str, Any]) -> str:
    """A channel for a log line: a webhook without path or query (they may hold tokens)."""
    if channel.get("type") == "webhook":
        try:
            parts = urlsplit(str(channel.get("url")))
            port = f":{parts.port}" if parts.port else ""
            return f"webhook {parts.scheme}://{parts.hostname}{port}/…"
        except ValueError:
            return "webhook (bad URL)"
    if channel.get("type") == "email":
        return f"e-mail to {len(channel.get('to') or [])} recipient(s)"
    return f"channel {channel.get('type')!r}"
