"""flask-plug-timer against bare Flask and flask-server-timing (the peer on PyPI)."""

from __future__ import annotations

import typing as t

from flask import Flask
from harness import Result, Variant, measure
from server_timing import Timing

from flask_plug.timer import Timer

PAYLOAD = {"id": 1, "title": "hello", "tags": ["a", "b"]}


def _app(name: str) -> Flask:
    return Flask(name)


def trivial_route() -> list[Variant]:
    bare = _app("bare")
    bare.get("/")(lambda: PAYLOAD)

    ours = _app("ours")
    Timer(ours)
    ours.get("/")(lambda: PAYLOAD)

    peer = _app("peer")
    Timing(peer, force_debug=True)
    peer.get("/")(lambda: PAYLOAD)

    return [
        Variant("bare Flask", bare),
        Variant("flask-plug-timer", ours),
        Variant("flask-server-timing 0.1.2", peer),
    ]


def one_span() -> list[Variant]:
    bare = _app("bare")
    bare.get("/")(lambda: PAYLOAD)

    ours = _app("ours")
    timer = Timer(ours, spans=True)

    @ours.get("/")
    def ours_view() -> t.Any:
        with timer.span("db", desc="load"):
            return PAYLOAD

    peer = _app("peer")
    Timing(peer, force_debug=True)

    @peer.get("/")
    def peer_view() -> t.Any:
        with Timing.time("db"):
            return PAYLOAD

    return [
        Variant("bare Flask", bare),
        Variant("flask-plug-timer", ours),
        Variant("flask-server-timing 0.1.2", peer),
    ]


def run() -> list[tuple[str, list[Result]]]:
    return [
        ("timer: trivial JSON route, total only", measure(trivial_route())),
        ("timer: JSON route with one span sent", measure(one_span())),
    ]
