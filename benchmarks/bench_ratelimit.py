"""flask-plug-ratelimit against bare Flask and Flask-Limiter, in memory and in Redis."""

from __future__ import annotations

import os
import uuid

import redis
from flask import Flask
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from harness import Result, Variant, measure

from flask_plug.ratelimit import RateLimiter

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
PAYLOAD = {"id": 1, "title": "hello", "tags": ["a", "b"]}
LIMITS = "1000000/hour; 100000/minute"  # two limits, never reached


def _variants(storage_uri: str, prefix: str) -> list[Variant]:
    bare, ours, peer = Flask("bare"), Flask("ours"), Flask("peer")
    bare.get("/")(lambda: PAYLOAD)
    limiter = RateLimiter(ours, storage_uri=storage_uri, key_prefix=prefix)
    ours.get("/")(limiter.limit(LIMITS)(lambda: PAYLOAD))
    peer_limiter = Limiter(
        get_remote_address, app=peer, storage_uri=storage_uri, key_prefix=prefix + "-peer"
    )
    peer.get("/")(peer_limiter.limit(LIMITS)(lambda: PAYLOAD))
    return [
        Variant("bare Flask", bare),
        Variant("flask-plug-ratelimit", ours),
        Variant("Flask-Limiter 4.1.1", peer),
    ]


def run() -> list[tuple[str, list[Result]]]:
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    results = [
        ("ratelimit: two limits, memory storage", measure(_variants("memory://", prefix))),
        (
            "ratelimit: two limits, Redis storage on loopback",
            measure(_variants(REDIS_URL, prefix), requests=500, rounds=11),
        ),
    ]
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(match=f"{prefix}*"):
        client.delete(key)
    client.close()
    return results
