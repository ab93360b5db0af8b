"""Where limits apply: the metadata the decorators leave on views and blueprints, and the
:class:`Plan` of one (endpoint, method) worked out from it."""

from __future__ import annotations

import typing as t
from collections.abc import Callable
from dataclasses import dataclass, field

from .headers import policy_header, sf_string

if t.TYPE_CHECKING:
    from flask import Flask
    from flask.typing import ResponseReturnValue
    from werkzeug.wrappers import Response

    from .breach import Breach
    from .limits import Limit
    from .settings import LimiterSettings

LimitFunction = Callable[[], "str | None"]
"""A function returning a request's limits as text, such as ``"100/hour"``; ``None`` for
no limit."""
DeductWhen = Callable[["Response"], bool]
"""A function of the response: whether the request counts (``deduct_when``)."""
OnBreach = Callable[["Breach"], "ResponseReturnValue | None"]
"""A function called when a limit refuses a request (``on_breach``)."""

_UNMATCHED = "<unmatched>"
APP_SCOPE = "app"
"""The policy name of the application-wide limits."""
_APP_TAIL = "}#app"
"""What the storage keys of application-wide limits continue with after the client part.
Every other key goes on with ``}:`` and a route or scope, so no route or scope name, the
app's to choose, can ever name the application-wide counter."""
_MAX_RESOLVED = 256
"""Plans kept per dynamic plan, one per combination of limit texts its functions return."""


@dataclass(frozen=True)
class LimitSpec:
    """Limits attached to a view or blueprint by :meth:`RateLimiter.limit` or
    :meth:`RateLimiter.shared_limit`."""

    limits: tuple[Limit, ...]
    """Empty when ``limit_function`` gives them per request."""
    scope: str | None
    """The shared scope's name; ``None`` counts each route on its own."""
    methods: frozenset[str] | None
    key_func: Callable[[], str] | None
    cost: int | Callable[[], int]
    exempt_when: Callable[[], bool] | None
    on_storage_error: str | None
    limit_function: LimitFunction | None = None
    """The function giving the limits per request, if they are dynamic.

    .. versionadded:: 0.2"""
    deduct_when: DeductWhen | None = None
    """.. versionadded:: 0.2"""
    on_breach: OnBreach | None = None
    """.. versionadded:: 0.2"""


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


def dynamic_text(function: LimitFunction) -> str:
    """How the texts of limits (``limits_for``, the view metadata) name dynamic ones."""
    return f"set per request by {getattr(function, '__qualname__', repr(function))}"


@dataclass(frozen=True, eq=False)
class Group:
    """Limits attached together, with everything a request needs worked out."""

    spec: LimitSpec | None
    """``None`` for the app default and the application-wide limits."""
    name: str
    """What the policy names of its limits start with: the scope, the route, ``default``
    or ``app``."""
    limits: tuple[Limit, ...]
    key_tails: tuple[str, ...]
    """What each limit's storage key ends with, after the client part."""
    key_func: Callable[[], str]
    cost: int | Callable[[], int]
    exempt_when: Callable[[], bool] | None
    on_storage_error: str
    """This group's policy, else the app's: ``"allow"`` or ``"deny"``."""
    tail_head: str = ""
    """What each key tail starts with, before the limit's id."""
    limit_function: LimitFunction | None = None
    """Gives ``limits`` per request; ``limits`` is empty until a plan is resolved."""
    deduct_when: DeductWhen | None = None
    on_breach: OnBreach | None = None

    def with_limits(self, limits: tuple[Limit, ...]) -> Group:
        """This group with ``limits``, as a dynamic group resolves for one request."""
        return Group(
            self.spec,
            self.name,
            limits,
            tuple(self.tail_head + limit.id for limit in limits),
            self.key_func,
            self.cost,
            self.exempt_when,
            self.on_storage_error,
            self.tail_head,
            None,
            self.deduct_when,
            self.on_breach,
        )


@dataclass(frozen=True, eq=False)
class Plan:
    """The limits of one (endpoint, method), worked out once and cached."""

    groups: tuple[Group, ...]
    limits: tuple[Limit, ...]
    names: tuple[str, ...]
    """Each limit's policy name, as a quoted Structured Field String."""
    policy_header: str
    """``RateLimit-Policy`` when every limit is counted, the usual case."""
    labels: tuple[str, ...] = ()
    """Each limit's policy name, unquoted: ``"login/5-60"``."""
    group_of: tuple[int, ...] = ()
    """The index in ``groups`` of each limit's group."""
    deducting: tuple[DeductWhen | None, ...] = ()
    """Each limit's ``deduct_when``; empty when no limit has one (the usual case)."""
    dynamic: bool = False
    """Some group's limits come from a function: resolve the plan for each request."""
    on_breach: bool = False
    """Some group, or the app, has an ``on_breach`` function."""
    resolved: dict[tuple[object, ...], Plan] = field(default_factory=dict)
    """A dynamic plan's plans for the limit texts its functions returned, bounded."""

    def remember(self, texts: tuple[object, ...], plan: Plan) -> None:
        """Keep ``plan`` as this dynamic plan's for ``texts``; forget the oldest beyond
        the bound."""
        resolved = self.resolved
        if len(resolved) >= _MAX_RESOLVED:
            try:
                del resolved[next(iter(resolved))]
            except (KeyError, RuntimeError, StopIteration):  # another thread did it
                pass
        resolved[texts] = plan


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
    return assemble(groups, app_on_breach=settings.on_breach is not None)


def assemble(groups: tuple[Group, ...], *, app_on_breach: bool) -> Plan:
    """The plan of ``groups``, with what requests and headers need worked out."""
    limits = tuple(limit for group in groups for limit in group.limits)
    labels = tuple(f"{group.name}/{limit.id}" for group in groups for limit in group.limits)
    names = tuple(sf_string(label) for label in labels)
    deducting: tuple[DeductWhen | None, ...] = ()
    if any(group.deduct_when is not None for group in groups):
        deducting = tuple(group.deduct_when for group in groups for _ in group.limits)
    return Plan(
        groups,
        limits,
        names,
        policy_header(names, limits),
        labels=labels,
        group_of=tuple(i for i, group in enumerate(groups) for _ in group.limits),
        deducting=deducting,
        dynamic=any(group.limit_function is not None for group in groups),
        on_breach=app_on_breach or any(group.on_breach is not None for group in groups),
    )


def describe(plan: Plan) -> list[tuple[str, str]]:
    """Each limit of ``plan`` as (scope, text), a dynamic group as one entry naming its
    function: what ``limits_for`` and ``flask ratelimit show`` tell."""
    described = []
    for group in plan.groups:
        if group.limit_function is not None:
            described.append((group.name, dynamic_text(group.limit_function)))
        else:
            described += [(group.name, limit.text) for limit in group.limits]
    return described


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
    """A group per spec that limits ``method``; with no specs at all, the app's default;
    then the application-wide limits, if any."""
    # Counted OPTIONS requests (CORS preflights, when not exempt) get counts of their
    # own, so that they never spend the quota of the method they announce.
    options = ":OPTIONS" if method == "OPTIONS" else ""
    groups = []
    if not specs:
        if settings.default:
            groups.append(_settings_group(settings, f"}}:{route}{options}:", application=False))
    for spec in specs:
        if spec.methods is None or method in spec.methods:
            if spec.scope is None and spec.methods is not None:
                counter = f"{route}:{method}"
            else:
                counter = (spec.scope or route) + options
            groups.append(
                _group(
                    spec.scope or route,
                    f"}}:{counter}:",
                    spec.limits,
                    spec.limit_function,
                    key_func=spec.key_func or settings.key_func,
                    cost=spec.cost,
                    exempt_when=spec.exempt_when,
                    deduct_when=spec.deduct_when,
                    on_storage_error=spec.on_storage_error or settings.on_storage_error,
                    on_breach=spec.on_breach,
                    spec=spec,
                )
            )
    if settings.application:
        groups.append(_settings_group(settings, f"{_APP_TAIL}{options}:", application=True))
    return tuple(groups)


def _settings_group(settings: LimiterSettings, tail_head: str, *, application: bool) -> Group:
    """The app's default limits, or with ``application`` its application-wide ones; for the
    default, ``tail_head`` names the route (or ``<unmatched>``) the counts are for."""
    if application:
        name, limits, cost = APP_SCOPE, settings.application, settings.application_cost
        exempt_when = settings.application_exempt_when
        deduct_when = settings.application_deduct_when
    else:
        name, limits, cost = "default", settings.default, settings.default_cost
        exempt_when, deduct_when = settings.default_exempt_when, settings.default_deduct_when
    return _group(
        name,
        tail_head,
        () if callable(limits) else limits,
        limits if callable(limits) else None,
        key_func=settings.key_func,
        cost=cost,
        exempt_when=exempt_when,
        deduct_when=deduct_when,
        on_storage_error=settings.on_storage_error,
    )


def _group(
    name: str,
    tail_head: str,
    limits: tuple[Limit, ...],
    limit_function: LimitFunction | None,
    *,
    key_func: Callable[[], str],
    cost: int | Callable[[], int],
    exempt_when: Callable[[], bool] | None,
    deduct_when: DeductWhen | None,
    on_storage_error: str,
    on_breach: OnBreach | None = None,
    spec: LimitSpec | None = None,
) -> Group:
    """``tail_head`` starts each limit's key tail: the scope or route (with the method for
    method-specific limits) for most, a name no route can take for application-wide ones."""
    return Group(
        spec,
        name,
        limits,
        key_tails=tuple(tail_head + limit.id for limit in limits),
        key_func=key_func,
        cost=cost,
        exempt_when=exempt_when,
        on_storage_error=on_storage_error,
        tail_head=tail_head,
        limit_function=limit_function,
        deduct_when=deduct_when,
        on_breach=on_breach,
    )


def _blueprint_names(endpoint: str) -> list[str]:
    """``"a.b.view"`` -> ``["a.b", "a"]``, innermost first, as Flask names nested blueprints."""
    blueprint = endpoint.rpartition(".")[0]
    names = []
    while blueprint:
        names.append(blueprint)
        blueprint = blueprint.rpartition(".")[0]
    return names
