"""Which methods a limit counts: HEAD is GET (Flask answers it with the GET view), OPTIONS
is exempt by default and, when counted, never spends another method's quota."""

from __future__ import annotations

import http.client
import re
import typing as t
from urllib.parse import urlsplit

import pytest
from flask import Flask

from flask_plug.ratelimit import RateLimiter

if t.TYPE_CHECKING:
    from flask.testing import FlaskClient


def statuses(client: FlaskClient, path: str, methods: list[str], **kwargs: t.Any) -> list[int]:
    return [client.open(path, method=method, **kwargs).status_code for method in methods]


def login_app(**options: t.Any) -> Flask:
    """``/login``: GET limited to 3 a minute, POST to 2; the default would allow 100."""
    app = Flask(__name__)
    limiter = RateLimiter(app, default="100/minute", **options)

    @app.route("/login", methods=["GET", "POST"])
    @limiter.limit("3/minute", methods=["GET"])
    @limiter.limit("2/minute", methods=["POST"])
    def login() -> str:
        return "form"

    return app


def test_head_counts_against_a_get_limit(storage: dict[str, str]) -> None:
    client = login_app(**storage).test_client()
    assert statuses(client, "/login", ["HEAD"] * 4) == [200, 200, 200, 429]
    assert client.get("/login").status_code == 429


def test_head_and_get_alternating_share_one_count(storage: dict[str, str]) -> None:
    client = login_app(**storage).test_client()
    assert statuses(client, "/login", ["HEAD", "GET"] * 3) == [200, 200, 200, 429, 429, 429]
    assert client.post("/login").status_code == 200  # POST is counted on its own


def test_head_gets_the_get_headers(storage: dict[str, str]) -> None:
    client = login_app(**storage).test_client()
    get = client.get("/login")
    head = client.head("/login")
    assert head.headers["RateLimit-Policy"] == get.headers["RateLimit-Policy"]
    assert head.headers["RateLimit-Policy"] == '"login/3-60";q=3;w=60'
    assert head.headers["RateLimit"].startswith('"login/3-60";r=1;')


def test_head_counts_against_a_limit_without_methods_and_the_default(
    storage: dict[str, str],
) -> None:
    app = Flask(__name__)
    limiter = RateLimiter(app, default="2/minute", **storage)
    app.add_url_rule("/own", "own", limiter.limit("2/minute")(lambda: "ok"))
    app.add_url_rule("/plain", "plain", lambda: "ok")
    client = app.test_client()
    for path in ("/own", "/plain"):
        assert statuses(client, path, ["GET", "HEAD", "GET"]) == [200, 200, 429]


def test_live_server_alternating_head_and_get_is_limited(
    storage: dict[str, str], live_server: t.Callable[[Flask], str]
) -> None:
    address = urlsplit(live_server(login_app(**storage)))
    codes = []
    for method in ["HEAD", "GET"] * 4:
        connection = http.client.HTTPConnection(address.hostname, address.port, timeout=10)
        try:
            connection.request(method, "/login")
            response = connection.getresponse()
            response.read()
            codes.append(response.status)
            if response.status == 429:
                assert int(response.headers["Retry-After"]) >= 1
                assert response.headers["RateLimit-Policy"] == '"login/3-60";q=3;w=60'
        finally:
            connection.close()
    assert codes == [200, 200, 200] + [429] * 5


def test_exempting_get_exempts_head() -> None:
    app = Flask(__name__)
    RateLimiter(app, default="1/minute", exempt_methods=["GET", "OPTIONS"])
    app.add_url_rule("/", "index", lambda: "ok", methods=["GET", "POST"])
    client = app.test_client()
    assert statuses(client, "/", ["HEAD", "GET", "HEAD"]) == [200, 200, 200]
    assert "RateLimit" not in client.head("/").headers
    assert statuses(client, "/", ["POST", "POST"]) == [200, 429]


def test_exempting_head_alone_is_refused_at_init_app() -> None:
    message = "RATELIMIT_EXEMPT_METHODS: HEAD is answered by the GET view"
    with pytest.raises(ValueError, match=re.escape(message)):
        RateLimiter(Flask(__name__), exempt_methods=["HEAD", "OPTIONS"])
    RateLimiter(Flask(__name__), exempt_methods=["GET", "HEAD", "OPTIONS"])  # both: fine


def test_a_limit_naming_head_alone_is_refused_at_decoration() -> None:
    with pytest.raises(ValueError, match=re.escape("HEAD is answered by the GET view")):
        RateLimiter().limit("1/minute", methods=["HEAD"])


def test_a_limit_naming_get_and_head_counts_them_together() -> None:
    app = Flask(__name__)
    limiter = RateLimiter(app)
    app.add_url_rule("/", "x", limiter.limit("2/minute", methods=["get", "head"])(lambda: "ok"))
    client = app.test_client()
    assert statuses(client, "/", ["HEAD", "GET", "HEAD"]) == [200, 200, 429]


def test_cli_show_lists_head_with_the_get_limits() -> None:
    app = login_app()
    result = app.test_cli_runner().invoke(args=["ratelimit", "show"])
    assert result.exit_code == 0, result.output
    assert re.search(r"^HEAD\s+/login\s+3 per 1 minute \[login\]$", result.output, re.M)
    assert re.search(r"^GET\s+/login\s+3 per 1 minute \[login\]$", result.output, re.M)
    assert re.search(r"^OPTIONS\s+/login\s+-$", result.output, re.M)


# --- OPTIONS -------------------------------------------------------------------------------

PREFLIGHT = {"Origin": "https://front.example", "Access-Control-Request-Method": "POST"}


def test_flask_answers_options_and_no_limit_counts_it(storage: dict[str, str]) -> None:
    client = login_app(**storage).test_client()
    for _ in range(5):
        response = client.options("/login", headers=PREFLIGHT)
        assert response.status_code == 200
        assert set(response.allow) == {"GET", "HEAD", "POST", "OPTIONS"}
        assert "RateLimit" not in response.headers
    assert statuses(client, "/login", ["POST"] * 3) == [200, 200, 429]


def test_counted_options_never_spend_the_quota_of_other_methods(
    storage: dict[str, str],
) -> None:
    app = Flask(__name__)
    limiter = RateLimiter(app, default="2/minute", exempt_methods=[], **storage)
    app.add_url_rule("/own", "own", limiter.limit("2/minute")(lambda: "ok"), methods=["POST"])
    app.add_url_rule("/plain", "plain", lambda: "ok", methods=["POST"])
    client = app.test_client()
    for path in ("/own", "/plain"):
        assert statuses(client, path, ["OPTIONS"] * 3, headers=PREFLIGHT) == [200, 200, 429]
        assert statuses(client, path, ["POST"] * 3) == [200, 200, 429]
