"""The :class:`RateLimiter` extension: its options and the decorators that attach limits."""

from __future__ import annotations

import typing as t
from collections.abc import Callable, Iterable

from ._state import EXTENSION_KEY, LimiterState
from .backends import open_storage
from .cli import ratelimit_cli
from .limits import parse_limits
from .middleware import HeadersMiddleware
from .plan import (
    DeductWhen,
    LimitFunction,
    LimitSpec,
    OnBreach,
    dynamic_text,
    ratelimit_metadata,
    set_ratelimit_metadata,
)
from .settings import LimiterOptions, plain_function, resolve
from .workers import worker_processes

if t.TYPE_CHECKING:
    from flask import Flask
    from typing_extensions import Unpack

    from .limits import Limit

__all__ = ["EXTENSION_KEY", "LimitOptions", "LimitSpec", "RateLimiter"]

T = t.TypeVar("T")
F = t.TypeVar("F", bound=Callable[[], bool])


class LimitOptions(t.TypedDict, total=False):
    """Keyword options of :meth:`RateLimiter.limit` and :meth:`RateLimiter.shared_limit`."""

    key_func: Callable[[], str] | None
    methods: Iterable[str] | None
    cost: int | Callable[[], int]
    exempt_when: Callable[[], bool] | None
    on_storage_error: str | None
    deduct_when: DeductWhen | None
    on_breach: OnBreach | None


class RateLimiter:
    """Rate limits for a Flask app: per route, blueprint or app, in memory or in Redis.

    Options given here apply to every app this object is registered on; options given to
    :meth:`init_app` apply to that app only; an option not given is read from the
    ``RATELIMIT_*`` config key of the same name, then falls back to its default.

    :param app: the app to register on now; or call :meth:`init_app` later.
    :param default: limits for every route that has none of its own, such as
        ``"200/minute; 5000/day"``, or a function returning them for each request (see
        :meth:`limit`). Default: none.
    :param default_exempt_when: a function; when it returns true, the default limits do
        not count the request.
    :param default_cost: how much a request uses of the default limits (an int, or a
        function returning one). Default 1.
    :param default_deduct_when: a function of the response; the default limits count
        only the requests whose response it returns true for.
    :param application: limits on each client's requests to the whole app, one count
        shared by every route, such as ``"1000/minute"``, or a function returning them;
        applied on top of the route's own limits or the default. Exempt views and
        methods, and request filters, skip them. Default: none.
    :param application_exempt_when: ``exempt_when`` of the application-wide limits.
    :param application_cost: ``cost`` of the application-wide limits. Default 1.
    :param application_deduct_when: ``deduct_when`` of the application-wide limits.
    :param on_breach: a function called with a :class:`~flask_plug.ratelimit.Breach`
        whenever a limit refuses a request, after the limit's own ``on_breach``; what it
        returns, if not ``None``, is the response (see :meth:`limit`).
    :param storage_uri: ``"memory://"`` (the default; one process only) or a Redis URL
        shared by every worker and host: one server (``redis://``, ``rediss://``,
        ``unix://``), a Redis Cluster (``redis+cluster://``) or Sentinels
        (``redis+sentinel://``), each also in its ``valkey`` form.
    :param strategy: ``"gcra"`` (the default: a token bucket allowing bursts),
        ``"fixed-window"`` or ``"sliding-window"``.
    :param key_func: who a limit counts: a function returning a string. Default:
        :func:`~flask_plug.ratelimit.remote_addr`.
    :param on_storage_error: ``"allow"`` (the default) lets requests through while the
        storage fails; ``"deny"`` answers them 503.
    :param storage_timeout_ms: how long to wait for Redis. Default 100.
    :param headers: send ``RateLimit-Policy`` and ``RateLimit``. Default ``True``.
    :param legacy_headers: also send ``X-RateLimit-Limit/Remaining/Reset``. Default ``False``.
    :param legacy_reset: ``X-RateLimit-Reset`` as ``"seconds"`` from now (the default) or
        as a ``"unix"`` time, from this process's clock (Flask-Limiter's form).
    :param exempt_methods: methods never limited. Default ``["OPTIONS"]`` (CORS preflights).
    :param key_prefix: prefix of every storage key. Default ``"flask-plug-ratelimit"``.
    :param enabled: ``False`` turns every limit off (for tests). Default ``True``.
    :param memory_max_keys: bound on counters kept by the memory storage. Default 100 000.

    .. versionchanged:: 0.2
        ``HEAD`` counts as ``GET``, and counted ``OPTIONS`` requests apart from the others.

    .. versionchanged:: 0.2
        A ``RATELIMIT_*`` config key set to ``None`` means its default.

    .. versionadded:: 0.2
        ``legacy_reset``; ``default`` as a function; ``default_exempt_when``,
        ``default_cost``, ``default_deduct_when``; ``application`` and its
        ``application_*`` options; ``on_breach``.

    .. versionchanged:: 0.2
        ``storage_uri`` takes Redis Cluster, Sentinel and Valkey URIs.
    """

    def __init__(self, app: Flask | None = None, **options: Unpack[LimiterOptions]) -> None:
        self._options = dict(options)
        self._request_filters: list[Callable[[], bool]] = []
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
        state = LimiterState(app, settings, storage, self._request_filters)
        app.extensions[EXTENSION_KEY] = state
        app.cli.add_command(ratelimit_cli)
        if not settings.enabled:
            return
        app.before_request(state.check_request)
        app.wsgi_app = HeadersMiddleware(app.wsgi_app, settings)  # type: ignore[method-assign]
        workers = worker_processes()
        if settings.storage_uri == "memory://" and workers > 1:
            app.logger.warning(
                "flask-plug-ratelimit: memory storage keeps separate counts in each of the"
                " %d worker processes, so clients get up to %d times every limit. Set"
                " RATELIMIT_STORAGE_URI to a Redis URL to share them.",
                workers,
                workers,
            )

    def limit(
        self, limits: str | LimitFunction, **options: Unpack[LimitOptions]
    ) -> Callable[[T], T]:
        """Limit a view, or every view of a blueprint, counting each route on its own.

        ::

            @app.post("/login")
            @limiter.limit("5/minute; 50/day", on_storage_error="deny")
            def login():
                return {"logged_in": False}

            limiter.limit("100/minute")(api_blueprint)

        A view's own limits replace its blueprint's, which replace the app default.
        Decorators stack: each adds limits.

        :param limits: one or more limits separated by ``;``; or a function returning
            them for each request, such as the limits of the user's plan. Its texts are
            parsed once each; ``None`` or ``""`` means no limit for that request. When it
            raises or returns something that is not a limit, the request gets none of
            these limits, and the problem is logged once.
        :param key_func: who these limits count; default: the app's ``key_func``.
        :param methods: only these methods are limited, each counted on its own.
            ``GET`` covers ``HEAD`` (Flask answers it with the GET view): both share one
            count. Naming ``HEAD`` without ``GET`` raises ``ValueError``.
        :param cost: how much a request uses (an int, or a function returning one).
        :param exempt_when: a function; when it returns true the request is not counted.
        :param on_storage_error: ``"allow"`` or ``"deny"`` for these limits, instead of
            the app's policy; when any limit of a request says ``"deny"``, it is denied.
        :param deduct_when: a function of the response: only requests it returns true
            for are counted, once the view has answered (failed logins, say). Before the
            view, a limit without room still refuses the request.
        :param on_breach: a function called with a :class:`~flask_plug.ratelimit.Breach`
            when one of these limits refuses a request. What it returns, if not
            ``None``, is sent instead of the ``429`` (anything a view may return); the
            rate limit headers are added. If it raises, that is logged and the ``429``
            is sent.
        :raises ValueError: at decoration, quoting a malformed limit or option.

        .. versionchanged:: 0.2
            ``GET`` covers ``HEAD``; ``methods`` with ``HEAD`` but not ``GET`` raises.

        .. versionadded:: 0.2
            ``limits`` as a function; ``deduct_when`` and ``on_breach``.
        """
        return self._decorator(limits, None, options)

    def shared_limit(
        self, limits: str | LimitFunction, scope: str, **options: Unpack[LimitOptions]
    ) -> Callable[[T], T]:
        """Like :meth:`limit`, but every view decorated with the same ``scope`` shares
        one count: ``@limiter.shared_limit("1000/hour", scope="search")``."""
        if not isinstance(scope, str) or not scope:
            raise ValueError(f"shared_limit scope must be a non-empty string, got {scope!r}")
        return self._decorator(limits, scope, options)

    def request_filter(self, function: F) -> F:
        """Register ``function``: when it returns true, the request is not limited at all
        (route, default and application-wide limits). It runs once the request is
        routed, for requests some limit applies to::

            @limiter.request_filter
            def from_monitoring():
                return request.remote_addr == "10.0.0.5"

        A filter that raises exempts nothing; that is logged once.

        .. versionadded:: 0.2
        """
        self._request_filters.append(plain_function(function, "request_filter"))
        return function

    def exempt(self, target: T) -> T:
        """Exempt a view, or every view of a blueprint, from all limits and the default."""
        metadata = ratelimit_metadata(target)
        metadata["exempt"] = True
        set_ratelimit_metadata(target, metadata)
        return target

    def _decorator(
        self, limits: str | LimitFunction, scope: str | None, options: LimitOptions
    ) -> Callable[[T], T]:
        shown = getattr(limits, "__qualname__", None) if callable(limits) else None
        where = f"{'limit' if scope is None else 'shared_limit'}({shown or repr(limits)})"
        unknown = set(options) - set(LimitOptions.__annotations__)
        if unknown:
            raise TypeError(f"{where}: unknown option(s) {', '.join(sorted(unknown))}")
        limit_function: LimitFunction | None = None
        if callable(limits):
            limit_function = plain_function(limits, f"{where}: the limits function")
            parsed: tuple[Limit, ...] = ()
            texts = [dynamic_text(limit_function)]
        elif isinstance(limits, str):
            parsed = parse_limits(limits, where)
            texts = [limit.text for limit in parsed]
        else:
            raise ValueError(
                f"{where}: limits must be a string like '10/minute' or a function returning"
                f" one, got {limits!r}"
            )
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
        callbacks = {}
        for option in ("deduct_when", "on_breach"):
            value = options.get(option)
            callbacks[option] = (
                None if value is None else plain_function(value, f"{where}: {option}")
            )
        spec = LimitSpec(
            limits=parsed,
            scope=scope,
            methods=upper,
            key_func=options.get("key_func"),
            cost=cost,
            exempt_when=options.get("exempt_when"),
            on_storage_error=on_storage_error,
            limit_function=limit_function,
            deduct_when=callbacks["deduct_when"],
            on_breach=callbacks["on_breach"],
        )

        def decorator(target: T) -> T:
            metadata = ratelimit_metadata(target)
            if spec in metadata.get("specs", ()):
                # The same limit again: an app factory limiting a module-level blueprint
                # once per app. Two equal specs would count one counter twice.
                return target
            metadata["specs"] = [*metadata.get("specs", ()), spec]
            metadata["limits"] = [*metadata.get("limits", ()), *texts]
            set_ratelimit_metadata(target, metadata)
            return target

        return decorator
