"""Build the OpenAPI 3.1 document from the app: its rules, views, type hints and the
metadata other extensions leave on views."""

from __future__ import annotations

import http
import inspect
import json
import re
import typing as t

from .schemas import SchemaRegistry, UnsupportedType

if t.TYPE_CHECKING:
    from flask import Flask
    from werkzeug.routing import Rule

    from .settings import APIDocsSettings

OPENAPI_VERSION = "3.1.0"
_VARIABLE = re.compile(r"<(?:(?P<converter>\w+)(?:\((?P<args>.*?)\))?:)?(?P<name>\w+)>")
_IGNORED_METHODS = {"HEAD", "OPTIONS"}
_PROBLEM = {
    "type": "object",
    "description": "An RFC 9457 problem document.",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
    },
}
_RATELIMIT_HEADERS = {
    "RateLimit-Policy": {
        "description": "The limits of this route (IETF draft-ietf-httpapi-ratelimit-headers).",
        "schema": {"type": "string"},
    },
    "RateLimit": {
        "description": "What is left of the nearest limit, and when it resets.",
        "schema": {"type": "string"},
    },
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "schema": {"type": "integer", "minimum": 0},
    },
}


def build(app: Flask, settings: APIDocsSettings) -> dict[str, t.Any]:
    """The OpenAPI document of ``app``, as plain JSON-ready data."""
    registry = SchemaRegistry()
    builder = _Builder(app, settings, registry)
    paths: dict[str, dict[str, t.Any]] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint)):
        if builder.excluded(rule):
            continue
        path, parameters = builder.path(rule)
        for method in sorted((rule.methods or set()) - _IGNORED_METHODS):
            operations = paths.setdefault(path, {})
            if method.lower() in operations:
                continue  # two rules, one template: the first rule is the one Werkzeug tries
            operation = builder.operation(rule, method, parameters)
            if operation is not None:
                operations[method.lower()] = operation
    info: dict[str, t.Any] = {"title": settings.title, "version": settings.version}
    if settings.description:
        info["description"] = settings.description
    document: dict[str, t.Any] = {
        "openapi": OPENAPI_VERSION,
        "info": info,
        "paths": {path: ops for path, ops in paths.items() if ops},
    }
    components: dict[str, t.Any] = {}
    if registry.components:
        components["schemas"] = registry.components
    if builder.security_schemes:
        components["securitySchemes"] = builder.security_schemes
    if components:
        document["components"] = components
    if builder.tags:
        document["tags"] = [{"name": name} for name in sorted(builder.tags)]
    return document


def dumps(document: dict[str, t.Any]) -> str:
    """The document as JSON text: sorted keys and a final newline, so it diffs well."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


class _Builder:
    def __init__(self, app: Flask, settings: APIDocsSettings, registry: SchemaRegistry) -> None:
        self.app = app
        self.settings = settings
        self.registry = registry
        self.security_schemes: dict[str, t.Any] = {}
        self.tags: set[str] = set()
        ratelimit_state = app.extensions.get("flask-plug-ratelimit")
        self._default_limits = bool(app.config.get("RATELIMIT_DEFAULT")) and (
            ratelimit_state is not None
        )

    def excluded(self, rule: Rule) -> bool:
        endpoint = rule.endpoint
        if endpoint == "static" or endpoint.endswith(".static"):
            return True
        if endpoint.split(".")[0] == self.settings.blueprint_name:
            return True
        if any(endpoint == e or endpoint.startswith(e + ".") for e in self.settings.exclude):
            return True
        view = self.app.view_functions.get(endpoint)
        return view is None or bool(_metadata(view).get("apidocs", {}).get("exclude"))

    def path(self, rule: Rule) -> tuple[str, list[dict[str, t.Any]]]:
        parameters = []
        converters = getattr(rule, "_converters", {})
        for match in _VARIABLE.finditer(rule.rule):
            name = match["name"]
            schema = _converter_schema(converters.get(name), match["converter"] or "default")
            parameter: dict[str, t.Any] = {
                "name": name, "in": "path", "required": True, "schema": schema,
            }  # fmt: skip
            if match["converter"] == "path":
                parameter["description"] = "May contain '/'."
            parameters.append(parameter)
        return _VARIABLE.sub(lambda m: "{" + m["name"] + "}", rule.rule), parameters

    def operation(
        self, rule: Rule, method: str, path_parameters: list[dict[str, t.Any]]
    ) -> dict[str, t.Any] | None:
        view = self.app.view_functions[rule.endpoint]
        handler = _handler(view, method)
        if handler is None:
            return None
        metadata = {**_metadata(view), **_metadata(handler)}
        for blueprint in _blueprints(rule.endpoint):
            blueprint_object = self.app.blueprints.get(blueprint)
            for key, value in _metadata(blueprint_object).items():
                metadata.setdefault(key, value)
        docs: dict[str, t.Any] = metadata.get("apidocs", {})
        if docs.get("exclude"):
            return None
        operation: dict[str, t.Any] = {"operationId": self._operation_id(rule, method)}
        summary, description = _docstring(handler if handler.__doc__ else view)
        summary = docs.get("summary", summary)
        description = docs.get("description", description)
        if summary:
            operation["summary"] = summary
        if description:
            operation["description"] = description
        tags = docs.get("tags") or _blueprints(rule.endpoint)[-1:]
        if tags:
            operation["tags"] = list(tags)
            self.tags.update(tags)
        if docs.get("deprecated"):
            operation["deprecated"] = True
        parameters = list(path_parameters)
        if docs.get("query") is not None:
            parameters.extend(self._query_parameters(docs["query"], rule.endpoint))
        if parameters:
            operation["parameters"] = parameters
        if docs.get("body") is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": self._schema(docs["body"], rule)}},
            }
        operation["responses"] = self._responses(rule, method, handler, docs, metadata)
        auth = metadata.get("auth", {})
        if auth.get("login_required"):
            operation["security"] = self._security(auth.get("roles", []))
            roles = auth.get("roles", [])
            note = "Needs a logged-in user" + (f" with role(s): {', '.join(roles)}." if roles
                                                else ".")  # fmt: skip
            operation["description"] = f"{operation.get('description', '')}\n\n{note}".strip()
        return operation

    def _operation_id(self, rule: Rule, method: str) -> str:
        rules = [r for r in self.app.url_map.iter_rules(rule.endpoint)]
        methods = {m for r in rules for m in (r.methods or set())} - _IGNORED_METHODS
        operation_id: str = rule.endpoint
        if len(methods) > 1:
            operation_id += "_" + method.lower()
        if len(rules) > 1:
            operation_id += f"_{rules.index(rule)}"
        return operation_id

    def _schema(self, annotation: t.Any, rule: Rule) -> dict[str, t.Any]:
        try:
            return self.registry.schema(annotation)
        except UnsupportedType as error:
            raise UnsupportedType(f"endpoint {rule.endpoint!r}: {error}") from None

    def _query_parameters(self, model: t.Any, endpoint: str) -> list[dict[str, t.Any]]:
        schema = self.registry.schema(model)
        ref = schema.get("$ref", "")
        target = self.registry.components.get(ref.rsplit("/", 1)[-1], schema)
        properties = target.get("properties")
        if not isinstance(properties, dict):
            raise UnsupportedType(
                f"endpoint {endpoint!r}: query={model!r} must be a dataclass, TypedDict or "
                "pydantic model"
            )
        required = set(target.get("required", ()))
        return [
            {"name": name, "in": "query", "required": name in required, "schema": prop}
            for name, prop in properties.items()
        ]

    def _responses(
        self,
        rule: Rule,
        method: str,
        handler: t.Callable[..., t.Any],
        docs: dict[str, t.Any],
        metadata: dict[str, t.Any],
    ) -> dict[str, t.Any]:
        responses: dict[str, t.Any] = {}
        declared: dict[int, t.Any] = dict(docs.get("responses", {}))
        if not any(200 <= status < 300 for status in declared):
            declared[int(docs.get("status", 200))] = docs.get("response", _return_type(handler))
        for status, body in sorted(declared.items()):
            responses[str(status)] = self._response(status, body, rule)
        auth = metadata.get("auth", {})
        if auth.get("login_required"):
            responses.setdefault("401", {"description": "Not logged in, or a bad token."})
            if auth.get("roles"):
                responses.setdefault("403", {"description": "The user lacks a required role."})
        limits = _limits(metadata.get("ratelimit", {}), method)
        if limits or (self._default_limits and not metadata.get("ratelimit", {}).get("exempt")):
            self.registry.components.setdefault("Problem", _PROBLEM)
            text = ", ".join(limits) if limits else "the app's default limits"
            responses["429"] = {
                "description": f"Too many requests ({text}).",
                "headers": _RATELIMIT_HEADERS,
                "content": {
                    "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
                },
            }
        return responses

    def _response(self, status: int, body: t.Any, rule: Rule) -> dict[str, t.Any]:
        description = None
        if isinstance(body, str):
            description, body = body, None
        if description is None:
            try:
                description = http.HTTPStatus(status).phrase
            except ValueError:
                description = "Response"
        response: dict[str, t.Any] = {"description": description}
        if body is str:
            response["content"] = {"text/html": {"schema": {"type": "string"}}}
        elif body is not None and status != 204:
            response["content"] = {"application/json": {"schema": self._schema(body, rule)}}
        return response

    def _security(self, roles: list[str]) -> list[dict[str, list[str]]]:
        cookie = self.app.config.get("SESSION_COOKIE_NAME") or "session"
        self.security_schemes.setdefault(
            "session",
            {"type": "apiKey", "in": "cookie", "name": cookie,
             "description": "The login session cookie, set by logging in."},
        )  # fmt: skip
        self.security_schemes.setdefault(
            "bearer",
            {"type": "http", "scheme": "bearer",
             "description": "An API token, sent as `Authorization: Bearer <token>`."},
        )  # fmt: skip
        return [{"session": list(roles)}, {"bearer": list(roles)}]


def _metadata(target: object) -> dict[str, t.Any]:
    metadata = getattr(target, "__flask_plug__", None)
    return metadata if isinstance(metadata, dict) else {}


def _blueprints(endpoint: str) -> list[str]:
    """``"admin.users.list"`` is in blueprints ``admin`` and ``admin.users``."""
    parts = endpoint.split(".")[:-1]
    return [".".join(parts[: i + 1]) for i in range(len(parts))]


def _handler(view: t.Callable[..., t.Any], method: str) -> t.Callable[..., t.Any] | None:
    view_class = getattr(view, "view_class", None)
    if view_class is None:
        return view
    handler = getattr(view_class, method.lower(), None)
    if handler is None and method == "HEAD":
        handler = getattr(view_class, "get", None)
    if handler is None:
        handler = getattr(view_class, "dispatch_request", None)
    return handler


def _docstring(function: t.Callable[..., t.Any]) -> tuple[str | None, str | None]:
    doc = inspect.getdoc(function)
    if not doc:
        return None, None
    summary, _, rest = doc.partition("\n")
    return summary.strip() or None, rest.strip() or None


def _return_type(handler: t.Callable[..., t.Any]) -> t.Any:
    try:
        hints = t.get_type_hints(handler)
    except Exception:
        return None  # a hint that cannot be resolved documents nothing
    annotation = hints.get("return")
    if annotation is None or annotation is type(None):
        return None
    try:
        SchemaRegistry().schema(annotation)
    except (UnsupportedType, TypeError):
        return None  # Response, tuples with status codes …: not a body type
    return annotation


def _limits(ratelimit: dict[str, t.Any], method: str) -> list[str]:
    if ratelimit.get("exempt"):
        return []
    limits: list[str] = []
    for spec in ratelimit.get("specs", ()):
        methods = getattr(spec, "methods", None)
        if methods is None or method in methods:
            limits.extend(getattr(limit, "text", str(limit)) for limit in spec.limits)
    if not ratelimit.get("specs"):
        limits.extend(ratelimit.get("limits", ()))
    return limits


def _converter_schema(converter: object, name: str) -> dict[str, t.Any]:
    if name in ("int", "float"):
        schema: dict[str, t.Any] = {"type": "integer" if name == "int" else "number"}
        if not getattr(converter, "signed", False):
            schema["minimum"] = 0
        if getattr(converter, "min", None) is not None:
            schema["minimum"] = converter.min  # type: ignore[attr-defined]
        if getattr(converter, "max", None) is not None:
            schema["maximum"] = converter.max  # type: ignore[attr-defined]
        return schema
    if name == "uuid":
        return {"type": "string", "format": "uuid"}
    if name == "any":
        return {"type": "string", "enum": sorted(getattr(converter, "items", ()))}
    schema = {"type": "string"}
    if name in ("default", "string"):
        schema["pattern"] = "^[^/]+$"
    return schema
