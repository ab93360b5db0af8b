"""flask-plug-stats against bare Flask and prometheus-flask-exporter (the peer on PyPI)."""

from __future__ import annotations

from flask import Flask
from harness import Result, Variant, measure
from prometheus_client import CollectorRegistry
from prometheus_flask_exporter import PrometheusMetrics

from flask_plug.stats import Stats

PAYLOAD = {"id": 1, "title": "hello", "tags": ["a", "b"]}


def trivial_route() -> list[Variant]:
    bare = Flask("bare")
    bare.get("/")(lambda: PAYLOAD)

    ours = Flask("ours")
    Stats(ours)
    ours.get("/")(lambda: PAYLOAD)

    peer = Flask("peer")
    # Its own registry: several apps in one process would clash in the global one.
    PrometheusMetrics(peer, registry=CollectorRegistry())
    peer.get("/")(lambda: PAYLOAD)

    return [
        Variant("bare Flask", bare),
        Variant("flask-plug-stats", ours),
        Variant("prometheus-flask-exporter 0.23.2", peer),
    ]


def run() -> list[tuple[str, list[Result]]]:
    return [("stats: trivial JSON route", measure(trivial_route()))]
