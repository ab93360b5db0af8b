"""Limits that a function gives for each request: ``limit(function)``, and ``default`` or
``application`` set to a function. Each text is parsed once per plan; a bad one is logged
once and never answers 500."""

from __future__ import annotations

import typing as t

from .limits import parse_limits
from .plan import assemble

if t.TYPE_CHECKING:
    from .limits import Limit
    from .plan import Group, LimitFunction, Plan
    from .reporting import OnceLog

_FAILED = object()
"""Stands for the text of a function that raised, or returned something not a string."""


def resolve(plan: Plan, log: OnceLog) -> Plan:
    """The plan of this request: ``plan`` with each dynamic group's limits as its function
    returns them now.

    The rule for what is not a limit: a function that raises, or returns anything but a
    string or ``None``, or a string that is not a limit, gives no limits for the request
    (the request's other limits still apply), and the problem is logged once. ``None``
    and ``""`` mean no limit, on purpose.
    """
    texts: list[object] = []
    for group in plan.groups:
        function = group.limit_function
        if function is None:
            continue
        text: object
        try:
            text = function()
        except Exception as e:
            log.error(
                (function, type(e)),
                "the limit function %s raised %s; requests get none of its limits until it"
                " returns limits again",
                _name(function),
                type(e).__name__,
                exc_info=True,
            )
            text = _FAILED
        if not (text is None or isinstance(text, str) or text is _FAILED):
            log.error(
                (function, "not a string"),
                "the limit function %s returned %r, not a string like '10/minute' (or None);"
                " requests get none of its limits when it does",
                _name(function),
                text,
            )
            text = _FAILED
        texts.append(text)
    key = tuple(texts)
    try:
        return plan.resolved[key]
    except KeyError:
        pass
    found = iter(texts)
    groups = tuple(
        group
        if group.limit_function is None
        else group.with_limits(_parse(group, next(found), log))
        for group in plan.groups
    )
    resolved = assemble(groups, app_on_breach=plan.on_breach)
    plan.remember(key, resolved)
    return resolved


def _parse(group: Group, text: object, log: OnceLog) -> tuple[Limit, ...]:
    if text is None or text is _FAILED or not t.cast("str", text).strip():
        return ()
    function = t.cast("LimitFunction", group.limit_function)
    try:
        return parse_limits(t.cast("str", text), f"the limit function {_name(function)}")
    except ValueError as e:
        # Once per function, not per text: the texts may come from what clients send.
        log.error(
            (function, "not a limit"),
            "%s; requests get none of its limits when it returns such a text",
            e,
        )
        return ()


def _name(function: LimitFunction) -> str:
    return getattr(function, "__qualname__", repr(function))
