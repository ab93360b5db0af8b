"""Every collected test has a node id of its own, so pytest-xdist runs each of them in
every scheduling mode; schemathesis's tests (one per API operation) included."""

from __future__ import annotations

import typing as t

import pytest

if t.TYPE_CHECKING:
    from _pytest.pytester import Pytester

pytest_plugins = ["pytester"]

FUZZED_APP = """
import schemathesis
from flask import Flask
from hypothesis import settings

app = Flask(__name__)


@app.get("/first")
def first():
    return "first"


@app.get("/second")
def second():
    return "second"


SCHEMA = schemathesis.openapi.from_dict(
    {
        "openapi": "3.1.0",
        "info": {"title": "two operations", "version": "1"},
        "paths": {
            "/first": {"get": {"responses": {"200": {"description": "OK"}}}},
            "/second": {"get": {"responses": {"200": {"description": "OK"}}}},
        },
    }
)
SCHEMA.app = app


@SCHEMA.parametrize()
@settings(max_examples=1, database=None)
def test_operation(case):
    case.call_and_validate(checks=[])
"""


def test_each_operation_of_a_schemathesis_test_has_a_node_id_of_its_own(
    pytester: Pytester,
) -> None:
    pytest.importorskip("schemathesis")
    pytester.makepyfile(test_fuzzed=FUZZED_APP)
    result = pytester.runpytest_subprocess("--collect-only", "-q", "-p", "no:randomly")
    ids = [line for line in result.outlines if "::" in line]
    assert ids == [
        "test_fuzzed.py::test_operation[GET /first]",
        "test_fuzzed.py::test_operation[GET /second]",
    ]


def test_xdist_runs_every_operation_of_a_schemathesis_test_by_file(pytester: Pytester) -> None:
    pytest.importorskip("schemathesis")
    pytest.importorskip("xdist")
    pytester.makepyfile(test_fuzzed=FUZZED_APP)
    result = pytester.runpytest_subprocess("-n", "2", "--dist", "loadfile", "-p", "no:randomly")
    result.assert_outcomes(passed=2)
