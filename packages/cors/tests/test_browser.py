"""Chromium, calling the app from another origin, sees what CORS promises."""

from __future__ import annotations

import importlib.metadata
import sys
import types
import typing as t
from pathlib import Path

import pytest
from flask import Flask, request

from flask_plug.cors import CORS

pytestmark = pytest.mark.browser

PAGE = "<!doctype html><title>front end</title><p>front end</p>"
README = Path(__file__).resolve().parents[1] / "README.md"


def front_end() -> Flask:
    app = Flask("front_end")
    app.get("/")(lambda: PAGE)
    return app


def api(allowed_origin: str) -> Flask:
    app = Flask("api")
    CORS(
        app,
        origins=[allowed_origin],
        allow_credentials=True,
        allow_headers=["content-type", "x-request-tag"],
        expose_headers=["X-Total-Count"],
    )

    @app.get("/notes")
    def notes() -> tuple[dict[str, t.Any], dict[str, str]]:
        return {"notes": ["a", "b"]}, {"X-Total-Count": "2", "X-Internal": "hidden"}

    @app.put("/notes/1")
    def update() -> dict[str, t.Any]:
        return {"saved": request.get_json(), "tag": request.headers.get("X-Request-Tag")}

    @app.post("/login")
    def login() -> t.Any:
        response = app.response_class("ok")
        response.set_cookie("sid", "s3cret", httponly=True, samesite="Lax")
        return response

    @app.get("/whoami")
    def whoami() -> dict[str, str | None]:
        return {"sid": request.cookies.get("sid")}

    return app


@pytest.fixture
def origins(live_server: t.Callable[[Flask], str]) -> dict[str, str]:
    page = live_server(front_end())
    other = live_server(front_end())
    return {"page": page, "other": other, "api": live_server(api(page))}


def run_in_page(browser: t.Any, page_origin: str, script: str, api: str) -> t.Any:
    page = browser.new_page()
    page.goto(page_origin + "/")
    return page.evaluate(script, api)


def test_simple_get_with_exposed_header(browser: t.Any, origins: dict[str, str]) -> None:
    seen = run_in_page(
        browser,
        origins["page"],
        """async (api) => {
            const r = await fetch(api + "/notes");
            return {status: r.status, body: await r.json(),
                    total: r.headers.get("X-Total-Count"),
                    internal: r.headers.get("X-Internal")};
        }""",
        origins["api"],
    )
    assert seen == {"status": 200, "body": {"notes": ["a", "b"]}, "total": "2", "internal": None}


def test_preflighted_json_put_with_custom_header(browser: t.Any, origins: dict[str, str]) -> None:
    seen = run_in_page(
        browser,
        origins["page"],
        """async (api) => {
            const r = await fetch(api + "/notes/1", {
                method: "PUT",
                headers: {"Content-Type": "application/json", "X-Request-Tag": "t1"},
                body: JSON.stringify({title: "edited"}),
            });
            return {status: r.status, body: await r.json()};
        }""",
        origins["api"],
    )
    assert seen == {"status": 200, "body": {"saved": {"title": "edited"}, "tag": "t1"}}


def test_credentialed_requests_carry_the_cookie(browser: t.Any, origins: dict[str, str]) -> None:
    seen = run_in_page(
        browser,
        origins["page"],
        """async (api) => {
            await fetch(api + "/login", {method: "POST", credentials: "include"});
            const r = await fetch(api + "/whoami", {credentials: "include"});
            return await r.json();
        }""",
        origins["api"],
    )
    assert seen == {"sid": "s3cret"}


def test_disallowed_origin_is_blocked_by_the_browser(
    browser: t.Any, origins: dict[str, str]
) -> None:
    seen = run_in_page(
        browser,
        origins["other"],
        """async (api) => {
            try { await fetch(api + "/notes"); return "readable"; }
            catch (e) { return e.name; }
        }""",
        origins["api"],
    )
    assert seen == "TypeError"


def test_disallowed_custom_header_fails_the_preflight(
    browser: t.Any, origins: dict[str, str]
) -> None:
    seen = run_in_page(
        browser,
        origins["page"],
        """async (api) => {
            try {
                await fetch(api + "/notes/1", {method: "PUT", headers: {"X-Not-Allowed": "1"}});
                return "sent";
            } catch (e) { return e.name; }
        }""",
        origins["api"],
    )
    assert seen == "TypeError"


def readme_quick_start() -> tuple[str, str]:
    """The README's quick start: the app (``python``) and the front end's call
    (``javascript``). The root conftest's page runner checks the app's answers; this runs
    the call in a browser."""
    if README.exists():
        text = README.read_text(encoding="utf-8")
    else:  # testing the installed wheel (dist:check): its description is the README
        text = importlib.metadata.metadata("flask-plug-cors").json["description"]
    section = text.partition("## Quick start\n")[2].partition("\n## ")[0]
    code = section.partition("```python\n")[2].partition("```")[0]
    fetch = section.partition("```javascript\n")[2].partition("```")[0]
    return code, fetch


def test_the_quick_start_as_written_serves_a_single_page_app_on_another_origin(
    browser: t.Any,
    live_server: t.Callable[[Flask], str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Hosts as in the README, on this machine: the page on app.example.test, the API on
    # api.example.test (both resolve to 127.0.0.1 in the browser). Two origins of one
    # site, so the API's cookie is sent cross-origin only because the fetch asks for it.
    page_origin = live_server(front_end()).replace("127.0.0.1", "app.example.test")
    code, fetch = readme_quick_start()
    assert code.count("https://app.example.com") == 1
    module = types.ModuleType("app")
    monkeypatch.setitem(sys.modules, "app", module)
    exec(code.replace("https://app.example.com", page_origin), module.__dict__)  # noqa: S102
    api_origin = live_server(module.create_app()).replace("127.0.0.1", "api.example.test")

    assert fetch.count("https://api.example.com") == 1
    context = browser.new_context()
    try:
        context.add_cookies([{"name": "session", "value": "s1", "url": api_origin}])
        page = context.new_page()
        page.goto(page_origin + "/")
        script = "async (token) => {\n" + fetch + "\nreturn answer;\n}"
        answer = page.evaluate(script.replace("https://api.example.com", api_origin), "t0k3n")
    finally:
        context.close()
    assert answer == {"notes": [], "cookie": True, "token": "Bearer t0k3n"}
