"""The OpenAPI 3.1 document, generated from the app's routes, the `api_doc` of each view and the
marshmallow schemas (through apispec's marshmallow plugin). Every route of the app appears, the
operational ones (/healthz, /readyz, /metrics) and any undocumented one included (with what its
docstring says), so the document cannot silently miss a route."""

from __future__ import annotations

import http
import re
from typing import Any

from aiohttp import web
from apispec import APISpec
from wagw_common.json_schema_openapi import MarshmallowPlugin
from marshmallow import Schema
from marshmallow import fields as mf
from wagw_common.contracts.identity import SCOPES

from .apidoc import FilePart, Media, Operation, operation_of, summary_and_description
from .auth import API_KEY, API_KEY_HEADER, BEARER
from .idempotent import IDEMPOTENCY_HEADER
from .schemas import ErrorEnvelope

TITLE = "WhatsApp Gateway API"
VERSION = "1.0.0"
ERROR_REF = {"$ref": "#/components/schemas/Error"}
_NUMBER = {"type": "string", "pattern": "^[0-9]+$"}
RATE_HEADERS = {name: {"description": text, "schema": _NUMBER} for name, text in (
    ("RateLimit-Limit", "requests allowed in the window that applied"),
    ("RateLimit-Remaining", "requests left in that window"),
    ("RateLimit-Reset", "seconds until that window starts over"),
)}
# The routes every service has, from wagw_common.service: documented here, as they are not the gateway's own.
SERVICE_ROUTES = {
    "/healthz": Operation(tags=("operations",), responses={200: {"status": mf.String(), "service": mf.String()}}),
    # Not ready is 503 with the same body (which dependency is down), not the error envelope.
    "/readyz": Operation(tags=("operations",), responses={status: {"ready": mf.Boolean(), "checks": mf.Dict(
        keys=mf.String(), values=mf.Boolean())} for status in (200, 503)}),
    "/metrics": Operation(tags=("operations",), responses={200: mf.String()}, content_type="text/plain"),
}
DESCRIPTION = f"""The public HTTP API of the WhatsApp Gateway platform.

Authenticate with an access token (`Authorization: Bearer <JWT>` from `POST /api/v1/auth/login`) or,
where a route says so, an API key (`{API_KEY_HEADER}: wagw_sk_…` or `wagw_uk_…`, or `Authorization: Bearer <key>`).
A logged-in user holds every scope; an API key holds only its own:
{", ".join(f"`{s}` ({d})" for s, d in SCOPES.items())}.
A session key holds every scope on its own session. A key restricted to one session gets 404 for any other.

Every error is `{{"error": {{"code", "message", "details"}}}}`. Every answer of a rate-limited route carries
`RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset`; a refusal is 429 with `Retry-After`.
Creating POSTs accept `{IDEMPOTENCY_HEADER}`: the same key and body within 24 hours returns the first answer."""


def _schema_name(schema) -> str | None:
    """Component name for a schema class; a schema narrowed with only/exclude stays inline."""
    if isinstance(schema, Schema) and (schema.only or schema.exclude):
        return None
    cls = schema if isinstance(schema, type) else type(schema)
    return cls.__name__


def _path_parameters(resource) -> list[dict[str, Any]]:
    pattern = getattr(resource, "_pattern", None)
    if pattern is None:
        return []
    source, parameters = pattern.pattern, []
    for match in re.finditer(r"\(\?P<(\w+)>", source):
        depth, i = 1, match.end()
        while depth:
            if source[i] == "\\":
                i += 2
                continue
            depth += {"(": 1, ")": -1}.get(source[i], 0)
            i += 1
        parameters.append({"in": "path", "name": match.group(1), "required": True,
                           "schema": {"type": "string", "pattern": f"^{source[match.end():i - 1]}$"}})
    return parameters


class _Builder:
    def __init__(self, app: web.Application):
        self.app = app
        # apispec documents a resolver answering None (inline the schema) but types it as returning str.
        self.plugin = MarshmallowPlugin(schema_name_resolver=_schema_name)  # type: ignore[arg-type]
        self.spec = APISpec(title=TITLE, version=VERSION, openapi_version="3.1.0", plugins=[self.plugin],
                            info={"description": DESCRIPTION}, servers=[{"url": "/"}])
        self.spec.components.schema("Error", schema=ErrorEnvelope)
        self.spec.components.security_scheme(BEARER, {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                                                      "description": "an access token from POST /api/v1/auth/login"})
        self.spec.components.security_scheme(API_KEY, {"type": "apiKey", "in": "header", "name": API_KEY_HEADER,
                                                       "description": "a session or user API key"})
        self.operation_ids: set[str] = set()

    def shape(self, shape: Any) -> Any:
        if isinstance(shape, dict):
            return {"type": "object", "properties": {k: self.shape(v) for k, v in shape.items()},
                    "required": list(shape), "additionalProperties": False}
        if isinstance(shape, list):
            return {"type": "array", "items": self.shape(shape[0])}
        if isinstance(shape, mf.Field):
            converter = self.plugin.converter
            if converter is None:
                raise RuntimeError("the marshmallow plugin is used before its APISpec initialised it")
            return converter.field2property(shape)
        return shape  # a marshmallow schema: the plugin resolves it (a $ref, or inline)

    def operation_id(self, name: str) -> str:
        candidate, n = name, 2
        while candidate in self.operation_ids:
            candidate, n = f"{name}_{n}", n + 1
        self.operation_ids.add(candidate)
        return candidate

    def operation(self, handler, path: str, has_path_params: bool) -> dict[str, Any]:
        doc = operation_of(handler) or SERVICE_ROUTES.get(path) or Operation(tags=("other",), responses={200: None})
        summary_in_doc, description_in_doc = summary_and_description(handler)
        summary = doc.summary or summary_in_doc
        description = [doc.description or description_in_doc]
        security = getattr(handler, "security", None) or []
        if security:
            description.append(f"Authentication: {handler.auth}.")
        op: dict[str, Any] = {"operationId": self.operation_id(handler.__name__), "summary": summary,
                              "tags": list(doc.tags), "security": [{scheme: []} for scheme in security],
                              "parameters": [], "responses": {}}
        if getattr(handler, "scope", None):
            op["x-required-scope"] = handler.scope
        if doc.query is not None:
            op["parameters"].append({"in": "query", "schema": doc.query})
        for name, meaning in doc.headers.items():
            op["parameters"].append({"in": "header", "name": name, "required": False, "description": meaning,
                                     "schema": {"type": "string", "maxLength": 255}})
        if getattr(handler, "idempotent", False):
            op["parameters"].append({"in": "header", "name": IDEMPOTENCY_HEADER, "required": False,
                                     "description": "makes a retry of this request safe (kept 24 hours)",
                                     "schema": {"type": "string", "pattern": "^[!-~]{1,255}$"}})
        if isinstance(doc.body, FilePart):
            op["requestBody"] = self.file_upload(doc.body)
        elif doc.body is not None:
            op["requestBody"] = {"required": True, "content": {"application/json": {"schema": doc.body}}}
        rate_limited = bool(security) or "auth" in doc.tags
        for status, shape in doc.responses.items():
            answer: dict[str, Any] = {"description": http.HTTPStatus(status).phrase}
            if isinstance(shape, Media):
                answer["content"] = {media: ({"schema": self.shape(inner)} if inner is not None else {})
                                     for media, inner in shape.items()}
            elif shape is not None:
                answer["content"] = {doc.content_type: {"schema": self.shape(shape)}}
            if rate_limited:
                answer["headers"] = RATE_HEADERS
            op["responses"][str(status)] = answer
        for status in sorted(self._error_statuses(doc, bool(security), has_path_params, rate_limited, handler)):
            op["responses"][str(status)] = {"description": http.HTTPStatus(status).phrase,
                                            "content": {"application/json": {"schema": ERROR_REF}}}
        op["responses"]["default"] = {"description": "any other failure, as an error envelope",
                                      "content": {"application/json": {"schema": ERROR_REF}}}
        if not op["parameters"]:
            del op["parameters"]
        op["description"] = " ".join(part for part in description if part) or summary
        return op

    def file_upload(self, part: FilePart) -> dict[str, Any]:
        """The multipart body, with the file's size limit and the types the part's encoding takes (what
        a client, and a fuzzer, needs to build an upload the route accepts, and ones it refuses)."""
        limit = part.max_bytes(self.app)
        schema = {"type": "object", "required": [part.name], "properties": {part.name: {
            "type": "string", "format": "binary", "contentMediaType": "application/octet-stream",
            "maxLength": limit, "description": f"{part.description} At most {limit} bytes (413 above); "
                                               f"accepted types: {', '.join(part.types)} (415 otherwise).".strip()}}}
        return {"required": True, "content": {"multipart/form-data": {
            "schema": schema, "encoding": {part.name: {"contentType": ", ".join(part.types)}}}}}

    @staticmethod
    def _error_statuses(doc: Operation, secured: bool, has_path_params: bool, rate_limited: bool, handler) -> set:
        statuses = set(doc.errors)
        if doc.tags == ("operations",):
            return statuses
        statuses |= {400, 422, 503}
        statuses |= {401, 403} if secured else set()
        statuses |= {404} if has_path_params else set()
        statuses |= {413} if doc.body is not None else set()
        statuses |= {409} if getattr(handler, "idempotent", False) else set()
        statuses |= {429} if rate_limited else set()
        return statuses - set(doc.responses)


# OpenAPI links: what a created resource's id opens next (clients and stateful fuzzers follow them).
# (path, method, status) of the creation -> (the id's path parameter, where the id is in its answer,
# the path prefix of the operations that take it).
LINKS = {
    ("/api/v1/sessions", "post", "201"): ("session_id", "/session/session_id", "/api/v1/sessions/{session_id}"),
    ("/api/v1/webhooks", "post", "201"): ("endpoint_id", "/endpoint/endpoint_id", "/api/v1/webhooks/{endpoint_id}"),
    ("/api/v1/api-keys", "post", "201"): ("key_id", "/key/key_id", "/api/v1/api-keys/{key_id}"),
    ("/api/v1/send", "post", "202"): ("message_id", "/message_id", "/api/v1/messages/{message_id}"),
}


def _add_links(document: dict[str, Any]) -> None:
    paths = document.get("paths", {})
    for (path, method, status), (parameter, pointer, prefix) in LINKS.items():
        answer = paths.get(path, {}).get(method, {}).get("responses", {}).get(status)
        if answer is None:
            continue
        links = {}
        for target, operations in paths.items():
            if target != prefix and not target.startswith(prefix + "/"):
                continue
            for operation in operations.values():
                if isinstance(operation, dict) and "operationId" in operation:
                    links[operation["operationId"]] = {"operationId": operation["operationId"],
                                                       "parameters": {parameter: f"$response.body#{pointer}"}}
        if links:
            answer["links"] = links


def build_document(app: web.Application) -> dict[str, Any]:
    builder = _Builder(app)
    paths: dict[str, dict[str, Any]] = {}
    for route in app.router.routes():
        if route.method in {"HEAD", "*"}:
            continue
        resource = route.resource
        if resource is None:  # every route added through the app's router has one
            raise ValueError(f"the route {route.method} {route.handler.__name__} has no resource")
        path = resource.canonical
        parameters = _path_parameters(resource)
        entry = paths.setdefault(path, {"parameters": parameters, "operations": {}})
        entry["operations"][route.method.lower()] = builder.operation(route.handler, path, bool(parameters))
    for path, entry in paths.items():
        builder.spec.path(path=path, operations=entry["operations"], parameters=entry["parameters"] or None)
    document = builder.spec.to_dict()
    _add_links(document)
    return document
