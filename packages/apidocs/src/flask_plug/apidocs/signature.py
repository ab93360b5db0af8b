"""What a view takes and returns, read once from its signature: the one source both the
validator and the document use."""

from __future__ import annotations

import dataclasses
import inspect
import typing as t
import weakref

from pydantic import TypeAdapter
from pydantic_core import core_schema
from werkzeug.datastructures import FileStorage

from .schemas import UnsupportedType, adapter

if t.TYPE_CHECKING:
    from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
    from pydantic.json_schema import JsonSchemaValue

LOCATIONS = ("body", "query", "form", "headers", "cookies")
"""Parameter names that take their value from the request; any other annotated parameter
is a path variable."""


class _UploadedFile:
    """Tells pydantic that a :class:`~werkzeug.datastructures.FileStorage` is a file
    upload: accepted as it is, documented as binary."""

    def __get_pydantic_core_schema__(
        self, source: t.Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.is_instance_schema(FileStorage)

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {"type": "string", "format": "binary"}


File = t.Annotated[FileStorage, _UploadedFile()]
"""A file uploaded in a ``multipart/form-data`` body: the type of a ``form`` field.
The view receives Werkzeug's :class:`~werkzeug.datastructures.FileStorage`.

.. versionadded:: 0.2
"""


@dataclasses.dataclass(frozen=True)
class Field:
    """One named value of a query string, form, headers or cookies."""

    key: str
    """The key the type validates (its field name, or alias)."""
    name: str
    """The name in the request: ``key``, or for a header ``user_agent`` -> ``User-Agent``."""
    many: bool
    """A list: every value of a repeated name (``?tag=a&tag=b``)."""


@dataclasses.dataclass(frozen=True)
class Input:
    """One parameter of the view that apidocs fills from the request."""

    parameter: str
    location: str
    """``body``, ``query``, ``form``, ``headers``, ``cookies`` or ``path``."""
    annotation: t.Any
    adapter: TypeAdapter[t.Any]
    fields: tuple[Field, ...] = ()
    """The named values, for every location but ``body`` and ``path``."""
    required: bool = True


@dataclasses.dataclass(frozen=True)
class ViewTypes:
    """Everything :meth:`~flask_plug.apidocs.APIDocs.validate` does for one view."""

    inputs: tuple[Input, ...]
    output: t.Any
    """The annotated type of the response body; ``None`` when the view returns something
    Flask turns into a response itself (a ``Response``, ``str``, nothing declared)."""
    output_adapter: TypeAdapter[t.Any] | None

    def location(self, name: str) -> Input | None:
        """The input of location ``name``, if the view takes one."""
        return next((i for i in self.inputs if i.location == name), None)


_cache: weakref.WeakKeyDictionary[t.Callable[..., t.Any], ViewTypes] = weakref.WeakKeyDictionary()


def view_types(function: t.Callable[..., t.Any]) -> ViewTypes:
    """The inputs and output ``function`` declares, read from its signature.

    :raises UnsupportedType: for a parameter or return type pydantic cannot validate,
        naming the function and the parameter.
    :raises NameError: for a hint that names something not defined (yet).
    """
    function = inspect.unwrap(function)
    try:
        return _cache[function]
    except KeyError:
        pass
    hints = t.get_type_hints(function, include_extras=True)
    parameters = inspect.signature(function).parameters
    inputs = []
    for parameter in parameters.values():
        if parameter.name not in hints or parameter.kind in (
            parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD,
        ):  # fmt: skip
            continue
        annotation = hints[parameter.name]
        location = parameter.name if parameter.name in LOCATIONS else "path"
        try:
            inputs.append(_input(parameter, location, annotation))
        except UnsupportedType as error:
            raise UnsupportedType(f"{function.__qualname__}({parameter.name}): {error}") from None
    output = return_type(function, hints)
    output_adapter = None if output in (None, str) else adapter(output)  # Flask sends a str
    types = ViewTypes(tuple(inputs), output, output_adapter)
    _cache[function] = types
    return types


def return_type(function: t.Callable[..., t.Any], hints: dict[str, t.Any] | None = None) -> t.Any:
    """The body type of the return hint, if pydantic can serialise it (or ``str``: Flask's
    HTML); ``None`` for no hint, ``None``, ``bytes``, a ``Response`` and the like."""
    if hints is None:
        try:
            hints = t.get_type_hints(inspect.unwrap(function), include_extras=True)
        except Exception:
            return None  # a hint that cannot be resolved documents nothing
    annotation = hints.get("return")
    if t.get_origin(annotation) is tuple and t.get_args(annotation)[1:2] != (Ellipsis,):
        # Flask reads a returned tuple as (body, status) or (body, status, headers).
        annotation = t.get_args(annotation)[0] if t.get_args(annotation) else None
    if annotation is None or annotation is type(None) or annotation is bytes:
        return None
    try:
        adapter(annotation)
    except UnsupportedType:
        return None
    return annotation


def _input(parameter: inspect.Parameter, location: str, annotation: t.Any) -> Input:
    required = parameter.default is inspect.Parameter.empty
    validator = adapter(annotation)
    if location in ("body", "path"):
        return Input(parameter.name, location, annotation, validator, required=required)
    return Input(
        parameter.name, location, annotation, validator, _fields(validator, location), required
    )


def _fields(validator: TypeAdapter[t.Any], location: str) -> tuple[Field, ...]:
    schema = validator.json_schema(mode="validation")
    target = _resolve(schema, schema)
    properties = target.get("properties")
    if target.get("type") != "object" or not isinstance(properties, dict):
        raise UnsupportedType(f"a {location} type must be a pydantic model, dataclass or TypedDict")
    return tuple(
        Field(
            key,
            key.replace("_", "-") if location == "headers" else key,
            _is_array(_resolve(schema, prop)),
        )
        for key, prop in properties.items()
    )


def _resolve(root: dict[str, t.Any], schema: dict[str, t.Any]) -> dict[str, t.Any]:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        return t.cast("dict[str, t.Any]", root["$defs"][ref.removeprefix("#/$defs/")])
    return schema


def _is_array(schema: dict[str, t.Any]) -> bool:
    if schema.get("type") == "array":
        return True
    return any(option.get("type") == "array" for option in schema.get("anyOf", ()))
