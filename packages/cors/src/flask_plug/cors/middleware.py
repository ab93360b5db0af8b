"""The WSGI middleware: answers preflights before routing, adds CORS headers to the rest."""

from __future__ import annotations

import logging
import typing as t

from werkzeug.exceptions import HTTPException, MethodNotAllowed

from ._state import current_request_object
from .headers import NORMALISED_METHODS, is_token, merge_headers, requested_headers
from .refusals import Refusal, header_refused, method_refused

if t.TYPE_CHECKING:
    from _typeshed import OptExcInfo
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment
    from flask import Flask, Request
    from werkzeug.routing import Rule
    from werkzeug.wrappers import Response

    from ._state import CorsState
    from .policy import CorsPolicy

_PREFLIGHT_VARY = "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"
_PRIVATE_NETWORK_VARY = _PREFLIGHT_VARY + ", Access-Control-Request-Private-Network"
# What a preflight to a path no route matches may ask for, so the real request gets a
# readable 404 instead of failing as a CORS error.
_UNROUTED_METHODS = frozenset({"DELETE", "GET", "HEAD", "PATCH", "POST", "PUT"})


class CorsMiddleware:
    """Answers preflights before the app routes them, and adds the CORS headers to every
    other response as it starts.

    Preflights are answered inside a request context but reach no ``before_request`` or
    ``after_request`` hook (login checks, rate limits, hooks that expect each other) and
    no view, so an unknown path or a redirecting route cannot spoil them; teardown
    hooks run as usual. Adding headers to the WSGI header list instead of in an
    ``after_request`` hook costs a fraction as much.
    """

    def __init__(self, wsgi_app: WSGIApplication, app: Flask, state: CorsState) -> None:
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
                        response = self.answer_preflight(method, origin)
                    except Exception as e:
                        response = app.handle_exception(e)
                if response is not None:
                    return response(environ, start_response)

        def cors_start_response(
            status: str, headers: list[tuple[str, str]], exc_info: OptExcInfo | None = None
        ) -> t.Callable[[bytes], object]:
            found = self.response_headers(environ)
            if found is not None:
                merge_headers(headers, *found)
            return start_response(status, headers, exc_info)

        return self.wsgi_app(environ, cors_start_response)

    def answer_preflight(self, method: str, origin: str) -> Response | None:
        """The response to a preflight asking for ``method`` from ``origin``, or ``None``
        where CORS is off and the app should answer ``OPTIONS`` itself."""
        app = self._app
        req = current_request_object()
        environ = req.environ
        rule, path_routed = _rule_for(app, req, method.upper())
        policy = self._state.policy_for(None if rule is None else rule.endpoint, req.path)
        if not policy.enabled:
            return None  # CORS is off here: not ours to answer
        if not is_token(method):
            refusal = Refusal("malformed Access-Control-Request-Method")
            return _refuse(app, req, refusal, origin, policy)
        if not policy.origins.allowed(origin):
            # Which origins are allowed is never said: it would list the app's clients.
            return _refuse(app, req, Refusal("origin not allowed"), origin, policy)
        allowed_methods = _allowed_methods(policy, rule, path_routed, method.upper())
        if method.upper() not in allowed_methods:
            refusal = method_refused(method, self._methods_allowed_here(req, origin))
            return _refuse(app, req, refusal, origin, policy)
        header_names = requested_headers(environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS", ""))
        if header_names is None:
            refusal = Refusal("malformed Access-Control-Request-Headers")
            return _refuse(app, req, refusal, origin, policy)
        refused = _refused_header(policy, header_names)
        if refused is not None:
            return _refuse(app, req, refused, origin, policy)
        private_network = environ.get("HTTP_ACCESS_CONTROL_REQUEST_PRIVATE_NETWORK") == "true"
        if private_network and not policy.allow_private_network:
            refusal = Refusal("private network access not allowed")
            return _refuse(app, req, refusal, origin, policy)
        return _preflight_response(
            app, policy, origin, method, allowed_methods, header_names, private_network
        )

    def _methods_allowed_here(self, req: Request, origin: str) -> list[str]:
        """The methods ``origin`` could preflight at this path, each under the rules of
        the view that serves it: what a refusal tells the developer instead."""
        adapter = self._app.create_url_adapter(req)
        methods = set() if adapter is None else set(adapter.allowed_methods()) - {"OPTIONS"}
        allowed = []
        for method in sorted(methods):
            rule, routed = _rule_for(self._app, req, method)
            policy = self._state.policy_for(None if rule is None else rule.endpoint, req.path)
            if (
                policy.enabled
                and policy.origins.allowed(origin)
                and method in _allowed_methods(policy, rule, routed, method)
            ):
                allowed.append(method)
        return allowed

    def response_headers(
        self, environ: WSGIEnvironment
    ) -> tuple[list[tuple[str, str]], str | None] | None:
        """The CORS headers and ``Vary`` names for a response that is not a preflight.

        Called as the response starts, every response: 404s, aborts and 500s included.
        """
        try:
            req = current_request_object()
        except RuntimeError:
            return None  # a response made outside Flask's request handling
        rule = req.url_rule
        state = self._state
        policy = state.policy_for(
            None if rule is None else rule.endpoint, req.path if state.rules else ""
        )
        if not policy.enabled:
            return None
        if not policy.varies_by_origin:
            return [("Access-Control-Allow-Origin", "*"), *policy.extra_headers], None
        origin = environ.get("HTTP_ORIGIN")
        if origin is None:
            return [], "Origin"
        if not policy.origins.allowed(origin):
            logger = self._app.logger
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


def _rule_for(app: Flask, req: Request, method: str) -> tuple[Rule | None, bool]:
    """The URL rule that would serve ``method`` at this path, if any, and whether other
    rules serve the path with other methods."""
    adapter = app.create_url_adapter(req)
    if adapter is None:
        return None, False
    try:
        rule, _ = adapter.match(method=method, return_rule=True)
    except MethodNotAllowed:
        return None, True
    except HTTPException:
        return None, False  # an unknown path or a redirect
    return rule, True


def _allowed_methods(
    policy: CorsPolicy, rule: Rule | None, path_routed: bool, method: str
) -> frozenset[str]:
    """The methods a preflight for the upper-cased ``method`` may be told are allowed.

    Browsers cache a preflight per method, so only methods this same view serves are
    listed: another view at this path may have other rules.
    """
    allowed: frozenset[str]
    if rule is not None:
        route_methods = frozenset(rule.methods or ())
        allowed = route_methods & (policy.methods or route_methods)
    elif path_routed:
        allowed = frozenset()  # the path's routes do not serve this method
    else:
        # Unknown path or a redirect: allow the method so the real request gets a
        # readable 404 or redirect rather than a CORS error.
        allowed = (policy.methods or _UNROUTED_METHODS) & {method}
    return allowed - {"OPTIONS"}


def _refused_header(policy: CorsPolicy, header_names: list[str]) -> Refusal | None:
    """Why a requested header is refused, if one is."""
    for header in header_names:
        if not policy.allows_header(header):
            allowed = ["*"] if policy.allow_any_header else []
            allowed += sorted(policy.allow_headers)
            if header == "authorization" and policy.allow_any_header:
                reason = "header authorization must be listed; '*' does not cover it"
                return header_refused(header, allowed, reason)
            return header_refused(header, allowed)
    return None


def _preflight_response(
    app: Flask,
    policy: CorsPolicy,
    origin: str,
    method: str,
    allowed_methods: frozenset[str],
    header_names: list[str],
    private_network: bool,
) -> Response:
    """The 204 that allows the preflight."""
    response = app.response_class(status=204)
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
    headers["Vary"] = _preflight_vary(policy)
    return response


def _preflight_vary(policy: CorsPolicy) -> str:
    if policy.allow_private_network:
        return _PRIVATE_NETWORK_VARY
    return _PREFLIGHT_VARY


def _refuse(
    app: Flask, req: Request, refusal: Refusal, origin: str, policy: CorsPolicy
) -> Response:
    logger = app.logger
    if logger.isEnabledFor(logging.DEBUG):
        logger.debug(
            "CORS preflight refused: %s %s from origin %r: %s (rules from %s)",
            req.environ.get("HTTP_ACCESS_CONTROL_REQUEST_METHOD"),
            req.path,
            origin,
            "; ".join(refusal.lines()),
            policy.source,
        )
    body, mimetype = refusal.body(req)
    response = app.response_class(body, status=403, mimetype=mimetype)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Vary"] = _preflight_vary(policy) + ", Accept"
    return response
