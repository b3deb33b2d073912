"""The base class of every LabCycle REST handler: services, threads, JSON in and out, errors.

Each handler parses and checks its input, calls one service function in a worker
thread (services are synchronous: SQLAlchemy and fsspec), and writes JSON. Every error
leaves through :meth:`LabCycleHandler.write_error` as
``{"error": {"code", "message", "details"}}``, never as an HTML page or a traceback.
"""

from __future__ import annotations

import asyncio
import http.client
from collections.abc import Callable
from typing import Any, TypeVar, get_origin
from urllib.parse import quote

from jupyter_server.auth.decorator import authorized
from jupyter_server.auth.identity import IdentityProvider, PasswordIdentityProvider
from jupyter_server.base.handlers import APIHandler
from jupyter_server.extension.handler import ExtensionHandlerMixin
from jupyter_server.utils import url_path_join
from pydantic import BaseModel, ValidationError
from tornado import web

from ..errors import InvalidInput, LabCycleError, Unavailable
from ..services import Services
from . import jsonutil
from .schemas.core import field_path, json_type

API_PREFIX = "labcycle/api/v1"
# Identity providers that name no one: one shared token or password, one owner.
ANONYMOUS_PROVIDERS = (IdentityProvider, PasswordIdentityProvider)
SERVICES_KEY = "labcycle_services"  # settings["labcycle"] is the ExtensionApp itself
OPTIONS_KEY = "labcycle_options"

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")

_HTTP_CODES = {
    400: "invalid_input",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
}
_HTTP_MESSAGES = {
    403: "Forbidden: send the server's token (header 'Authorization: token …') or log in, "
    "and make sure your user may use this resource.",
    404: "Not found: no such LabCycle route or object.",
}


class TooLarge(LabCycleError):
    code = "too_large"
    status = 413


def describe_validation_error(exc: ValidationError) -> InvalidInput:
    """One InvalidInput for a Pydantic error: the first field in the message, all in details."""
    errors = []
    for err in exc.errors(include_url=False, include_input=False, include_context=False):
        field = field_path(err["loc"]) or "body"
        if err["type"] == "missing":
            text = "is required"
        elif err["type"] == "extra_forbidden":
            text = "is not a known field (check its spelling against the API documentation)"
        else:
            text = err["msg"][0].lower() + err["msg"][1:] if err["msg"] else err["type"]
        errors.append({"field": field, "message": text, "type": err["type"]})
    shown = "; ".join(
        e["message"] if e["field"] == "body" else f"{e['field']}: {e['message']}"
        for e in errors[:3]
    )
    more = f" (and {len(errors) - 3} more problems)" if len(errors) > 3 else ""
    return InvalidInput(
        f"Invalid input: {shown}{more}.",
        field=errors[0]["field"] if errors else "body",
        errors=errors[:50],
    )


def error_body(exc: BaseException | None, status: int) -> tuple[int, dict[str, Any]]:
    """The status and ``{"code", "message", "details"}`` for any exception."""
    if isinstance(exc, ValidationError):
        exc = describe_validation_error(exc)
    if isinstance(exc, LabCycleError):
        return exc.status, jsonutil.jsonable(exc.to_dict())
    if isinstance(exc, web.HTTPError):
        status = exc.status_code
        message = ""
        if exc.log_message:
            try:
                message = exc.log_message % exc.args if exc.args else exc.log_message
            except (TypeError, ValueError):
                message = exc.log_message
        if status == 405:
            message = "This method is not allowed on this route; see openapi.json for the routes."
        reason = http.client.responses.get(status, "Error")
        message = message or _HTTP_MESSAGES.get(status) or f"{reason}."
        code = _HTTP_CODES.get(status) or ("internal" if status >= 500 else "error")
        return status, {"code": code, "message": message, "details": {}}
    if status < 500 and exc is None:
        reason = http.client.responses.get(status, "Error")
        return status, {
            "code": _HTTP_CODES.get(status, "error"),
            "message": _HTTP_MESSAGES.get(status, f"{reason}."),
            "details": {},
        }
    return 500, {
        "code": "internal",
        "message": "LabCycle hit an unexpected error; the Jupyter server's log has the details.",
        "details": {},
    }


class LabCycleHandler(ExtensionHandlerMixin, APIHandler):
    """Base of the LabCycle REST handlers (registered under ``labcycle/api/v1/``)."""

    #: the jupyter_server Authorizer resource; each handler names its own
    auth_resource = "labcycle"

    @property
    def services(self) -> Services:
        services = self.settings[SERVICES_KEY]
        if isinstance(services, Unavailable):  # the store failed to open at start
            raise services
        return services

    @property
    def labcycle_options(self) -> Any:
        """The ``c.LabCycle`` section (not ``options``: that is the HTTP OPTIONS method)."""
        return self.settings[OPTIONS_KEY]

    @property
    def authorizer(self) -> Any:
        """The server's authorizer wrapped with LabCycle's project roles (:mod:`.auth`)."""
        from .auth import authorizer_for

        return authorizer_for(self)

    @property
    def actor(self) -> str:
        """Who is acting, for the audit log and the runs' user.

        The stock single-user identity providers give each token-authenticated request a
        random anonymous name; whoever holds the token of such a server is its owner.
        """
        if type(self.identity_provider) in ANONYMOUS_PROVIDERS:
            return self.labcycle_options.owner
        user = self.current_user
        return getattr(user, "username", None) or str(user)

    def api_url(self, *parts: str) -> str:
        """The absolute path of a LabCycle resource, for ``Location`` headers."""
        return url_path_join(self.base_url, API_PREFIX, *(quote(p, safe="/") for p in parts))

    # -- work off the event loop ------------------------------------------------------------
    async def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a synchronous (service) function in the thread pool; never block Tornado's loop.

        The service reads as the acting user (:func:`labcycle.services.ownership.reading_as`):
        private projects the user is not a member of are invisible to it."""
        from ..services.ownership import reading_as

        reader = self.actor if getattr(self.labcycle_options, "project_roles", True) else None

        def work() -> T:
            with reading_as(reader):
                return fn(*args, **kwargs)

        return await asyncio.get_running_loop().run_in_executor(None, work)

    async def respond(
        self,
        fn: Callable[[], Any],
        *,
        status: int = 200,
        location: Callable[[Any], str] | None = None,
    ) -> None:
        """Call ``fn()`` and encode its result in a worker thread, then write it.

        ``location`` turns the result into the ``Location`` header of a 201.
        """

        def work() -> tuple[Any, str]:
            result = fn()
            return result, jsonutil.dumps(result)

        result, text = await self.call(work)
        if location is not None:
            self.set_header("Location", location(result))
        self.set_status(status)
        self.finish(text)

    # -- input ------------------------------------------------------------------------------
    def read_json(self) -> dict[str, Any]:
        """The request body as a JSON object; anything else is a 400 ``invalid_input``."""
        body = self.request.body
        if not body or not body.strip():
            raise InvalidInput("The request needs a JSON object as its body.", field="body")
        try:
            data = jsonutil.loads(body)
        except (ValueError, RecursionError) as exc:
            raise InvalidInput(f"The body is not valid JSON: {exc}.", field="body") from None
        if not isinstance(data, dict):
            raise InvalidInput(
                f"The body must be a JSON object, not {json_type(data)}.", field="body"
            )
        try:
            bad = jsonutil.lone_surrogate_path(body, data)
        except RecursionError:
            raise InvalidInput("The body is nested too deeply.", field="body") from None
        if bad:
            raise InvalidInput(
                f"{bad} holds a lone UTF-16 surrogate (an escape such as \\ud800 without its "
                "pair), which is not valid text: send valid Unicode.",
                field=bad,
            )
        return data

    async def body(self, model: type[M]) -> M:
        """Decode and validate the body as ``model`` (in a thread: bodies can be large)."""

        def parse() -> M:
            try:
                return model.model_validate(self.read_json())
            except ValidationError as exc:
                raise describe_validation_error(exc) from None

        return await self.call(parse)

    def query(self, model: type[M]) -> M:
        """Validate the query string as ``model``; list fields take repeated arguments."""
        raw: dict[str, Any] = {}
        for name, field in model.model_fields.items():
            values = self.get_query_arguments(name)
            if not values:
                continue
            raw[name] = values if get_origin(field.annotation) is list else values[-1]
        try:
            return model.model_validate(raw)
        except ValidationError as exc:
            raise describe_validation_error(exc) from None

    # -- output -----------------------------------------------------------------------------
    def write_json(self, data: Any, status: int = 200) -> None:
        self.set_status(status)
        self.finish(jsonutil.dumps(data))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc_info = kwargs.get("exc_info")
        exc = exc_info[1] if exc_info else None
        status, error = error_body(exc, status_code)
        if self._headers_written:  # failed while streaming a download: nothing JSON can help
            self.log.error("LabCycle: %s after the response started: %s", self.request.path, exc)
            self.finish()
            return
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(jsonutil.dumps({"error": error}))

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        """Expected errors (bad input, not found...) get one line; the unexpected get a traceback."""
        if isinstance(value, ValidationError) or (
            isinstance(value, LabCycleError) and value.status < 500
        ):
            self.log.info("LabCycle %s %s: %s", self.request.method, self.request.path, value)
            return
        super().log_exception(typ, value, tb)


class NotFoundHandler(LabCycleHandler):
    """Anything under ``labcycle/api/v1/`` that no route matches: a JSON 404, not an HTML page."""

    auth_resource = "labcycle:api"

    @web.authenticated
    @authorized
    def get(self, path: str) -> None:
        raise web.HTTPError(404, "No LabCycle route %r; see %s/openapi.json.", path, API_PREFIX)

    post = put = patch = delete = get
