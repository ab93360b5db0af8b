"""The :class:`CORS` extension: rules per app, path, blueprint and view."""

from __future__ import annotations

import typing as t

from flask import Blueprint

from ._state import EXTENSION_KEY, CorsState
from .decorators import store_rules
from .middleware import CorsMiddleware
from .settings import CorsOptions, check_options, resolve

if t.TYPE_CHECKING:
    from datetime import timedelta

    from flask import Flask
    from typing_extensions import Unpack


class CORS:
    """Cross-Origin Resource Sharing for a Flask app, following the Fetch standard.

    Rules can be set for the whole app (these options, or ``CORS_*`` config keys), for
    paths (``resources``), for a blueprint (:meth:`configure_blueprint`) and for a view
    (:func:`cross_origin`). The most specific scope wins, option by option: view, then
    blueprint (inner before outer), then the first matching path rule, then the app.

    :param app: the app to register on now; or call :meth:`init_app` later.
    :param origins: who may read responses: ``"*"``, exact origins
        (``"https://app.example.com"``), subdomain wildcards (``"https://*.example.com"``),
        ``re.Pattern`` objects (matched with ``fullmatch``), functions
        ``(origin: str) -> bool`` decided at run time, or a list of those.
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
    :param origins_cache_size: how many allowed, and how many refused, answers of each
        origins function are kept. Default 1024; 0 asks the function every request.
    :param origins_cache_ttl: how long an answer of an origins function is kept
        (seconds or ``timedelta``). Default 60 seconds.

    .. versionchanged:: 0.2
        An unknown option, also in a ``resources`` rule, raises ``TypeError``, not ``ValueError``.
        flask-cors's option names raise at start-up, saying what to write instead.

    .. versionadded:: 0.2
        Functions in ``origins``; ``origins_cache_size`` and ``origins_cache_ttl``.
    """

    def __init__(
        self,
        app: Flask | None = None,
        *,
        resources: t.Any = None,
        origins_cache_size: int | None = None,
        origins_cache_ttl: float | timedelta | None = None,
        **options: Unpack[CorsOptions],
    ) -> None:
        self._options: dict[str, t.Any] = {
            **options,
            "resources": resources,
            "origins_cache_size": origins_cache_size,
            "origins_cache_ttl": origins_cache_ttl,
        }
        if app is not None:
            self.init_app(app)

    def init_app(
        self,
        app: Flask,
        *,
        resources: t.Any = None,
        origins_cache_size: int | None = None,
        origins_cache_ttl: float | timedelta | None = None,
        **options: Unpack[CorsOptions],
    ) -> None:
        """Register CORS on ``app``; the options are those of :class:`CORS`.

        :raises RuntimeError: if CORS is already registered on ``app``.
        :raises TypeError: for an unknown option or a flask-cors keyword option, or if
            ``app`` is a blueprint.
        :raises ValueError: naming the config key, for any bad value or combination, or
            a flask-cors config key.

        .. versionchanged:: 0.2
            An unknown option raises ``TypeError``, not ``ValueError``.
        """
        if isinstance(app, Blueprint):
            raise TypeError(
                "CORS(blueprint) is flask-cors's form: register CORS on the app and give the"
                " blueprint its rules with cors.configure_blueprint(blueprint, ...)"
            )
        if EXTENSION_KEY in app.extensions:
            raise RuntimeError(
                "flask-plug-cors is already registered on this app; call init_app once per app"
            )
        given = {
            **options,
            "resources": resources,
            "origins_cache_size": origins_cache_size,
            "origins_cache_ttl": origins_cache_ttl,
        }
        merged = {**self._options, **{k: v for k, v in given.items() if v is not None}}
        state = CorsState(resolve(app, merged))
        state.check(app)
        app.extensions[EXTENSION_KEY] = state
        app.wsgi_app = CorsMiddleware(app.wsgi_app, app, state)  # type: ignore[method-assign]

    def configure_blueprint(self, blueprint: Blueprint, **options: Unpack[CorsOptions]) -> None:
        """Set CORS rules for every view of ``blueprint``; options left out are inherited.

        The rules apply to requests routed to the blueprint's views, wherever and however
        often it is registered. Paths under its ``url_prefix`` that match no view (404s)
        follow the path rules and app rules: add a path rule to cover those too.

        :raises TypeError: for an unknown option.
        :raises ValueError: for a bad value.

        .. versionchanged:: 0.2
            An unknown option raises ``TypeError``, not ``ValueError``.
        """
        checked = check_options(
            options,
            lambda option: f"configure_blueprint({option}=...)",
            lambda option, value: f"configure_blueprint(blueprint, {option}={value!r})",
        )
        store_rules(blueprint, checked)
