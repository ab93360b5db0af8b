"""Build the OpenAPI 3.1 document from the app: its rules, views, type hints and the
metadata other extensions leave on views."""

from __future__ import annotations

import inspect
import json
import re
import typing as t

from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.routing import parse_converter_args

from .errors import PROBLEM_MIMETYPE, PROBLEM_SCHEMA, VALIDATION_PROBLEM_SCHEMA
from .schemas import Mode, SchemaRegistry, UnsupportedType
from .signature import ViewTypes, return_type, view_types

if t.TYPE_CHECKING:
    from flask import Flask
    from werkzeug.routing import Rule

    from .settings import APIDocsSettings

OPENAPI_VERSION = "3.1.0"
_VARIABLE = re.compile(r"<(?:(?P<converter>\w+)(?:\((?P<args>.*?)\))?:)?(?P<name>\w+)>")
_IGNORED_METHODS = {"HEAD", "OPTIONS"}
_VARIABLE_IN_TEMPLATE = re.compile(r"\{([^}]*)\}")
_LENGTHS = re.compile(r"\[\^/\]\{(?P<low>\d+)(?P<comma>,?)(?P<high>\d*)\}")
_PARAMETER_IN = {"query": "query", "headers": "header", "cookies": "cookie"}
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
# What every answer of a rate-limited route carries, not only its 429s.
_SUCCESS_RATELIMIT_HEADERS = {
    name: header for name, header in _RATELIMIT_HEADERS.items() if name != "Retry-After"
}


# flask-plug-auth's answer to an API token without a scope the view needs (RFC 6750 §3.1).
_INSUFFICIENT_SCOPE_HEADERS = {
    "WWW-Authenticate": {
        "description": '`Bearer realm="...", error="insufficient_scope", scope="..."`,'
        " naming the scopes needed (RFC 6750).",
        "schema": {"type": "string"},
    },
}
_INSUFFICIENT_SCOPE_SCHEMA = {
    "type": "object",
    "properties": {
        "error": {"type": "string", "const": "insufficient_scope"},
        "scopes": {
            "type": "array",
            "items": {"type": "string"},
            "description": "Every scope the view needs.",
        },
    },
    "required": ["error", "scopes"],
}


class _Declared(t.NamedTuple):
    """One input of an operation, by its type."""

    annotation: t.Any
    required: bool
    validated: bool
    """Read from a validated view's signature, rather than described by ``doc()``."""


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
    if settings.servers:
        document["servers"] = [dict(server) for server in settings.servers]
    components: dict[str, t.Any] = {}
    if registry.components:
        components["schemas"] = registry.components
    schemes = {**builder.security_schemes, **settings.security_schemes}
    if schemes:
        components["securitySchemes"] = schemes
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
        metadata = merged_metadata(self.app, rule.endpoint, view, handler)
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
        inputs = self._inputs(rule, handler, docs)
        parameters = self._path_parameters(path_parameters, inputs, rule)
        for location in ("query", "headers", "cookies"):
            if location in inputs:
                parameters += self._parameters(inputs[location], location, rule)
        if parameters:
            operation["parameters"] = parameters
        request_body = self._request_body(inputs, docs, rule)
        if request_body:
            operation["requestBody"] = request_body
        auth: dict[str, t.Any] = metadata.get("auth", {})
        operation["responses"] = self._responses(rule, method, handler, docs, auth, inputs)
        if docs.get("security") is not None:
            operation["security"] = self._declared_security(docs["security"], rule)
        elif auth.get("login_required"):
            self._require_login(operation, auth.get("roles", []), auth.get("scopes", []))
        return operation

    def _inputs(
        self, rule: Rule, handler: t.Callable[..., t.Any], docs: dict[str, t.Any]
    ) -> dict[str, _Declared]:
        """What the view takes, by location: from its signature when it is validated,
        else what ``doc(body=..., query=...)`` says."""
        inputs: dict[str, _Declared] = {}
        if docs.get("validate"):
            for given in self._view_types(rule, handler).inputs:
                key = given.parameter if given.location == "path" else given.location
                inputs[key] = _Declared(given.annotation, given.required, True)
        for location in ("body", "query"):
            if docs.get(location) is None:
                continue
            if location in inputs:
                raise UnsupportedType(
                    f"endpoint {rule.endpoint!r}: the {location} is declared twice, by the"
                    f" view's {location!r} parameter and by doc({location}=...); keep one"
                )
            inputs[location] = _Declared(docs[location], True, False)
        return inputs

    def _view_types(self, rule: Rule, handler: t.Callable[..., t.Any]) -> ViewTypes:
        try:
            return view_types(handler)
        except UnsupportedType as error:
            raise UnsupportedType(f"endpoint {rule.endpoint!r}: {error}") from None

    def _path_parameters(
        self, parameters: list[dict[str, t.Any]], inputs: dict[str, _Declared], rule: Rule
    ) -> list[dict[str, t.Any]]:
        """The path parameters, narrowed by what a validated view's annotation adds to
        its converter (``Annotated[int, Field(ge=1)]``)."""
        narrowed = []
        for parameter in parameters:
            declared = inputs.get(parameter["name"])
            if declared is not None and declared.validated:
                schema = self._schema(declared.annotation, rule, "validation")
                parameter = {**parameter, "schema": _narrowed(parameter["schema"], schema)}
            narrowed.append(parameter)
        return narrowed

    def _request_body(
        self, inputs: dict[str, _Declared], docs: dict[str, t.Any], rule: Rule
    ) -> dict[str, t.Any] | None:
        if "body" in inputs:
            media = "application/json"
            declared = inputs["body"]
        elif "form" in inputs:
            declared = inputs["form"]
            media = "application/x-www-form-urlencoded"
        else:
            return None
        content: dict[str, t.Any] = {"schema": self._schema(declared.annotation, rule,
                                                            "validation")}  # fmt: skip
        if media != "application/json" and _has_file(self._target(content["schema"])):
            media = "multipart/form-data"
        if "body_example" in docs:
            content["example"] = docs["body_example"]
        return {"required": declared.required, "content": {media: content}}

    def _target(self, schema: dict[str, t.Any]) -> dict[str, t.Any]:
        """``schema``, or the component its ``$ref`` names."""
        ref = schema.get("$ref", "")
        return self.registry.components.get(ref.rsplit("/", 1)[-1], schema)

    def _require_login(
        self, operation: dict[str, t.Any], roles: list[str], scopes: list[str]
    ) -> None:
        operation["security"] = self._security(roles, scopes)
        note = "Needs a logged-in user" + (f" with role(s): {', '.join(roles)}." if roles
                                            else ".")  # fmt: skip
        if scopes:
            note += f" An API token needs the scope(s): {', '.join(scopes)}."
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

    def _schema(
        self, annotation: t.Any, rule: Rule, mode: Mode = "serialization"
    ) -> dict[str, t.Any]:
        try:
            return self.registry.schema(annotation, mode)
        except UnsupportedType as error:
            raise UnsupportedType(f"endpoint {rule.endpoint!r}: {error}") from None

    def _parameters(self, declared: _Declared, location: str, rule: Rule) -> list[dict[str, t.Any]]:
        """The parameters the fields of a query, headers or cookies type name."""
        target = self._target(self._schema(declared.annotation, rule, "validation"))
        properties = target.get("properties")
        if not isinstance(properties, dict):
            raise UnsupportedType(
                f"endpoint {rule.endpoint!r}: {location}={declared.annotation!r} must be a"
                " dataclass, TypedDict or pydantic model"
            )
        required = set(target.get("required", ()))
        where = _PARAMETER_IN[location]
        return [
            {"name": name.replace("_", "-") if where == "header" else name, "in": where,
             "required": name in required, "schema": schema}
            for name, schema in properties.items()
        ]  # fmt: skip

    def _responses(
        self,
        rule: Rule,
        method: str,
        handler: t.Callable[..., t.Any],
        docs: dict[str, t.Any],
        auth: dict[str, t.Any],
        inputs: dict[str, _Declared],
    ) -> dict[str, t.Any]:
        """The responses the view declares, then those its route, input and login imply,
        then the 429 of its rate limits."""
        limits = self._limits(rule.endpoint, method)
        responses = self._declared_responses(rule, handler, docs, limits)
        implied = {
            **_path_responses(rule),
            **self._input_responses(inputs, rule),
            **self._redirect_responses(rule),
            **_login_responses(auth),
        }
        for status, response in implied.items():
            responses.setdefault(status, response)
        if limits:
            responses["429"] = {
                "description": f"Too many requests ({', '.join(limits)}).",
                "headers": _RATELIMIT_HEADERS,
                "content": {PROBLEM_MIMETYPE: {"schema": self.registry.add("Problem",
                                                                           PROBLEM_SCHEMA)}},
            }  # fmt: skip
        return responses

    def _declared_responses(
        self,
        rule: Rule,
        handler: t.Callable[..., t.Any],
        docs: dict[str, t.Any],
        limits: tuple[str, ...],
    ) -> dict[str, t.Any]:
        """``responses=``, and the success response unless that names one; success
        responses carry the declared headers, and ratelimit's when limits apply."""
        declared: dict[int, t.Any] = dict(docs.get("responses", {}))
        success = int(docs.get("status", 200))
        if not any(200 <= status < 300 for status in declared):
            declared[success] = docs.get("response", return_type(handler))
        headers = {
            name: {"description": value, "schema": {"type": "string"}}
            if isinstance(value, str) else value
            for name, value in docs.get("response_headers", {}).items()
        }  # fmt: skip
        if limits:
            headers = {**_SUCCESS_RATELIMIT_HEADERS, **headers}
        responses = {}
        for status, body in sorted(declared.items()):
            response = self._response(status, body, rule)
            if 200 <= status < 300 and headers:
                response["headers"] = headers
            if status == success and "response_example" in docs and "content" in response:
                next(iter(response["content"].values()))["example"] = docs["response_example"]
            responses[str(status)] = response
        return responses

    def _input_responses(self, inputs: dict[str, _Declared], rule: Rule) -> dict[str, t.Any]:
        """What refused input answers: a validated view's problems, or the statuses
        Flask's ``request.get_json()`` answers for a body the view reads itself."""
        if not any(declared.validated for declared in inputs.values()):
            return _body_responses(inputs)
        if self.settings.error_schema is not None:
            # The app's handler answers with a JSON body of its own type.
            schema = self._schema(self.settings.error_schema, rule)
            content = {"application/json": {"schema": schema}}
        else:
            schema = self.registry.add("ValidationProblem", VALIDATION_PROBLEM_SCHEMA)
            content = {PROBLEM_MIMETYPE: {"schema": schema}}
        responses = {"422": {"description": "The input did not validate.", "content": content}}
        if "body" in inputs:
            responses["400"] = {"description": "The body is not JSON.", "content": content}
        if "body" in inputs or "form" in inputs:
            responses["415"] = {"description": "The body is not of the expected type.",
                                "content": content}  # fmt: skip
        return responses

    def _limits(self, endpoint: str, method: str) -> tuple[str, ...]:
        if self._limiter is None:
            return ()
        limits: tuple[str, ...] = self._limiter.limits_for(endpoint, method)
        return limits

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
        if status == 204:
            pass  # No Content, whatever the view's hint says
        elif body is str:
            response["content"] = {"text/html": {"schema": {"type": "string"}}}
        elif body is not None:
            response["content"] = {"application/json": {"schema": self._schema(body, rule)}}
        return response

    def _declared_security(self, security: t.Any, rule: Rule) -> list[dict[str, list[str]]]:
        """``doc(security=...)``: scheme names, any of which will do, or ``{name: scopes}``
        for one requirement needing all the schemes it names; ``[]`` for a public view."""
        requirements = [{name: []} for name in security] if isinstance(security, list) else [
            {name: list(scopes) for name, scopes in security.items()}
        ]  # fmt: skip
        known = set(self.settings.security_schemes) | set(self.security_schemes)
        for requirement in requirements:
            unknown = set(requirement) - known
            if unknown:
                raise ValueError(
                    f"endpoint {rule.endpoint!r}: doc(security=...) names "
                    f"{', '.join(sorted(unknown))}, not in APIDOCS_SECURITY_SCHEMES"
                )
        return requirements

    def _security(self, roles: list[str], scopes: list[str]) -> list[dict[str, list[str]]]:
        """Either scheme will do. OpenAPI 3.1 lets a non-OAuth requirement list the role
        names it needs: a session needs the user's roles; a token, those and its scopes
        (a session is the user's own credential, which scopes do not limit)."""
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
        return [{"session": list(roles)}, {"bearer": sorted({*roles, *scopes})}]


def merged_metadata(
    app: Flask, endpoint: str, view: t.Callable[..., t.Any], handler: t.Callable[..., t.Any]
) -> dict[str, t.Any]:
    """What the extensions left on the handler, else the view, else its blueprints,
    outermost first; each package's entry whole, but apidocs' merged key by key, so
    a blueprint's ``security`` holds for a view that only sets a ``summary``."""
    metadata = {**_metadata(view), **_metadata(handler)}
    docs = metadata.get("apidocs", {})
    for name in _blueprint_names(endpoint):
        for package, entry in _metadata(app.blueprints.get(name)).items():
            metadata.setdefault(package, entry)
            if package == "apidocs":
                docs = {**entry, **docs}
    if docs:
        metadata["apidocs"] = docs
    return metadata


def success_status(app: Flask, endpoint: str, method: str) -> int | None:
    """The status ``doc(status=...)`` declares for the view of ``endpoint``, if any."""
    view = app.view_functions[endpoint]
    handler = _handler(view, method) or view
    status = merged_metadata(app, endpoint, view, handler).get("apidocs", {}).get("status")
    return None if status is None else int(status)


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


def _body_responses(inputs: dict[str, _Declared]) -> dict[str, t.Any]:
    if "body" not in inputs:
        return {}
    # What Flask's request.get_json() answers to broken JSON, or to none at all.
    return {
        "400": {"description": "Bad Request"},
        "415": {"description": "Unsupported Media Type"},
    }


def _login_responses(auth: dict[str, t.Any]) -> dict[str, t.Any]:
    if not auth.get("login_required"):
        return {}
    responses: dict[str, t.Any] = {"401": {"description": "Not logged in, or a bad token."}}
    roles, scopes = auth.get("roles"), auth.get("scopes")
    if scopes:
        lacking = "The API token lacks a required scope (`insufficient_scope`)."
        if roles:
            lacking = "The user lacks a required role, or " + lacking[0].lower() + lacking[1:]
        responses["403"] = {
            "description": lacking,
            "headers": _INSUFFICIENT_SCOPE_HEADERS,
            "content": {"application/json": {"schema": _INSUFFICIENT_SCOPE_SCHEMA}},
        }
    elif roles:
        responses["403"] = {"description": "The user lacks a required role."}
    return responses


def _narrowed(converter: dict[str, t.Any], annotation: dict[str, t.Any]) -> dict[str, t.Any]:
    """A path parameter's schema: what its converter routes, narrowed by its annotation.

    Bounds take the stricter of the two, since a value the converter refuses is a 404
    whatever the annotation allows.
    """
    schema = {**converter, **annotation}
    for key, stricter in (("minimum", max), ("maximum", min)):
        if key in converter and key in annotation:
            schema[key] = stricter(converter[key], annotation[key])
    return schema


def _has_file(schema: dict[str, t.Any]) -> bool:
    """Whether a form's schema has a file field, so it must be sent as multipart."""
    for field in schema.get("properties", {}).values():
        options = [field, field.get("items", {})] + field.get("anyOf", [])
        if any(option.get("format") == "binary" for option in options):
            return True
    return False


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
