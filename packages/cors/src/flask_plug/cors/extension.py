"""The :class:`CORS` extension: rules per app, path, blueprint and view; the request hooks."""

from __future__ import annotations

import logging
import typing as t
from collections.abc import Iterable
from datetime import timedelta

from flask import current_app, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from .decorators import OriginSpec
from .headers import NORMALISED_METHODS, add_vary, is_token, requested_headers
from .paths import PathRule, parse_rules
from .policy import DEFAULTS, CorsPolicy, Namer, check_options, compile_policy

if t.TYPE_CHECKING:
    from flask import Blueprint, Flask
    from werkzeug.wrappers import Response

EXTENSION_KEY = "flask-plug-cors"
_PREFLIGHT = "flask_plug.cors.preflight"
_PREFLIGHT_VARY = "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"
_PRIVATE_NETWORK_VARY = _PREFLIGHT_VARY + ", Access-Control-Request-Private-Network"
# What a preflight to a path no route matches may ask for, so the real request gets a
# readable 404 instead of failing as a CORS error.
_UNROUTED_METHODS = ("DELETE", "GET", "HEAD", "PATCH", "POST", "PUT")


def _config_key(option: str) -> str:
    return f"CORS_{option.upper()}"


class CORS:
    """Cross-Origin Resource Sharing for a Flask app, following the Fetch standard.

    Rules can be set for the whole app (these options, or ``CORS_*`` config keys), for
    paths (``resources``), for a blueprint (:meth:`configure_blueprint`) and for a view
    (:func:`cross_origin`). The most specific scope wins, option by option: view, then
    blueprint (inner before outer), then the first matching path rule, then the app.

    :param app: the app to register on now; or call :meth:`init_app` later.
    :param origins: who may read responses: ``"*"``, exact origins
        (``"https://app.example.com"``), subdomain wildcards (``"https://*.example.com"``),
        ``re.Pattern`` objects (matched with ``fullmatch``), or a list of those.
        ``"null"`` only if listed. Default: none, so CORS is off until configured.
    :param methods: methods a preflight may ask for. Default: the route's own methods.
    :param allow_headers: request headers a preflight may ask for, or ``"*"`` (the
        default) for any but ``Authorization``, which must be listed.
    :param expose_headers: response headers page scripts may read beyond the safelisted ones.
    :param allow_credentials: allow cookies and HTTP authentication. Default ``False``;
        not allowed together with ``origins="*"``.
    :param max_age: how long browsers may cache a preflight (seconds or ``timedelta``).
        Default: not sent (browsers then use 5 seconds).
    :param allow_private_network: answer Private Network Access preflights. Default ``False``.
    :param resources: path rules: ``{"/api/*": {"origins": [...]}, ...}``, first match wins.
    """

    def __init__(
        self,
        app: Flask | None = None,
        *,
        origins: OriginSpec | None = None,
        methods: str | Iterable[str] | None = None,
        allow_headers: str | Iterable[str] | None = None,
        expose_headers: str | Iterable[str] | None = None,
        allow_credentials: bool | None = None,
        max_age: int | timedelta | None = None,
        allow_private_network: bool | None = None,
        resources: t.Any = None,
    ) -> None:
        self._options = dict(
            origins=origins,
            methods=methods,
            allow_headers=allow_headers,
            expose_headers=expose_headers,
            allow_credentials=allow_credentials,
            max_age=max_age,
            allow_private_network=allow_private_network,
            resources=resources,
        )
        if app is not None:
            self.init_app(app)

    def init_app(
        self,
        app: Flask,
        *,
        origins: OriginSpec | None = None,
        methods: str | Iterable[str] | None = None,
        allow_headers: str | Iterable[str] | None = None,
        expose_headers: str | Iterable[str] | None = None,
        allow_credentials: bool | None = None,
        max_age: int | timedelta | None = None,
        allow_private_network: bool | None = None,
        resources: t.Any = None,
    ) -> None:
        """Register CORS on ``app``; the options are those of :class:`CORS`.

        :raises RuntimeError: if CORS is already registered on ``app``.
        :raises ValueError: naming the config key, for any bad value or combination.
        """
        if EXTENSION_KEY in app.extensions:
            raise RuntimeError(
                "flask-plug-cors is already registered on this app; call init_app once per app"
            )
        given = dict(
            origins=origins,
            methods=methods,
            allow_headers=allow_headers,
            expose_headers=expose_headers,
            allow_credentials=allow_credentials,
            max_age=max_age,
            allow_private_network=allow_private_network,
            resources=resources,
        )
        options = {**self._options, **{k: v for k, v in given.items() if v is not None}}
        for option, value in options.items():
            if value is None:
                options[option] = app.config.get(_config_key(option))
        rules = parse_rules(options.pop("resources"))
        base = {**DEFAULTS, **check_options(options, _config_key)}
        state = _CorsState(base, rules)
        state.check(app)
        app.extensions[EXTENSION_KEY] = state
        # First of all before_request hooks: a preflight is answered before login checks,
        # rate limits or routing errors can turn it into something a browser rejects.
        app.before_request_funcs.setdefault(None, []).insert(0, _answer_preflight)
        app.after_request(_add_cors_headers)

    def configure_blueprint(
        self,
        blueprint: Blueprint,
        *,
        origins: OriginSpec | None = None,
        methods: str | Iterable[str] | None = None,
        allow_headers: str | Iterable[str] | None = None,
        expose_headers: str | Iterable[str] | None = None,
        allow_credentials: bool | None = None,
        max_age: int | timedelta | None = None,
        allow_private_network: bool | None = None,
    ) -> None:
        """Set CORS rules for every view of ``blueprint``; options left out are inherited.

        The rules apply to requests routed to the blueprint's views, wherever and however
        often it is registered. Paths under its ``url_prefix`` that match no view (404s)
        follow the path rules and app rules: add a path rule to cover those too.

        :raises ValueError: for a bad value.
        """
        given = dict(
            origins=origins,
            methods=methods,
            allow_headers=allow_headers,
            expose_headers=expose_headers,
            allow_credentials=allow_credentials,
            max_age=max_age,
            allow_private_network=allow_private_network,
        )
        checked = check_options(given, lambda option: f"configure_blueprint({option}=...)")
        _set_metadata(blueprint, checked)


def _set_metadata(target: Blueprint, options: dict[str, t.Any]) -> None:
    metadata = dict(getattr(target, "__flask_plug__", {}))
    metadata["cors"] = options
    target.__flask_plug__ = metadata  # type: ignore[attr-defined]


def _cors_metadata(target: object) -> dict[str, t.Any] | None:
    metadata: dict[str, dict[str, t.Any]] = getattr(target, "__flask_plug__", {})
    return metadata.get("cors")


class _CorsState:
    """Per-app rules; compiled policies are cached per (endpoint, path rule)."""

    def __init__(self, base: dict[str, t.Any], rules: tuple[PathRule, ...]) -> None:
        self.base = base
        self.rules = rules
        self._cache: dict[tuple[str | None, int], CorsPolicy] = {}

    def check(self, app: Flask) -> None:
        """Compile every scope known now, so bad combinations fail at ``init_app``."""
        for index in range(-1, len(self.rules)):
            self._build(app, None, index)
        for endpoint in app.view_functions:
            for index in range(-1, len(self.rules)):
                self._build(app, endpoint, index)

    def policy_for(self, app: Flask, endpoint: str | None, path: str) -> CorsPolicy:
        index = -1
        for i, rule in enumerate(self.rules):
            if rule.matches(path):
                index = i
                break
        policy = self._cache.get((endpoint, index))
        if policy is None:
            policy = self._cache[endpoint, index] = self._build(app, endpoint, index)
        return policy

    def _build(self, app: Flask, endpoint: str | None, index: int) -> CorsPolicy:
        options = dict(self.base)
        name: Namer = _config_key
        source = "app config"
        scopes: list[tuple[str, dict[str, t.Any] | None]] = []
        if index >= 0:
            rule = self.rules[index]
            scopes.append((rule.label, rule.options))
        if endpoint is not None:
            blueprint_names = _blueprint_names(endpoint)
            for bp_name in reversed(blueprint_names):
                options_of_bp = _cors_metadata(app.blueprints.get(bp_name))
                scopes.append((f"blueprint {bp_name!r}", options_of_bp))
            scopes.append((f"view {endpoint!r}", _cors_metadata(app.view_functions.get(endpoint))))
        for label, scope_options in scopes:
            if scope_options:
                options.update(scope_options)
                source = label
        if source != "app config":
            name = lambda option: f"{option!r} (as merged for {source})"  # noqa: E731
        return compile_policy(options, name, source)


def _blueprint_names(endpoint: str) -> list[str]:
    """``"a.b.view"`` -> ``["a.b", "a"]``, innermost first, as Flask names nested blueprints."""
    blueprint = endpoint.rpartition(".")[0]
    names = []
    while blueprint:
        names.append(blueprint)
        blueprint = blueprint.rpartition(".")[0]
    return names


def _refuse(reason: str, origin: str, policy: CorsPolicy | None) -> Response:
    logger = current_app.logger
    if logger.isEnabledFor(logging.DEBUG):
        logger.debug(
            "CORS preflight refused: %s %s from origin %r: %s (rules from %s)",
            request.headers.get("Access-Control-Request-Method"),
            request.path,
            origin,
            reason,
            "none" if policy is None else policy.source,
        )
    request.environ[_PREFLIGHT] = True
    response = current_app.response_class(
        f"CORS preflight refused: {reason}\n", status=403, mimetype="text/plain"
    )
    add_vary(response.headers, _PREFLIGHT_VARY)
    return response


def _answer_preflight() -> Response | None:
    """``before_request``: answer ``OPTIONS`` preflights before routing has its say."""
    environ = request.environ
    if environ["REQUEST_METHOD"] != "OPTIONS":
        return None
    method = environ.get("HTTP_ACCESS_CONTROL_REQUEST_METHOD")
    origin = environ.get("HTTP_ORIGIN")
    if method is None or origin is None:
        return None  # a plain OPTIONS request: Flask answers it
    app = current_app
    state: _CorsState = app.extensions[EXTENSION_KEY]

    if not is_token(method):
        return _refuse("malformed Access-Control-Request-Method", origin, None)
    adapter = app.create_url_adapter(request)
    endpoint: str | None = None
    route_methods: Iterable[str] = ()
    if adapter is not None:
        try:
            rule, _ = adapter.match(method=method.upper(), return_rule=True)
            endpoint = rule.endpoint
            route_methods = adapter.allowed_methods()
        except MethodNotAllowed as e:
            route_methods = e.valid_methods or ()
        except HTTPException:
            pass  # unknown path or a redirect: only path and app rules apply
    policy = state.policy_for(app, endpoint, request.path)
    if not policy.enabled:
        return None  # CORS is off here: not ours to answer
    if not policy.origins.allowed(origin):
        return _refuse("origin not allowed", origin, policy)

    allowed_methods = policy.methods
    if allowed_methods is None:
        allowed_methods = frozenset(route_methods or _UNROUTED_METHODS) - {"OPTIONS"}
    if method.upper() not in allowed_methods:
        return _refuse(f"method {method} not allowed", origin, policy)

    asked = environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS", "")
    header_names = requested_headers(asked)
    if header_names is None:
        return _refuse("malformed Access-Control-Request-Headers", origin, policy)
    for header in header_names:
        if policy.allow_headers is None:
            if header == "authorization":
                return _refuse(
                    "header authorization must be listed in allow_headers; '*' does not"
                    " cover it",
                    origin,
                    policy,
                )
        elif header not in policy.allow_headers:
            return _refuse(f"header {header} not allowed", origin, policy)

    private_network = environ.get("HTTP_ACCESS_CONTROL_REQUEST_PRIVATE_NETWORK") == "true"
    if private_network and not policy.allow_private_network:
        return _refuse("private network access not allowed", origin, policy)

    environ[_PREFLIGHT] = True
    response = app.response_class(status=204)
    headers = response.headers
    del headers["Content-Type"]
    if policy.origins.any and not policy.allow_credentials:
        headers["Access-Control-Allow-Origin"] = "*"
    else:
        headers["Access-Control-Allow-Origin"] = origin
    if policy.allow_credentials:
        headers["Access-Control-Allow-Credentials"] = "true"
    methods_header = sorted(allowed_methods)
    if method not in allowed_methods and method.upper() not in NORMALISED_METHODS:
        methods_header.append(method)  # browsers compare e.g. "patch" case-sensitively
    headers["Access-Control-Allow-Methods"] = ", ".join(methods_header)
    if header_names:
        headers["Access-Control-Allow-Headers"] = ", ".join(header_names)
    if policy.max_age is not None:
        headers["Access-Control-Max-Age"] = policy.max_age
    if private_network:
        headers["Access-Control-Allow-Private-Network"] = "true"
    add_vary(headers, _PRIVATE_NETWORK_VARY if policy.allow_private_network else _PREFLIGHT_VARY)
    return response


def _add_cors_headers(response: Response) -> Response:
    """``after_request``: CORS headers on every response in a CORS scope, errors included."""
    environ = request.environ
    if environ.get(_PREFLIGHT):
        return response
    app = current_app
    state: _CorsState = app.extensions[EXTENSION_KEY]
    policy = state.policy_for(app, request.endpoint, request.path)
    if not policy.enabled:
        return response
    headers = response.headers
    if not policy.varies_by_origin:
        headers["Access-Control-Allow-Origin"] = "*"
        if policy.expose_headers is not None:
            headers["Access-Control-Expose-Headers"] = policy.expose_headers
        return response
    add_vary(headers, "Origin")
    origin = environ.get("HTTP_ORIGIN")
    if origin is None:
        return response
    if not policy.origins.allowed(origin):
        logger = app.logger
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "CORS refused: %s %s from origin %r: origin not allowed (rules from %s)",
                request.method,
                request.path,
                origin,
                policy.source,
            )
        return response
    headers["Access-Control-Allow-Origin"] = origin
    if policy.allow_credentials:
        headers["Access-Control-Allow-Credentials"] = "true"
    if policy.expose_headers is not None:
        headers["Access-Control-Expose-Headers"] = policy.expose_headers
    return response
