"""What invalid input answers, and what a view returning the wrong thing raises."""

from __future__ import annotations

import json
import typing as t

from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.wrappers import Response

if t.TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment
    from werkzeug.sansio.request import Request as WSGIRequest

PROBLEM_MIMETYPE = "application/problem+json"


class FieldError(t.TypedDict):
    """One reason the input was refused."""

    location: str
    """Where the value was: ``body``, ``query``, ``form``, ``headers``, ``cookies`` or
    ``path``."""
    field: list[str | int]
    """The path to the value inside its location: ``["items", 0, "name"]``; empty for the
    location as a whole (unparseable JSON, say)."""
    message: str
    """What is wrong, in English."""
    type: str
    """A stable machine-readable kind: pydantic's error type (``missing``,
    ``string_too_long`` …), or ``json_invalid`` / ``content_type``."""


class RequestValidationError(HTTPException):
    """Input of a view decorated with :meth:`~flask_plug.apidocs.APIDocs.validate` was
    refused before the view ran.

    Its response is an RFC 9457 problem (``application/problem+json``) with the list of
    :class:`FieldError`. ``code`` is ``422`` for values that do not validate, ``400`` for
    a JSON body that does not parse, ``415`` for a body of the wrong content type.

    To answer in another format, register a handler the Flask way; the ``error_schema``
    option of :class:`~flask_plug.apidocs.APIDocs` documents its body::

        @app.errorhandler(RequestValidationError)
        def invalid(error: RequestValidationError):
            return {"message": error.description, "problems": error.errors}, error.code

    .. versionadded:: 0.2
    """

    def __init__(self, code: int, errors: list[FieldError], description: str) -> None:
        super().__init__(description=description)
        # One class for the three statuses, so one errorhandler catches them all.
        self.code = code
        self.errors = errors
        """What was refused, in the order it was found."""

    def problem(self) -> dict[str, t.Any]:
        """The JSON body of the default response."""
        return {
            "type": "about:blank",
            "title": HTTP_STATUS_CODES.get(self.code or 422, "Unprocessable Content"),
            "status": self.code,
            "detail": self.description,
            "errors": self.errors,
        }

    def get_response(
        self,
        environ: WSGIEnvironment | WSGIRequest | None = None,
        scope: dict[str, t.Any] | None = None,
    ) -> Response:
        # ensure_ascii: the body may quote the client's own text, lone surrogates included.
        return Response(json.dumps(self.problem()), self.code, mimetype=PROBLEM_MIMETYPE)


class ResponseValidationError(TypeError):
    """A view decorated with :meth:`~flask_plug.apidocs.APIDocs.validate` returned what its
    return annotation says it does not; with ``APIDOCS_VALIDATE_RESPONSES`` on, or when the
    value cannot be turned into the annotated type at all.

    .. versionadded:: 0.2
    """


PROBLEM_SCHEMA: dict[str, t.Any] = {
    "type": "object",
    "description": "An RFC 9457 problem document.",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
    },
}
"""The ``Problem`` component: what every problem response of the document has."""

VALIDATION_PROBLEM_SCHEMA: dict[str, t.Any] = {
    "type": "object",
    "description": "An RFC 9457 problem document listing the input that was refused.",
    "required": ["type", "title", "status", "detail", "errors"],
    "properties": {
        **PROBLEM_SCHEMA["properties"],
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["location", "field", "message", "type"],
                "properties": {
                    "location": {
                        "type": "string",
                        "enum": ["body", "query", "form", "headers", "cookies", "path"],
                    },
                    "field": {
                        "type": "array",
                        "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
                        "description": "The path to the value inside its location.",
                    },
                    "message": {"type": "string"},
                    "type": {"type": "string", "description": "A machine-readable kind."},
                },
            },
        },
    },
}
"""The ``ValidationProblem`` component: the body of a :class:`RequestValidationError`."""
