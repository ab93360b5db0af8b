"""The work of :meth:`~flask_plug.apidocs.APIDocs.validate` on each request: read and
validate the declared input, then serialise what the view returns to its declared type."""

from __future__ import annotations

import decimal
import functools
import inspect
import json
import typing as t

from flask import request
from pydantic import ValidationError
from pydantic_core import PydanticSerializationError
from werkzeug.datastructures import Headers
from werkzeug.wrappers import Response as BaseResponse

from ._state import EXTENSION_KEY, current_app_object
from .errors import FieldError, RequestValidationError, ResponseValidationError
from .signature import ViewTypes, view_types

if t.TYPE_CHECKING:
    from .signature import Input

F = t.TypeVar("F", bound=t.Callable[..., t.Any])


def validating(view: F) -> F:
    """``view`` wrapped so it gets validated input and its return value is serialised."""
    types: ViewTypes | None = None

    def prepare(kwargs: dict[str, t.Any]) -> tuple[ViewTypes, dict[str, t.Any]]:
        nonlocal types
        if types is None:  # a hint naming a class defined after the view is read here
            types = view_types(view)
        return types, read_inputs(types, kwargs)

    if inspect.iscoroutinefunction(view):

        @functools.wraps(view)
        async def async_wrapper(*args: t.Any, **kwargs: t.Any) -> t.Any:
            types, kwargs = prepare(kwargs)
            return respond(types, await view(*args, **kwargs), view)

        wrapper: t.Callable[..., t.Any] = async_wrapper
    else:

        @functools.wraps(view)
        def wrapper(*args: t.Any, **kwargs: t.Any) -> t.Any:
            types, kwargs = prepare(kwargs)
            return respond(types, view(*args, **kwargs), view)

    try:
        types = view_types(view)
    except NameError:
        pass  # a forward reference: read at the first request, or by the document
    else:
        if not types.inputs and types.output_adapter is None:
            return view  # nothing to validate or serialise: no wrapper, no cost
    return t.cast("F", wrapper)


def read_inputs(types: ViewTypes, kwargs: dict[str, t.Any]) -> dict[str, t.Any]:
    """``kwargs`` with each declared input validated.

    :raises RequestValidationError: 415 or 400 for a body that is not JSON, else 422 with
        every error of every location.
    """
    errors: list[FieldError] = []
    for given in types.inputs:
        try:
            if given.location == "path":
                if given.parameter in kwargs:
                    kwargs[given.parameter] = given.adapter.validate_python(kwargs[given.parameter])
            elif given.location == "body":
                body = _body(given)
                if body is not _LEFT_OUT:
                    kwargs["body"] = body
            elif given.location == "form" and not _is_form():
                if given.required or request.content_length or request.mimetype:
                    raise _not_a_form()
            else:
                kwargs[given.parameter] = given.adapter.validate_python(_collect(given))
        except ValidationError as error:
            errors.extend(_field_errors(given, error))
    if errors:
        count = f"{len(errors)} error{'s' if len(errors) > 1 else ''}"
        raise RequestValidationError(422, errors, f"The request is not valid: {count}.")
    return kwargs


def _body(given: Input) -> t.Any:
    """The validated JSON body; ``_LEFT_OUT`` for an optional one that was not sent."""
    if not request.is_json:
        if not given.required and not request.content_length and not request.mimetype:
            return _LEFT_OUT
        raise RequestValidationError(
            415,
            [_whole("body", "content_type", "Send the body as application/json.")],
            f"Expected a JSON body (application/json), got {request.mimetype or 'none'}.",
        )
    data = request.get_data(cache=True)
    try:
        # From the bytes, in strict mode: pydantic parses the JSON itself, and strict
        # mode accepts what the document's JSON Schema describes ("5" is not an integer).
        value = given.adapter.validate_json(data, strict=True)
    except ValidationError as error:
        unparsable = _unparsable(error)
        if unparsable is not None:
            raise unparsable from None
        # JSON Schema counts 5.0 as an integer, pydantic's strict mode does not: the
        # body is tried again with such numbers written as integers, and what that
        # refuses is what the schema refuses.
        rewritten = _integral_numbers_as_integers(data)
        if rewritten is None:
            raise
        value = given.adapter.validate_json(rewritten, strict=True)
    if b"NaN" in data or b"Infinity" in data:
        _refuse_non_finite(data)
    return value


_LEFT_OUT = object()
_HUGE = 4000
"""Decimal digits beyond which a number is left as a float (``inf``), not made an integer."""


def _integral_numbers_as_integers(data: bytes) -> bytes | None:
    """The JSON text with every number that has no fraction (``5.0``, ``1e2``) written
    as an integer; ``None`` if the text does not parse."""

    def number(text: str) -> int | float:
        exact = decimal.Decimal(text)
        if exact.is_finite() and exact.adjusted() < _HUGE and exact == exact.to_integral_value():
            return int(exact)
        return float(text)

    try:
        return json.dumps(json.loads(data, parse_float=number)).encode()
    except (ValueError, RecursionError):
        return None


def _unparsable(error: ValidationError) -> RequestValidationError | None:
    first = error.errors(include_url=False, include_input=False)[0]
    return _invalid_json(first["msg"]) if first["type"] == "json_invalid" else None


def _invalid_json(message: str) -> RequestValidationError:
    return RequestValidationError(
        400, [_whole("body", "json_invalid", message)], "The body is not valid JSON."
    )


def _refuse_non_finite(data: bytes) -> None:
    """pydantic's parser takes ``NaN`` and ``Infinity``, which JSON has no words for."""

    def refuse(constant: str) -> t.NoReturn:
        raise ValueError(f"{constant} is not JSON")

    try:
        json.loads(data, parse_constant=refuse)
    except ValueError as error:
        raise _invalid_json(str(error)) from None


def _collect(given: Input) -> dict[str, t.Any]:
    """The values of the fields ``given`` declares, from the request's ``location``."""
    location = given.location
    if location == "query":
        source: t.Any = request.args
    elif location == "headers":
        source = request.headers
    elif location == "cookies":
        source = request.cookies
    else:
        source = None
    values: dict[str, t.Any] = {}
    for field in given.fields:
        if source is None:  # a form: its files and fields are kept apart
            found = request.files.getlist(field.name) or request.form.getlist(field.name)
        else:
            found = source.getlist(field.name)
            if location == "headers" and field.many:
                # A list header is comma-separated (OpenAPI's "simple" style), and a
                # repeated header reaches WSGI joined with ", ".
                found = [item.strip() for value in found for item in value.split(",")]
        if found:
            values[field.key] = found if field.many else found[0]
    return values


def _is_form() -> bool:
    return request.mimetype in ("multipart/form-data", "application/x-www-form-urlencoded")


def _not_a_form() -> RequestValidationError:
    return RequestValidationError(
        415,
        [_whole("form", "content_type",
                "Send the form as multipart/form-data or application/x-www-form-urlencoded.")],
        f"Expected a form, got {request.mimetype or 'no body'}.",
    )  # fmt: skip


def _whole(location: str, kind: str, message: str) -> FieldError:
    return {"location": location, "field": [], "message": message, "type": kind}


def _field_errors(given: Input, error: ValidationError) -> list[FieldError]:
    """pydantic's errors, each located by the name the client sent (``X-Token``, a path
    variable's name) rather than the Python name."""
    names: dict[t.Any, str] = {field.key: field.name for field in given.fields}
    errors: list[FieldError] = []
    # Never the input itself: it may be a password; never pydantic's documentation URL.
    for found in error.errors(include_url=False, include_input=False, include_context=False):
        field: list[str | int] = list(found["loc"])
        if given.location == "path":
            field.insert(0, given.parameter)
        elif field and field[0] in names:
            field[0] = names[field[0]]
        errors.append({"location": given.location, "field": field, "message": found["msg"],
                       "type": found["type"]})  # fmt: skip
    return errors


def respond(types: ViewTypes, returned: t.Any, view: t.Callable[..., t.Any]) -> t.Any:
    """What the view returned, with its body serialised to the declared type: only the
    declared fields, as JSON. Status and headers pass to Flask as they were given."""
    if types.output_adapter is None:
        return returned
    rest: tuple[t.Any, ...] = ()
    body = returned
    if isinstance(returned, tuple):
        body, *others = returned
        rest = tuple(others)
    if isinstance(body, (BaseResponse, str, bytes)):
        return returned
    app = current_app_object()
    state = app.extensions.get(EXTENSION_KEY)
    validate = state is not None and state.settings.validate_responses
    response = app.response_class(
        _serialise(types, body, view, validate), mimetype="application/json"
    )
    endpoint = request.endpoint
    if state is not None and endpoint is not None and not _has_status(rest):
        status = state.success_status(app, endpoint, request.method)
        if status is not None:
            response.status_code = status
    return (response, *rest) if rest else response


def _has_status(rest: tuple[t.Any, ...]) -> bool:
    # Flask's forms: (body, status), (body, headers), (body, status, headers).
    return len(rest) == 2 or (len(rest) == 1 and not isinstance(rest[0], (dict, list, Headers)))


def _serialise(
    types: ViewTypes, body: t.Any, view: t.Callable[..., t.Any], validate: bool
) -> bytes:
    output = t.cast("t.Any", types.output_adapter)
    if validate:
        body = _validated(output, types.output, body, view)
    try:
        # warnings="error": a value of another type (a dict where a model is declared)
        # would be written whole, extra fields included, so it is converted first.
        return t.cast(bytes, output.dump_json(body, warnings="error"))
    except PydanticSerializationError:
        return t.cast(bytes, output.dump_json(_validated(output, types.output, body, view)))


def _validated(
    output: t.Any, annotation: t.Any, body: t.Any, view: t.Callable[..., t.Any]
) -> t.Any:
    try:
        value = output.validate_python(body, from_attributes=True)
        # pydantic trusts an instance of the declared class as it is: serialising it
        # finds a field that was given or set to a value of the wrong type.
        output.dump_python(value, warnings="error")
        return value
    except (ValidationError, PydanticSerializationError) as error:
        raise ResponseValidationError(
            f"{view.__qualname__} returned a value that is not its declared"
            f" {_name(annotation)}:\n{error}"
        ) from None


def _name(annotation: t.Any) -> str:
    return getattr(annotation, "__name__", None) or repr(annotation)
