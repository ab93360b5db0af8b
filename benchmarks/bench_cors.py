"""flask-plug-cors against bare Flask and flask-cors, the CORS extension most apps use."""

from __future__ import annotations

from flask import Flask
from flask_cors import CORS as FlaskCors
from harness import Result, Variant, measure

from flask_plug.cors import CORS

FRONTEND = "https://app.example.com"
PAYLOAD = {"id": 1, "title": "hello", "tags": ["a", "b"]}


def _apps() -> tuple[Flask, Flask, Flask]:
    bare, ours, peer = Flask("bare"), Flask("ours"), Flask("peer")
    CORS(ours, origins=[FRONTEND])
    FlaskCors(peer, origins=[FRONTEND])
    for app in (bare, ours, peer):
        app.route("/", methods=["GET", "PUT"])(lambda: PAYLOAD)
    return bare, ours, peer


def simple_get() -> list[Variant]:
    bare, ours, peer = _apps()
    origin = (("Origin", FRONTEND),)
    return [
        Variant("bare Flask", bare, headers=origin),
        Variant("flask-plug-cors", ours, headers=origin),
        Variant("flask-cors 6.0.2", peer, headers=origin),
    ]


def preflight() -> list[Variant]:
    bare, ours, peer = _apps()
    asks = (
        ("Origin", FRONTEND),
        ("Access-Control-Request-Method", "PUT"),
        ("Access-Control-Request-Headers", "content-type"),
    )
    return [
        Variant("bare Flask", bare, method="OPTIONS", headers=asks),
        Variant("flask-plug-cors", ours, method="OPTIONS", headers=asks),
        Variant("flask-cors 6.0.2", peer, method="OPTIONS", headers=asks),
    ]


def run() -> list[tuple[str, list[Result]]]:
    return [
        ("cors: simple GET from an allowed origin", measure(simple_get())),
        ("cors: preflight (bare Flask answers OPTIONS without CORS)", measure(preflight())),
    ]
