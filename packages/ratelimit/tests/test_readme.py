"""The README's examples run as written, and their apps answer what the README shows;
so do the examples of the docs page's own sections (docs/ratelimit.md).

A block right after ``<!-- example: NAME -->`` is named. Each ``python`` block runs as the
body of a module of its own, as a file pasted from the README would; one that continues
another runs in the namespace that one left. The ``console`` and ``json`` blocks are what
the apps are checked against.
"""

from __future__ import annotations

import importlib.metadata
import json
import re
import sys
import types
import typing as t
from pathlib import Path

import pytest

from flask_plug.ratelimit import RateLimitNeverAllowed

if t.TYPE_CHECKING:
    from flask import Flask
    from werkzeug.test import TestResponse

HERE = Path(__file__).resolve().parent
README = HERE.parent / "README.md"
DOCS_PAGE = HERE.parents[2] / "docs" / "ratelimit.md"
BLOCK = re.compile(r"(?:<!-- example: ([\w-]+) -->\n)?```(\w+)\n(.*?)^```", re.DOTALL | re.M)
CONTINUES = {"proxy-fix": "quickstart"}


class Block(t.NamedTuple):
    name: str | None
    language: str
    code: str


def readme() -> str:
    if README.exists():
        return README.read_text(encoding="utf-8")
    # Tests run against the installed wheel (dist:check): its description is the README.
    description = importlib.metadata.metadata("flask-plug-ratelimit").json["description"]
    assert isinstance(description, str)
    return description


def blocks(text: str) -> list[Block]:
    return [Block(*match) for match in BLOCK.findall(text)]


def named(text: str, name: str) -> Block:
    [block] = [block for block in blocks(text) if block.name == name]
    return block


def run(
    block: Block, monkeypatch: pytest.MonkeyPatch, namespace: dict[str, t.Any] | None = None
) -> dict[str, t.Any]:
    """Run ``block`` as the module ``app``, as a reader who saved it as app.py would."""
    module = types.ModuleType("app")
    module.__dict__.update(namespace or {})
    monkeypatch.setitem(sys.modules, "app", module)
    exec(compile(block.code, f"<example {block.name}>", "exec"), module.__dict__)  # noqa: S102
    return module.__dict__


@pytest.fixture(autouse=True)
def ticking_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The memory storage's clock moves a millisecond per reading: the examples' requests
    follow each other as fast as a quick client's, however slow this machine is."""
    import time

    readings = iter(range(10**9))
    start = 10_000.0
    monkeypatch.setattr(time, "monotonic", lambda: start + next(readings) / 1000)


def test_every_python_example_is_named_and_run_here() -> None:
    names = [block.name for block in blocks(readme()) if block.language == "python"]
    assert names == [
        "quickstart",
        "plan-limits",
        "application",
        "request-filter",
        "deduct-when",
        "proxy-fix",
        "never-pass",
        "on-breach",
        "current-limits",
    ]


def says(text: str, claim: str) -> None:
    """Check that ``text`` says ``claim`` (line breaks count as spaces): the values the
    README states in its prose are the ones the tests check against the apps."""
    assert claim in " ".join(text.split()), f"the README no longer says {claim!r}"


def grepped(response: TestResponse) -> list[str]:
    """The header lines of ``response`` that ``grep -i ratelimit`` keeps."""
    lines = [f"{name}: {value}" for name, value in response.headers.items()]
    return [line for line in lines if "ratelimit" in line.lower()]


def test_quick_start_answers_as_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    text = readme()
    app: Flask = run(named(text, "quickstart"), monkeypatch)["create_app"]()
    client = app.test_client()

    console = named(text, "quickstart-headers").code.splitlines()
    assert console[0] == "$ curl -si localhost:5000/login -X POST | grep -i ratelimit"
    first = client.post("/login")
    assert first.status_code == 200 and first.json == {"logged_in": False}
    assert grepped(first) == console[1:]

    assert [client.post("/login").status_code for _ in range(4)] == [200] * 4
    refused = client.post("/login")
    assert refused.status_code == 429
    assert refused.json == json.loads(named(text, "quickstart-refusal").code)
    assert refused.headers["Retry-After"] == "12"

    # One count for both searches; the health check is never limited; the default
    # limits every other path, those no route matches too.
    assert '"search/1000-3600";r=999;' in client.get("/search").headers["RateLimit"]
    assert '"search/1000-3600";r=998;' in client.get("/search/advanced").headers["RateLimit"]
    health = client.get("/health")
    assert health.json == {"ok": True} and "RateLimit" not in health.headers
    missing = client.get("/nowhere")
    assert missing.status_code == 404
    assert missing.headers["RateLimit-Policy"] == '"default/300-60";q=300;w=60'


def test_limits_from_a_function_follow_the_callers_plan(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    text = readme()
    example = run(named(text, "plan-limits"), monkeypatch)
    app: Flask = example["app"]
    client = app.test_client()

    def reports(api_key: str) -> TestResponse:
        response = client.get("/reports", headers={"X-API-Key": api_key})
        assert response.status_code == 200
        assert response.json == {"reports": ["2026-q1", "2026-q2"]}
        return response

    pro = '"reports/5000-3600";q=5000;w=3600, "reports/200-60";q=200;w=60'
    says(text, f"A `pro` key gets `RateLimit-Policy: {pro}`")
    assert reports("k-pro-1").headers["RateLimit-Policy"] == pro
    free = '"reports/100-3600";q=100;w=3600'
    assert reports("k-free-1").headers["RateLimit-Policy"] == free
    assert reports("k-unknown").headers["RateLimit-Policy"] == free  # unknown keys are free
    says(text, '`None` (or `""`) means no limit for that request.')
    assert "RateLimit" not in reports("k-ops-1").headers

    says(text, "a client whose plan changes starts the new limits afresh")
    example["PLAN_OF_KEY"]["k-free-1"] = "pro"
    assert reports("k-free-1").headers["RateLimit"].startswith('"reports/5000-3600";r=4999;')

    says(text, "a typo in a plan table never answers `500`")
    example["LIMITS_OF_PLAN"]["free"] = "100 a fortnight"
    assert "RateLimit" not in reports("k-free-2").headers
    assert "RateLimit" not in reports("k-free-3").headers
    assert len([r for r in caplog.records if "100 a fortnight" in r.getMessage()]) == 1

    state = app.extensions["flask-plug-ratelimit"]
    says(text, "name the function: `set per request by plan_limits`")
    assert state.limits_for("reports", "GET") == ("set per request by plan_limits",)


def test_application_wide_limits_count_every_route(monkeypatch: pytest.MonkeyPatch) -> None:
    text = readme()
    app: Flask = run(named(text, "application"), monkeypatch)["app"]
    client = app.test_client()

    articles = client.get("/articles")
    assert articles.status_code == 200
    assert articles.json == {"articles": ["first", "second"]}
    policy = '"default/60-60";q=60;w=60, "app/1000-3600";q=1000;w=3600'
    says(text, f"`GET /articles` answers `RateLimit-Policy: {policy}`")
    assert articles.headers["RateLimit-Policy"] == policy
    assert '"app/1000-3600";r=999;' in articles.headers["RateLimit"]

    health = client.get("/health")
    assert health.json == {"ok": True} and "RateLimit" not in health.headers
    # A request no route matches has the default's count of its own, and the same
    # application-wide count as /articles.
    missing = client.get("/nowhere")
    assert missing.status_code == 404
    assert missing.headers["RateLimit"].startswith('"default/60-60";r=59;')
    assert '"app/1000-3600";r=998;' in missing.headers["RateLimit"]


def test_a_request_filter_exempts_from_every_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    app: Flask = run(named(readme(), "request-filter"), monkeypatch)["app"]
    client = app.test_client()

    def articles(remote_addr: str) -> TestResponse:
        return client.get("/articles", environ_base={"REMOTE_ADDR": remote_addr})

    monitoring = [articles("10.0.0.5") for _ in range(101)]
    assert {response.status_code for response in monitoring} == {200}
    assert not any("RateLimit" in response.headers for response in monitoring)
    assert monitoring[0].json == {"articles": ["first", "second"]}

    others = [articles("203.0.113.7").status_code for _ in range(101)]
    assert others == [200] * 100 + [429]


def test_deduct_when_counts_only_failed_logins(monkeypatch: pytest.MonkeyPatch) -> None:
    app: Flask = run(named(readme(), "deduct-when"), monkeypatch)["app"]
    client = app.test_client()

    def login(password: str) -> TestResponse:
        return client.post("/login", data={"password": password})

    def failed_logins_left(response: TestResponse) -> int:
        return failed_logins(response)[0]

    def failed_logins(response: TestResponse) -> tuple[int, int]:
        """Remaining and seconds until the full quota, of the failed logins' limit."""
        [(remaining, reset)] = re.findall(
            r'"login/5-900";r=(\d+);t=(\d+)', response.headers["RateLimit"]
        )
        return int(remaining), int(reset)

    failures = [login("password1") for _ in range(4)]
    assert [r.status_code for r in failures] == [401] * 4
    assert failures[0].json == {"logged_in": False}
    # The headers tell the count after the charge.
    assert [failed_logins_left(r) for r in failures] == [4, 3, 2, 1]

    success = login("correct horse")
    assert success.status_code == 200 and success.json == {"logged_in": True}
    assert failed_logins(success) == failed_logins(failures[-1])  # not counted by this limit
    assert '"login/60-60";r=55;' in success.headers["RateLimit"]  # but by the other

    assert failed_logins_left(login("password2")) == 0
    # No room left: refused before the view, whatever the password, and charged to none.
    refused = login("correct horse")
    assert refused.status_code == 429
    assert refused.json is not None and refused.json["limit"] == "5 per 15 minutes"
    assert '"login/60-60";r=54;' in refused.headers["RateLimit"]


def test_proxy_fix_counts_the_client_behind_the_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    text = readme()
    quickstart = run(named(text, "quickstart"), monkeypatch)
    app: Flask = run(named(text, "proxy-fix"), monkeypatch, quickstart)["app"]
    client = app.test_client()

    def login(client_address: str) -> int:
        headers = {"X-Forwarded-For": client_address}
        return client.post("/login", headers=headers).status_code

    assert [login("203.0.113.7") for _ in range(6)] == [200] * 5 + [429]
    assert login("203.0.113.8") == 200  # another client behind the same proxy


def test_a_request_that_can_never_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    text = readme()
    app: Flask = run(named(text, "never-pass"), monkeypatch)["app"]
    client = app.test_client()
    refused = client.post("/messages", json=["hello"] * 150)
    assert refused.status_code == 429
    assert refused.json == json.loads(named(text, "never-pass-body").code)
    assert "Retry-After" not in refused.headers
    sent = client.post("/messages", json=["hello"] * 100)
    assert sent.status_code == 200 and sent.json == {"sent": 100}


def test_on_breach_logs_and_answers(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    app: Flask = run(named(readme(), "on-breach"), monkeypatch)["app"]
    client = app.test_client()

    allowed = [client.get("/search") for _ in range(10)]
    assert [r.status_code for r in allowed] == [200] * 10
    assert allowed[0].json == {"results": ["flask", "plug"]}
    assert not caplog.records

    refused = client.get("/search")
    # The limit's own function answered; the headers were added to its response.
    assert refused.status_code == 429
    assert refused.json == {"error": "Too many searches", "retry_after": 6}
    assert refused.headers["Retry-After"] == "6"
    assert refused.headers["RateLimit"] == '"search/10-60";r=0;t=60'
    # The app's function was called too.
    logged = [(r.name, r.levelname, r.getMessage()) for r in caplog.records]
    assert logged == [("abuse", "WARNING", "127.0.0.1 refused by search/10-60")]


def test_current_limits_tell_a_view_its_quota(monkeypatch: pytest.MonkeyPatch) -> None:
    text = readme()
    app: Flask = run(named(text, "current-limits"), monkeypatch)["app"]
    client = app.test_client()

    shown = '{"quota/100-3600": {"limit": "100 per 1 hour", "remaining": 99, "reset": 36}}'
    says(text, f"The first request gets `{shown}`")
    first = client.get("/api/quota")
    assert first.status_code == 200
    assert first.json == json.loads(shown)
    assert first.headers["RateLimit"] == '"quota/100-3600";r=99;t=36'  # as the header tells
    assert client.get("/api/quota").json["quota/100-3600"]["remaining"] == 98


def test_the_never_pass_problem_type_is_its_readme_section() -> None:
    # MyST names a heading's anchor as GitHub does: lower case, spaces to hyphens.
    anchors = {
        re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        for heading in re.findall(r"^#{2,3} (.+)$", readme(), re.M)
    }
    page, _, anchor = RateLimitNeverAllowed.type.partition("#")
    assert page == "https://flask-plug.github.io/flask-plug/ratelimit.html"
    assert anchor in anchors


# --- the docs page's own sections ----------------------------------------------------------


def docs_page() -> str:
    if not DOCS_PAGE.exists():
        pytest.skip("docs/ratelimit.md is not here (testing an installed wheel)")
    return DOCS_PAGE.read_text(encoding="utf-8")


def test_every_python_example_of_the_docs_page_is_named_and_run_here() -> None:
    names = [block.name for block in blocks(docs_page()) if block.language == "python"]
    assert names == ["methods", "redis-storage"]


def test_methods_example(monkeypatch: pytest.MonkeyPatch) -> None:
    app: Flask = run(named(docs_page(), "methods"), monkeypatch)["app"]
    client = app.test_client()
    assert [client.post("/login").status_code for _ in range(11)] == [200] * 10 + [429]
    # The refused POST took nothing from the 60 a minute every method shares.
    form = [client.get("/login") for _ in range(51)]
    assert [r.status_code for r in form] == [200] * 50 + [429]
    assert form[0].json == {"method": "GET"}


def test_redis_storage_example(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("redis")
    app: Flask = run(named(docs_page(), "redis-storage"), monkeypatch)["app"]
    settings = app.extensions["flask-plug-ratelimit"].settings
    assert settings.storage_uri == "redis://ratelimit.internal:6379/0"
