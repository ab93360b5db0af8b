"""The :class:`RateLimiter` extension: where limits apply, the request hook, the headers."""

from __future__ import annotations

import math
import os
import sys
import time
import typing as t
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from flask import current_app, request

from .errors import RateLimitExceeded, RateLimitStorageUnavailable
from .headers import legacy_headers, policy_header, ratelimit_headers, retry_after, sf_string
from .keys import remote_addr
from .limits import Limit, parse_limits
from .settings import LimiterOptions, LimiterSettings, resolve
from .storage import Check, Storage, StorageError, open_storage

if t.TYPE_CHECKING:
    from _typeshed import OptExcInfo
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment
    from flask import Flask, Request
    from typing_extensions import Unpack

    from .algorithms import Usage

EXTENSION_KEY = "flask-plug-ratelimit"
_APPLIED = "flask_plug.ratelimit.applied"
_UNMATCHED = "<unmatched>"
_OTHER = "<other>"
"""The one plan key of every method neither standard nor declared by the route: lower
case, so no request method (Werkzeug upper-cases them) can equal it."""
_STANDARD_METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE")
T = t.TypeVar("T")


class LimitOptions(t.TypedDict, total=False):
    """Keyword options of :meth:`RateLimiter.limit` and :meth:`RateLimiter.shared_limit`."""

    key_func: Callable[[], str] | None
    methods: Iterable[str] | None
    cost: int | Callable[[], int]
    exempt_when: Callable[[], bool] | None
    on_storage_error: str | None


@dataclass(frozen=True)
class LimitSpec:
    """Limits attached to a view or blueprint by :meth:`RateLimiter.limit` or
    :meth:`RateLimiter.shared_limit`."""

    limits: tuple[Limit, ...]
    scope: str | None
    """The shared scope's name; ``None`` counts each route on its own."""
    methods: frozenset[str] | None
    key_func: Callable[[], str] | None
    cost: int | Callable[[], int]
    exempt_when: Callable[[], bool] | None
    on_storage_error: str | None


class RateLimiter:
    """Rate limits for a Flask app: per route, blueprint or app, in memory or in Redis.

    Options given here apply to every app this object is registered on; options given to
    :meth:`init_app` apply to that app only; an option not given is read from the
    ``RATELIMIT_*`` config key of the same name, then falls back to its default.

    :param app: the app to register on now; or call :meth:`init_app` later.
    :param default: limits for every route that has none of its own, such as
        ``"200/minute; 5000/day"``. Default: none.
    :param storage_uri: ``"memory://"`` (the default; one process only) or a
        ``redis://``, ``rediss://`` or ``unix://`` URL shared by every worker and host.
    :param strategy: ``"gcra"`` (the default: a token bucket allowing bursts),
        ``"fixed-window"`` or ``"sliding-window"``.
    :param key_func: who a limit counts: a function returning a string. Default:
        :func:`~flask_plug.ratelimit.remote_addr`.
    :param on_storage_error: ``"allow"`` (the default) lets requests through while the
        storage fails; ``"deny"`` answers them 503.
    :param storage_timeout_ms: how long to wait for Redis. Default 100.
    :param headers: send ``RateLimit-Policy`` and ``RateLimit``. Default ``True``.
    :param legacy_headers: also send ``X-RateLimit-Limit/Remaining/Reset``. Default ``False``.
    :param exempt_methods: methods never limited. Default ``["OPTIONS"]`` (CORS preflights).
    :param key_prefix: prefix of every storage key. Default ``"flask-plug-ratelimit"``.
    :param enabled: ``False`` turns every limit off (for tests). Default ``True``.
    :param memory_max_keys: bound on counters kept by the memory storage. Default 100 000.
    """

    def __init__(self, app: Flask | None = None, **options: Unpack[LimiterOptions]) -> None:
        self._options = dict(options)
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask, **options: Unpack[LimiterOptions]) -> None:
        """Register the limiter on ``app``; the options are those of :class:`RateLimiter`.

        :raises RuntimeError: if a limiter is already registered on ``app``.
        :raises ValueError: naming the config key, for any bad value.
        """
        if EXTENSION_KEY in app.extensions:
            raise RuntimeError(
                "flask-plug-ratelimit is already registered on this app; call init_app once per app"
            )
        settings = resolve(app, {**self._options, **options})
        storage = open_storage(
            settings.storage_uri,
            settings.strategy,
            timeout=settings.storage_timeout_ms / 1000,
            max_keys=settings.memory_max_keys,
        )
        state = LimiterState(app, settings, storage)
        app.extensions[EXTENSION_KEY] = state
        from .cli import ratelimit_cli

        app.cli.add_command(ratelimit_cli)
        if not settings.enabled:
            return
        app.before_request(state.check_request)
        app.wsgi_app = _HeadersMiddleware(app.wsgi_app, settings)  # type: ignore[method-assign]
        workers = _worker_processes()
        if settings.storage_uri == "memory://" and workers > 1:
            app.logger.warning(
                "flask-plug-ratelimit: memory storage keeps separate counts in each of the"
                " %d worker processes, so clients get up to %d times every limit. Set"
                " RATELIMIT_STORAGE_URI to a Redis URL to share them.",
                workers,
                workers,
            )

    def limit(self, limits: str, **options: Unpack[LimitOptions]) -> Callable[[T], T]:
        """Limit a view, or every view of a blueprint, counting each route on its own.

        ::

            @app.post("/login")
            @limiter.limit("5/minute; 50/day", on_storage_error="deny")
            def login(): ...

            limiter.limit("100/minute")(api_blueprint)

        A view's own limits replace its blueprint's, which replace the app default.
        Decorators stack: each adds limits.

        :param limits: one or more limits separated by ``;``.
        :param key_func: who these limits count; default: the app's ``key_func``.
        :param methods: only these methods are limited, each counted on its own.
            ``GET`` covers ``HEAD`` (Flask answers it with the GET view): both share one
            count. Naming ``HEAD`` without ``GET`` raises ``ValueError``.
        :param cost: how much a request uses (an int, or a function returning one).
        :param exempt_when: a function; when it returns true the request is not counted.
        :param on_storage_error: ``"allow"`` or ``"deny"`` for these limits, instead of
            the app's policy; when any limit of a request says ``"deny"``, it is denied.
        :raises ValueError: at decoration, quoting a malformed limit or option.
        """
        return self._decorator(limits, None, options)

    def shared_limit(
        self, limits: str, scope: str, **options: Unpack[LimitOptions]
    ) -> Callable[[T], T]:
        """Like :meth:`limit`, but every view decorated with the same ``scope`` shares
        one count: ``@limiter.shared_limit("1000/hour", scope="search")``."""
        if not isinstance(scope, str) or not scope:
            raise ValueError(f"shared_limit scope must be a non-empty string, got {scope!r}")
        return self._decorator(limits, scope, options)

    def exempt(self, target: T) -> T:
        """Exempt a view, or every view of a blueprint, from all limits and the default."""
        metadata = _metadata(target)
        metadata["exempt"] = True
        _set_metadata(target, metadata)
        return target

    def _decorator(self, limits: str, scope: str | None, options: LimitOptions) -> Callable[[T], T]:
        where = f"limit({limits!r})" if scope is None else f"shared_limit({limits!r})"
        unknown = set(options) - set(LimitOptions.__annotations__)
        if unknown:
            raise TypeError(f"{where}: unknown option(s) {', '.join(sorted(unknown))}")
        parsed = parse_limits(limits, where)
        methods = options.get("methods")
        cost = options.get("cost", 1)
        on_storage_error = options.get("on_storage_error")
        if isinstance(methods, str):
            raise ValueError(f"{where}: methods must be a list, like ['POST']")
        upper = None if methods is None else frozenset(m.upper() for m in methods)
        if upper is not None and "HEAD" in upper:
            if "GET" not in upper:
                raise ValueError(
                    f"{where}: methods={sorted(upper)!r}: HEAD is answered by the GET view and"
                    " counted as GET; name 'GET', which limits HEAD too"
                )
            upper -= {"HEAD"}
        if not (callable(cost) or (isinstance(cost, int) and cost >= 0)):
            raise ValueError(f"{where}: cost must be an int >= 0 or a function, got {cost!r}")
        if on_storage_error not in (None, "allow", "deny"):
            raise ValueError(f"{where}: on_storage_error must be 'allow' or 'deny'")
        spec = LimitSpec(
            limits=parsed,
            scope=scope,
            methods=upper,
            key_func=options.get("key_func"),
            cost=cost,
            exempt_when=options.get("exempt_when"),
            on_storage_error=on_storage_error,
        )

        def decorator(target: T) -> T:
            metadata = _metadata(target)
            if spec in metadata.get("specs", ()):
                # The same limit again: an app factory limiting a module-level blueprint
                # once per app. Two equal specs would count one counter twice.
                return target
            metadata["specs"] = [*metadata.get("specs", ()), spec]
            metadata["limits"] = [*metadata.get("limits", ()), *(lim.text for lim in parsed)]
            _set_metadata(target, metadata)
            return target

        return decorator


def _metadata(target: object) -> dict[str, t.Any]:
    return dict(getattr(target, "__flask_plug__", {}).get("ratelimit", {}))


def _set_metadata(target: object, ratelimit: dict[str, t.Any]) -> None:
    # A fresh dict: functools.wraps shares the wrapped view's __flask_plug__ otherwise.
    metadata = dict(getattr(target, "__flask_plug__", {}))
    metadata["ratelimit"] = ratelimit
    target.__flask_plug__ = metadata  # type: ignore[attr-defined]


@dataclass(frozen=True, eq=False)
class _Group:
    """Limits attached together, with everything a request needs worked out."""

    spec: LimitSpec | None
    """``None`` for the app default."""
    limits: tuple[Limit, ...]
    key_tails: tuple[str, ...]
    """What each limit's storage key ends with, after the client part."""
    key_func: Callable[[], str]
    cost: int | Callable[[], int]
    exempt_when: Callable[[], bool] | None


@dataclass(frozen=True, eq=False)
class Plan:
    """The limits of one (endpoint, method), worked out once and cached."""

    groups: tuple[_Group, ...]
    limits: tuple[Limit, ...]
    names: tuple[str, ...]
    """Each limit's policy name, as a quoted Structured Field String."""
    policy_header: str
    """``RateLimit-Policy`` when every limit is counted, the usual case."""


class LimiterState:
    """Per-app settings, storage and the plan of each (endpoint, method), cached: what
    :meth:`RateLimiter.init_app` stores as ``app.extensions["flask-plug-ratelimit"]``.

    The cache stays bounded whatever clients send: its keys are an endpoint (or ``None``
    for requests no route matches) and a method from a fixed set, the standard ones, the
    exempt ones and those the endpoint's routes declare; every other method shares one key.
    """

    def __init__(self, app: Flask, settings: LimiterSettings, storage: Storage) -> None:
        self.app = app
        """The app these limits belong to: planning needs no app context."""
        self.settings = settings
        self.storage = storage
        self._key_head = settings.key_prefix + ":{"
        self._plans: dict[tuple[str | None, str], Plan | None] = {}
        # Each known method's plan key; HEAD is planned as GET, since GET's view answers it.
        self._method_keys = {m: m for m in (*_STANDARD_METHODS, *settings.exempt_methods)}
        self._method_keys["HEAD"] = "GET"
        self._failing_since = 0.0
        self._last_report = -math.inf
        self._unreported = 0

    @property
    def default_limits(self) -> tuple[str, ...]:
        """The app's default limits as text; flask-plug-apidocs documents them."""
        return tuple(limit.text for limit in self.settings.default)

    @property
    def exempt_methods(self) -> frozenset[str]:
        """Methods never limited; flask-plug-apidocs documents no 429 for them."""
        return self.settings.exempt_methods

    def limits_for(self, endpoint: str, method: str) -> tuple[str, ...]:
        """The limits applied to ``method`` requests routed to ``endpoint``, as text, such
        as ``("10 per 1 minute", "100 per 1 day")``; empty when none apply.

        The same rules as requests follow: an exempt view or blueprint has none; a view's
        own limits replace its innermost limited blueprint's, which replace the app's
        default; limits for other ``methods`` do not count; exempt methods have none;
        ``HEAD`` has those of ``GET``. The limits are reported whether or not the limiter
        is ``enabled``. No app context is needed: flask-plug-apidocs calls this while it
        builds the OpenAPI document.

        .. versionadded:: 0.2
        """
        # Not cached: a caller may ask before every view and limit is registered.
        plan = self._plan(endpoint, self._plan_key(endpoint, method.upper()))
        return () if plan is None else tuple(limit.text for limit in plan.limits)

    def plan_for(self, endpoint: str | None, method: str) -> Plan | None:
        """The limits that apply to ``method`` requests routed to ``endpoint``, if any.

        ``HEAD`` gets the plan of ``GET``; ``endpoint`` ``None`` means no route matched.
        """
        return self._cached_plan(endpoint, self._plan_key(endpoint, method.upper()))

    def _plan_key(self, endpoint: str | None, method: str) -> str:
        """The plan key of an upper-case ``method``: see the class docstring."""
        key = self._method_keys.get(method)
        if key is None:
            try:
                rules = list(self.app.url_map.iter_rules(endpoint)) if endpoint else []
            except KeyError:  # no such endpoint
                rules = []
            declared = any(rule.methods is not None and method in rule.methods for rule in rules)
            key = method if declared else _OTHER
        return key

    def _cached_plan(self, endpoint: str | None, method: str) -> Plan | None:
        cache_key = (endpoint, method)
        try:
            return self._plans[cache_key]
        except KeyError:
            plan = self._plans[cache_key] = self._plan(endpoint, method)
            return plan

    def _plan(self, endpoint: str | None, method: str) -> Plan | None:
        """Work out a plan; ``method`` is a plan key: never ``HEAD``, maybe ``_OTHER``."""
        if method in self.settings.exempt_methods:
            return None
        app = self.app
        targets: list[object] = []
        if endpoint is not None:
            targets.append(app.view_functions.get(endpoint))
            targets += [app.blueprints.get(name) for name in _blueprint_names(endpoint)]
        specs: list[LimitSpec] = []
        for target in targets:  # the view, then its blueprints, innermost first
            metadata = _metadata(target)
            if metadata.get("exempt"):
                return None
            if metadata.get("specs"):
                specs = metadata["specs"]
                break
        route = endpoint or _UNMATCHED
        # Counted OPTIONS requests (CORS preflights, when not exempt) get counts of their
        # own, so that they never spend the quota of the method they announce.
        options = ":OPTIONS" if method == "OPTIONS" else ""
        groups: list[tuple[LimitSpec | None, str, str, tuple[Limit, ...]]] = []
        for spec in specs:
            if spec.methods is None or method in spec.methods:
                if spec.scope is None and spec.methods is not None:
                    scope = f"{route}:{method}"
                else:
                    scope = (spec.scope or route) + options
                groups.append((spec, scope, spec.scope or route, spec.limits))
        if not specs and self.settings.default:
            groups.append((None, route + options, "default", self.settings.default))
        if not groups:
            return None
        names = [
            sf_string(f"{name}/{limit.id}") for _, _, name, limits in groups for limit in limits
        ]
        limits = tuple(limit for *_, group_limits in groups for limit in group_limits)
        return Plan(
            groups=tuple(
                _Group(
                    spec,
                    group_limits,
                    tuple(f"}}:{scope}:{lim.id}" for lim in group_limits),
                    key_func=(spec and spec.key_func) or self.settings.key_func,
                    cost=1 if spec is None else spec.cost,
                    exempt_when=None if spec is None else spec.exempt_when,
                )
                for spec, scope, _, group_limits in groups
            ),
            limits=limits,
            names=tuple(names),
            policy_header=policy_header(names, limits),
        )

    def check_request(self) -> None:
        """``before_request``: check and charge the request's limits, or refuse it."""
        req: Request = request._get_current_object()  # type: ignore[attr-defined]
        rule = req.url_rule
        method = req.method
        key = self._method_keys.get(method)
        if key is None:  # what plan_for does, without looking the rule up again
            declared = rule is not None and rule.methods is not None and method in rule.methods
            key = method if declared else _OTHER
        plan = self._cached_plan(None if rule is None else rule.endpoint, key)
        if plan is None:
            return
        settings = self.settings
        checks = []
        counted = []
        index = 0
        for group in plan.groups:
            if group.exempt_when is not None and group.exempt_when():
                index += len(group.limits)
                continue
            cost = group.cost if isinstance(group.cost, int) else group.cost()
            key_func = group.key_func
            if key_func is remote_addr:
                client = req.remote_addr or "unknown"  # the common case, without a proxy lookup
            else:
                client = key_func()
            head = self._key_head + _key_part(client)
            for limit, tail in zip(group.limits, group.key_tails, strict=True):
                if cost > 0:
                    checks.append(Check(head + tail, limit, cost))
                    counted.append(index)
                index += 1
        if not checks:
            return
        try:
            usages = self.storage.hit(checks)
        except StorageError as e:
            # Each group's own policy, else the app's; one "deny" denies the request.
            deny = any(
                (group.spec and group.spec.on_storage_error or settings.on_storage_error) == "deny"
                for group in plan.groups
            )
            self._report_storage_error(e, deny)
            if deny:
                raise RateLimitStorageUnavailable() from e
            return
        if self._failing_since:
            current_app.logger.warning("rate limit storage is answering again")
            self._failing_since = 0.0
        refused = [i for i, usage in enumerate(usages) if not usage.allowed]
        if refused:
            # Nothing was charged: limits that had room still have all of it.
            usages = [
                usage._replace(remaining=usage.remaining + check.cost) if usage.allowed else usage
                for usage, check in zip(usages, checks, strict=True)
            ]
        req.environ[_APPLIED] = (plan, counted, usages)
        if refused:
            worst = max(refused, key=lambda i: usages[i].retry_after)
            raise RateLimitExceeded(checks[worst].limit.text, usages[worst].retry_after)

    def _report_storage_error(self, error: StorageError, deny: bool) -> None:
        """Log storage failures at most every 10 seconds, counting the ones not logged."""
        now = time.monotonic()
        if not self._failing_since:
            self._failing_since = now
        if now - self._last_report < 10:
            self._unreported += 1
            return
        current_app.logger.error(
            "rate limit storage failed, requests are %s until it answers: %s"
            " (%d more failures since the last report)",
            "denied" if deny else "allowed",
            error,
            self._unreported,
        )
        self._last_report = now
        self._unreported = 0


def _key_part(client: str) -> str:
    # Braces would break the Redis hash tag that keeps one client's keys together.
    if "{" in client or "}" in client:
        return client.replace("{", "%7B").replace("}", "%7D")
    return client


def _blueprint_names(endpoint: str) -> list[str]:
    """``"a.b.view"`` -> ``["a.b", "a"]``, innermost first, as Flask names nested blueprints."""
    blueprint = endpoint.rpartition(".")[0]
    names = []
    while blueprint:
        names.append(blueprint)
        blueprint = blueprint.rpartition(".")[0]
    return names


class _HeadersMiddleware:
    """Adds the rate limit headers to the WSGI header list as the response starts: every
    response to a limited request gets them, whatever produced it."""

    def __init__(self, wsgi_app: WSGIApplication, settings: LimiterSettings) -> None:
        self.wsgi_app = wsgi_app
        self._headers = settings.headers
        self._legacy = settings.legacy_headers

    def __call__(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> t.Iterable[bytes]:
        def limited_start_response(
            status: str, headers: list[tuple[str, str]], exc_info: OptExcInfo | None = None
        ) -> t.Callable[[bytes], object]:
            found: tuple[Plan, list[int], list[Usage]] | None = environ.get(_APPLIED)
            if found is not None:
                plan, counted, usages = found
                if self._headers:
                    headers += ratelimit_headers(plan, counted, usages)
                if self._legacy:
                    headers += legacy_headers(plan, counted, usages)
                if status.startswith("429") and not all(u.allowed for u in usages):
                    headers.append(("Retry-After", retry_after(usages)))
            return start_response(status, headers, exc_info)

        return self.wsgi_app(environ, limited_start_response)


def _worker_processes() -> int:
    """How many worker processes the server runs, where that can be told; else 1."""
    uwsgi = sys.modules.get("uwsgi")  # present only inside a uWSGI server
    if uwsgi is not None:
        return int(getattr(uwsgi, "numproc", 1))
    if "gunicorn" not in os.path.basename(sys.argv[0]) and "gunicorn" not in sys.modules:
        return 1
    args = sys.argv[1:] + os.environ.get("GUNICORN_CMD_ARGS", "").split()
    workers = os.environ.get("WEB_CONCURRENCY", "1")
    for i, arg in enumerate(args):
        if arg in ("-w", "--workers") and i + 1 < len(args):
            workers = args[i + 1]
        elif arg.startswith("--workers="):
            workers = arg.partition("=")[2]
        elif arg.startswith("-w") and arg[2:].isdigit():
            workers = arg[2:]
    return int(workers) if workers.isdigit() else 1
