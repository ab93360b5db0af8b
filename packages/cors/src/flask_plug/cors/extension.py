"""The :class:`CORS` extension: rules per app, path, blueprint and view; the request hooks."""

from __future__ import annotations

import logging
import typing as t

from flask import current_app, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from .headers import NORMALISED_METHODS, is_token, merge_headers, requested_headers
from .paths import PathRule, parse_rules
from .policy import DEFAULTS, CorsOptions, CorsPolicy, Namer, check_options, compile_policy

if t.TYPE_CHECKING:
    from _typeshed import OptExcInfo
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment
    from flask import Blueprint, Flask, Request
    from typing_extensions import Unpack
    from werkzeug.routing import Rule
    from werkzeug.wrappers import Response

EXTENSION_KEY = "flask-plug-cors"
_PREFLIGHT_VARY = "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"
_PRIVATE_NETWORK_VARY = _PREFLIGHT_VARY + ", Access-Control-Request-Private-Network"
# What a preflight to a path no route matches may ask for, so the real request gets a
# readable 404 instead of failing as a CORS error.
_UNROUTED_METHODS = frozenset({"DELETE", "GET", "HEAD", "PATCH", "POST", "PUT"})


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
        self, app: Flask | None = None, *, resources: t.Any = None, **options: Unpack[CorsOptions]
    ) -> None:
        self._options: dict[str, t.Any] = {**options, "resources": resources}
        if app is not None:
            self.init_app(app)

    def init_app(
        self, app: Flask, *, resources: t.Any = None, **options: Unpack[CorsOptions]
    ) -> None:
        """Register CORS on ``app``; the options are those of :class:`CORS`.

        :raises RuntimeError: if CORS is already registered on ``app``.
        :raises ValueError: naming the config key, for any bad value or combination.
        """
        if EXTENSION_KEY in app.extensions:
            raise RuntimeError(
                "flask-plug-cors is already registered on this app; call init_app once per app"
            )
        given = {**options, "resources": resources}
        merged = {**self._options, **{k: v for k, v in given.items() if v is not None}}
        values = {
            option: app.config.get(_config_key(option))
            if merged.get(option) is None
            else merged[option]
            for option in (*DEFAULTS, "resources", *merged)
        }
        rules = parse_rules(values.pop("resources"))
        base = {**DEFAULTS, **check_options(values, _config_key)}
        state = _CorsState(base, rules)
        state.check(app)
        app.extensions[EXTENSION_KEY] = state
        app.wsgi_app = CorsMiddleware(app.wsgi_app, app, state)  # type: ignore[method-assign]

    def configure_blueprint(self, blueprint: Blueprint, **options: Unpack[CorsOptions]) -> None:
        """Set CORS rules for every view of ``blueprint``; options left out are inherited.

        The rules apply to requests routed to the blueprint's views, wherever and however
        often it is registered. Paths under its ``url_prefix`` that match no view (404s)
        follow the path rules and app rules: add a path rule to cover those too.

        :raises ValueError: for a bad value.
        """
        checked = check_options(options, lambda option: f"configure_blueprint({option}=...)")
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
        """Compile every scope known now, so bad combinations fail at ``init_app``.

        Views registered later are compiled on their first request; if their rules do
        not work together, CORS is off for them and the reason is logged as an error.
        """
        for index in range(-1, len(self.rules)):
            self._build(app, None, index)
        for endpoint in app.view_functions:
            for index in range(-1, len(self.rules)):
                self._build(app, endpoint, index)

    def policy_for(self, endpoint: str | None, path: str) -> CorsPolicy:
        index = -1
        for i, rule in enumerate(self.rules):
            if rule.matches(path):
                index = i
                break
        policy = self._cache.get((endpoint, index))
        if policy is None:
            try:
                policy = self._build(current_app, endpoint, index)
            except ValueError as e:
                # A view registered after init_app with rules that cannot work together:
                # fail closed, once, loudly.
                current_app.logger.error("CORS is off for %r: %s", endpoint, e)
                policy = compile_policy(DEFAULTS, _config_key, "invalid rules")
            self._cache[endpoint, index] = policy
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

    def answer_preflight(self, method: str, origin: str) -> Response | None:
        """The response to a preflight asking for ``method`` from ``origin``, or ``None``
        where CORS is off and the app should answer ``OPTIONS`` itself."""
        req: Request = request._get_current_object()  # type: ignore[attr-defined]
        environ = req.environ
        rule, path_routed = _rule_for(req, method.upper())
        policy = self.policy_for(None if rule is None else rule.endpoint, req.path)
        if not policy.enabled:
            return None  # CORS is off here: not ours to answer
        if not is_token(method):
            return _refuse(req, "malformed Access-Control-Request-Method", origin, policy)
        if not policy.origins.allowed(origin):
            return _refuse(req, "origin not allowed", origin, policy)

        # Browsers cache a preflight per method, so list only methods this same view
        # serves: another view at this path may have other rules.
        allowed_methods: frozenset[str]
        if rule is not None:
            route_methods = frozenset(rule.methods or ())
            allowed_methods = route_methods & (policy.methods or route_methods)
        elif path_routed:
            allowed_methods = frozenset()  # the path's routes do not serve this method
        else:
            # Unknown path or a redirect: allow the method so the real request gets a
            # readable 404 or redirect rather than a CORS error.
            allowed_methods = (policy.methods or _UNROUTED_METHODS) & {method.upper()}
        allowed_methods -= {"OPTIONS"}
        if method.upper() not in allowed_methods:
            return _refuse(req, f"method {method} not allowed", origin, policy)

        header_names = requested_headers(environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS", ""))
        if header_names is None:
            return _refuse(req, "malformed Access-Control-Request-Headers", origin, policy)
        for header in header_names:
            if not policy.allows_header(header):
                if header == "authorization" and policy.allow_any_header:
                    reason = "header authorization must be listed; '*' does not cover it"
                else:
                    reason = f"header {header} not allowed"
                return _refuse(req, reason, origin, policy)

        private_network = environ.get("HTTP_ACCESS_CONTROL_REQUEST_PRIVATE_NETWORK") == "true"
        if private_network and not policy.allow_private_network:
            return _refuse(req, "private network access not allowed", origin, policy)

        response = current_app.response_class(status=204)
        headers = response.headers
        del headers["Content-Type"]
        headers["Access-Control-Allow-Origin"] = origin if policy.varies_by_origin else "*"
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
        headers["Vary"] = _PRIVATE_NETWORK_VARY if policy.allow_private_network else _PREFLIGHT_VARY
        return response

    def response_headers(
        self, environ: WSGIEnvironment
    ) -> tuple[list[tuple[str, str]], str | None] | None:
        """The CORS headers and ``Vary`` names for a response that is not a preflight.

        Called as the response starts, every response: 404s, aborts and 500s included.
        """
        try:
            req: Request = request._get_current_object()  # type: ignore[attr-defined]
        except RuntimeError:
            return None  # a response made outside Flask's request handling
        rule = req.url_rule
        policy = self.policy_for(
            None if rule is None else rule.endpoint, req.path if self.rules else ""
        )
        if not policy.enabled:
            return None
        if not policy.varies_by_origin:
            return [("Access-Control-Allow-Origin", "*"), *policy.extra_headers], None
        origin = environ.get("HTTP_ORIGIN")
        if origin is None:
            return [], "Origin"
        if not policy.origins.allowed(origin):
            logger = current_app.logger
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug(
                    "CORS refused: %s %s from origin %r: origin not allowed (rules from %s)",
                    req.method,
                    req.path,
                    origin,
                    policy.source,
                )
            return [], "Origin"
        return [("Access-Control-Allow-Origin", origin), *policy.extra_headers], "Origin"


class CorsMiddleware:
    """Answers preflights before the app routes them, and adds the CORS headers to every
    other response as it starts.

    Preflights are answered inside a request context but reach no ``before_request`` or
    ``after_request`` hook (login checks, rate limits, hooks that expect each other) and
    no view, so an unknown path or a redirecting route cannot spoil them; teardown
    hooks run as usual. Adding headers to the WSGI header list instead of in an
    ``after_request`` hook costs a fraction as much.
    """

    def __init__(self, wsgi_app: WSGIApplication, app: Flask, state: _CorsState) -> None:
        self.wsgi_app = wsgi_app
        self._app = app
        self._state = state

    def __call__(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> t.Iterable[bytes]:
        if environ["REQUEST_METHOD"] == "OPTIONS":
            method = environ.get("HTTP_ACCESS_CONTROL_REQUEST_METHOD")
            origin = environ.get("HTTP_ORIGIN")
            if method is not None and origin is not None:
                app = self._app
                with app.request_context(environ):
                    try:
                        response = self._state.answer_preflight(method, origin)
                    except Exception as e:
                        response = app.handle_exception(e)
                if response is not None:
                    return response(environ, start_response)

        def cors_start_response(
            status: str, headers: list[tuple[str, str]], exc_info: OptExcInfo | None = None
        ) -> t.Callable[[bytes], object]:
            found = self._state.response_headers(environ)
            if found is not None:
                merge_headers(headers, *found)
            return start_response(status, headers, exc_info)

        return self.wsgi_app(environ, cors_start_response)


def _rule_for(req: Request, method: str) -> tuple[Rule | None, bool]:
    """The URL rule that would serve ``method`` at this path, if any, and whether other
    rules serve the path with other methods."""
    adapter = current_app.create_url_adapter(req)
    if adapter is None:
        return None, False
    try:
        rule, _ = adapter.match(method=method, return_rule=True)
    except MethodNotAllowed:
        return None, True
    except HTTPException:
        return None, False  # an unknown path or a redirect
    return rule, True


def _preflight_vary(policy: CorsPolicy) -> str:
    if policy.allow_private_network:
        return _PRIVATE_NETWORK_VARY
    return _PREFLIGHT_VARY


def _refuse(req: Request, reason: str, origin: str, policy: CorsPolicy) -> Response:
    logger = current_app.logger
    if logger.isEnabledFor(logging.DEBUG):
        logger.debug(
            "CORS preflight refused: %s %s from origin %r: %s (rules from %s)",
            req.environ.get("HTTP_ACCESS_CONTROL_REQUEST_METHOD"),
            req.path,
            origin,
            reason,
            policy.source,
        )
    response = current_app.response_class(
        f"CORS preflight refused: {reason}\n", status=403, mimetype="text/plain"
    )
    response.headers["Vary"] = _preflight_vary(policy)
    return response


def _blueprint_names(endpoint: str) -> list[str]:
    """``"a.b.view"`` -> ``["a.b", "a"]``, innermost first, as Flask names nested blueprints."""
    blueprint = endpoint.rpartition(".")[0]
    names = []
    while blueprint:
        names.append(blueprint)
        blueprint = blueprint.rpartition(".")[0]
    return names
