"""``@cross_origin``, and the ``__flask_plug__`` metadata that keeps the rules of a view
or blueprint."""

from __future__ import annotations

import typing as t

from .policy import compile_policy
from .settings import DEFAULTS, CorsOptions, check_options

if t.TYPE_CHECKING:
    from typing_extensions import Unpack

F = t.TypeVar("F", bound=t.Callable[..., t.Any])


def cross_origin(**options: Unpack[CorsOptions]) -> t.Callable[[F], F]:
    """Give one view its own CORS rules; options left out are inherited.

    The view keeps its identity (no wrapper), so the decorator may sit above or below
    ``@app.route``. The options are those of :class:`CORS`; they are stored in the view's
    ``__flask_plug__["cors"]`` metadata. ``@cross_origin(origins=[])`` turns CORS off
    for the view.

    :raises TypeError: at decoration, for an unknown option.
    :raises ValueError: at decoration, for a bad value or a combination such as
        ``origins="*"`` with ``allow_credentials=True``.

    .. versionchanged:: 0.2
        An unknown option raises ``TypeError``, not ``ValueError``.
    """
    checked = check_options(
        options,
        lambda option: f"cross_origin({option}=...)",
        lambda option, value: f"cross_origin({option}={value!r})",
    )
    compile_policy(
        {**DEFAULTS, **checked}, lambda option: f"cross_origin({option}=...)", "@cross_origin"
    )

    def decorator(view: F) -> F:
        store_rules(view, checked)
        return view

    return decorator


def store_rules(target: object, options: dict[str, t.Any]) -> None:
    """Keep checked ``options`` as the CORS rules of a view or blueprint."""
    target.__flask_plug__ = {**_metadata(target), "cors": options}  # type: ignore[attr-defined]


def stored_rules(target: object) -> dict[str, t.Any] | None:
    """The CORS rules kept on a view or blueprint, if any."""
    rules: dict[str, t.Any] | None = _metadata(target).get("cors")
    return rules


def _metadata(target: object) -> dict[str, t.Any]:
    """The ``__flask_plug__`` metadata of a view or blueprint: ``{package: {...}}``."""
    metadata = getattr(target, "__flask_plug__", None)
    return metadata if isinstance(metadata, dict) else {}
