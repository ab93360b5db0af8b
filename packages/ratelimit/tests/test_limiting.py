from __future__ import annotations

import json
import re
import threading
import typing as t

import pytest
from flask import Blueprint, Flask, g

from flask_plug.ratelimit import RateLimiter, RateLimitExceeded, header_key, user_or_remote_addr

if t.TYPE_CHECKING:
    from flask.testing import FlaskClient

SF_ITEM = r'"[ -!#-\[\]-~]*"(?:;[a-z]+=\d+)+'


def statuses(client: FlaskClient, path: str, n: int, **kwargs: t.Any) -> list[int]:
    return [client.open(path, **kwargs).status_code for _ in range(n)]


def test_route_limit_refuses_with_problem_json(client: FlaskClient) -> None:
    assert statuses(client, "/limited", 4) == [200, 200, 200, 429]
    response = client.get("/limited")
    assert response.status_code == 429
    assert response.content_type == "application/problem+json"
    body = json.loads(response.data)
    assert body["type"] == "about:blank"
    assert body["title"] == "Too Many Requests"
    assert body["status"] == 429
    assert body["limit"] == "3 per 1 minute"
    assert body["retry_after"] == int(response.headers["Retry-After"]) >= 1
    assert "3 per 1 minute" in body["detail"]


def test_ratelimit_headers_follow_the_draft_grammar(client: FlaskClient) -> None:
    response = client.get("/limited")
    assert response.headers["RateLimit-Policy"] == '"limited/3-60";q=3;w=60'
    assert re.fullmatch(SF_ITEM, response.headers["RateLimit"])
    assert response.headers["RateLimit"].startswith('"limited/3-60";r=2;t=')


def test_retry_after_only_on_429(client: FlaskClient) -> None:
    responses = [client.get("/limited") for _ in range(4)]
    assert ["Retry-After" in r.headers for r in responses] == [False, False, False, True]


def test_unlimited_routes_get_no_headers(client: FlaskClient) -> None:
    response = client.get("/free")
    assert "RateLimit" not in response.headers and "RateLimit-Policy" not in response.headers


def test_legacy_headers_describe_the_closest_limit() -> None:
    app = Flask(__name__)
    limiter = RateLimiter(app, legacy_headers=True)
    app.get("/")(limiter.limit("100/hour; 2/minute")(lambda: "ok"))
    response = app.test_client().get("/")
    assert response.headers["X-RateLimit-Limit"] == "2"
    assert response.headers["X-RateLimit-Remaining"] == "1"
    assert int(response.headers["X-RateLimit-Reset"]) > 0
    assert response.headers["RateLimit"].count(";r=") == 2


def test_default_limits_apply_per_route_and_to_unmatched_paths() -> None:
    app = Flask(__name__)
    RateLimiter(app, default="2/minute")
    app.add_url_rule("/a", "a", lambda: "a")
    app.add_url_rule("/b", "b", lambda: "b")
    client = app.test_client()
    assert statuses(client, "/a", 3) == [200, 200, 429]
    assert statuses(client, "/b", 2) == [200, 200]
    assert statuses(client, "/nowhere", 3) == [404, 404, 429]


def test_route_limits_replace_blueprint_limits_which_replace_the_default() -> None:
    app = Flask(__name__)
    limiter = RateLimiter(default="1/minute")
    api = Blueprint("api", __name__, url_prefix="/api")
    limiter.limit("2/minute")(api)
    api.add_url_rule("/list", "list", lambda: "list")
    api.add_url_rule("/one", "one", limiter.limit("4/minute")(lambda: "one"))
    app.register_blueprint(api)
    app.add_url_rule("/home", "home", lambda: "home")
    limiter.init_app(app)
    client = app.test_client()
    assert statuses(client, "/home", 2) == [200, 429]
    assert statuses(client, "/api/list", 3) == [200, 200, 429]
    assert statuses(client, "/api/one", 5) == [200] * 4 + [429]


def test_shared_limit_counts_across_routes() -> None:
    app = Flask(__name__)
    limiter = RateLimiter(app)
    shared = limiter.shared_limit("3/minute", scope="search")
    app.add_url_rule("/s1", "s1", shared(lambda: "1"))
    app.add_url_rule("/s2", "s2", shared(lambda: "2"))
    client = app.test_client()
    assert statuses(client, "/s1", 2) + statuses(client, "/s2", 2) == [200, 200, 200, 429]
    assert client.get("/s2").headers["RateLimit-Policy"] == '"search/3-60";q=3;w=60'


def test_exempt_views_and_blueprints_ignore_the_default() -> None:
    app = Flask(__name__)
    limiter = RateLimiter(default="1/minute")
    health = Blueprint("health", __name__)
    limiter.exempt(health)
    health.add_url_rule("/live", "live", lambda: "ok")
    app.register_blueprint(health)
    app.add_url_rule("/ping", "ping", limiter.exempt(lambda: "pong"))
    limiter.init_app(app)
    client = app.test_client()
    assert statuses(client, "/live", 3) == [200] * 3
    assert statuses(client, "/ping", 3) == [200] * 3


def test_per_method_limits_count_each_method_alone() -> None:
    app = Flask(__name__)
    limiter = RateLimiter(app)

    @app.route("/items", methods=["GET", "POST"])
    @limiter.limit("1/minute", methods=["POST"])
    def items() -> str:
        return "ok"

    client = app.test_client()
    assert statuses(client, "/items", 3, method="GET") == [200] * 3
    assert statuses(client, "/items", 2, method="POST") == [200, 429]


def test_cost_as_int_and_as_function() -> None:
    app = Flask(__name__)
    limiter = RateLimiter(app)
    app.add_url_rule("/heavy", "heavy", limiter.limit("10/minute", cost=4)(lambda: "ok"))

    def by_size() -> int:
        from flask import request

        return int(request.args.get("n", 1))

    app.add_url_rule("/sized", "sized", limiter.limit("10/minute", cost=by_size)(lambda: "ok"))
    client = app.test_client()
    assert statuses(client, "/heavy", 3) == [200, 200, 429]
    assert client.get("/sized?n=7").status_code == 200
    assert client.get("/sized?n=4").status_code == 429
    assert client.get("/sized?n=3").status_code == 200


def test_exempt_when_skips_counting() -> None:
    app = Flask(__name__)
    limiter = RateLimiter(app)

    def is_internal() -> bool:
        from flask import request

        return request.headers.get("X-Internal") == "yes"

    app.add_url_rule("/", "i", limiter.limit("1/minute", exempt_when=is_internal)(lambda: "ok"))
    client = app.test_client()
    assert statuses(client, "/", 3, headers={"X-Internal": "yes"}) == [200] * 3
    assert statuses(client, "/", 2) == [200, 429]


def test_options_is_exempt_by_default(client: FlaskClient) -> None:
    assert statuses(client, "/limited", 5, method="OPTIONS") == [200] * 5
    assert client.get("/limited").status_code == 200


def test_clients_are_counted_apart(client: FlaskClient) -> None:
    one = {"REMOTE_ADDR": "192.0.2.1"}
    two = {"REMOTE_ADDR": "192.0.2.2"}
    assert statuses(client, "/limited", 4, environ_base=one) == [200, 200, 200, 429]
    assert statuses(client, "/limited", 1, environ_base=two) == [200]


def test_forwarded_for_is_not_trusted(client: FlaskClient) -> None:
    for i in range(3):
        client.get("/limited", headers={"X-Forwarded-For": f"198.51.100.{i}"})
    assert client.get("/limited", headers={"X-Forwarded-For": "203.0.113.9"}).status_code == 429


def test_key_by_user_and_by_api_key() -> None:
    app = Flask(__name__)

    @app.before_request
    def load_user() -> None:  # registered before the limiter, so it runs first
        from flask import request

        g.user = request.headers.get("X-User")

    limiter = RateLimiter(app, key_func=user_or_remote_addr)

    app.add_url_rule("/u", "u", limiter.limit("1/minute")(lambda: "ok"))
    app.add_url_rule(
        "/k", "k", limiter.limit("1/minute", key_func=header_key("X-API-Key"))(lambda: "ok")
    )
    client = app.test_client()
    assert statuses(client, "/u", 2, headers={"X-User": "ann"}) == [200, 429]
    assert statuses(client, "/u", 1, headers={"X-User": "bob"}) == [200]
    assert statuses(client, "/k", 2, headers={"X-API-Key": "secret-1"}) == [200, 429]
    assert statuses(client, "/k", 1, headers={"X-API-Key": "secret-2"}) == [200]
    storage = app.extensions["flask-plug-ratelimit"].storage
    assert not [key for key in storage._data if "secret" in key]


def test_app_error_handler_can_answer_and_headers_stay() -> None:
    app = Flask(__name__)
    limiter = RateLimiter(app)
    app.add_url_rule("/", "x", limiter.limit("1/minute")(lambda: "ok"))

    @app.errorhandler(RateLimitExceeded)
    def slow_down(error: RateLimitExceeded) -> tuple[str, int]:
        return f"slow down, {error.limit}, {error.retry_after:.0f}s", 429

    client = app.test_client()
    client.get("/")
    response = client.get("/")
    assert response.get_data(as_text=True).startswith("slow down, 1 per 1 minute, ")
    assert int(response.headers["Retry-After"]) >= 1
    assert "RateLimit" in response.headers


def test_a_refused_request_charges_no_limit() -> None:
    app = Flask(__name__)
    limiter = RateLimiter(app)
    app.add_url_rule("/", "x", limiter.limit("10/hour; 2/minute")(lambda: "ok"))
    client = app.test_client()
    statuses(client, "/", 5)
    state = client.get("/").headers["RateLimit"]
    assert '"x/10-3600";r=8;' in state


def test_memory_storage_is_exact_across_threads() -> None:
    app = Flask(__name__)
    limiter = RateLimiter(app)
    app.add_url_rule("/", "x", limiter.limit("100/hour")(lambda: "ok"))
    results: list[int] = []
    lock = threading.Lock()

    def hammer() -> None:
        client = app.test_client()
        codes = [client.get("/").status_code for _ in range(40)]
        with lock:
            results.extend(codes)

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count(200) == 100 and results.count(429) == 220


def test_memory_storage_stays_bounded() -> None:
    app = Flask(__name__)
    limiter = RateLimiter(app, memory_max_keys=50)
    app.add_url_rule("/", "x", limiter.limit("5/minute")(lambda: "ok"))
    client = app.test_client()
    for i in range(300):
        client.get("/", environ_base={"REMOTE_ADDR": f"10.0.{i // 250}.{i % 250}"})
    assert len(app.extensions["flask-plug-ratelimit"].storage) <= 50


def test_disabled_limiter_limits_nothing(client: FlaskClient) -> None:
    app = Flask(__name__)
    limiter = RateLimiter(app, enabled=False)
    app.add_url_rule("/", "x", limiter.limit("1/minute")(lambda: "ok"))
    assert statuses(app.test_client(), "/", 3) == [200] * 3


def test_decorators_leave_metadata_for_other_extensions() -> None:
    limiter = RateLimiter()

    @limiter.limit("10/minute; 100/day")
    @limiter.shared_limit("5/second", scope="burst")
    def view() -> str:
        return "ok"

    metadata = view.__flask_plug__["ratelimit"]  # type: ignore[attr-defined]
    assert metadata["limits"] == ["5 per 1 second", "10 per 1 minute", "100 per 1 day"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"limits": "10/fortnight"}, "'10/fortnight' is not a limit"),
        ({"limits": "1/s", "methods": "POST"}, "methods must be a list"),
        ({"limits": "1/s", "cost": -1}, "cost must be an int >= 0"),
        ({"limits": "1/s", "on_storage_error": "maybe"}, "'allow' or 'deny'"),
    ],
)
def test_bad_decorator_arguments_raise_at_decoration(
    kwargs: dict[str, t.Any], message: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        RateLimiter().limit(**kwargs)


def test_per_limit_storage_policy_overrides_the_apps() -> None:
    app = Flask(__name__)
    limiter = RateLimiter(
        app, storage_uri="redis://127.0.0.1:9/0", storage_timeout_ms=50, on_storage_error="deny"
    )
    app.add_url_rule(
        "/open", "open", limiter.limit("1/minute", on_storage_error="allow")(lambda: "ok")
    )
    app.add_url_rule("/closed", "closed", limiter.limit("1/minute")(lambda: "ok"))
    client = app.test_client()
    assert client.get("/open").status_code == 200
    assert client.get("/closed").status_code == 503


def test_a_limit_applied_again_to_a_shared_blueprint_is_not_doubled() -> None:
    # An app factory that limits a module-level blueprint does so once per app it builds.
    shared = Blueprint("pages", __name__)
    shared.add_url_rule("/page", "page", lambda: "ok")
    limiter = RateLimiter()
    for _ in range(3):
        app = Flask(__name__)
        app.register_blueprint(shared)
        limiter.init_app(app)
        limiter.limit("2/minute")(app.blueprints["pages"])
    client = app.test_client()
    response = client.get("/page")
    assert response.headers["RateLimit-Policy"] == '"pages.page/2-60";q=2;w=60'
    assert statuses(client, "/page", 2) == [200, 429]
    assert shared.__flask_plug__["ratelimit"]["limits"] == ["2 per 1 minute"]  # type: ignore[attr-defined]
