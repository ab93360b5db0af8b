"""What a hostile client sends: random methods, paths, header values and bodies.

None of it may answer 500, and none of it may add metric series, JSON summary entries or
memory without bound: a client chooses the method and the path, so neither may become a
label value of its own.
"""

from __future__ import annotations

import gc
import random
import string
import tracemalloc
import typing as t

from flask import Flask, request
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families

from flask_plug.stats import Stats

if t.TYPE_CHECKING:
    from flask.testing import FlaskClient

STANDARD = {"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"}
DECLARED = {"PROPFIND", "PURGE"}  # the methods make_app's routes declare beyond the standard
METHOD_LABELS = STANDARD | DECLARED | {"other"}
TOKEN = string.ascii_letters + string.digits + "!#$%&'*+-.^_`|~"


def make_app() -> Flask:
    """An app whose routes declare a method of their own, one of them after ``init_app``."""
    app = Flask(__name__)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    stats = Stats(app)

    @stats.collector("body_bytes")
    def body_bytes(request: t.Any, response: t.Any, elapsed: float) -> int:
        return request.content_length or 0

    @app.get("/users/<int:user_id>")
    def user(user_id: int) -> str:
        return f"user {user_id}"

    @app.route("/dav", methods=["PROPFIND"])
    def dav() -> str:
        return "dav"

    @app.post("/echo")
    def echo() -> dict[str, t.Any]:
        return {"length": len(request.get_data()), "form": len(request.form)}

    # Routes may be added after init_app: their methods must still count as declared.
    app.add_url_rule("/cache", "cache", lambda: "purged", methods=["PURGE"])
    return app


def random_method(rng: random.Random) -> str:
    return "".join(rng.choices(TOKEN, k=rng.randint(3, 16)))


def random_path(rng: random.Random) -> str:
    # Never "//": the test client would read what follows as a host.
    first = rng.choice(string.ascii_letters)
    return f"/{first}" + "".join(rng.choices(string.ascii_letters + string.digits + "/-._~", k=11))


def samples(client: FlaskClient, name: str = "flask_http_requests_total") -> list[t.Any]:
    text = client.get("/admin/stats/metrics").get_data(as_text=True)
    return [
        sample
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    ]


def label_values(client: FlaskClient, label: str) -> set[str]:
    text = client.get("/admin/stats/metrics").get_data(as_text=True)
    return {
        sample.labels[label]
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if label in sample.labels
    }


def attack(client: FlaskClient, rng: random.Random, count: int) -> None:
    """``count`` requests with random methods, half to routes, half to unmatched paths."""
    for i in range(count):
        path = random_path(rng) if i % 2 else rng.choice(["/users/1", "/dav", "/echo", "/cache"])
        assert client.open(path, method=random_method(rng)).status_code < 500


def test_random_methods_share_one_other_label() -> None:
    client = make_app().test_client()
    for method in sorted(STANDARD | DECLARED):
        client.open("/users/1", method=method)
    attack(client, random.Random(13), 3000)

    methods = label_values(client, "method")
    assert methods <= METHOD_LABELS
    assert {"GET", "PROPFIND", "PURGE", "other"} <= methods
    # Every request is still counted, the random ones under "other".
    counted = samples(client)
    assert sum(sample.value for sample in counted) == 3000 + len(STANDARD | DECLARED)
    assert sum(s.value for s in counted if s.labels["method"] == "other") >= 3000 - 20


def test_declared_methods_keep_their_own_label() -> None:
    client = make_app().test_client()
    assert client.open("/dav", method="PROPFIND").status_code == 200
    assert client.open("/cache", method="PURGE").status_code == 200
    assert client.open("/cache", method="propfind").status_code == 405  # declared elsewhere
    labels = {
        (s.labels["endpoint"], s.labels["method"], s.labels["status"]) for s in samples(client)
    }
    assert labels == {
        ("dav", "PROPFIND", "200"),
        ("cache", "PURGE", "200"),
        ("<unmatched>", "PROPFIND", "405"),
    }


def test_random_methods_and_paths_keep_the_exposition_and_summary_small() -> None:
    client = make_app().test_client()
    attack(client, random.Random(1), 200)
    small = len(client.get("/admin/stats/metrics").get_data())
    attack(client, random.Random(2), 3000)

    assert len(client.get("/admin/stats/metrics").get_data()) <= small * 1.2
    endpoints = client.get("/admin/stats").json["endpoints"]
    assert set(endpoints) <= {"user", "dav", "echo", "cache", "<unmatched>"}
    for entry in endpoints.values():
        assert len(entry["statuses"]) <= 5 and set(entry["collectors"]) <= {"body_bytes"}
    assert len(samples(client)) <= len(METHOD_LABELS) * 8


def test_random_methods_do_not_grow_memory() -> None:
    client = make_app().test_client()
    attack(client, random.Random(3), 500)  # every label value the attack can reach, once
    tracemalloc.start()
    try:
        # Collected first: Flask's request handling leaves reference cycles behind.
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        attack(client, random.Random(4), 1000)
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    # 0.1 kept ~6 KB per method (a counter and a histogram child, cached): 1000 made 5.5 MB.
    # What remains is the standard library's bounded caches (urlsplit's), about 50 KB.
    assert grown < 256 * 1024, f"{grown} bytes retained"


def test_status_codes_outside_the_http_range_share_one_label() -> None:
    """A view decides its status, but one that echoes a client's number must stay bounded."""
    app = Flask(__name__)
    Stats(app)
    app.add_url_rule("/status/<int:code>", "status", lambda code: ("", code))
    client = app.test_client()
    for code in (200, 299, 404, 599, *range(600, 1000), 1000, 4040, 20000):
        client.get(f"/status/{code}")
    statuses = label_values(client, "status")
    assert statuses == {"200", "299", "404", "599", "other"}
    assert set(client.get("/admin/stats").json["endpoints"]["status"]["statuses"]) == statuses


header_names = st.sampled_from(
    [
        "X-Random",
        "User-Agent",
        "Accept",
        "Accept-Encoding",
        "Content-Type",
        "Referer",
        "Cookie",
        "Authorization",
        "X-Forwarded-For",
        "X-Forwarded-Proto",
        "Range",
        "If-None-Match",
    ]
)
# Header values as a server passes them on: any latin-1 text but the line breaks and NUL.
header_values = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"), max_size=64
)
methods = st.one_of(
    st.sampled_from(sorted(STANDARD | DECLARED)),
    st.text(st.sampled_from(TOKEN), min_size=1, max_size=24),
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=8),
)
paths = st.one_of(
    st.sampled_from(["/users/7", "/dav", "/echo", "/cache", "/admin/stats", "/admin/stats/x"]),
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=40).map(
        # "//x" would be a network location to the test client, not a path.
        lambda text: "/" + text.lstrip("/")
    ),
)


def test_random_requests_never_answer_500_and_keep_series_bounded() -> None:
    app = make_app()
    client = app.test_client()

    @settings(
        max_examples=300,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
        database=None,
    )
    @given(
        method=methods,
        path=paths,
        headers=st.dictionaries(header_names, header_values, max_size=4),
        body=st.binary(max_size=2048),
    )
    def check(method: str, path: str, headers: dict[str, str], body: bytes) -> None:
        response = client.open(path, method=method, headers=headers, data=body)
        assert response.status_code < 500, (method, path, headers)

    check()

    assert label_values(client, "method") <= METHOD_LABELS
    assert label_values(client, "endpoint") <= {"user", "dav", "echo", "cache", "<unmatched>"}
    assert all(
        status == "other" or 100 <= int(status) < 600 for status in label_values(client, "status")
    )
    # endpoints x method labels x statuses a route can answer: a handful each.
    assert len(samples(client)) <= 5 * len(METHOD_LABELS) * 6
