"""The API docs' options: keyword, then ``APIDOCS_*`` config key, then default."""

from __future__ import annotations

import dataclasses
import typing as t
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .schemas import UnsupportedType, adapter

if t.TYPE_CHECKING:
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
    validate_responses: bool | None
    servers: Iterable[Mapping[str, t.Any]] | None
    security_schemes: Mapping[str, Mapping[str, t.Any]] | None
    error_schema: t.Any


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
    validate_responses: bool = False
    """Check each value a validated view returns against its return annotation
    (``APIDOCS_VALIDATE_RESPONSES``); for tests and development."""
    servers: tuple[Mapping[str, t.Any], ...] = ()
    """The document's ``servers`` (``APIDOCS_SERVERS``)."""
    security_schemes: Mapping[str, Mapping[str, t.Any]] = dataclasses.field(default_factory=dict)
    """Security schemes views name in ``doc(security=...)`` (``APIDOCS_SECURITY_SCHEMES``)."""
    error_schema: t.Any = None
    """The type of the body a :class:`~flask_plug.apidocs.RequestValidationError` handler
    of the app answers with (``APIDOCS_ERROR_SCHEMA``); ``None``: the built-in problem."""
    blueprint_name: str = BLUEPRINT_NAME
    """The name of the blueprint serving the pages; its routes are never documented."""


class _Config:
    """Reads each option: the keyword argument, else the app's config key, else the default.

    ``None`` counts as not given, so ``None`` anywhere means "use the default".
    """

    def __init__(
        self, app: Flask, options: Mapping[str, t.Any], known: type, prefix: str, owner: str
    ) -> None:
        self.check(options, known, owner)
        self.app = app
        self.options = options
        self.prefix = prefix

    @staticmethod
    def check(options: Mapping[str, t.Any], known: type, owner: str) -> None:
        """Refuse the keyword options the ``TypedDict`` ``known`` does not declare; needs
        no app, so an option can be refused where it is given.

        :raises TypeError: naming the unknown options.
        """
        unknown = set(options) - set(known.__annotations__)
        if unknown:
            raise TypeError(f"unknown {owner} option(s): {', '.join(sorted(unknown))}")

    def key(self, option: str) -> str:
        """The config key of ``option``: ``"max_age"`` -> ``"CORS_MAX_AGE"``."""
        return f"{self.prefix}{option.upper()}"

    def value(self, option: str, default: t.Any) -> t.Any:
        """The keyword value, else the config value, else ``default``."""
        value = self.options.get(option)
        if value is None:
            value = self.app.config.get(self.key(option))
        return default if value is None else value

    def flag(self, option: str, default: bool) -> bool:
        """A value that must be ``True`` or ``False``."""
        value = self.value(option, default)
        if not isinstance(value, bool):
            raise ValueError(f"{self.key(option)} must be True or False, got {value!r}")
        return value


def resolve(app: Flask, options: Mapping[str, t.Any]) -> APIDocsSettings:
    """Merge keyword ``options`` over ``app.config`` over defaults, and validate each value.

    :raises TypeError: for an option :class:`APIDocsOptions` does not name.
    :raises ValueError: naming the config key and what it expects, for any bad value.
    """
    config = _Config(app, options, APIDocsOptions, "APIDOCS_", "APIDocs")
    return APIDocsSettings(
        title=_text(config.value("title", app.name), config.key("title")),
        version=_text(config.value("version", "0.1.0"), config.key("version")),
        description=_text(config.value("description", None), config.key("description")),
        url_prefix=_url_prefix(config, "url_prefix"),
        exclude=_exclude(config, "exclude"),
        ui=config.flag("ui", True),
        validate_responses=config.flag("validate_responses", False),
        servers=_servers(config, "servers"),
        security_schemes=_security_schemes(config, "security_schemes"),
        error_schema=_error_schema(config, "error_schema"),
    )


def _text(value: t.Any, key: str) -> t.Any:
    """``value`` if it is ``None`` or a string with more than blanks in it."""
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise ValueError(f"{key} must be a non-empty string, got {value!r}")
    return value


def _url_prefix(config: _Config, option: str) -> str:
    prefix: str = _text(config.value(option, "/docs"), config.key(option))
    if not prefix.startswith("/") or prefix.endswith("/") and prefix != "/":
        raise ValueError(
            f"{config.key(option)} must start with '/' and not end with one, got {prefix!r}"
        )
    return prefix


def _exclude(config: _Config, option: str) -> tuple[str, ...]:
    key, exclude = config.key(option), config.value(option, ())
    if isinstance(exclude, str) or not isinstance(exclude, (list, tuple, set, frozenset)):
        raise ValueError(f"{key} must be a list of endpoint names, got {exclude!r}")
    for name in exclude:
        if not isinstance(name, str) or not name:
            raise ValueError(f"{key} must hold endpoint names, got {name!r} in it")
    return tuple(sorted(set(exclude)))


def _servers(config: _Config, option: str) -> tuple[Mapping[str, t.Any], ...]:
    key, servers = config.key(option), config.value(option, ())
    if isinstance(servers, (str, Mapping)) or not isinstance(servers, Iterable):
        raise ValueError(f'{key} must be a list of {{"url": ...}} objects, got {servers!r}')
    servers = tuple(servers)
    for server in servers:
        if not isinstance(server, Mapping) or not isinstance(server.get("url"), str):
            raise ValueError(f'{key} must hold {{"url": ...}} objects, got {server!r} in it')
    return servers


_SCHEME_TYPES = ("apiKey", "http", "mutualTLS", "oauth2", "openIdConnect")


def _security_schemes(config: _Config, option: str) -> Mapping[str, Mapping[str, t.Any]]:
    key, schemes = config.key(option), config.value(option, {})
    if not isinstance(schemes, Mapping):
        raise ValueError(
            f"{key} must map scheme names to OpenAPI security schemes, got {schemes!r}"
        )
    for name, scheme in schemes.items():
        if not isinstance(scheme, Mapping) or scheme.get("type") not in _SCHEME_TYPES:
            raise ValueError(
                f"{key}[{name!r}] must be an OpenAPI security scheme with a 'type' of "
                f"{', '.join(_SCHEME_TYPES)}; got {scheme!r}"
            )
    return dict(schemes)


def _error_schema(config: _Config, option: str) -> t.Any:
    error_schema = config.value(option, None)
    if error_schema is not None:
        try:
            adapter(error_schema)
        except UnsupportedType as error:
            raise ValueError(
                f"{config.key(option)} must be a type pydantic can describe: {error}"
            ) from None
    return error_schema
