"""Where limits apply: the metadata the decorators leave on views and blueprints, and the
:class:`Plan` of one (endpoint, method) worked out from it."""

from __future__ import annotations

import typing as t
from collections.abc import Callable
from dataclasses import dataclass

from .headers import policy_header, sf_string

if t.TYPE_CHECKING:
    from flask import Flask

    from .limits import Limit
    from .settings import LimiterSettings

_UNMATCHED = "<unmatched>"


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


def _metadata(target: object) -> dict[str, t.Any]:
    """The ``__flask_plug__`` metadata of a view or blueprint: ``{package: {...}}``."""
    metadata = getattr(target, "__flask_plug__", None)
    return metadata if isinstance(metadata, dict) else {}


def ratelimit_metadata(target: object) -> dict[str, t.Any]:
    """A copy of the ``"ratelimit"`` part of ``target``'s metadata: ``exempt``, ``specs``
    (:class:`LimitSpec`) and ``limits`` (their texts, for other extensions)."""
    return dict(_metadata(target).get("ratelimit", {}))


def set_ratelimit_metadata(target: object, ratelimit: dict[str, t.Any]) -> None:
    """Replace the ``"ratelimit"`` part of ``target``'s metadata."""
    # A new dict: functools.wraps shares the wrapped view's __flask_plug__ otherwise.
    target.__flask_plug__ = {**_metadata(target), "ratelimit": ratelimit}  # type: ignore[attr-defined]


@dataclass(frozen=True, eq=False)
class Group:
    """Limits attached together, with everything a request needs worked out."""

    spec: LimitSpec | None
    """``None`` for the app default."""
    name: str
    """What the policy names of its limits start with: the scope, the route or ``default``."""
    limits: tuple[Limit, ...]
    key_tails: tuple[str, ...]
    """What each limit's storage key ends with, after the client part."""
    key_func: Callable[[], str]
    cost: int | Callable[[], int]
    exempt_when: Callable[[], bool] | None
    on_storage_error: str
    """This group's policy, else the app's: ``"allow"`` or ``"deny"``."""


@dataclass(frozen=True, eq=False)
class Plan:
    """The limits of one (endpoint, method), worked out once and cached."""

    groups: tuple[Group, ...]
    limits: tuple[Limit, ...]
    names: tuple[str, ...]
    """Each limit's policy name, as a quoted Structured Field String."""
    policy_header: str
    """``RateLimit-Policy`` when every limit is counted, the usual case."""


def make_plan(
    app: Flask, settings: LimiterSettings, endpoint: str | None, method: str
) -> Plan | None:
    """The plan of ``method`` requests routed to ``endpoint``; ``None`` when no limit applies.

    ``method`` is a plan key: upper case, never ``HEAD`` (planned as ``GET``), maybe a
    key no method-specific limit names; ``endpoint`` ``None`` means no route matched.
    """
    if method in settings.exempt_methods:
        return None
    specs = _specs(app, endpoint)
    if specs is None:
        return None
    groups = _groups(settings, specs, endpoint or _UNMATCHED, method)
    if not groups:
        return None
    limits = tuple(limit for group in groups for limit in group.limits)
    names = tuple(
        sf_string(f"{group.name}/{limit.id}") for group in groups for limit in group.limits
    )
    return Plan(groups, limits, names, policy_header(names, limits))


def _specs(app: Flask, endpoint: str | None) -> list[LimitSpec] | None:
    """The specs of the view, else of its innermost blueprint that has some; ``None`` when
    the view or a blueprint on the way is exempt."""
    targets: list[object] = []
    if endpoint is not None:
        targets.append(app.view_functions.get(endpoint))
        targets += [app.blueprints.get(name) for name in _blueprint_names(endpoint)]
    for target in targets:
        metadata = ratelimit_metadata(target)
        if metadata.get("exempt"):
            return None
        if metadata.get("specs"):
            return list(metadata["specs"])
    return []


def _groups(
    settings: LimiterSettings, specs: list[LimitSpec], route: str, method: str
) -> tuple[Group, ...]:
    """A group per spec that limits ``method``; with no specs at all, the app's default."""
    # Counted OPTIONS requests (CORS preflights, when not exempt) get counts of their
    # own, so that they never spend the quota of the method they announce.
    options = ":OPTIONS" if method == "OPTIONS" else ""
    if not specs:
        if not settings.default:
            return ()
        return (_group(settings, None, "default", route + options, settings.default),)
    groups = []
    for spec in specs:
        if spec.methods is None or method in spec.methods:
            if spec.scope is None and spec.methods is not None:
                counter = f"{route}:{method}"
            else:
                counter = (spec.scope or route) + options
            groups.append(_group(settings, spec, spec.scope or route, counter, spec.limits))
    return tuple(groups)


def _group(
    settings: LimiterSettings,
    spec: LimitSpec | None,
    name: str,
    counter: str,
    limits: tuple[Limit, ...],
) -> Group:
    """``counter`` names the counts in storage: the scope or route, with the method for
    method-specific limits."""
    return Group(
        spec,
        name,
        limits,
        key_tails=tuple(f"}}:{counter}:{limit.id}" for limit in limits),
        key_func=(spec and spec.key_func) or settings.key_func,
        cost=1 if spec is None else spec.cost,
        exempt_when=None if spec is None else spec.exempt_when,
        on_storage_error=(spec and spec.on_storage_error) or settings.on_storage_error,
    )


def _blueprint_names(endpoint: str) -> list[str]:
    """``"a.b.view"`` -> ``["a.b", "a"]``, innermost first, as Flask names nested blueprints."""
    blueprint = endpoint.rpartition(".")[0]
    names = []
    while blueprint:
        names.append(blueprint)
        blueprint = blueprint.rpartition(".")[0]
    return names
