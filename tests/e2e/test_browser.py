"""The demo in a real Chromium, as a person uses it: logging in and out, the stats
dashboard, Swagger UI's "Try it out" and the CORS page's calls from another origin.

One server for the module (see conftest.py); each test has a fresh browser context.
"""

from __future__ import annotations

import json
import re
import typing as t
import urllib.request
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

if t.TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment
    from playwright.sync_api import Route

    from .conftest import LiveDemo, Visit

pytestmark = pytest.mark.browser

NOTES_PAGE_TEXT = "Only logged-in users see this page"


def api_request(
    demo: LiveDemo, method: str, path: str, body: t.Any = None, token: str | None = None
) -> tuple[int, t.Any]:
    """An HTTP call from outside the browser: the status and the JSON answer."""
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(demo.url + path, data, headers, method=method)
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, json.load(response)


def is_login_page(url: str, base: str, next_path: str | None = None) -> bool:
    """Whether ``url`` is the login form of ``base`` (with ``next`` = ``next_path``)."""
    parts = urlsplit(url)
    if f"{parts.scheme}://{parts.netloc}" != base or parts.path != "/auth/login":
        return False
    query = parse_qs(parts.query)
    return query == ({} if next_path is None else {"next": [next_path]})


def access_log(demo: LiveDemo) -> list[str]:
    """The access log's lines so far, once the writer thread has written them."""
    from flask_plug_demo.extensions import reqlog

    assert reqlog.flush(demo.app, timeout=10)
    return Path(demo.app.instance_path, "access.log").read_text().splitlines()


# -- auth: login, the pages, a token, logout --------------------------------------------


def test_login_use_the_app_and_log_out(live_demo: LiveDemo, visit: Visit) -> None:
    demo, page = live_demo, visit.page

    page.goto(demo.url + "/notes")
    assert is_login_page(page.url, demo.url, "/notes"), page.url
    page.get_by_label("User name").fill("demo")
    page.get_by_label("Password").fill(demo.password("demo"))
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(demo.url + "/notes")
    assert NOTES_PAGE_TEXT in page.locator("body").inner_text()
    assert page.locator("nav form").inner_text().startswith("demo")
    assert page.locator("li strong").count() >= 1  # the notes' titles

    # The account page makes an API token and shows it this once.
    page.get_by_role("link", name="Account").click()
    page.wait_for_url(demo.url + "/account")
    assert page.get_by_role("heading", name="demo").is_visible()
    assert page.locator("#token").count() == 0
    page.get_by_label("Token name").fill("browser test")
    page.get_by_label("Your password").fill(demo.password("demo"))
    page.get_by_role("button", name="Create a token").click()
    token = page.locator("#token").inner_text().strip()
    assert re.fullmatch(r"[\w-]{20,}", token), token
    assert page.locator("pre", has_text=f"Bearer {token}").count() == 1  # the curl example

    status, note = api_request(demo, "POST", "/api/notes", {"title": "Via the token"}, token)
    assert status == 201
    assert note["author"] == "demo"

    page.goto(demo.url + "/account")
    assert page.locator("#token").count() == 0
    assert token not in page.content()

    page.get_by_role("link", name="Notes").click()
    page.wait_for_url(demo.url + "/notes")
    assert page.locator("li", has_text="Via the token").inner_text().endswith("(demo)")

    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(lambda url: is_login_page(url, demo.url))
    assert page.get_by_role("link", name="Log in").count() == 0  # the login page has no nav
    # The token is not the session: it still works after logout.
    assert api_request(demo, "POST", "/api/notes", {"title": "After logout"}, token)[0] == 201

    # Back button: the notes page was sent "no-store", so Chromium asks the server again,
    # and the ended session sends it to the login form instead of showing the notes.
    before = len(visit.requests)
    page.go_back()
    page.wait_for_url(lambda url: is_login_page(url, demo.url, "/notes"))
    assert demo.url + "/notes" in visit.requests[before:]
    body = page.locator("body").inner_text()
    assert NOTES_PAGE_TEXT not in body
    assert "Via the token" not in body
    assert page.get_by_role("button", name="Log in").is_visible()
    assert visit.errors == []


# -- stats: the dashboard for admins only ------------------------------------------------


def test_stats_dashboard_for_admin_only(live_demo: LiveDemo, visit: Visit) -> None:
    demo, page = live_demo, visit.page
    # A fake clock drives the dashboard's refresh timer: two refreshes without waiting.
    page.clock.install()
    # Some traffic first: pages, the API, a 404, a refused post.
    for path in ("/", "/api/notes", "/api/notes", "/cors", "/nowhere"):
        page.goto(demo.url + path)
    status = page.evaluate(
        """async () => (await fetch("/api/notes", {method: "POST",
            headers: {"Content-Type": "application/json"}, body: "{}"})).status"""
    )
    assert status == 401  # no login
    visit.errors.clear()  # the 404 and the 401 are logged to the console, on purpose

    visit.log_in(demo, "admin")
    response = page.goto(demo.url + "/admin/stats/dashboard")
    assert response is not None and response.status == 200
    page.wait_for_selector("#endpoints tr")
    page.clock.run_for(5_000)
    page.clock.run_for(5_000)
    rows = page.eval_on_selector_all(
        "#endpoints tr", "rows => rows.map(r => [...r.cells].map(c => c.textContent))"
    )
    counts = {row[0]: int(row[1]) for row in rows}
    assert counts["demo.list_notes"] >= 2
    assert counts["demo.add_note"] >= 1
    assert counts["demo.home"] >= 1
    assert counts["<unmatched>"] >= 1
    # The rate chart draws the server's history, whose first 10 s interval may not have
    # ended yet: then it says so.
    rate_chart = page.locator("#rate-chart")
    assert rate_chart.locator("path.requests").count() == 1 or "Collecting" in (
        rate_chart.text_content() or ""
    )
    assert page.locator("#latency-chart rect").count() > len(counts)
    assert "requests" in (page.text_content("#status") or "")
    assert visit.errors == []
    assert all(url.startswith(demo.url + "/") for url in visit.requests), visit.requests


def test_stats_dashboard_refuses_other_users(live_demo: LiveDemo, visit: Visit) -> None:
    demo, page = live_demo, visit.page
    visit.log_in(demo, "demo")
    for path in ("/admin/stats/dashboard", "/admin/stats", "/admin/stats/metrics"):
        response = page.goto(demo.url + path)
        assert response is not None and response.status == 403, path
        assert "Request stats" not in page.content()


# -- apidocs: Swagger UI's "Try it out" ----------------------------------------------------


def test_swagger_ui_try_it_out_on_the_notes(live_demo: LiveDemo, visit: Visit) -> None:
    demo, page = live_demo, visit.page

    def is_ours(url: str) -> bool:
        return url.startswith((demo.url + "/", "data:", "blob:"))

    def route(route: Route) -> None:
        if is_ours(route.request.url):
            route.continue_()
        else:
            route.abort("blockedbyclient")

    visit.context.route("**/*", route)
    response = page.goto(demo.url + "/docs/")
    assert response is not None and response.status == 200
    operation = page.locator(".opblock-get", has_text="/api/notes")
    operation.locator(".opblock-summary").click()
    operation.get_by_role("button", name="Try it out").click()
    with page.expect_response(demo.url + "/api/notes") as answer:
        operation.get_by_role("button", name="Execute").click()
    assert answer.value.status == 200
    sent = answer.value.json()
    live = operation.locator(".live-responses-table")
    live.locator(".response-col_status", has_text="200").wait_for()
    shown = json.loads(live.locator(".response-col_description pre").first.inner_text())
    assert shown == sent
    assert shown["notes"] and all(note.keys() >= {"id", "title", "body"} for note in shown["notes"])
    assert f"{demo.url}/api/notes" in operation.locator(".curl-command").inner_text()

    page.goto(demo.url + "/docs/openapi.json")  # leaving the page flushes anything it sends
    assert visit.errors == []
    outside = [url for url in visit.requests if not is_ours(url)]
    assert outside == []
    assert demo.url + "/docs/openapi.json" in visit.requests


# -- cors: the demo's CORS page, from the allowed origin and from another -------------------

# cors.js, the CORS page's script, calls the API on 127.0.0.1 at its own port.
PAGE_API = 'const api = location.protocol + "//127.0.0.1:" + location.port;'
PAGE_SCRIPT = re.compile(r'<script src="([^"]+/cors\.js)"></script>')
PAGE_STYLES = re.compile(r'<link rel="stylesheet"[^>]*>')
RESULT = "#result"


def open_cors_page(visit: Visit, demo: LiveDemo, origin: str) -> None:
    """The demo's CORS page as a page of ``origin``. On the demo's own server it is the
    real page; elsewhere, page.set_content writes its HTML, with its script inline and
    calling the demo's API, into the page open there."""
    page = visit.page
    if origin == demo.front_end:
        page.goto(origin + "/cors")
    else:
        with urllib.request.urlopen(demo.url + "/cors", timeout=10) as response:
            html: str = response.read().decode()
        script = PAGE_SCRIPT.search(html)
        assert script, "cors.html no longer loads cors.js"
        with urllib.request.urlopen(demo.url + script[1], timeout=10) as response:
            code: str = response.read().decode()
        assert code.count(PAGE_API) == 1, "cors.js no longer finds its API this way"
        code = code.replace(PAGE_API, f'const api = "{demo.url}";')
        html = PAGE_STYLES.sub("", html).replace(script[0], f"<script>{code}</script>")
        page.goto(origin + "/")
        page.set_content(html)
    assert page.locator("#origin").inner_text() == origin


def click_and_read(visit: Visit, button: str) -> str:
    page = visit.page
    page.locator(RESULT).evaluate("element => { element.textContent = '' }")
    page.get_by_role("button", name=button).click()
    page.wait_for_function(f"() => document.querySelector('{RESULT}').textContent !== ''")
    return page.locator(RESULT).inner_text()


def test_cors_page_calls_the_api_from_the_front_end_origin(
    live_demo: LiveDemo, visit: Visit
) -> None:
    demo = live_demo
    open_cors_page(visit, demo, demo.front_end)

    shown = click_and_read(visit, "GET /api/notes")
    status_line, _, body = shown.partition("\n")
    # X-Response-Time is readable because the API exposes it.
    assert re.fullmatch(r"200, X-Response-Time: [0-9.]+ ?ms", status_line), status_line
    assert json.loads(body) == api_request(demo, "GET", "/api/notes")[1]

    # A JSON POST is preflighted; the preflight passes, and the answer (a 401: a fetch from
    # another origin carries no cookies, and there is no login anyway) is readable.
    shown = click_and_read(visit, "POST a JSON note (preflighted)")
    status_line, _, body = shown.partition("\n")
    assert status_line.startswith("401, X-Response-Time: "), shown
    assert "error" in json.loads(body)
    assert any('"OPTIONS /api/notes HTTP/1.1" 204' in line for line in access_log(demo))

    assert visit.errors == [
        "console: Failed to load resource: the server responded with a status of 401"
        f" (UNAUTHORIZED) ({demo.url}/api/notes)"
    ]
    origins = {f"{urlsplit(url).scheme}://{urlsplit(url).netloc}" for url in visit.requests}
    assert origins == {demo.front_end, demo.url}


ELSEWHERE = b"<!doctype html><title>elsewhere</title><p>another site</p>"


def elsewhere_app(environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
    length = str(len(ELSEWHERE))
    start_response("200 OK", [("Content-Type", "text/html"), ("Content-Length", length)])
    return [ELSEWHERE]


@pytest.fixture
def third_origin(live_server: t.Callable[[WSGIApplication], str]) -> str:
    """A page on an origin CORS does not allow: another port of 127.0.0.1."""
    return live_server(elsewhere_app)


def test_cors_page_on_another_origin_is_blocked(
    live_demo: LiveDemo, visit: Visit, third_origin: str
) -> None:
    demo = live_demo
    open_cors_page(visit, demo, third_origin)
    shown = click_and_read(visit, "GET /api/notes")
    assert shown.startswith("Blocked by the browser (TypeError)"), shown
    assert any("blocked by CORS policy" in error for error in visit.errors), visit.errors
    # Read from outside the browser, the same answer has no Access-Control-Allow-Origin.
    request = urllib.request.Request(demo.url + "/api/notes", headers={"Origin": third_origin})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
        assert response.headers["Access-Control-Allow-Origin"] is None
