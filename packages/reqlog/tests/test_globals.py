"""``g.request_id`` reads the same however it is read, before anything has loaded it."""

from __future__ import annotations

import typing as t

import pytest
from flask import Flask, g

if t.TYPE_CHECKING:
    from flask.testing import FlaskClient


@pytest.mark.parametrize(
    ("way", "read"),
    [
        ("attr", lambda: g.request_id),
        ("getattr", lambda: getattr(g, "request_id", "missing")),
        ("get", lambda: g.get("request_id")),
        ("get-default", lambda: g.get("request_id", "default")),
        ("pop", lambda: g.pop("request_id", "missing")),
        ("setdefault", lambda: g.setdefault("request_id", "mine")),
        ("in", lambda: "request_id" in g and "echoed"),
    ],
)
def test_every_way_of_reading_g_request_id_sees_the_id(
    app: Flask, client: FlaskClient, way: str, read: t.Callable[[], t.Any]
) -> None:
    @app.get(f"/read/{way}")
    def view() -> dict[str, t.Any]:
        return {"value": read()}

    response = client.get(f"/read/{way}")
    echoed = response.headers["X-Request-ID"]
    value = response.get_json()["value"]
    assert value == ("echoed" if way == "in" else echoed)


def test_outside_a_request_there_is_no_request_id(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        assert g.get("request_id") is None
        assert "request_id" not in g
        assert g.pop("request_id", "missing") == "missing"
        assert g.setdefault("request_id", "mine") == "mine"
