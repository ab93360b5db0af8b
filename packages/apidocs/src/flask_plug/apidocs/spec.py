"""Build the OpenAPI 3.1 document from the app: its rules, views, type hints and the
metadata other extensions leave on views."""

from __future__ import annotations

import inspect
import json
import re
import typing as t

from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.routing import parse_converter_args

from .schemas import SchemaRegistry, UnsupportedType

if t.TYPE_CHECKING:
    from flask import Flask
    from werkzeug.routing import Rule

    from .settings import APIDocsSettings

OPENAPI_VERSION = "3.1.0"
_VARIABLE = re.compile(r"<(?:(?P<converter>\w+)(?:\((?P<args>.*?)\))?:)?(?P<name>\w+)>")
_IGNORED_METHODS = {"HEAD", "OPTIONS"}
_VARIABLE_IN_TEMPLATE = re.compile(r"\{([^}]*)\}")
_LENGTHS = re.compile(r"\[\^/\]\{(?P<low>\d+)(?P<comma>,?)(?P<high>\d*)\}")
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
    shapes: dict[str, str] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint)):
        if builder.excluded(rule):
            continue
        path, parameters = builder.path(rule)
        # Templates that differ only in variable names are one path to OpenAPI (and to a
        # client): /users/<int:id> and /users/<name> become /users/{id}, either kind.
        path = shapes.setdefault(_VARIABLE_IN_TEMPLATE.sub("{}", path), path)
        parameters = _rename_path_parameters(parameters, path)
        for method in sorted((rule.methods or set()) - _IGNORED_METHODS):
            operations = paths.setdefault(path, {})
            operation = builder.operation(rule, method, parameters)
            if operation is None:
                continue
            if method.lower() in operations:
                _merge(operations[method.lower()], operation)
                continue
            operation["operationId"] = builder.unique_id(operation["operationId"])
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
        self._operation_ids: set[str] = set()
        # flask-plug-ratelimit's state answers limits_for(endpoint, method) by the rules its
        # requests follow; duck-typed, since the packages do not import each other.
        self._limiter: t.Any = app.extensions.get("flask-plug-ratelimit")

    def unique_id(self, operation_id: str) -> str:
        """``operation_id``, or the first free ``operation_id_2``, ``_3`` …"""
        candidate, number = operation_id, 1
        while candidate in self._operation_ids:
            number += 1
            candidate = f"{operation_id}_{number}"
        self._operation_ids.add(candidate)
        return candidate

    def excluded(self, rule: Rule) -> bool:
        endpoint = rule.endpoint
        if not isinstance(endpoint, str) or rule.redirect_to is not None:
            return True  # redirects are not operations
        if endpoint == "static" or endpoint.endswith(".static"):
            return True
        if endpoint.startswith(self.settings.blueprint_name + "."):
            return True
        if any(endpoint == e or endpoint.startswith(e + ".") for e in self.settings.exclude):
            return True
        view = self.app.view_functions.get(endpoint)
        return view is None or bool(_metadata(view).get("apidocs", {}).get("exclude"))

    def path(self, rule: Rule) -> tuple[str, list[dict[str, t.Any]]]:
        parameters = []
        for match in _VARIABLE.finditer(rule.rule):
            name, converter = match["name"], match["converter"] or "default"
            schema = _converter_schema(_converter(rule, match), converter)
            parameter: dict[str, t.Any] = {
                "name": name, "in": "path", "required": True, "schema": schema,
            }  # fmt: skip
            if converter == "path":
                parameter["description"] = "May contain '/'."
            parameters.append(parameter)
        # Literal braces would read as template variables; percent-encoded they are not.
        template = rule.rule.replace("{", "%7B").replace("}", "%7D")
        return _VARIABLE.sub(lambda m: "{" + m["name"] + "}", template), parameters

    def operation(
        self, rule: Rule, method: str, path_parameters: list[dict[str, t.Any]]
    ) -> dict[str, t.Any] | None:
        """The operation of ``method`` on ``rule``; ``None`` if the view leaves it out."""
        view = self.app.view_functions[rule.endpoint]
        handler = _handler(view, method)
        if handler is None:
            return None
        metadata = self._merged_metadata(rule.endpoint, view, handler)
        docs: dict[str, t.Any] = metadata.get("apidocs", {})
        if docs.get("exclude"):
            return None
        operation: dict[str, t.Any] = {"operationId": self._operation_id(rule, method)}
        operation.update(_texts(handler if handler.__doc__ else view, docs))
        tags = docs.get("tags") or _blueprint_names(rule.endpoint)[:1]
        if tags:
            operation["tags"] = list(tags)
            self.tags.update(tags)
        if docs.get("deprecated"):
            operation["deprecated"] = True
        parameters = path_parameters + self._query_parameters(docs.get("query"), rule)
        if parameters:
            operation["parameters"] = parameters
        if docs.get("body") is not None:
            operation["requestBody"] = self._request_body(docs["body"], rule)
        auth: dict[str, t.Any] = metadata.get("auth", {})
        operation["responses"] = self._responses(rule, method, handler, docs, auth)
        if auth.get("login_required"):
            self._require_login(operation, auth.get("roles", []))
        return operation

    def _merged_metadata(
        self, endpoint: str, view: t.Callable[..., t.Any], handler: t.Callable[..., t.Any]
    ) -> dict[str, t.Any]:
        """What the extensions left on the handler, else the view, else its blueprints,
        outermost first, each package's entry whole."""
        metadata = {**_metadata(view), **_metadata(handler)}
        for name in reversed(_blueprint_names(endpoint)):
            for package, entry in _metadata(self.app.blueprints.get(name)).items():
                metadata.setdefault(package, entry)
        return metadata

    def _request_body(self, body: t.Any, rule: Rule) -> dict[str, t.Any]:
        return {
            "required": True,
            "content": {"application/json": {"schema": self._schema(body, rule)}},
        }

    def _require_login(self, operation: dict[str, t.Any], roles: list[str]) -> None:
        operation["security"] = self._security(roles)
        note = "Needs a logged-in user" + (f" with role(s): {', '.join(roles)}." if roles
                                            else ".")  # fmt: skip
        operation["description"] = f"{operation.get('description', '')}\n\n{note}".strip()

    def _operation_id(self, rule: Rule, method: str) -> str:
        rules = [r for r in self.app.url_map.iter_rules(rule.endpoint)]
        methods = {m for r in rules for m in (r.methods or set())} - _IGNORED_METHODS
        operation_id: str = rule.endpoint
        if len(methods) > 1:
            operation_id += "_" + method.lower()
        if len(rules) > 1:
            operation_id += f"_{rules.index(rule)}"
        return operation_id

    def _return_type(self, handler: t.Callable[..., t.Any]) -> t.Any:
        """The return hint, if it is a body type (not ``Response``, say)."""
        annotation = _return_hint(handler)
        if annotation is None:
            return None
        try:
            self.registry.schema(annotation)
        except (UnsupportedType, TypeError):
            return None
        return annotation

    def _schema(self, annotation: t.Any, rule: Rule) -> dict[str, t.Any]:
        try:
            return self.registry.schema(annotation)
        except UnsupportedType as error:
            raise UnsupportedType(f"endpoint {rule.endpoint!r}: {error}") from None

    def _query_parameters(self, model: t.Any, rule: Rule) -> list[dict[str, t.Any]]:
        """The query parameters the fields of ``model`` name; none if ``model`` is ``None``."""
        if model is None:
            return []
        endpoint = rule.endpoint
        schema = self._schema(model, rule)
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
        auth: dict[str, t.Any],
    ) -> dict[str, t.Any]:
        """The responses the view declares, then those its route, body and login imply,
        then the 429 of its rate limits."""
        responses = self._declared_responses(rule, handler, docs)
        implied = {
            **_path_responses(rule),
            **_body_responses(docs),
            **self._redirect_responses(rule),
            **_login_responses(auth),
        }
        for status, response in implied.items():
            responses.setdefault(status, response)
        responses.update(self._rate_limit_responses(rule.endpoint, method))
        return responses

    def _declared_responses(
        self, rule: Rule, handler: t.Callable[..., t.Any], docs: dict[str, t.Any]
    ) -> dict[str, t.Any]:
        """``responses=``, and the success response unless that names one."""
        declared: dict[int, t.Any] = dict(docs.get("responses", {}))
        if not any(200 <= status < 300 for status in declared):
            declared[int(docs.get("status", 200))] = docs.get(
                "response", self._return_type(handler)
            )
        return {
            str(status): self._response(status, body, rule)
            for status, body in sorted(declared.items())
        }

    def _redirect_responses(self, rule: Rule) -> dict[str, t.Any]:
        # Werkzeug redirects /pages/1 to /pages/ when that rule has defaults={"page": 1}.
        for other in self.app.url_map.iter_rules(rule.endpoint):
            if other is not rule and other.defaults and set(other.defaults) <= rule.arguments:
                values = ", ".join(f"{key} is {value!r}" for key, value in other.defaults.items())
                return {"308": {
                    "description": f"Permanent Redirect to {other.rule} when {values}.",
                    "headers": {"Location": {"schema": {"type": "string"}}},
                }}  # fmt: skip
        return {}

    def _rate_limit_responses(self, endpoint: str, method: str) -> dict[str, t.Any]:
        if self._limiter is None:
            return {}
        limits: tuple[str, ...] = self._limiter.limits_for(endpoint, method)
        if not limits:
            return {}
        problem = self.registry.add("Problem", _PROBLEM)
        return {"429": {
            "description": f"Too many requests ({', '.join(limits)}).",
            "headers": _RATELIMIT_HEADERS,
            "content": {"application/problem+json": {"schema": problem}},
        }}  # fmt: skip

    def _response(self, status: int, body: t.Any, rule: Rule) -> dict[str, t.Any]:
        description = None
        if isinstance(body, str):
            description, body = body, None
        if description is None:
            # Werkzeug's phrase, which the status line sends: http.HTTPStatus renamed some
            # in Python 3.13 (413 "Content Too Large"), and the document must not depend
            # on the Python that builds it.
            description = HTTP_STATUS_CODES.get(status, "Response")
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


def _rename_path_parameters(
    parameters: list[dict[str, t.Any]], path: str
) -> list[dict[str, t.Any]]:
    names = _VARIABLE_IN_TEMPLATE.findall(path)
    path_parameters = [p for p in parameters if p["in"] == "path"]
    if [p["name"] for p in path_parameters] == names:
        return parameters
    renamed = iter(names)
    return [{**p, "name": next(renamed)} if p["in"] == "path" else p for p in parameters]


def _merge(operation: dict[str, t.Any], other: dict[str, t.Any]) -> None:
    """Widen ``operation`` to also describe ``other``, a rule with the same template."""
    # Same template, so the same path parameters, first and in order; query ones may differ.
    pairs = zip(operation.get("parameters", ()), other.get("parameters", ()), strict=False)
    for parameter, wider in pairs:
        if parameter["in"] == wider["in"] == "path" and parameter["schema"] != wider["schema"]:
            parameter["schema"] = _either(parameter["schema"], wider["schema"])
    responses = operation["responses"]
    for status, response in other["responses"].items():
        mine = responses.setdefault(status, response)
        if mine is response:
            continue
        for media, content in response.get("content", {}).items():
            current = mine.setdefault("content", {}).setdefault(media, content)
            if current is not content and current["schema"] != content["schema"]:
                current["schema"] = {"anyOf": [current["schema"], content["schema"]]}


def _either(first: dict[str, t.Any], second: dict[str, t.Any]) -> dict[str, t.Any]:
    """A path parameter's schema when either of two converters may match it.

    On the wire a path parameter is text: when one side takes any segment, so does the
    union. Otherwise ``anyOf`` says it.
    """
    for schema in (first, second):
        if schema.get("pattern") == "^[^/]+$" and "maxLength" not in schema:
            return {"type": "string", "pattern": "^[^/]+$", "minLength": 1}
    return {"anyOf": [first, second]}


def _metadata(target: object) -> dict[str, t.Any]:
    """The ``__flask_plug__`` metadata of a view or blueprint: ``{package: {...}}``."""
    metadata = getattr(target, "__flask_plug__", None)
    return metadata if isinstance(metadata, dict) else {}


def _blueprint_names(endpoint: str) -> list[str]:
    """``"a.b.view"`` -> ``["a.b", "a"]``, innermost first, as Flask names nested blueprints."""
    blueprint = endpoint.rpartition(".")[0]
    names = []
    while blueprint:
        names.append(blueprint)
        blueprint = blueprint.rpartition(".")[0]
    return names


def _texts(function: t.Callable[..., t.Any], docs: dict[str, t.Any]) -> dict[str, str]:
    """The summary and description: ``@doc``'s, else the docstring's."""
    summary, description = _docstring(function)
    texts = {
        "summary": docs.get("summary", summary),
        "description": docs.get("description", description),
    }
    return {key: text for key, text in texts.items() if text}


def _path_responses(rule: Rule) -> dict[str, t.Any]:
    # A value its converter refuses, or an id the view does not find.
    return {"404": {"description": "Not Found"}} if rule.arguments else {}


def _body_responses(docs: dict[str, t.Any]) -> dict[str, t.Any]:
    if docs.get("body") is None:
        return {}
    # What Flask's request.get_json() answers to broken JSON, or to none at all.
    return {
        "400": {"description": "Bad Request"},
        "415": {"description": "Unsupported Media Type"},
    }


def _login_responses(auth: dict[str, t.Any]) -> dict[str, t.Any]:
    if not auth.get("login_required"):
        return {}
    responses = {"401": {"description": "Not logged in, or a bad token."}}
    if auth.get("roles"):
        responses["403"] = {"description": "The user lacks a required role."}
    return responses


def _converter(rule: Rule, variable: re.Match[str]) -> object:
    """The converter object of one ``<converter(args):name>`` of ``rule``.

    Werkzeug keeps a rule's converters private, so this makes an equal one the way the
    rule made its own, through the public :meth:`~werkzeug.routing.Rule.get_converter`.
    """
    args, kwargs = parse_converter_args(variable["args"] or "")
    return rule.get_converter(variable["name"], variable["converter"] or "default", args, kwargs)


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


def _return_hint(handler: t.Callable[..., t.Any]) -> t.Any:
    try:
        hints = t.get_type_hints(handler)
    except Exception:
        return None  # a hint that cannot be resolved documents nothing
    annotation = hints.get("return")
    if t.get_origin(annotation) is tuple and t.get_args(annotation)[1:2] != (Ellipsis,):
        # Flask reads a returned tuple as (body, status) or (body, status, headers).
        annotation = t.get_args(annotation)[0] if t.get_args(annotation) else None
    if annotation is None or annotation is type(None):
        return None
    return annotation


def _converter_schema(converter: object, name: str) -> dict[str, t.Any]:
    sign = "-?" if getattr(converter, "signed", False) else ""
    if name == "float":
        # Werkzeug routes only digits, a dot and digits: "1" is a 404, so not a number.
        low, high = getattr(converter, "min", None), getattr(converter, "max", None)
        bounds = "" if low is None and high is None else f", from {low} to {high}"
        return {
            "type": "string",
            "pattern": f"^{sign}[0-9]+\\.[0-9]+$",
            "description": f"A decimal number written with a dot, such as 2.5{bounds}.",
        }
    digits = getattr(converter, "fixed_digits", 0)
    if name == "int" and digits:
        return {"type": "string", "pattern": f"^{sign}[0-9]{{{digits}}}$"}
    if name == "int":
        schema: dict[str, t.Any] = {"type": "integer"}
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
        lengths = _LENGTHS.fullmatch(getattr(converter, "regex", ""))
        if lengths:
            low, comma, high = lengths["low"], lengths["comma"], lengths["high"]
            schema["minLength"] = int(low)
            if not comma:
                schema["maxLength"] = int(low)
            elif high:
                schema["maxLength"] = int(high)
    return schema
