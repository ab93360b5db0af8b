"""The :class:`APIDocs` extension."""

from __future__ import annotations

import typing as t

from ._state import EXTENSION_KEY as EXTENSION_KEY  # where it was before 0.2
from ._state import APIDocsState, current_app_object, get_state
from .cli import apidocs_cli
from .settings import APIDocsOptions, resolve
from .spec import _metadata
from .validate import validating
from .views import make_blueprint

if t.TYPE_CHECKING:
    from flask import Flask
    from flask.typing import RouteCallable
    from typing_extensions import Unpack

F = t.TypeVar("F", bound=t.Callable[..., t.Any])
T = t.TypeVar("T")


class APIDocs:
    """Serve an OpenAPI 3.1 document of the app, with Swagger UI and ReDoc, offline.

    Options given here apply to every app this object is registered on; options given to
    :meth:`init_app` apply to that app only. An option left as ``None`` is read from the
    ``APIDOCS_*`` config key of the same name, then falls back to its default.

    :param app: the app to register on now; or call :meth:`init_app` later.
    :param title: the API's title. Default: the app's name. Config ``APIDOCS_TITLE``.
    :param version: the API's version (not OpenAPI's). Default ``"0.1.0"``.
        Config ``APIDOCS_VERSION``.
    :param description: Markdown shown at the top of the docs. Config
        ``APIDOCS_DESCRIPTION``.
    :param url_prefix: where the pages live. Default ``"/docs"``: Swagger UI at
        ``/docs/``, ReDoc at ``/docs/redoc``, the document at ``/docs/openapi.json``.
        Config ``APIDOCS_URL_PREFIX``.
    :param exclude: endpoints (``"health"``) and blueprints (``"admin"``) to leave out.
        Config ``APIDOCS_EXCLUDE``. Names that match nothing are logged as a warning
        when the document is first built.
    :param ui: serve the two pages. ``False`` serves only the JSON document. Default
        ``True``. Config ``APIDOCS_UI``.
    :param validate_responses: check every value a view under :meth:`validate` returns
        against its return annotation, raising
        :class:`~flask_plug.apidocs.ResponseValidationError` when it is not one. Default
        ``False``; turn it on in tests. Config ``APIDOCS_VALIDATE_RESPONSES``.
    :param servers: the document's ``servers``: ``[{"url": "https://api.example.com"}]``.
        Config ``APIDOCS_SERVERS``.
    :param security_schemes: OpenAPI security schemes by name, for
        ``doc(security=[...])``: ``{"ApiKey": {"type": "apiKey", "in": "header", "name":
        "X-API-Key"}}``. Config ``APIDOCS_SECURITY_SCHEMES``.
    :param error_schema: the type of the body your handler of
        :class:`~flask_plug.apidocs.RequestValidationError` answers with, for the
        document; default: the built-in problem. Config ``APIDOCS_ERROR_SCHEMA``.

    .. versionchanged:: 0.2
        ``validate_responses``, ``servers``, ``security_schemes`` and ``error_schema``.
    """

    def __init__(self, app: Flask | None = None, **options: Unpack[APIDocsOptions]) -> None:
        self._options = dict(options)
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask, **options: Unpack[APIDocsOptions]) -> None:
        """Register the docs on ``app``; the options are those of :class:`APIDocs`.

        :raises RuntimeError: if the docs are already registered on ``app``.
        :raises ValueError: if an option or ``APIDOCS_*`` config value is invalid.
        """
        if EXTENSION_KEY in app.extensions:
            raise RuntimeError(
                "flask-plug-apidocs is already registered on this app; call init_app once per app"
            )
        given = {k: v for k, v in options.items() if v is not None}
        settings = resolve(app, {**self._options, **given})
        app.extensions[EXTENSION_KEY] = APIDocsState(settings)
        app.register_blueprint(make_blueprint(settings), url_prefix=settings.url_prefix)
        app.cli.add_command(apidocs_cli)

    def document(self, app: Flask | None = None) -> dict[str, t.Any]:
        """The OpenAPI document of ``app`` (default: the current app), freshly built.

        :raises RuntimeError: if the docs are not registered on ``app``.

        .. versionchanged:: 0.2
            ``RuntimeError`` instead of ``KeyError`` for an app without the docs.

        .. versionchanged:: 0.2
            A ``429`` lists the limits flask-plug-ratelimit's app state says apply.
        """
        app = app or current_app_object()
        return get_state(app).document(app)

    def doc(
        self,
        *,
        summary: str | None = None,
        description: str | None = None,
        tags: list[str] | None = None,
        body: t.Any = None,
        query: t.Any = None,
        response: t.Any = None,
        status: int | None = None,
        responses: dict[int, t.Any] | None = None,
        deprecated: bool | None = None,
        security: list[str] | dict[str, list[str]] | None = None,
        response_headers: dict[str, str | dict[str, t.Any]] | None = None,
        body_example: t.Any = None,
        response_example: t.Any = None,
    ) -> t.Callable[[T], T]:
        """Describe a view (or a ``MethodView`` method, or every view of a blueprint)
        beyond what its docstring and type hints say.

        ::

            @app.post("/notes")
            @apidocs.doc(body=NewNote, response=Note, status=201, responses={409: "Exists"})
            def create_note(): ...

        :param summary: replaces the docstring's first line.
        :param description: replaces the rest of the docstring (Markdown).
        :param tags: replaces the blueprint's name as the tag.
        :param body: the JSON request body's type: a dataclass, ``TypedDict``, pydantic
            model, or a ``list[...]`` of one.
        :param query: a dataclass, ``TypedDict`` or pydantic model whose fields are the
            query parameters.
        :param response: the success response's body type; default: the return hint.
        :param status: the success status. Default 200.
        :param responses: more responses, by status: a type for a JSON body, or a
            string for a description only.
        :param deprecated: mark the operation deprecated.
        :param security: the security schemes (named in ``security_schemes``) a request
            may use: ``["ApiKey", "Basic"]`` for either, ``{"OAuth": ["read"]}`` for one
            with scopes, ``[]`` for a public view of a protected blueprint. Replaces what
            flask-plug-auth's ``login_required`` implies.
        :param response_headers: headers of the success responses, by name: a
            description, or an OpenAPI header object.
        :param body_example: an example request body, shown in the UIs.
        :param response_example: an example body of the success response.

        .. versionchanged:: 0.2
            ``security``, ``response_headers``, ``body_example``, ``response_example``;
            may decorate a blueprint.
        """
        given = {
            "summary": summary, "description": description, "tags": tags, "body": body,
            "query": query, "response": response, "status": status,
            "responses": responses, "deprecated": deprecated, "security": security,
            "response_headers": response_headers, "body_example": body_example,
            "response_example": response_example,
        }  # fmt: skip
        docs = {key: value for key, value in given.items() if value is not None}

        def decorator(view: T) -> T:
            _update_metadata(view, docs)
            return view

        return decorator

    def validate(self, view: t.Callable[..., t.Any]) -> RouteCallable:
        """Validate what ``view`` takes and serialise what it returns, by its type hints.

        A parameter's name says where its value comes from: ``body`` (a JSON body),
        ``query``, ``form`` (fields and :data:`~flask_plug.apidocs.File` uploads),
        ``headers``, ``cookies``; any other annotated parameter is a path variable,
        checked after its converter. Each is validated by pydantic (a JSON body in strict
        mode, which accepts what the document's schema describes) before the view runs;
        invalid input answers a :class:`~flask_plug.apidocs.RequestValidationError` and
        never reaches the view.

        A value of the return annotation's type (alone, or with a status and headers in
        a tuple) is sent as JSON holding only the fields that type declares. A
        ``Response`` or a string is sent as it is. Works on ``async def`` views.

        ::

            @app.post("/notes")
            @apidocs.validate
            def create_note(body: NewNote) -> tuple[Note, int]:
                return Note(id=1, title=body.title), 201

        .. versionadded:: 0.2
        """
        wrapper = validating(view)
        _update_metadata(wrapper, {"validate": True})
        # Typed as a view Flask's route decorators accept, whatever the function's own
        # return type: what it returns is turned into a response here.
        return t.cast("RouteCallable", wrapper)

    def exclude(self, view: F) -> F:
        """Leave a view out of the document."""
        _update_metadata(view, {"exclude": True})
        return view


def _update_metadata(view: object, docs: dict[str, t.Any]) -> None:
    # A new dict, so a view made with functools.wraps does not change the wrapped one's.
    metadata = _metadata(view)
    view.__flask_plug__ = {  # type: ignore[attr-defined]
        **metadata, "apidocs": {**metadata.get("apidocs", {}), **docs},
    }  # fmt: skip
