"""JSON Schema 2020-12 from Python types, by pydantic: the engine that validates requests
and serialises responses also writes their schemas, so the document and the validator
cannot disagree."""

from __future__ import annotations

import contextlib
import functools
import re
import typing as t

from pydantic import PydanticSchemaGenerationError, PydanticUserError, TypeAdapter
from pydantic.json_schema import GenerateJsonSchema

_REF_NAME = re.compile(r"[^A-Za-z0-9._-]")
_PYDANTIC_REF = "#/$pydantic/"

Mode = t.Literal["validation", "serialization"]


class UnsupportedType(TypeError):
    """A type pydantic cannot validate or describe; the message names it and where it was
    found."""


R = t.TypeVar("R")


def _once_per_type(function: t.Callable[..., R]) -> t.Callable[..., R]:
    """``function`` with its result kept per argument, for arguments that can be keys;
    ``Annotated[..., Field(...)]`` cannot (pydantic's field info is not hashable)."""
    cached = functools.lru_cache(maxsize=1024)(function)

    @functools.wraps(function)
    def lookup(*key: t.Any) -> R:
        try:
            hash(key)
        except TypeError:
            return function(*key)
        return cached(*key)

    return lookup


@_once_per_type
def adapter(annotation: t.Any) -> TypeAdapter[t.Any]:
    """pydantic's adapter for ``annotation``, made once per type.

    :raises UnsupportedType: for a type pydantic cannot handle (on Python < 3.12 that
        includes ``typing.TypedDict``: use ``typing_extensions.TypedDict``).
    """
    try:
        return TypeAdapter(annotation)
    except (PydanticSchemaGenerationError, PydanticUserError) as error:
        first_line = str(error).splitlines()[0]
        raise UnsupportedType(f"no JSON Schema for {annotation!r}: {first_line}") from None


@_once_per_type
def _json_schema(annotation: t.Any, mode: Mode) -> dict[str, t.Any]:
    """pydantic's schema of ``annotation``, made once per type and mode: a document names
    the same types on many routes, and pydantic takes about a millisecond for each. The
    result is shared: read it, never change it."""
    try:
        return adapter(annotation).json_schema(
            ref_template=_PYDANTIC_REF + "{model}", schema_generator=_Generator, mode=mode
        )
    except PydanticUserError as error:  # a type that validates but has no schema
        raise UnsupportedType(f"no JSON Schema for {annotation!r}: {error}") from None


class _Generator(GenerateJsonSchema):
    """pydantic's schemas without the title it makes up for every field ("Due Date" for
    ``due_date``): noise in the UIs, and nothing a validator reads."""

    def field_title_should_be_set(self, schema: t.Any) -> bool:
        return False


class SchemaRegistry:
    """Turns types into schemas; named types (dataclasses, TypedDicts, pydantic models,
    enums) become ``components/schemas`` entries referenced with ``$ref``.

    .. versionchanged:: 0.2
        Schemas are pydantic's (``TypeAdapter.json_schema``), the ones its validation
        follows; request bodies are described in pydantic's validation mode, responses in
        its serialisation mode.
    """

    def __init__(self) -> None:
        self.components: dict[str, dict[str, t.Any]] = {}
        """Named schemas by component name."""
        self._named: dict[str, str] = {}
        self._made: dict[tuple[t.Any, Mode], dict[str, t.Any]] = {}

    def schema(self, annotation: t.Any, mode: Mode = "serialization") -> dict[str, t.Any]:
        """The schema of ``annotation`` as input (``mode="validation"``) or output.

        :raises UnsupportedType: for a type with no JSON form.
        """
        try:
            return dict(self._made[annotation, mode])
        except (KeyError, TypeError):  # not made yet, or not hashable
            pass
        generated = dict(_json_schema(annotation, mode))  # the cached one is left as it is
        names = self._merge(generated.pop("$defs", {}))
        schema: dict[str, t.Any] = _rename_refs(generated, names)
        if isinstance(annotation, type) and "$ref" not in schema and "title" in schema:
            # A named type: a component of its own, as it is when nested.
            name = self._place(_REF_NAME.sub("_", annotation.__name__), schema)
            schema = {"$ref": f"#/components/schemas/{name}"}
        with contextlib.suppress(TypeError):
            self._made[annotation, mode] = schema
        return dict(schema)

    def add(self, name: str, schema: dict[str, t.Any]) -> dict[str, t.Any]:
        """Add a schema of the document's own (not from a type) under ``name``, or a free
        variant of it, once; returns the ``$ref`` to it."""
        if name not in self._named:
            self._named[name] = self._place(name, schema)
        return {"$ref": f"#/components/schemas/{self._named[name]}"}

    def _place(self, name: str, schema: dict[str, t.Any]) -> str:
        """``name``, or the first of ``name_``, ``name__`` … that is free or holds an
        equal schema, now holding ``schema``."""
        while name in self.components and self.components[name] != schema:
            name += "_"
        self.components[name] = schema
        return name

    def _merge(self, definitions: dict[str, t.Any]) -> dict[str, str]:
        """Add pydantic's definitions for one type to the components; returns the
        component name of each.

        pydantic names its definitions for that one type; each gets its own name when free
        in the whole document, or reuses a component that is exactly the same.
        """
        # pydantic tells same-named classes of one type apart by module path
        # ("app__models__Owner"): a Python path has no place in the document, and the
        # first free name ("Owner", "Owner_") says the same.
        same = {name: _REF_NAME.sub("_", name.rpartition("__")[2]) for name in definitions}
        reused = {
            name
            for name, definition in definitions.items()
            if self.components.get(same[name]) == _rename_refs(definition, same)
        }
        names: dict[str, str] = {}
        for name in definitions:
            if name in reused:
                names[name] = same[name]
            else:
                names[name] = same[name]
                while names[name] in self.components:
                    names[name] += "_"
                self.components[names[name]] = {}  # taken, filled below
        for name, definition in definitions.items():
            if name not in reused:
                self.components[names[name]] = _rename_refs(definition, names)
        return names


def _rename_refs(schema: t.Any, names: dict[str, str]) -> t.Any:
    if isinstance(schema, dict):
        renamed = {key: _rename_refs(value, names) for key, value in schema.items()}
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith(_PYDANTIC_REF):
            renamed["$ref"] = "#/components/schemas/" + names[ref.removeprefix(_PYDANTIC_REF)]
        return renamed
    if isinstance(schema, list):
        return [_rename_refs(item, names) for item in schema]
    return schema
