"""Alerts on monitor checks: channel policy, deduplication, messages.

This module holds the rules; delivery (HTTP, SMTP, retries, the background thread) lives in
:mod:`labcycle.monitoring.channels`, which builds on it::

    from labcycle.monitoring.alerts import build_message, decide, evaluate_check
    from labcycle.monitoring.channels import AlertDelivery, SmtpSettings

Channels
--------
A monitor's ``channels`` is a list of dicts, validated by :func:`validate_channels`:

- ``{"type": "webhook", "url": "https://...", "secret": "..."}``: an HTTP POST of the JSON
  message. ``secret`` is optional; with it every request carries
  ``X-LabCycle-Signature: sha256=<hex>``, the HMAC-SHA256 of the exact body bytes keyed with
  the secret (the scheme GitHub uses for its webhooks). A receiver checks it with::

      expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
      hmac.compare_digest(expected, request.headers["X-LabCycle-Signature"])

  Other headers: ``X-LabCycle-Event`` (``labcycle.alert.fired`` or
  ``labcycle.alert.recovered``), ``X-LabCycle-Delivery`` (an id that stays the same across
  the retries of one delivery, so a receiver can drop duplicates), ``User-Agent:
  LabCycle/<version>``.
- ``{"type": "email", "to": ["owner@example.com", ...]}``: a plain-text e-mail through the
  SMTP relay configured with ``LABCYCLE_SMTP_*`` (see :class:`SmtpSettings`).

Secrets are never returned by the API: :func:`redact_channels` replaces them with
``"secret_set": true``.

Webhook URL policy
------------------
A monitor's owner chooses the URL, and the server makes the request, so a URL must not turn
the server into a proxy to its own network. :func:`validate_webhook_url` accepts http(s) URLs
without credentials whose host resolves only to public addresses. Loopback and private
addresses (10/8, 172.16/12, 192.168/16, 100.64/10, 127/8, ::1, fc00::/7...) are reachable when
the allow-list names them: host names (``hooks.corp.example``), host patterns
(``*.corp.example``) or networks in CIDR notation (``10.20.0.0/16``). Link-local addresses
(169.254.0.0/16, fe80::/10) and cloud metadata services (169.254.169.254, fd00:ec2::254,
100.100.100.200, ``metadata.google.internal``...) are refused unless the allow-list names
them on purpose: the single address, or a network inside the link-local ranges; a broad
entry (``*``, ``0.0.0.0/0``) does not open them. Unspecified, multicast and reserved
addresses are always refused. The allow-list comes from configuration
(the ``webhook_allow`` setting or ``LABCYCLE_WEBHOOK_ALLOW``, comma-separated; see
:func:`allow_from_env`).
The check runs again at every delivery and the request goes to the address just checked, so
a host name that later resolves elsewhere (DNS rebinding) is refused then. Redirects are not
followed.

Deduplication
-------------
:func:`decide` is a pure state machine over the state stored on the monitor: a problem fires
once, stays quiet while it persists (optionally reminding every ``remind_s``), and sends one
recovery notice when it clears. After a recovery, a problem that comes back within
``cooldown_s`` stays quiet until the cooldown has passed (flapping sends at most one alert and
one recovery per cooldown).
"""

from __future__ import annotations

import contextlib
import fnmatch
import hashlib
import ipaddress
import json
import math
import os
import re
import socket
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from labcycle.errors import InvalidInput

__all__ = [
    "ALLOW_ENV",
    "AlertDecision",
    "allow_from_env",
    "build_message",
    "decide",
    "evaluate_check",
    "parse_allow",
    "redact_channels",
    "resolve_webhook",
    "validate_channels",
    "validate_emails",
    "validate_webhook_url",
]

ALLOW_ENV = "LABCYCLE_WEBHOOK_ALLOW"
_ALLOW_HINT = (
    f"the webhook allow-list (setting webhook_allow, environment variable {ALLOW_ENV}: comma-separated host names, "
    "host patterns such as '*.corp.example' or networks such as '10.0.0.0/8')"
)

MAX_URL_LENGTH = 2048
MAX_CHANNELS = 20
MAX_RECIPIENTS = 50
MAX_SECRET_LENGTH = 512

# Host names of cloud metadata services; refused before any DNS lookup.
_METADATA_HOSTS = frozenset(
    {
        "metadata.google.internal",
        "metadata.goog",
        "metadata",
        "instance-data",
        "instance-data.ec2.internal",
        "metadata.azure.internal",
        "metadata.tencentyun.com",
    }
)
# Addresses of cloud metadata services (AWS/GCP/Azure/OpenStack, AWS IPv6, Alibaba, ECS tasks).
_METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200", "169.254.170.2")
)
_THIS_NETWORK = ipaddress.ip_network("0.0.0.0/8")
_LINK_LOCAL = {4: ipaddress.ip_network("169.254.0.0/16"), 6: ipaddress.ip_network("fe80::/10")}


# --------------------------------------------------------------------------------------------
# URL policy
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AllowList:
    """A parsed allow-list: exact host names, host patterns and networks."""

    names: frozenset[str] = frozenset()
    patterns: tuple[str, ...] = ()
    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()

    def allows_host(self, host: str) -> bool:
        return host in self.names or any(fnmatch.fnmatchcase(host, p) for p in self.patterns)

    def allows_address(self, address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
        return any(address.version == n.version and address in n for n in self.networks)

    def names_explicitly(self, address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
        """Whether a link-local or metadata address is listed on purpose: the single address,
        or a network inside the link-local ranges (never by a host name, a pattern, or a
        broad network such as 0.0.0.0/0)."""
        return any(
            address.version == n.version
            and address in n
            and (n.num_addresses == 1 or n.subnet_of(_LINK_LOCAL[n.version]))  # type: ignore[arg-type]
            for n in self.networks
        )


_HOST_ENTRY = re.compile(r"^[a-z0-9*](?:[a-z0-9*.-]{0,251}[a-z0-9*])?$")


def parse_allow(allow: Sequence[str] | str | AllowList | None) -> AllowList:
    """Parse allow-list entries (host names, ``*.`` patterns, CIDRs or single addresses).

    Call it once when reading the configuration to report a bad entry early;
    :func:`validate_webhook_url` accepts the raw list too.
    """
    if allow is None:
        return AllowList()
    if isinstance(allow, AllowList):
        return allow
    if isinstance(allow, str):
        allow = [allow]
    names: set[str] = set()
    patterns: list[str] = []
    networks: list[Any] = []
    for raw in allow:
        if not isinstance(raw, str):
            raise InvalidInput(
                f"webhook allow-list entries must be strings, got {type(raw).__name__}",
                field="webhook_allow",
            )
        for entry in (e.strip().lower() for e in raw.split(",")):
            if not entry:
                continue
            candidate = entry[1:-1] if entry.startswith("[") and entry.endswith("]") else entry
            try:
                networks.append(ipaddress.ip_network(candidate, strict=False))
                continue
            except ValueError:
                pass
            entry = entry.rstrip(".")
            if not _HOST_ENTRY.match(entry) or "/" in entry:
                raise InvalidInput(
                    f"webhook allow-list entry {raw!r} is neither a host name, a host pattern "
                    "such as '*.corp.example' nor a network such as '10.0.0.0/8'",
                    field="webhook_allow",
                )
            if "*" in entry:
                patterns.append(entry)
            else:
                names.add(entry)
    return AllowList(frozenset(names), tuple(patterns), tuple(networks))


def allow_from_env(environ: Mapping[str, str] | None = None) -> list[str]:
    """The allow-list from ``LABCYCLE_WEBHOOK_ALLOW`` (comma-separated; empty when unset)."""
    env = os.environ if environ is None else environ
    entries = [e.strip() for e in (env.get(ALLOW_ENV) or "").split(",")]
    entries = [e for e in entries if e]
    parse_allow(entries)  # raise now on a bad entry
    return entries


def _address_class(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """``None`` for a public address, else why it is special.

    Returns "never:<reason>" for addresses a webhook can never reach, "explicit:<reason>" for
    link-local and metadata addresses (reachable only when the allow-list names them on
    purpose), "private:<reason>" for addresses reachable through any matching entry.
    """
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return _address_class(address.ipv4_mapped)
    if address in _METADATA_ADDRESSES:
        return "explicit:a cloud metadata service address"
    if address.is_unspecified or (address.version == 4 and address in _THIS_NETWORK):
        return "never:an unspecified address"
    if address.is_link_local:
        return "explicit:a link-local address"
    if address.is_multicast:
        return "never:a multicast address"
    if address.is_loopback:
        return "private:a loopback address"
    if address.is_reserved or (address.version == 4 and int(address) == 0xFFFFFFFF):
        return "never:a reserved address"
    if isinstance(address, ipaddress.IPv6Address) and address.is_site_local:
        return "private:a site-local address"
    if address.is_private or not address.is_global:
        return "private:a private (non-public) address"
    return None


@dataclass(frozen=True)
class ResolvedWebhook:
    """A webhook URL that passed the policy, and the addresses it may connect to."""

    url: str
    scheme: str
    host: str
    port: int
    target: str  # path + query, at least "/"
    addresses: tuple[str, ...]

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"

    @property
    def display(self) -> str:
        """The URL without path and query (which may hold tokens), for logs and errors."""
        return f"{self.scheme}://{self.host_header}/…"


class ResolutionError(InvalidInput):
    """The host name could not be resolved (may be temporary: delivery retries it)."""


def _invalid(message: str, field: str) -> InvalidInput:
    return InvalidInput(message, field=field)


def resolve_webhook(
    url: Any, *, allow: Sequence[str] | AllowList | None = None, field: str = "webhook"
) -> ResolvedWebhook:
    """Check ``url`` against the policy and resolve it; raise :class:`InvalidInput` if refused.

    :func:`validate_webhook_url` is this without the resolved addresses; delivery calls this
    again right before connecting and connects only to the returned addresses.
    """
    if not isinstance(url, str) or not url.strip():
        raise _invalid("a webhook needs a URL such as https://hooks.example.com/labcycle", field)
    url = url.strip()
    if len(url) > MAX_URL_LENGTH:
        raise _invalid(f"the webhook URL is longer than {MAX_URL_LENGTH} characters", field)
    if any(ord(c) < 0x21 or ord(c) == 0x7F for c in url):
        raise _invalid(
            "the webhook URL contains spaces or control characters; percent-encode them", field
        )
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise _invalid(f"the webhook URL cannot be parsed ({exc})", field) from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise _invalid(
            f"webhook URLs must start with https:// or http://, not {scheme + '://' if scheme else url!r}",
            field,
        )
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise _invalid(
            "the webhook URL must not contain a user name or password (user:pass@host); "
            "to authenticate the requests, give the channel a 'secret': every request is then "
            "signed with an X-LabCycle-Signature HMAC header",
            field,
        )
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise _invalid("the webhook URL has no host name", field)
    if port is None:
        port = 443 if scheme == "https" else 80
    if port == 0:
        raise _invalid("the webhook URL has port 0; give a real port or none", field)
    rules = parse_allow(allow)

    literal: Any = None
    with contextlib.suppress(ValueError):
        literal = ipaddress.ip_address(host.split("%", 1)[0])
    if literal is not None and "%" in host:
        raise _invalid("webhook URLs must not carry an IPv6 zone (%...)", field)

    def refuse(verdict: str, address: str | None) -> InvalidInput:
        kind, _, reason = verdict.partition(":")
        shown = f"(resolving to {address}) " if address and literal is None else ""
        if kind == "never":
            return _invalid(
                f"webhook host {host} {shown}is {reason}, which a webhook cannot be sent to: "
                "use the address of a real receiver",
                field,
            )
        if kind == "explicit":
            entry = repr(host) if address is None else f"'{address}' (the single address)"
            return _invalid(
                f"webhook host {host} {shown}is {reason}; LabCycle refuses these so that "
                "alerts cannot reach the server's cloud credentials or its local network. If "
                f"this receiver is really meant, add {entry} to {_ALLOW_HINT}; broad entries "
                "such as '*' or '0.0.0.0/0' do not open these addresses",
                field,
            )
        network = (
            "a network containing it" if literal is not None else f"a network containing {address}"
        )
        return _invalid(
            f"webhook host {host} {shown}is {reason}; webhooks go to public addresses only, "
            f"unless the host is on {_ALLOW_HINT}: add {host!r} or {network} there",
            field,
        )

    if host in _METADATA_HOSTS and host not in rules.names:
        raise refuse("explicit:a cloud metadata service", None)

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError) as exc:
        raise ResolutionError(
            f"webhook host {host} cannot be resolved ({exc}); check the spelling, or DNS "
            "from the LabCycle server",
            field=field,
        ) from None
    addresses: list[str] = []
    for _family, _type, _proto, _canon, sockaddr in infos:
        text = str(sockaddr[0]).split("%", 1)[0]
        if text not in addresses:
            addresses.append(text)
    if not addresses:
        raise ResolutionError(f"webhook host {host} resolves to no address", field=field)
    host_allowed = rules.allows_host(host.lower())
    for text in addresses:
        address = ipaddress.ip_address(text)
        verdict = _address_class(address)
        if verdict is None:
            continue
        if verdict.startswith("never"):
            raise refuse(verdict, text)
        if verdict.startswith("explicit"):
            if rules.names_explicitly(address):
                continue
            raise refuse(verdict, text)
        if host_allowed or rules.allows_address(address):
            continue
        raise refuse(verdict, text)
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    return ResolvedWebhook(
        url=url,
        scheme=scheme,
        host=host,
        port=port,
        target=target,
        addresses=tuple(addresses),
    )


def validate_webhook_url(
    url: Any, *, allow: Sequence[str] | None = None, field: str = "webhook"
) -> str:
    """Return ``url`` (stripped) when the policy lets LabCycle post to it, else raise.

    http/https only, no credentials in the URL, and every address the host resolves to must be
    public, or private/loopback and on the ``allow`` list (a host name, a ``*.`` pattern or a
    network). Link-local and metadata addresses pass only when ``allow`` names them on
    purpose (the single address or a network inside 169.254.0.0/16 / fe80::/10);
    unspecified, multicast and reserved addresses never. Raises
    :class:`labcycle.errors.InvalidInput` with ``field`` and a message that says what is
    allowed and how to change the allow-list.
    """
    return resolve_webhook(url, allow=allow, field=field).url


# --------------------------------------------------------------------------------------------
# E-mail addresses and channels
# --------------------------------------------------------------------------------------------

_EMAIL = re.compile(
    r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
)


def validate_emails(value: Any, field: str = "emails") -> list[str]:
    """Validate e-mail recipients: a list of addresses or one string separated by commas.

    Plain addresses only (``owner@example.com``, no display names); at least one, at most
    50; duplicates (case-insensitive) are dropped, the order is kept.
    """
    if isinstance(value, str):
        items: list[Any] = [p for p in re.split(r"[,;\s]+", value) if p]
    elif isinstance(value, (list, tuple)):
        items = list(value)
    else:
        raise _invalid(
            "give e-mail recipients as a list of addresses such as ['owner@example.com']", field
        )
    out: list[str] = []
    seen: set[str] = set()
    for i, item in enumerate(items):
        where = f"{field}[{i}]"
        if not isinstance(item, str):
            raise _invalid(f"{where}: an e-mail address must be a string", where)
        address = item.strip()
        local, _, domain = address.rpartition("@")
        if len(address) > 254 or len(local) > 64 or not _EMAIL.match(address) or ".." in domain:
            raise _invalid(
                f"{address[:80]!r} is not an e-mail address; write plain addresses such as "
                "'owner@example.com' (no display names, no spaces)",
                where,
            )
        key = address.lower()
        if key not in seen:
            seen.add(key)
            out.append(address)
    if not out:
        raise _invalid("give at least one e-mail recipient", field)
    if len(out) > MAX_RECIPIENTS:
        raise _invalid(f"at most {MAX_RECIPIENTS} e-mail recipients per channel", field)
    return out


def validate_channels(
    value: Any,
    *,
    allow: Sequence[str] | None,
    previous: Sequence[Mapping[str, Any]] | None = None,
) -> list[dict]:
    """Validate a monitor's alert channels; returns clean dicts ready to store.

    ``[{"type": "webhook", "url": ..., "secret": optional}, {"type": "email", "to": [...]}]``;
    ``None`` means no channel. A webhook that comes back from the API with
    ``"secret_set": true`` and no ``secret`` keeps the secret of the webhook with the same URL
    in ``previous`` (the stored channels), so a client can send back what it read.
    """
    if value is None:
        return []
    if not isinstance(value, (list, tuple)):
        raise _invalid(
            'channels must be a list such as [{"type": "webhook", "url": "https://..."}, '
            '{"type": "email", "to": ["owner@example.com"]}]',
            "channels",
        )
    if len(value) > MAX_CHANNELS:
        raise _invalid(f"at most {MAX_CHANNELS} alert channels per monitor", "channels")
    old_secrets = {
        c.get("url"): c.get("secret")
        for c in (previous or [])
        if isinstance(c, Mapping) and c.get("type") == "webhook" and c.get("secret")
    }
    out: list[dict] = []
    for i, item in enumerate(value):
        where = f"channels[{i}]"
        if not isinstance(item, Mapping):
            raise _invalid(f"{where} must be an object with a 'type'", where)
        kind = item.get("type")
        if kind == "webhook":
            unknown = set(item) - {"type", "url", "secret", "secret_set"}
            if unknown:
                raise _invalid(
                    f"{where}: unknown key(s) {sorted(unknown)}; a webhook channel has "
                    "'url' and optionally 'secret'",
                    where,
                )
            url = validate_webhook_url(item.get("url"), allow=allow, field=f"{where}.url")
            channel: dict[str, Any] = {"type": "webhook", "url": url}
            secret = item.get("secret")
            if secret is not None and secret != "":
                if not isinstance(secret, str):
                    raise _invalid(f"{where}.secret must be a string", f"{where}.secret")
                if len(secret) > MAX_SECRET_LENGTH:
                    raise _invalid(
                        f"{where}.secret is longer than {MAX_SECRET_LENGTH} characters",
                        f"{where}.secret",
                    )
                channel["secret"] = secret
            elif item.get("secret_set") is True:
                kept = old_secrets.get(url)
                if not kept:
                    raise _invalid(
                        f"{where}: 'secret_set' is true but no secret is stored for this URL; "
                        "send the secret again in 'secret' (or drop 'secret_set')",
                        f"{where}.secret",
                    )
                channel["secret"] = kept
            out.append(channel)
        elif kind == "email":
            unknown = set(item) - {"type", "to"}
            if unknown:
                raise _invalid(
                    f"{where}: unknown key(s) {sorted(unknown)}; an email channel has 'to'",
                    where,
                )
            out.append({"type": "email", "to": validate_emails(item.get("to"), f"{where}.to")})
        else:
            raise _invalid(
                f"{where}.type must be 'webhook' or 'email', not {kind!r}", f"{where}.type"
            )
    return out


def redact_channels(channels: Iterable[Mapping[str, Any]] | None) -> list[dict]:
    """Channels for API output and logs: a webhook's secret becomes ``"secret_set": bool``."""
    out: list[dict] = []
    for channel in channels or []:
        copy = {k: v for k, v in channel.items() if k not in ("secret", "secret_set")}
        if channel.get("type") == "webhook":
            copy["secret_set"] = bool(channel.get("secret"))
        if isinstance(copy.get("to"), list):
            copy["to"] = list(copy["to"])
        out.append(copy)
    return out


# --------------------------------------------------------------------------------------------
# Rules and deduplication
# --------------------------------------------------------------------------------------------


def evaluate_check(
    check: Mapping[str, Any], *, on: Iterable[str] = ("drift", "performance")
) -> tuple[bool, str]:
    """The alert rule on one check result: ``(problem, fingerprint)`` for :func:`decide`.

    ``on`` selects what counts as a problem: ``"drift"`` (the dataset-level drift verdict),
    ``"performance"`` (any performance drop), ``"error"`` (the check itself failed:
    ``status == "failed"``). The fingerprint names the problem (which columns drift, which
    metrics dropped) and is stable across checks while the problem stays the same.
    """
    on = set(on)
    unknown = on - {"drift", "performance", "error"}
    if unknown:
        raise _invalid(
            f"unknown alert rule(s) {sorted(unknown)}; choose among drift, performance, error",
            "alert_on",
        )
    parts: list[str] = []
    drift = check.get("drift") or {}
    if "drift" in on and drift.get("dataset_drift"):
        parts.append("drift:" + ",".join(sorted(_drifted_names(drift))))
    drops = (check.get("performance") or {}).get("drops") or []
    if "performance" in on and drops:
        parts.append("perf:" + ",".join(sorted(str(d.get("metric")) for d in drops)))
    if "error" in on and check.get("status") == "failed":
        parts.append("error")
    if not parts:
        return False, ""
    return True, hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


@dataclass
class AlertDecision:
    """What to send after a check, and the state to store on the monitor."""

    action: str  # "fire" | "recover" | "remind" | "none"
    state: dict = field(default_factory=dict)


def _as_ms(value: Any) -> int | None:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def decide(
    state: dict | None,
    *,
    problem: bool,
    fingerprint: str,
    now_ms: int,
    cooldown_s: float,
    remind_s: float | None = None,
) -> AlertDecision:
    """Decide whether a check result sends an alert; pure, the caller stores ``state``.

    - ok → problem: ``"fire"``; then quiet (``"none"``) while the problem persists, or
      ``"remind"`` every ``remind_s`` seconds when given.
    - The problem changes (another fingerprint: other columns drift) while alerting: fires
      again, but not sooner than ``cooldown_s`` after the last message.
    - problem → ok: ``"recover"`` once.
    - A problem that comes back less than ``cooldown_s`` after a recovery stays quiet (the
      state records it in ``"suppressed_since"``) and fires at the first check after the
      cooldown if it is still there.

    State: ``{"status": "ok"|"alerting", "since": ms, "last_sent": ms|None,
    "fingerprint": str|None, "recovered_at": ms|None, "suppressed_since": ms|None}``; an
    unreadable stored state counts as a fresh monitor.
    """
    if cooldown_s is None or cooldown_s < 0 or (remind_s is not None and remind_s <= 0):
        raise ValueError("cooldown_s must be >= 0 and remind_s > 0 or None")
    now = int(now_ms)
    cooldown_ms = cooldown_s * 1000.0
    old = state if isinstance(state, dict) else {}
    status = old.get("status") if old.get("status") in ("ok", "alerting") else None
    since = _as_ms(old.get("since"))
    last_sent = _as_ms(old.get("last_sent"))
    recovered_at = _as_ms(old.get("recovered_at"))
    suppressed_since = _as_ms(old.get("suppressed_since"))
    fingerprint = fingerprint or ""

    def make(status_: str, **changes: Any) -> dict:
        new = {
            "status": status_,
            "since": since if since is not None else now,
            "last_sent": last_sent,
            "fingerprint": old.get("fingerprint") if status_ == "alerting" else None,
            "recovered_at": recovered_at,
            "suppressed_since": None,
        }
        new.update(changes)
        return new

    if status == "alerting":
        if not problem:
            return AlertDecision(
                "recover",
                make("ok", since=now, last_sent=now, recovered_at=now, fingerprint=None),
            )
        cooled = last_sent is None or now - last_sent >= cooldown_ms
        if fingerprint != (old.get("fingerprint") or "") and cooled:
            return AlertDecision("fire", make("alerting", last_sent=now, fingerprint=fingerprint))
        if remind_s is not None and (last_sent is None or now - last_sent >= remind_s * 1000.0):
            return AlertDecision("remind", make("alerting", last_sent=now))
        return AlertDecision("none", make("alerting"))

    # status ok (or no state yet)
    if not problem:
        return AlertDecision("none", make("ok"))
    if recovered_at is not None and now - recovered_at < cooldown_ms:
        return AlertDecision(
            "none", make("ok", suppressed_since=suppressed_since if suppressed_since else now)
        )
    return AlertDecision(
        "fire",
        make(
            "alerting",
            since=suppressed_since if suppressed_since else now,
            last_sent=now,
            fingerprint=fingerprint,
        ),
    )


# --------------------------------------------------------------------------------------------
# Messages
# --------------------------------------------------------------------------------------------

MAX_COLUMNS_IN_MESSAGE = 50
EVENTS = {
    "fire": "labcycle.alert.fired",
    "remind": "labcycle.alert.fired",
    "recover": "labcycle.alert.recovered",
}


def _num(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _text(value: Any, limit: int = 200) -> str:
    """One line of text: no control characters (no header injection), bounded length."""
    text = re.sub(r"[\x00-\x1f\x7f]+", " ", "" if value is None else str(value)).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _drifted_names(drift: Mapping[str, Any]) -> list[str]:
    columns = drift.get("columns") or {}
    if not isinstance(columns, Mapping):
        return []
    return [str(n) for n, c in columns.items() if isinstance(c, Mapping) and c.get("drifted")]


def _scalar(value: Any) -> Any:
    """An id or a name as JSON: None, bool, int and str stay; floats must be finite."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return _num(value)
    if hasattr(value, "item"):  # NumPy scalars
        return _scalar(value.item())
    return str(value)


def build_message(
    *, monitor: Mapping[str, Any], check: Mapping[str, Any], action: str, app_url: str | None
) -> dict:
    """The alert message: the webhook JSON body, with ``subject`` and ``text`` for e-mail.

    The whole dict is the webhook body (its ``text`` also makes it readable by chat tools
    whose incoming webhooks take a ``text`` field)::

        {"event": "labcycle.alert.fired" | "labcycle.alert.recovered",
         "reminder": bool,
         "monitor": {"id", "name", "deployment_id"},
         "check": {"id", "status", "started_at", "dataset_drift", "share_drifted",
                   "drifted_columns": [{"column", "method", "score", "threshold"}, ...],
                   "drifted_columns_total", "performance_drops": [{"metric", "reference",
                   "current"}, ...]},
         "summary": "one line", "link": app_url, "subject": "...", "text": "..."}
    """
    if action not in EVENTS:
        raise ValueError(f"action must be one of {sorted(EVENTS)}, not {action!r}")
    event = EVENTS[action]
    drift = check.get("drift") or {}
    columns = drift.get("columns")
    if not isinstance(columns, Mapping):
        columns = {}
    drifted: list[dict[str, Any]] = []
    for name, col in columns.items():
        if isinstance(col, Mapping) and col.get("drifted"):
            drifted.append(
                {
                    "column": str(name),
                    "method": col.get("method"),
                    "score": _num(col.get("score")),
                    "threshold": _num(col.get("threshold")),
                }
            )
    drops = []
    for d in (check.get("performance") or {}).get("drops") or []:
        if isinstance(d, Mapping):
            drops.append(
                {
                    "metric": _text(d.get("metric"), 60),
                    "reference": _num(d.get("reference")),
                    "current": _num(d.get("current")),
                }
            )
    dataset_drift = drift.get("dataset_drift")
    check_body = {
        "id": _scalar(check.get("id")),
        "status": _scalar(check.get("status")),
        "started_at": _as_ms(check.get("started_at")),
        "dataset_drift": bool(dataset_drift) if dataset_drift is not None else None,
        "share_drifted": _num(drift.get("share_drifted")),
        "drifted_columns": drifted[:MAX_COLUMNS_IN_MESSAGE],
        "drifted_columns_total": len(drifted),
        "columns_total": len(columns),
        "performance_drops": drops,
    }
    mon = {
        "id": _scalar(monitor.get("id")),
        "name": _text(monitor.get("name"), 120),
        "deployment_id": _scalar(monitor.get("deployment_id")),
    }
    label = f"Monitor '{mon['name'] or mon['id']}'"
    if mon["deployment_id"] is not None:
        label += f" (deployment {_text(mon['deployment_id'], 60)})"

    findings: list[str] = []
    if drifted:
        names = ", ".join(d["column"] for d in drifted[:5]) + (", …" if len(drifted) > 5 else "")
        findings.append(f"drift in {len(drifted)} of {len(columns)} columns ({_text(names)})")
    elif dataset_drift:
        findings.append("dataset drift")
    for d in drops[:3]:
        ref, cur = d["reference"], d["current"]
        if ref is not None and cur is not None:
            findings.append(f"{d['metric']} {ref:.4g} → {cur:.4g}")
        else:
            findings.append(f"{d['metric']} dropped")
    if action == "recover":
        summary = f"{label} recovered: check {check.get('id')} found no problem"
        headline = "Recovered"
    else:
        what = "; ".join(findings) or _text(check.get("summary")) or "a check crossed a threshold"
        summary = f"{label}: {what}"
        headline = "Reminder" if action == "remind" else "Alert"
    summary = _text(summary, 300)
    subject = _text(f"[LabCycle] {headline}: {summary}", 200)

    lines = [summary, ""]
    if check.get("summary"):
        lines += [f"Check {check.get('id')}: {_text(check.get('summary'), 500)}", ""]
    if drifted and action != "recover":
        lines.append("Drifted columns:")
        for d in drifted[:MAX_COLUMNS_IN_MESSAGE]:
            score = "n/a" if d["score"] is None else f"{d['score']:.4g}"
            thr = "n/a" if d["threshold"] is None else f"{d['threshold']:.4g}"
            lines.append(f"  - {_text(d['column'], 80)}: {d['method']} = {score} (threshold {thr})")
        if len(drifted) > MAX_COLUMNS_IN_MESSAGE:
            lines.append(f"  … and {len(drifted) - MAX_COLUMNS_IN_MESSAGE} more")
        lines.append("")
    if drops and action != "recover":
        lines.append("Performance drops:")
        for d in drops:
            lines.append(f"  - {d['metric']}: {d['reference']} → {d['current']}")
        lines.append("")
    if app_url:
        lines += [f"Open the monitoring app: {app_url}", ""]
    lines.append("— LabCycle")
    message = {
        "event": event,
        "reminder": action == "remind",
        "monitor": mon,
        "check": check_body,
        "summary": summary,
        "link": app_url,
        "subject": subject,
        "text": "\n".join(lines),
    }
    json.dumps(message)  # fail here, not in the delivery thread, if something is not JSON-able
    return message
