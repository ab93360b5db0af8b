"""The document and the validator agree: a JSON body is accepted by a validated view
exactly when the JSON Schema the document gives for it accepts it.

The reference is jsonschema's Draft 2020-12 validator over the document's own components,
with its standard type checker (``5.0`` is an ``integer``, as JSON Schema says) and one
change, checked on its own below: ``pattern`` is read as ECMA-262 reads it, ``$`` is the
end of the text. Python's ``re`` (which jsonschema uses) lets ``$`` match before a final
newline; pydantic's regex engine does not, and neither does ECMA-262.
"""

from __future__ import annotations

import enum
import json
import re
import typing as t

import pytest
from flask import Flask
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator, validators  # type: ignore[import-untyped]
from jsonschema.exceptions import ValidationError  # type: ignore[import-untyped]
from pydantic import BaseModel, Field
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from flask_plug.apidocs import APIDocs

if t.TYPE_CHECKING:
    from collections.abc import Iterator

    from flask.testing import FlaskClient
    from jsonschema.protocols import Validator  # type: ignore[import-untyped]

NAME_PATTERN = r"^[a-z][a-z0-9_]*$"


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Inner(BaseModel):
    label: t.Annotated[str, Field(min_length=1)]
    weight: int = 0


class Ten(BaseModel):
    name: t.Annotated[str, Field(min_length=2, max_length=5, pattern=NAME_PATTERN)]
    age: t.Annotated[int, Field(ge=0, le=150)]
    score: t.Annotated[float, Field(gt=0, lt=1)]
    active: bool
    kind: t.Literal["a", "b", 3]
    color: Color
    tags: t.Annotated[list[str], Field(max_length=3)]
    inner: Inner | None = None
    code: int | str
    counts: dict[str, int]


VALID = {
    "name": "ab", "age": 5, "score": 0.5, "active": True, "kind": "a", "color": "red",
    "tags": [], "code": 1, "counts": {},
}  # fmt: skip


@pytest.fixture(scope="module")
def apidocs() -> APIDocs:
    return APIDocs()


@pytest.fixture(scope="module")
def app(apidocs: APIDocs) -> Flask:
    app = Flask(__name__)
    app.testing = True
    apidocs.init_app(app)

    @app.post("/ten")
    @apidocs.validate
    def ten(body: Ten) -> dict[str, t.Any]:
        if type(body) is not Ten:
            raise AssertionError(f"the view got {body!r}")
        return body.model_dump(mode="json")

    return app


@pytest.fixture(scope="module")
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def ecma_pattern(
    validator: Validator, pattern: str, instance: object, schema: dict[str, t.Any]
) -> Iterator[ValidationError]:
    # The only "$" in the document's patterns is an end anchor: \Z is ECMA-262's "$".
    if isinstance(instance, str) and not re.search(pattern.replace("$", r"\Z"), instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


ReferenceValidator = validators.extend(Draft202012Validator, validators={"pattern": ecma_pattern})


@pytest.fixture(scope="module")
def body_schema(apidocs: APIDocs, app: Flask) -> tuple[dict[str, t.Any], Registry[t.Any]]:
    """The request body's schema as the document gives it, and a registry holding the
    whole document, against which its ``#/components/...`` references resolve."""
    document = apidocs.document(app)
    body = document["paths"]["/ten"]["post"]["requestBody"]
    assert body["required"] is True
    schema = body["content"]["application/json"]["schema"]
    registry: Registry[t.Any] = Registry().with_resource(
        "urn:openapi", Resource.from_contents(document, DRAFT202012)
    )
    return {"$ref": "urn:openapi" + schema["$ref"]}, registry


@pytest.fixture(scope="module")
def reference(body_schema: tuple[dict[str, t.Any], Registry[t.Any]]) -> Validator:
    schema, registry = body_schema
    validator: Validator = ReferenceValidator(schema, registry=registry)
    return validator


@pytest.fixture(scope="module")
def standard(body_schema: tuple[dict[str, t.Any], Registry[t.Any]]) -> Validator:
    schema, registry = body_schema
    validator: Validator = Draft202012Validator(schema, registry=registry)
    return validator


def send(client: FlaskClient, text: str | bytes) -> int:
    response = client.post("/ten", data=text, content_type="application/json")
    assert response.status_code in (200, 422), response.get_data(as_text=True)
    return response.status_code


def test_the_document_describes_the_model(reference: Validator, standard: Validator) -> None:
    for validator in (reference, standard):
        assert validator.is_valid(VALID)
        assert not validator.is_valid({**VALID, "age": -1})
        assert not validator.is_valid({key: v for key, v in VALID.items() if key != "name"})
        assert not validator.is_valid({**VALID, "inner": {"label": ""}})


def test_a_valid_body(client: FlaskClient) -> None:
    assert send(client, json.dumps(VALID)) == 200
    assert send(client, json.dumps({**VALID, "inner": {"label": "x", "weight": 2}})) == 200


# --- integral floats, and the check of the reference's one change ----------------------


# Where Ten takes an int: its own field, a dict's value, a nested model's field. "@" is
# replaced by a number written as it is (json.dumps would write 100.0 for 1e2).
INT_PLACES: dict[str, dict[str, t.Any]] = {
    "age": {"age": "@"},
    "counts": {"counts": {"a": "@"}},
    "inner": {"inner": {"label": "x", "weight": "@"}},
}


def with_number(place: str, literal: str) -> str:
    return json.dumps({**VALID, **INT_PLACES[place]}).replace('"@"', literal)


def received(client: FlaskClient, text: str, place: str) -> t.Any:
    """The int the view got at ``place``, as its model_dump(mode="json") writes it."""
    response = client.post("/ten", data=text, content_type="application/json")
    assert response.status_code == 200, response.get_data(as_text=True)
    got = response.get_json()
    if place == "age":
        return got["age"]
    return got["counts"]["a"] if place == "counts" else got["inner"]["weight"]


@pytest.mark.parametrize(
    ("literal", "number"),
    [("5.0", 5), ("1e2", 100), ("1E2", 100), ("5.000", 5), ("2.5e1", 25), ("-0.0", 0)],
)
@pytest.mark.parametrize("place", sorted(INT_PLACES))
def test_an_integral_float_for_an_integer(
    client: FlaskClient, reference: Validator, place: str, literal: str, number: int
) -> None:
    """JSON Schema counts 5.0 as an integer (a number whose fractional part is zero), and
    so does the view, which gets the int."""
    text = with_number(place, literal)
    assert reference.is_valid(json.loads(text))
    value = received(client, text, place)
    assert value == number
    assert type(value) is int  # 5, not 5.0: the view got an int


@pytest.mark.parametrize("literal", ["5.5", "1e-1", "100.000001", "-0.5"])
@pytest.mark.parametrize("place", sorted(INT_PLACES))
def test_a_fractional_number_for_an_integer(
    client: FlaskClient, reference: Validator, place: str, literal: str
) -> None:
    text = with_number(place, literal)
    assert not reference.is_valid(json.loads(text))
    assert send(client, text) == 422


@pytest.mark.parametrize("literal", ["1.0", "1e2"])
def test_an_integral_float_for_an_integer_in_a_union(
    client: FlaskClient, reference: Validator, literal: str
) -> None:
    text = json.dumps({**VALID, "code": "@"}).replace('"@"', literal)
    assert reference.is_valid(json.loads(text))
    response = client.post("/ten", data=text, content_type="application/json")
    assert response.status_code == 200, response.get_data(as_text=True)
    code = response.get_json()["code"]
    assert code == float(literal)
    assert type(code) is int


@pytest.mark.parametrize(
    ("literal", "number"),
    [("1e19", 10**19), ("-1e19", -(10**19)), ("9223372036854775808.0", 2**63)],
)
@pytest.mark.parametrize("place", ["counts", "inner"])
def test_a_large_integral_float_for_an_integer(
    client: FlaskClient, reference: Validator, place: str, literal: str, number: int
) -> None:
    text = with_number(place, literal)
    assert reference.is_valid(json.loads(text))
    value = received(client, text, place)
    assert value == number
    assert type(value) is int


def test_a_refused_body_reports_only_what_the_schema_refuses(
    client: FlaskClient, reference: Validator
) -> None:
    text = json.dumps({**VALID, "age": "@", "name": 7}).replace('"@"', "5.0")
    assert [e.path[0] for e in reference.iter_errors(json.loads(text))] == ["name"]
    response = client.post("/ten", data=text, content_type="application/json")
    assert response.status_code == 422
    assert [e["field"] for e in response.get_json()["errors"]] == [["name"]]


def test_an_integral_float_for_an_int_literal_is_accepted(
    client: FlaskClient, reference: Validator
) -> None:
    """``Literal[3]`` takes 3.0 in strict mode, as JSON Schema's ``enum`` does (3.0 == 3)."""
    body = {**VALID, "kind": 3.0}
    assert reference.is_valid(body)
    assert send(client, json.dumps(body)) == 200


def test_dollar_is_the_end_of_the_text(
    client: FlaskClient, reference: Validator, standard: Validator
) -> None:
    """Python's re lets "$" match before a final newline, so jsonschema accepts "ab\\n" for
    ``^[a-z]...$``; ECMA-262 (what JSON Schema's ``pattern`` means) and the view do not."""
    body = {**VALID, "name": "ab\n"}
    assert standard.is_valid(body)
    assert not reference.is_valid(body)
    assert send(client, json.dumps(body)) == 422


@pytest.mark.parametrize(
    ("name", "accepted"),
    [
        ("a\U0001f600", False),  # one emoji: 2 code points, 3 UTF-16 units, 5 bytes
        ("a\U0001f600\U0001f600\U0001f600\U0001f600", False),  # 5 code points, 9 units
        ("ae\u0301", False),  # "é" as e + combining acute: 3 code points
        ("a\u00e9", False),
        ("a_\U0001f600", False),
        ("ab", True),
        ("abcde", True),
        ("abcdef", False),
    ],
)
def test_lengths_in_code_points(
    client: FlaskClient, reference: Validator, name: str, accepted: bool
) -> None:
    # The pattern refuses non-ASCII letters: lengths are checked below without it.
    body = {**VALID, "name": name}
    assert reference.is_valid(body) is accepted
    assert (send(client, json.dumps(body)) == 200) is accepted
    assert (send(client, json.dumps(body, ensure_ascii=False).encode()) == 200) is accepted


class Label(BaseModel):
    text: t.Annotated[str, Field(min_length=2, max_length=5)]


@pytest.mark.parametrize(
    "text",
    [
        "\U0001f600\U0001f600",  # 2 code points, 4 UTF-16 units, 8 bytes
        "\U0001f600" * 5,  # 5 code points, 10 UTF-16 units
        "e\u0301",  # 2 code points, one grapheme
        "\u00e9\u00e9\u00e9\u00e9\u00e9",  # 5 code points, 10 bytes
        "\U0001f600",
        "\U0001f600" * 6,
        "\u00e9",
    ],
)
def test_string_lengths_count_code_points(text: str) -> None:
    apidocs = APIDocs()
    app = Flask(__name__)
    apidocs.init_app(app)

    @app.post("/labels")
    @apidocs.validate
    def label(body: Label) -> dict[str, t.Any]:
        return {"length": len(body.text)}

    document = apidocs.document(app)
    schema = document["components"]["schemas"]["Label"]["properties"]["text"]
    accepted = Draft202012Validator(schema).is_valid(text)
    assert accepted is (2 <= len(text) <= 5)
    client = app.test_client()
    for data in (json.dumps({"text": text}), json.dumps({"text": text}, ensure_ascii=False)):
        response = client.post("/labels", data=data, content_type="application/json")
        assert (response.status_code == 200) is accepted


def test_a_repeated_key_of_a_dict(client: FlaskClient, reference: Validator) -> None:
    """An object with a repeated name means its last value to Python's json (and so to
    the reference validator), and to pydantic for a model's field. pydantic's strict
    pass refuses the first value of a repeated key of a ``dict[str, int]``; the second
    pass reads the body as Python's json does, so the two agree again."""
    text = json.dumps(VALID)[:-1] + ', "counts": {"a": "x", "a": 1}}'
    assert reference.is_valid(json.loads(text))
    assert send(client, text) == 200
    # A model's field: the last value, as Python's json reads it.
    text = json.dumps(VALID)[:-1] + ', "age": "x", "age": 7}'
    assert reference.is_valid(json.loads(text))
    assert send(client, text) == 200


# --- the property ----------------------------------------------------------------------


JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=6)
)
JSON = st.recursive(
    JSON_SCALARS,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=10,
)
NAME_TEXT = st.text(st.sampled_from("abz09_AZ-\n \u00e9\u0301\U0001f600"), min_size=0, max_size=7)
# Integral floats (integers to JSON Schema), and large ones below pydantic's 64-bit limit.
INTEGRAL_FLOATS = st.integers(-3, 200).map(float) | st.sampled_from([2.0**53 + 2, 1e18, -(2.0**62)])
# Each field: values that are valid, and values around its limits or of any JSON type.
GOOD: dict[str, st.SearchStrategy[t.Any]] = {
    "name": st.from_regex(r"\A[a-z][a-z0-9_]{1,4}\Z"),
    "age": st.integers(0, 150),
    "score": st.floats(0, 1, exclude_min=True, exclude_max=True),
    "active": st.booleans(),
    "kind": st.sampled_from(["a", "b", 3]),
    "color": st.sampled_from(["red", "blue"]),
    "tags": st.lists(st.text(max_size=4), max_size=3),
    "inner": st.none()
    | st.fixed_dictionaries({"label": st.text(min_size=1, max_size=3)},
                            optional={"weight": st.integers()}),
    "code": st.integers() | st.text(max_size=4),
    "counts": st.dictionaries(st.text(max_size=3), st.integers(), max_size=3),
}  # fmt: skip
WILD: dict[str, st.SearchStrategy[t.Any]] = {
    "name": NAME_TEXT | JSON,
    "age": st.integers(-3, 153) | INTEGRAL_FLOATS | JSON,
    "score": st.floats(-0.5, 1.5) | st.sampled_from([0, 1, 0.0, 1.0, 5e-324, 1 - 2**-53, -0.0])
    | st.integers(-1, 2) | JSON,
    "active": st.booleans() | st.sampled_from([0, 1, "true", None]),
    "kind": st.sampled_from(["a", "b", 3, 3.0, "3", "c", True, 4]) | JSON,
    "color": st.sampled_from(["red", "blue", "RED", "green", 0]) | JSON,
    "tags": st.lists(st.text(max_size=3) | JSON, max_size=5) | JSON,
    "inner": st.none()
    | st.fixed_dictionaries(
        {"label": st.text(max_size=2) | JSON},
        optional={"weight": st.integers() | INTEGRAL_FLOATS | JSON, "x": JSON},
    )
    | JSON,
    "code": st.integers() | st.text(max_size=3) | INTEGRAL_FLOATS | JSON,
    "counts": st.dictionaries(st.text(max_size=3), st.integers() | INTEGRAL_FLOATS | JSON,
                              max_size=3) | JSON,
}  # fmt: skip
MISSING = object()


@st.composite
def shaped(draw: st.DrawFn) -> dict[str, t.Any]:
    """An object of Ten's fields: most valid, up to three of them around their limits, of
    another JSON type or left out; sometimes with extra names."""
    wild = draw(st.sets(st.sampled_from(sorted(GOOD)), max_size=3))
    body = {}
    for name in GOOD:
        value = draw(st.just(MISSING) | WILD[name]) if name in wild else draw(GOOD[name])
        if value is not MISSING:
            body[name] = value
    body.update(draw(st.dictionaries(st.text(max_size=4), JSON, max_size=2)))
    return body


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=shaped() | shaped() | JSON, ascii_only=st.booleans())
@example(value=VALID, ascii_only=True)
@example(value={**VALID, "score": 1 - 2**-53}, ascii_only=True)
@example(value={**VALID, "code": 2**80, "counts": {"a": -(2**70)}}, ascii_only=True)
def test_accepted_exactly_when_the_schema_accepts(
    client: FlaskClient, reference: Validator, value: t.Any, ascii_only: bool
) -> None:
    text = json.dumps(value, ensure_ascii=ascii_only, allow_nan=False)
    expected = reference.is_valid(json.loads(text))
    event("valid" if expected else "invalid")
    status = send(client, text.encode())
    assert (status == 200) is expected, (text, sorted(e.message for e in reference.iter_errors(
        json.loads(text))))  # fmt: skip
