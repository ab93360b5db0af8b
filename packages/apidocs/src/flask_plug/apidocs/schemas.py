"""JSON Schema 2020-12 from Python types: dataclasses, TypedDicts, pydantic models and
the standard types they are built from."""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
import re
import sys
import types
import typing as t
import uuid

_REF_NAME = re.compile(r"[^A-Za-z0-9._-]")
_PYDANTIC_REF = "#/$pydantic/"

_SIMPLE: dict[t.Any, dict[str, t.Any]] = {
    str: {"type": "string"},
    int: {"type": "integer"},
    float: {"type": "number"},
    bool: {"type": "boolean"},
    type(None): {"type": "null"},
    bytes: {"type": "string", "contentEncoding": "base64"},
    datetime.datetime: {"type": "string", "format": "date-time"},
    datetime.date: {"type": "string", "format": "date"},
    datetime.time: {"type": "string", "format": "time"},
    datetime.timedelta: {"type": "string", "format": "duration"},
    uuid.UUID: {"type": "string", "format": "uuid"},
    decimal.Decimal: {"type": "string", "format": "decimal"},
    t.Any: {},
    object: {},
}


class UnsupportedType(TypeError):
    """A type that has no JSON Schema here; the message names it and where it was found."""


class SchemaRegistry:
    """Turns types into schemas; named types (dataclasses, TypedDicts, pydantic models,
    enums) become ``components/schemas`` entries referenced with ``$ref``."""

    def __init__(self) -> None:
        self.components: dict[str, dict[str, t.Any]] = {}
        """Named schemas by component name."""
        self._names: dict[t.Any, str] = {}

    def schema(self, annotation: t.Any) -> dict[str, t.Any]:
        """The schema of ``annotation``.

        :raises UnsupportedType: for a type with no JSON form.
        """
        if annotation in _SIMPLE:
            return dict(_SIMPLE[annotation])
        origin = t.get_origin(annotation)
        args = t.get_args(annotation)
        if origin is t.Annotated:
            return self.schema(args[0])
        if origin in (t.Union, types.UnionType):
            return self._union(args)
        if origin is t.Literal:
            return _literal(args)
        if origin in (list, set, frozenset, tuple) or _is_abc(origin, "Sequence", "Set"):
            return self._array(origin, args)
        if origin is dict or _is_abc(origin, "Mapping"):
            values = self.schema(args[1]) if len(args) == 2 else {}
            return {"type": "object", "additionalProperties": values}
        if annotation in (list, tuple, set, frozenset):
            return {"type": "array"}
        if annotation is dict:
            return {"type": "object"}
        if isinstance(annotation, type) and _is_named(annotation):
            return {"$ref": f"#/components/schemas/{self._register(annotation)}"}
        raise UnsupportedType(f"no JSON Schema for {annotation!r}")

    def add(self, name: str, schema: dict[str, t.Any]) -> dict[str, t.Any]:
        """Add a schema of the document's own (not from a type) under ``name``, or a free
        variant of it, once; returns the ``$ref`` to it."""
        key = ("named", name)
        if key not in self._names:
            self._names[key] = self._free_name(name)
            self.components[self._names[key]] = schema
        return {"$ref": f"#/components/schemas/{self._names[key]}"}

    def _free_name(self, name: str) -> str:
        while name in self.components:
            name += "_"
        return name

    def _union(self, args: tuple[t.Any, ...]) -> dict[str, t.Any]:
        schemas = [self.schema(arg) for arg in args]
        return {"anyOf": schemas}

    def _array(self, origin: t.Any, args: tuple[t.Any, ...]) -> dict[str, t.Any]:
        if origin is tuple and args and args[-1] is not Ellipsis:
            items = [self.schema(arg) for arg in args]
            return {"type": "array", "prefixItems": items, "minItems": len(items),
                    "maxItems": len(items)}  # fmt: skip
        schema: dict[str, t.Any] = {"type": "array"}
        if args:
            schema["items"] = self.schema(args[0])
        if origin in (set, frozenset) or _is_abc(origin, "Set"):
            schema["uniqueItems"] = True
        return schema

    def _register(self, cls: type) -> str:
        name = self._names.get(cls)
        if name is not None:
            return name
        name = _REF_NAME.sub("_", cls.__name__)
        if name in self.components:
            name = self._free_name(_REF_NAME.sub("_", f"{cls.__module__}.{cls.__qualname__}"))
        self._names[cls] = name
        self.components[name] = {}  # placeholder: a type may refer to itself
        try:
            self.components[name] = self._named_schema(cls)
        except UnsupportedType:
            del self._names[cls], self.components[name]
            raise
        return name

    def _named_schema(self, cls: type) -> dict[str, t.Any]:
        if issubclass(cls, enum.Enum):
            values = [member.value for member in cls]
            schema: dict[str, t.Any] = {"enum": values}
        elif _is_pydantic(cls):
            schema = self._pydantic(cls)
        else:
            schema = self._object(cls)
        doc = _own_doc(cls)
        if doc and "description" not in schema:
            schema["description"] = doc
        schema.setdefault("title", cls.__name__)
        return schema

    def _object(self, cls: type) -> dict[str, t.Any]:
        hints = t.get_type_hints(cls, include_extras=True)
        properties: dict[str, t.Any] = {}
        required: list[str] = []
        if dataclasses.is_dataclass(cls):
            for field in dataclasses.fields(cls):
                properties[field.name] = self._field(cls, field.name, hints[field.name])
                missing = dataclasses.MISSING
                if field.default is missing and field.default_factory is missing:
                    required.append(field.name)
        else:  # TypedDict
            required_keys = getattr(cls, "__required_keys__", frozenset(hints))
            for name, hint in hints.items():
                # With string annotations, Python < 3.12 cannot see NotRequired[...] when
                # it makes __required_keys__; the resolved hint still says it.
                wrapper = getattr(t.get_origin(hint), "__name__", None)
                properties[name] = self._field(cls, name, _strip_required(hint))
                if wrapper == "Required" or (name in required_keys and wrapper != "NotRequired"):
                    required.append(name)
        schema: dict[str, t.Any] = {"type": "object", "properties": properties}
        if required:
            schema["required"] = required
        return schema

    def _field(self, cls: type, name: str, hint: t.Any) -> dict[str, t.Any]:
        try:
            return self.schema(hint)
        except UnsupportedType as error:
            raise UnsupportedType(f"{cls.__qualname__}.{name}: {error}") from None

    def _pydantic(self, cls: type) -> dict[str, t.Any]:
        schema: dict[str, t.Any] = cls.model_json_schema(  # type: ignore[attr-defined]
            ref_template=_PYDANTIC_REF + "{model}", mode="serialization"
        )
        definitions: dict[str, t.Any] = schema.pop("$defs", {})
        # pydantic names its definitions for this one model; give each a name that is free
        # in the whole document, or reuse a component that is exactly the same.
        names: dict[str, str] = {}
        own = schema.get("$ref", "").removeprefix(_PYDANTIC_REF)
        if own in definitions:  # a recursive model: pydantic defines it in $defs too
            names[own] = self._names[cls]
        same = {name: _REF_NAME.sub("_", name) for name in definitions}
        reused = {
            name
            for name, definition in definitions.items()
            if name not in names
            and self.components.get(same[name]) == _rename_refs(definition, same)
        }
        for name in definitions:
            if name in reused:
                names[name] = same[name]
            elif name not in names:
                names[name] = self._free_name(same[name])
                self.components[names[name]] = {}
        for name, definition in definitions.items():
            if name not in reused:
                self.components[names[name]] = _rename_refs(definition, names)
        if own in definitions:
            return self.components[names[own]]
        return t.cast(dict[str, t.Any], _rename_refs(schema, names))


def _is_named(cls: type) -> bool:
    return (
        dataclasses.is_dataclass(cls)
        or _is_typeddict(cls)
        or issubclass(cls, enum.Enum)
        or _is_pydantic(cls)
    )


def _is_typeddict(cls: type) -> bool:
    # typing's and typing_extensions' TypedDicts are different classes, alike in this.
    return issubclass(cls, dict) and hasattr(cls, "__required_keys__")


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


def _is_pydantic(cls: type) -> bool:
    pydantic = sys.modules.get("pydantic")
    return pydantic is not None and issubclass(cls, pydantic.BaseModel)


def _is_abc(origin: t.Any, *names: str) -> bool:
    import collections.abc

    return any(origin is getattr(collections.abc, name) for name in names) or (
        origin is not None
        and any(origin is getattr(collections.abc, f"Mutable{name}", None) for name in names)
    )


def _literal(values: tuple[t.Any, ...]) -> dict[str, t.Any]:
    if len(values) == 1:
        return {"const": values[0]}
    return {"enum": list(values)}


def _strip_required(hint: t.Any) -> t.Any:
    origin = t.get_origin(hint)
    if origin is not None and getattr(origin, "__name__", "") in ("Required", "NotRequired"):
        return t.get_args(hint)[0]
    return hint


def _own_doc(cls: type) -> str | None:
    doc = cls.__dict__.get("__doc__")
    if not doc or (dataclasses.is_dataclass(cls) and doc.startswith(f"{cls.__name__}(")):
        return None  # dataclasses invent a docstring from the signature
    import inspect

    return inspect.cleandoc(doc)
