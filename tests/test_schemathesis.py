"""Schemathesis fuzzes the demo's JSON API with the demo's own document, in-process."""

from __future__ import annotations

import shutil
import tempfile
import typing as t

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode

from flask_plug_demo import create_app
from flask_plug_demo.extensions import auth, reqlog

INSTANCE = tempfile.mkdtemp(prefix="demo-schemathesis-")
APP = create_app({"TESTING": True}, instance_path=INSTANCE)
CONFIG = schemathesis.Config()
CONFIG.projects.default.generation.update(
    modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE], max_examples=50
)
SCHEMA = schemathesis.openapi.from_wsgi("/docs/openapi.json", APP, config=CONFIG)


@pytest.fixture(scope="module", autouse=True)
def demo_app() -> t.Iterator[Flask]:
    yield APP
    reqlog.close(APP)
    shutil.rmtree(INSTANCE)


@pytest.fixture(scope="module")
def bearer(demo_app: Flask) -> dict[str, str]:
    with demo_app.test_request_context():
        [user] = [u for u in auth.store.list_users() if u.username == "demo"]
        return {"Authorization": f"Bearer {auth.create_token(user, name='schemathesis')}"}


@SCHEMA.parametrize()
@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_demo_matches_its_document(case: schemathesis.Case, bearer: dict[str, str]) -> None:
    response = case.call_and_validate(headers=bearer)
    print("CASE", case.method, case.meta.generation.mode.value if case.meta else None, case.meta.phase.name if case.meta else None, repr(case.body)[:60], case.headers, response.status_code)
