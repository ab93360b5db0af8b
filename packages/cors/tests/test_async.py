"""``@cross_origin`` gives ``async def`` views their own rules, as it does plain ones."""

from __future__ import annotations

import asyncio

from flask import Flask

from flask_plug.cors import CORS, cross_origin

FRONTEND = "https://app.example.com"


def test_cross_origin_applies_to_an_async_view() -> None:
    app = Flask(__name__)
    CORS(app, origins=["https://other.example.com"])

    @app.route("/async", methods=["GET", "PUT"])
    @cross_origin(origins=[FRONTEND], allow_credentials=True)
    async def view() -> dict[str, bool]:
        await asyncio.sleep(0)
        return {"async": True}

    client = app.test_client()
    response = client.get("/async", headers={"Origin": FRONTEND})
    assert response.get_json() == {"async": True}
    assert response.headers["Access-Control-Allow-Origin"] == FRONTEND
    assert response.headers["Access-Control-Allow-Credentials"] == "true"
    preflight = client.options(
        "/async", headers={"Origin": FRONTEND, "Access-Control-Request-Method": "PUT"}
    )
    assert preflight.status_code in (200, 204)
    assert preflight.headers["Access-Control-Allow-Origin"] == FRONTEND
    other = client.get("/async", headers={"Origin": "https://other.example.com"})
    assert "Access-Control-Allow-Origin" not in other.headers


def test_cross_origin_off_for_an_async_view() -> None:
    app = Flask(__name__)
    CORS(app, origins="*")

    @app.get("/closed")
    @cross_origin(origins=[])
    async def closed() -> str:
        return "closed"

    response = app.test_client().get("/closed", headers={"Origin": FRONTEND})
    assert response.get_data(as_text=True) == "closed"
    assert "Access-Control-Allow-Origin" not in response.headers
