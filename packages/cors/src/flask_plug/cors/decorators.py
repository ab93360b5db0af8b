"""``@cross_origin``: CORS rules attached to one view."""

from __future__ import annotations

import typing as t

from .policy import DEFAULTS, CorsOptions, check_options, compile_policy

if t.TYPE_CHECKING:
    from typing_extensions import Unpack

F = t.TypeVar("F", bound=t.Callable[..., t.Any])


def cross_origin(**options: Unpack[CorsOptions]) -> t.Callable[[F], F]:
    """Give one view its own CORS rules; options left out are inherited.

    The view keeps its identity (no wrapper), so the decorator may sit above or below
    ``@app.route``. The options are those of :class:`CORS`; they are stored in the view's
    ``__flask_plug__["cors"]`` metadata. ``@cross_origin(origins=[])`` turns CORS off
    for the view.

    :raises ValueError: at decoration, for a bad value or a combination such as
        ``origins="*"`` with ``allow_credentials=True``.
    """
    checked = check_options(options, lambda option: f"cross_origin({option}=...)")
    compile_policy(
        {**DEFAULTS, **checked}, lambda option: f"cross_origin({option}=...)", "@cross_origin"
    )

    def decorator(view: F) -> F:
        metadata = dict(getattr(view, "__flask_plug__", {}))
        metadata["cors"] = checked
        view.__flask_plug__ = metadata  # type: ignore[attr-defined]
        return view

    return decorator
