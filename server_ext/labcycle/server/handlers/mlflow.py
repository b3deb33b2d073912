"""REST handlers of the MLflow-compatible endpoint, ``<base_url>labcycle/mlflow``.

An unmodified MLflow client with ``mlflow.set_tracking_uri("http://host:port/<base>labcycle/mlflow")``
and the server's token in ``MLFLOW_TRACKING_TOKEN`` (sent as ``Authorization: Bearer``)
talks to these handlers. They are thin: read the parameters (query string and JSON body,
as MLflow's own server does), check LabCycle's project roles on writes, call one
:class:`~labcycle.services.mlflow_compat.MlflowCompat` function in a worker thread and
write its answer. Every error, including a missing token, leaves in MLflow's shape
``{"error_code", "message"}``. These routes follow MLflow's API, not LabCycle's, so they
are not in LabCycle's OpenAPI document.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from ...services.mlflow_compat import MlflowCompat, MlflowError, invalid, mlflow_error
from ..base import LabCycleHandler

MLFLOW_PREFIX = "labcycle/mlflow"
COMPAT_KEY = "labcycle_mlflow_compat"
_CHUNK_END = object()


class MlflowHandler(LabCycleHandler):
    """Base of the MLflow routes: MLflow's parameters in, MLflow's errors out."""

    auth_resource = "labcycle:mlflow"

    @property
    def compat(self) -> MlflowCompat:
        """Built by the extension at start (with its metric buffer); unbuffered otherwise."""
        compat = self.settings.get(COMPAT_KEY)
        if compat is None or compat.services is not self.services:
            compat = self.settings[COMPAT_KEY] = MlflowCompat(self.services)
        return compat

    def params(self) -> dict[str, Any]:
        """Query arguments, then the JSON body on top (MLflow sends GET and DELETE
        parameters in the query string, the others in the body)."""
        params: dict[str, Any] = {}
        for name, values in self.request.query_arguments.items():
            decoded = [v.decode("utf-8", "replace") for v in values]
            params[name] = decoded if name == "experiment_ids" or len(decoded) > 1 else decoded[0]
        body = self.request.body
        if body and body.strip() and self.request.method in ("POST", "PATCH", "DELETE", "PUT"):
            try:
                data = json.loads(body)
            except (ValueError, RecursionError, UnicodeDecodeError) as exc:
                raise invalid(f"The body is not valid JSON: {exc}.") from None
            if not isinstance(data, dict):
                raise invalid("The body must be a JSON object.")
            params.update(data)
        return params

    def roles_check(self, entities: list[tuple[str, str]]) -> Callable[[], None]:
        """LabCycle's project roles on a write (the server's authorizer already said yes),
        as a function for the worker thread that then calls the service: one hop per
        request, which matters on the hot path (``log_metric`` is one request per point)."""
        if not entities or not getattr(self.labcycle_options, "project_roles", True):
            return lambda: None
        what = f"{self.request.method} {self.request.path.split('/labcycle/mlflow', 1)[-1]}"
        access, actor = self.services.access, self.actor
        return lambda: access.require(entities, actor, "editor", what=what)

    def write_json(self, data: Any, status: int = 200) -> None:
        self.write_text(json.dumps(data, default=str), status)  # MLflow's JSON has bare NaN

    def write_text(self, text: str, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(text)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc_info = kwargs.get("exc_info")
        exc = exc_info[1] if exc_info else None
        if isinstance(exc, web.HTTPError) and not isinstance(exc, MlflowError):
            codes = {
                403: "PERMISSION_DENIED",
                401: "UNAUTHENTICATED",
                404: "ENDPOINT_NOT_FOUND",
                405: "ENDPOINT_NOT_FOUND",
                413: "INVALID_PARAMETER_VALUE",
            }
            text = exc.log_message or ""
            message = text % exc.args if exc.args and text else text
            if exc.status_code == 403:
                message = (
                    "Forbidden: send the Jupyter server's token (MLFLOW_TRACKING_TOKEN, "
                    "sent as 'Authorization: Bearer <token>')."
                )
            error = MlflowError(
                codes.get(exc.status_code, "INVALID_PARAMETER_VALUE")
                if exc.status_code < 500
                else "INTERNAL_ERROR",
                message or f"HTTP {exc.status_code}.",
                exc.status_code,
            )
        elif exc is None:
            error = MlflowError(
                "INTERNAL_ERROR" if status_code >= 500 else "BAD_REQUEST",
                f"HTTP {status_code}.",
                status_code,
            )
        else:
            error = mlflow_error(exc)
        if self._headers_written:
            self.log.error(
                "LabCycle MLflow: %s after the response started: %s", self.request.path, exc
            )
            self.finish()
            return
        self.clear_header("Content-Disposition")
        self.write_json(error.body(), error.status)

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        if isinstance(value, MlflowError) and value.status < 500:
            self.log.info(
                "LabCycle MLflow %s %s: %s", self.request.method, self.request.path, value.message
            )
            return
        super().log_exception(typ, value, tb)


class MlflowApiHandler(MlflowHandler):
    """``api/2.0/mlflow/<endpoint>`` (and ``api/2.0/preview/mlflow/<endpoint>``)."""

    async def _serve(self, endpoint: str) -> None:
        endpoint = endpoint.strip("/")
        compat = self.compat
        fn = compat.endpoint(self.request.method, endpoint)
        params = self.params()
        if endpoint == "runs/log-metric" and compat.buffer is not None:
            # the hot path: a point of a run already admitted (checked, roles included)
            # goes to the buffer without a worker hop; the first one takes the path below
            run_id, point = compat.metric_point(params)
            if compat.admitted(run_id, self.actor):
                compat.buffer_point(run_id, self.actor, point)
                self.write_text("{}")
                return
        check = (
            self.roles_check(self.compat.write_scope(endpoint, params))
            if self.request.method != "GET"
            else lambda: None
        )
        actor = self.actor

        def work() -> str:
            check()
            return json.dumps(fn(params, actor), default=str)

        self.write_text(await self.call(work))

    @web.authenticated
    @authorized
    async def get(self, endpoint: str) -> None:
        await self._serve(endpoint)

    post = patch = delete = get


class MlflowArtifactsHandler(MlflowHandler):
    """``api/2.0/mlflow-artifacts/artifacts[/<path>]``: list (``?path=``), download, upload."""

    @web.authenticated
    @authorized
    async def get(self, path: str) -> None:
        path = (path or "").strip("/")
        if not path:  # a listing: GET artifacts?path=<folder>
            listing = self.get_query_argument("path", "")
            self.write_json(await self.call(self.compat.list_artifacts, listing))
            return
        meta, chunks = await self.call(self.compat.open_artifact, path)
        self.set_header("Content-Type", "application/octet-stream")
        self.set_header("Content-Length", str(meta["size"]))
        while (chunk := await self.call(next, chunks, _CHUNK_END)) is not _CHUNK_END:
            self.write(chunk)
            await self.flush()
        self.finish()

    @web.authenticated
    @authorized
    async def put(self, path: str) -> None:
        path = (path or "").strip("/")
        compat, data, actor = self.compat, self.request.body, self.actor
        limit = self.labcycle_options.max_upload_bytes
        if len(data) > limit:
            raise MlflowError(
                "INVALID_PARAMETER_VALUE",
                f"The file has {len(data):,} bytes; "
                f"this server takes at most {limit:,} (c.LabCycle.max_upload_bytes).",
                413,
            )
        check = self.roles_check(compat.artifact_scope(path))

        def work() -> dict:
            check()
            return compat.upload_artifact(path, data, actor)

        self.write_json(await self.call(work))

    @web.authenticated
    @authorized
    async def post(self, path: str) -> None:
        raise MlflowError(
            "ENDPOINT_NOT_FOUND",
            "Multipart uploads are not supported by "
            "LabCycle's MLflow endpoint; upload each file with PUT.",
            404,
        )

    @web.authenticated
    @authorized
    async def delete(self, path: str) -> None:
        raise MlflowError(
            "ENDPOINT_NOT_FOUND",
            "Deleting artifacts is not supported by "
            "LabCycle's MLflow endpoint: a run's artifacts are kept for its "
            "lineage.",
            404,
        )


class MlflowNotFoundHandler(MlflowHandler):
    """Anything else under ``labcycle/mlflow``: MLflow's ENDPOINT_NOT_FOUND."""

    @web.authenticated
    @authorized
    async def get(self, rest: str) -> None:
        raise MlflowError(
            "ENDPOINT_NOT_FOUND",
            f"LabCycle's MLflow endpoint does not serve {self.request.method} "
            f"{rest or '/'}: it serves /api/2.0/mlflow/... and "
            "/api/2.0/mlflow-artifacts/artifacts/...",
            404,
        )

    post = put = patch = delete = get


def mlflow_handlers() -> list[tuple[str, type]]:
    """URL specs relative to the server's base_url (ExtensionApp prepends it)."""
    return [
        (MLFLOW_PREFIX + r"/api/2\.0/(?:preview/)?mlflow/(?P<endpoint>.+)", MlflowApiHandler),
        (
            MLFLOW_PREFIX + r"/api/2\.0/mlflow-artifacts/artifacts(?P<path>/.*)?",
            MlflowArtifactsHandler,
        ),
        (MLFLOW_PREFIX + r"(?P<rest>(?:/.*)?)", MlflowNotFoundHandler),
    ]
