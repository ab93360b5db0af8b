"""The API docs' options: keyword, then ``APIDOCS_*`` config key, then default."""

from __future__ import annotations

import typing as t
from dataclasses import dataclass

if t.TYPE_CHECKING:
    from collections.abc import Iterable

    from flask import Flask

BLUEPRINT_NAME = "apidocs"


class APIDocsOptions(t.TypedDict, total=False):
    """Keyword options of :class:`~flask_plug.apidocs.APIDocs`; each is also an
    ``APIDOCS_*`` config key."""

    title: str | None
    version: str | None
    description: str | None
    url_prefix: str | None
    exclude: Iterable[str] | None
    ui: bool | None


@dataclass(frozen=True)
class APIDocsSettings:
    """The resolved options of one app."""

    title: str
    """The API's title, ``info.title`` (``APIDOCS_TITLE``)."""
    version: str
    """The API's version, ``info.version`` (``APIDOCS_VERSION``)."""
    description: str | None
    """Markdown shown above the operations, ``info.description`` (``APIDOCS_DESCRIPTION``)."""
    url_prefix: str
    """Where the pages are served (``APIDOCS_URL_PREFIX``)."""
    exclude: tuple[str, ...]
    """Endpoints and blueprints left out of the document (``APIDOCS_EXCLUDE``)."""
    ui: bool
    """Serve the pages; ``False`` serves only the JSON document (``APIDOCS_UI``)."""
    blueprint_name: str = BLUEPRINT_NAME
    """The name of the blueprint serving the pages; its routes are never documented."""


def _key(option: str) -> str:
    return f"APIDOCS_{option.upper()}"


def resolve(app: Flask, options: dict[str, t.Any]) -> APIDocsSettings:
    """Merge keyword ``options`` over ``app.config`` over defaults, and validate each value.

    :raises ValueError: naming the config key and what it expects, for any bad value.
    """
    unknown = set(options) - set(APIDocsOptions.__annotations__)
    if unknown:
        raise TypeError(f"unknown APIDocs option(s): {', '.join(sorted(unknown))}")

    def pick(option: str, default: t.Any) -> t.Any:
        value = options.get(option)
        if value is None:
            value = app.config.get(_key(option))
        return default if value is None else value

    def text(option: str, default: str | None) -> t.Any:
        value = pick(option, default)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise ValueError(f"{_key(option)} must be a non-empty string, got {value!r}")
        return value

    prefix = text("url_prefix", "/docs")
    if not prefix.startswith("/") or prefix.endswith("/") and prefix != "/":
        raise ValueError(
            f"APIDOCS_URL_PREFIX must start with '/' and not end with one, got {prefix!r}"
        )
    exclude = pick("exclude", ())
    if isinstance(exclude, str) or not isinstance(exclude, (list, tuple, set, frozenset)):
        raise ValueError(f"APIDOCS_EXCLUDE must be a list of endpoint names, got {exclude!r}")
    for name in exclude:
        if not isinstance(name, str) or not name:
            raise ValueError(f"APIDOCS_EXCLUDE must hold endpoint names, got {name!r} in it")
    ui = pick("ui", True)
    if not isinstance(ui, bool):
        raise ValueError(f"APIDOCS_UI must be True or False, got {ui!r}")
    return APIDocsSettings(
        title=text("title", app.name),
        version=text("version", "0.1.0"),
        description=text("description", None),
        url_prefix=prefix,
        exclude=tuple(sorted(set(exclude))),
        ui=ui,
    )
