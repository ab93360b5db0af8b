"""``@cross_origin``: CORS rules attached to one view."""

from __future__ import annotations

import typing as t
from collections.abc import Iterable
from datetime import timedelta

from .policy import DEFAULTS, check_options, compile_policy

if t.TYPE_CHECKING:
    import re

F = t.TypeVar("F", bound=t.Callable[..., t.Any])
OriginSpec = t.Union[str, "re.Pattern[str]", Iterable[t.Union[str, "re.Pattern[str]"]]]


def cross_origin(
    *,
    origins: OriginSpec | None = None,
    methods: str | Iterable[str] | None = None,
    allow_headers: str | Iterable[str] | None = None,
    expose_headers: str | Iterable[str] | None = None,
    allow_credentials: bool | None = None,
    max_age: int | timedelta | None = None,
    allow_private_network: bool | None = None,
) -> t.Callable[[F], F]:
    """Give one view its own CORS rules; options left out are inherited.

    The view keeps its identity (no wrapper), so the decorator may sit above or below
    ``@app.route``. The options are those of :class:`CORS`; they are stored in the view's
    ``__flask_plug__["cors"]`` metadata. ``@cross_origin(origins=[])`` turns CORS off
    for the view.

    :raises ValueError: at decoration, for a bad value or a combination such as
        ``origins="*"`` with ``allow_credentials=True``.
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
    checked = check_options(given, lambda option: f"cross_origin({option}=...)")
    compile_policy(
        {**DEFAULTS, **checked}, lambda option: f"cross_origin({option}=...)", "@cross_origin"
    )

    def decorator(view: F) -> F:
        metadata = dict(getattr(view, "__flask_plug__", {}))
        metadata["cors"] = checked
        view.__flask_plug__ = metadata  # type: ignore[attr-defined]
        return view

    return decorator
