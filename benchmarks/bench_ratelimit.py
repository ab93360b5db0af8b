"""flask-plug-ratelimit against bare Flask and Flask-Limiter, in memory, in Redis, and in
a Redis Cluster of three masters that the benchmark starts on free ports.

With Redis a third reference runs beside them, the floor: bare Flask whose view makes one
trivial ``EVALSHA`` round trip (a script that returns 1) through redis-py to the same
server. No limiter that keeps its counters in Redis can cost less than that.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from pathlib import Path

import redis
from flask import Flask
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from harness import Result, Variant, measure

from flask_plug.ratelimit import RateLimiter
from flask_plug_testing import RedisClusterServers, RedisUnavailable

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
PAYLOAD = {"id": 1, "title": "hello", "tags": ["a", "b"]}
LIMITS = "1000000/hour; 100000/minute"  # two limits, never reached
BASELINE = "bare Flask"
OURS = "flask-plug-ratelimit"
FLOOR = "floor: one EVALSHA"

_measured: list[tuple[str, list[Result]]] = []


def _floor(storage_uri: str) -> Flask:
    """Bare Flask plus one round trip of a script that does nothing, through redis-py."""
    app = Flask("floor")
    client = redis.Redis.from_url(storage_uri)
    sha = client.script_load("return 1")

    @app.get("/")
    def index() -> dict[str, object]:
        client.evalsha(sha, 0)
        return PAYLOAD

    return app


def _variants(storage_uri: str, prefix: str) -> list[Variant]:
    bare, ours, peer = Flask("bare"), Flask("ours"), Flask("peer")
    bare.get("/")(lambda: PAYLOAD)
    limiter = RateLimiter(ours, storage_uri=storage_uri, key_prefix=prefix)
    ours.get("/")(limiter.limit(LIMITS)(lambda: PAYLOAD))
    peer_limiter = Limiter(
        get_remote_address, app=peer, storage_uri=storage_uri, key_prefix=prefix + "-peer"
    )
    peer.get("/")(peer_limiter.limit(LIMITS)(lambda: PAYLOAD))
    variants = [
        Variant(BASELINE, bare),
        Variant(OURS, ours),
        Variant("Flask-Limiter 4.1.1", peer),
    ]
    if storage_uri != "memory://":
        variants.append(Variant(FLOOR, _floor(storage_uri)))
    return variants


CLUSTER_LIMIT = "1000000/hour"  # three of it per request, never reached


def _clients_on_three_nodes(cluster: RedisClusterServers) -> list[str]:
    """Three client names whose keys (hash tag ``{client}``) live on three different nodes."""
    clients: dict[int, str] = {}
    for i in range(1000):
        name = f"client-{i}"
        node = cluster.node_for_slot(cluster.key_slot("{" + name + "}"))
        clients.setdefault(node.port, name)
        if len(clients) == 3:
            return list(clients.values())
    raise RuntimeError("the cluster's slots are not spread over three nodes")


def _cluster_variants(cluster: RedisClusterServers, prefix: str) -> list[Variant]:
    """Three limits per request, their key functions putting them in 1, 2 or 3 slots."""
    clients = _clients_on_three_nodes(cluster)
    bare = Flask("bare")
    bare.get("/")(lambda: PAYLOAD)
    variants = [Variant(BASELINE, bare)]
    for slots in (1, 2, 3):
        app = Flask(f"ours-{slots}")
        limiter = RateLimiter(app, storage_uri=cluster.url(), key_prefix=f"{prefix}-{slots}")
        view = lambda: PAYLOAD  # noqa: E731
        for i in range(3):
            name = clients[min(i, slots - 1)]
            view = limiter.shared_limit(CLUSTER_LIMIT, scope=f"s{i}", key_func=lambda n=name: n)(
                view
            )
        app.get("/")(view)
        label = f"flask-plug-ratelimit, {slots} slot{'s' if slots > 1 else ''}"
        variants.append(Variant(label, app))
    peer = Flask("peer")
    peer_limiter = Limiter(
        get_remote_address, app=peer, storage_uri=cluster.url(), key_prefix=prefix + "-peer"
    )
    view = lambda: PAYLOAD  # noqa: E731
    for i, name in enumerate(clients):
        view = peer_limiter.shared_limit(CLUSTER_LIMIT, scope=f"s{i}", key_func=lambda n=name: n)(
            view
        )
    peer.get("/")(view)
    variants.append(Variant("Flask-Limiter 4.1.1, 3 keys", peer))
    return variants


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
    try:
        with (
            tempfile.TemporaryDirectory() as workdir,
            RedisClusterServers(Path(workdir)) as cluster,
        ):
            results.append(
                (
                    "ratelimit: three limits in 1, 2 or 3 slots of a Redis Cluster on loopback",
                    measure(_cluster_variants(cluster, prefix), requests=500, rounds=11),
                )
            )
    except RedisUnavailable as e:
        print(f"ratelimit: Redis Cluster skipped: {e}")
    _measured[:] = results
    return results


def notes() -> str:
    """Each Redis variant's overhead over bare Flask as a multiple of the floor's:
    Markdown for ``benchmarks/run.py``, after the tables."""
    lines = []
    for title, results in _measured:
        micros = {r.label: r.micros for r in results}
        if FLOOR not in micros:
            continue
        floor = micros[FLOOR] - micros[BASELINE]
        multiples = ", ".join(
            f"{label} {(value - micros[BASELINE]) / floor:.2f}x"
            for label, value in micros.items()
            if label not in (BASELINE, FLOOR)
        )
        lines.append(
            f"- {title}: the floor (one trivial `EVALSHA` through redis-py) adds"
            f" {floor:+.1f} µs to bare Flask; overhead as a multiple of it: {multiples}."
        )
    lines.append(
        "- The Redis Cluster rows: three masters started for the run, on this machine, and"
        " three limits per request. flask-plug-ratelimit makes one script call per slot,"
        " every call written to its node before any answer is read; Flask-Limiter (with"
        " `redis+cluster://` too) asks about each limit on its own, each key on its own node."
    )
    return "\n".join(lines)


if __name__ == "__main__":
    from harness import table

    for title, results in run():
        print(table(title, results, baseline=BASELINE), end="\n\n")
    print(notes())
