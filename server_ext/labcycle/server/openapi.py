"""The OpenAPI 3.1 document of the REST API, generated from the route table.

Paths and methods come from :data:`.routes.ROUTES` (the table that also registers the
handlers); request and response schemas come from the Pydantic models named in it. The
document is built once when the extension starts and served at ``openapi.json``.
"""

from __future__ import annotations

from typing import Any

from jupyter_server.utils import url_path_join
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from .base import API_PREFIX
from .responses import core as responses
from .routes import BINARY, ROUTES, Route

REF_TEMPLATE = "#/components/schemas/{model}"
_STATUS_TEXT = {200: "OK", 201: "Created", 204: "No Content"}
_PATH_DOCS = {
    "path": "the artifact's path inside the run; may contain '/' (URL-encode other "
    "reserved characters); '..', '.', empty segments, '\\', NUL and percent-encoded "
    "dots or slashes are refused",
    "key": "the metric key",
}


def _models(routes: tuple[Route, ...]) -> tuple[list[type[BaseModel]], list[type[BaseModel]]]:
    requests: list[type[BaseModel]] = []
    replies: list[type[BaseModel]] = [responses.Error]
    for route in routes:
        if isinstance(route.body, type) and route.body not in requests:
            requests.append(route.body)
        if isinstance(route.response, type) and route.response not in replies:
            replies.append(route.response)
    return requests, replies


def _query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(ref_template=REF_TEMPLATE)
    params = []
    for name, prop in schema.get("properties", {}).items():
        prop = dict(prop)
        description = prop.pop("description", None)
        prop.pop("title", None)
        param: dict[str, Any] = {"name": name, "in": "query", "required": False, "schema": prop}
        if description:
            param["description"] = description
        if prop.get("type") == "array":
            param.update(style="form", explode=True)
        params.append(param)
    return params


def _operation(route: Route, refs: dict[type[BaseModel], dict[str, str]]) -> dict[str, Any]:
    op: dict[str, Any] = {
        "operationId": route.operation_id,
        "summary": route.summary,
        "tags": [route.path.split("/", 1)[0]],
        "x-jupyter-authorization": {"resource": route.resource, "action": route.action},
    }
    parameters = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": {"type": "string"},
            **({"description": _PATH_DOCS[name]} if name in _PATH_DOCS else {}),
        }
        for name in route.params
    ]
    if route.query is not None:
        parameters += _query_parameters(route.query)
    if parameters:
        op["parameters"] = parameters
    if route.body == BINARY:
        op["requestBody"] = {
            "required": True,
            "description": "the raw bytes; Content-Type, if given, becomes the media type",
            "content": {"application/octet-stream": {}},
        }
    elif route.body is not None:
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": refs[route.body]}},
        }
    success: dict[str, Any] = {"description": _STATUS_TEXT.get(route.status, "OK")}
    if route.response == BINARY:
        success["description"] = "the artifact's bytes, with its media type"
        success["content"] = {"application/octet-stream": {}}
    elif route.response is not None:
        success["content"] = {"application/json": {"schema": refs[route.response]}}
    elif route.status != 204:
        success["content"] = {"application/json": {"schema": {"type": "object"}}}
    if route.status == 201:
        success["headers"] = {
            "Location": {"description": "path of the new resource", "schema": {"type": "string"}}
        }
    op["responses"] = {str(route.status): success}
    if route.alt_status is not None:
        alternative = {k: v for k, v in success.items() if k != "headers"}
        alternative["description"] = _STATUS_TEXT.get(route.alt_status, "OK")
        op["responses"][str(route.alt_status)] = alternative
    op["responses"].update(
        {
            "default": {
                "description": "An error: 400 invalid_input, 403 forbidden, 404 not_found, "
                "409 conflict, 413 too_large, 500 internal",
                "content": {"application/json": {"schema": refs[responses.Error]}},
            },
        }
    )
    return op


def build_document(base_url: str = "/", routes: tuple[Route, ...] = ROUTES) -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``routes``, served under ``base_url``."""
    from .._version import __version__

    requests, replies = _models(routes)
    keys, definitions = models_json_schema(
        [(m, "validation") for m in requests] + [(m, "serialization") for m in replies],
        ref_template=REF_TEMPLATE,
    )
    refs = {model: keys[(model, "validation")] for model in requests}
    refs.update({model: keys[(model, "serialization")] for model in replies})
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        paths.setdefault("/" + route.path, {})[route.method.lower()] = _operation(route, refs)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "LabCycle REST API",
            "version": __version__,
            "description": "Tracking, artifacts, datasets and audit of LabCycle, served by its "
            "Jupyter server extension. Non-finite metric values travel as the strings "
            '"NaN", "Infinity" and "-Infinity".',
        },
        "servers": [{"url": url_path_join(base_url, API_PREFIX)}],
        "security": [{"token": []}],
        "paths": paths,
        "components": {
            "schemas": definitions.get("$defs", {}),
            "securitySchemes": {
                "token": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "Authorization",
                    "description": "'token <the Jupyter server token>'. A browser logged in "
                    "to Jupyter may use its cookie instead; its writes then need the "
                    "X-XSRFToken header.",
                },
            },
        },
    }


if __name__ == "__main__":
    # `python -m labcycle.server.openapi` prints the document without a running server, so the
    # frontend's generated types (labextension/src/api/schema.ts) can be checked against it.
    import json

    print(json.dumps(build_document(), indent=2, sort_keys=True))
