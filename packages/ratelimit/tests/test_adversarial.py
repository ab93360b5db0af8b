"""What a hostile client controls (methods, paths, header values, bodies) never grows the
limiter's memory without bound, never makes it answer 500, and a 429 keeps its headers."""

from __future__ import annotations

import gc
import random
import string
import tracemalloc
import typing as t

from flask import Flask, request
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flask_plug.ratelimit import RateLimiter, header_key

STANDARD = {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE"}
TOKEN = string.ascii_letters + string.digits + "!#$%&'*+-.^_`|~"


def hostile_app(**options: t.Any) -> Flask:
    app = Flask(__name__)
    limiter = RateLimiter(app, default="50/hour", **options)

    @app.route("/items", methods=["GET", "POST", "PURGE"])
    @limiter.limit("20/minute", methods=["POST", "PURGE"])
    def items() -> str:
        return "items"

    @app.post("/echo")
    @limiter.limit("30/minute", key_func=header_key("Authorization"), cost=lambda: 1)
    def echo() -> str:
        return str(len(request.get_data()))

    @app.get("/free")
    @limiter.exempt
    def free() -> str:
        return "free"

    return app


def plans(app: Flask) -> int:
    """How many plans the limiter has cached (internal: no public view of the cache)."""
    return len(app.extensions["flask-plug-ratelimit"]._plans)


def plan_bound(app: Flask) -> int:
    """Each endpoint and "no endpoint" times the methods that get their own plan: the
    standard ones, any a route declares, and one shared by every other method."""
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    declared = {m for rule in app.url_map.iter_rules() for m in rule.methods or ()}
    return (len(endpoints) + 1) * (len(STANDARD | declared) + 1)


def random_method(rng: random.Random) -> str:
    return "".join(rng.choice(TOKEN) for _ in range(rng.randint(1, 12))).upper()


def random_path(rng: random.Random) -> str:
    known = ["/items", "/echo", "/free", "/"]
    if rng.random() < 0.5:
        return rng.choice(known)
    return "/x" + "".join(rng.choice(string.ascii_letters + "/-._~%") for _ in range(20))


def test_random_methods_and_paths_leave_the_plan_cache_bounded() -> None:
    app = hostile_app()
    client = app.test_client()
    rng = random.Random(13)

    def burst(n: int) -> None:
        for _ in range(n):
            environ = {"REMOTE_ADDR": f"198.51.100.{rng.randint(1, 4)}"}
            response = client.open(
                random_path(rng), method=random_method(rng), environ_base=environ
            )
            assert response.status_code < 500

    tracemalloc.start()
    try:
        burst(300)
        gc.collect()  # request contexts are freed by the cycle collector: count live memory
        before, _ = tracemalloc.get_traced_memory()
        burst(2000)
        gc.collect()
        after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert plans(app) <= plan_bound(app)
    assert after - before < 128 * 1024, f"grew {after - before} bytes over 2000 requests"


def test_refused_requests_add_no_plans() -> None:
    app = hostile_app()
    client = app.test_client()
    for _ in range(60):
        client.open("/nowhere", method="GET")
    assert client.open("/nowhere", method="GET").status_code == 429
    cached = plans(app)
    for i in range(500):
        response = client.open(f"/nowhere/{i}", method=f"M{i}")
        assert response.status_code == 429
        assert response.headers["RateLimit-Policy"] == '"default/50-3600";q=50;w=3600'
    assert plans(app) <= cached + 1  # the one plan all undeclared methods share


def test_a_declared_custom_method_keeps_its_own_limit() -> None:
    app = hostile_app()
    client = app.test_client()
    codes = [client.open("/items", method="PURGE").status_code for _ in range(21)]
    assert codes == [200] * 20 + [429]
    assert client.post("/items").status_code == 200  # counted apart from PURGE
    assert client.open("/items", method="NOTDECLARED").status_code == 405


methods = st.one_of(
    st.sampled_from(sorted(STANDARD | {"PURGE"})),
    st.text(alphabet=TOKEN, min_size=1, max_size=16).map(str.upper),
)
paths = st.one_of(
    st.sampled_from(["/items", "/echo", "/free", "/", "/items/"]),
    st.text(alphabet=string.printable.strip() + "é☃", max_size=40).map(lambda p: "/x" + p),
)
header_values = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=200
)
bodies = st.binary(max_size=2048)


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    requests=st.lists(st.tuples(methods, paths), min_size=1, max_size=8),
    forwarded=header_values,
    authorization=header_values,
    body=bodies,
    address=st.integers(1, 8),
)
def test_hostile_requests_never_500_and_stay_bounded(
    requests: list[tuple[str, str]], forwarded: str, authorization: str, body: bytes, address: int
) -> None:
    app = _APP
    for method, path in requests:
        response = _CLIENT.open(
            path,
            method=method,
            data=body,
            headers={"X-Forwarded-For": forwarded, "Authorization": authorization},
            environ_base={"REMOTE_ADDR": f"203.0.113.{address}"},
        )
        assert response.status_code < 500
        if response.status_code == 429:
            assert int(response.headers["Retry-After"]) >= 1
            assert response.headers["RateLimit-Policy"]
            assert ";r=0;" in response.headers["RateLimit"]
            assert response.content_type == "application/problem+json"
    assert plans(app) <= plan_bound(app)
    assert len(app.extensions["flask-plug-ratelimit"].storage) <= 64


# One app for every example, so its caches and counters accumulate across them all.
_APP = hostile_app(memory_max_keys=64)
_CLIENT = _APP.test_client()
