"""Swagger UI and ReDoc, in a real Chromium, render the document with nothing from outside.

The app is served under a host name that is not ``localhost`` (Chromium maps it to
127.0.0.1), so no "local development" exception of a UI can hide a call it makes out. Every
request the pages make is recorded, and any that is not to the app is aborted, so nothing
leaves the machine even if a UI tries.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import typing as t

import pydantic
import pytest
from flask import Blueprint, Flask, abort, request

from flask_plug.apidocs import APIDocs, File

if t.TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Locator, Page, Route
    from playwright.sync_api import Request as BrowserRequest

pytestmark = pytest.mark.browser

HOST = "docs.test"
TITLE = "Kennel API"
WAIT_MS = 15_000


@dataclasses.dataclass
class Dog:
    """A dog in the kennel."""

    id: int
    name: str
    good: bool


@dataclasses.dataclass
class NewDog:
    name: str
    good: bool = True


@dataclasses.dataclass
class DogQuery:
    name: str | None = None


def create_app() -> Flask:
    app = Flask(__name__)
    apidocs = APIDocs(app, title=TITLE, version="3.0.0", description="Dogs, **kept**.")
    dogs = {1: Dog(1, "Rex", True), 2: Dog(2, "Fido", False)}
    kennel = Blueprint("dogs", __name__, url_prefix="/dogs")

    @kennel.get("")
    @apidocs.doc(query=DogQuery)
    def list_dogs() -> list[Dog]:
        """List the dogs."""
        name = request.args.get("name")
        return [dog for dog in dogs.values() if name is None or dog.name == name]

    @kennel.get("/<int:dog_id>")
    @apidocs.doc(responses={404: "No such dog."})
    def get_dog(dog_id: int) -> dict[str, t.Any]:
        """Fetch one dog."""
        if dog_id not in dogs:
            abort(404)
        return dataclasses.asdict(dogs[dog_id])

    @kennel.post("")
    @apidocs.doc(body=NewDog, response=Dog, status=201)
    def add_dog() -> tuple[dict[str, t.Any], int]:
        """Adopt a dog."""
        data = request.get_json()
        dog = Dog(max(dogs) + 1, data["name"], data.get("good", True))
        dogs[dog.id] = dog
        return dataclasses.asdict(dog), 201

    @app.get("/health")
    def health() -> dict[str, str]:
        """Tell that the kennel is open."""
        return {"status": "ok"}

    app.register_blueprint(kennel)
    return app


SUMMARIES = ["List the dogs.", "Fetch one dog.", "Adopt a dog.", "Tell that the kennel is open."]


def on_host(url: str) -> str:
    """``url`` of a live server as the browser reaches it: under :data:`HOST`, which the
    ``browser`` fixture maps to 127.0.0.1 like every name under ``.test``."""
    return url.replace("://127.0.0.1:", f"://{HOST}:", 1)


@pytest.fixture
def base_url(live_server: t.Callable[[Flask], str]) -> str:
    return on_host(live_server(create_app()))


# Runs before any page script; the page's CSP does not apply to it.
RECORD_CSP_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(event.violatedDirective + " " + event.blockedURI);
});
"""


@dataclasses.dataclass
class Visit:
    """One browser context on the app, and everything it did."""

    base_url: str
    context: BrowserContext
    page: Page
    requests: list[str] = dataclasses.field(default_factory=list)
    outside: list[str] = dataclasses.field(default_factory=list)
    errors: list[str] = dataclasses.field(default_factory=list)

    def is_ours(self, url: str) -> bool:
        return url.startswith(self.base_url + "/") or url.startswith(("data:", "blob:"))

    def route(self, route: Route) -> None:
        if self.is_ours(route.request.url):
            route.continue_()
        else:
            route.abort("blockedbyclient")

    def on_request(self, browser_request: BrowserRequest) -> None:
        self.requests.append(browser_request.url)
        if not self.is_ours(browser_request.url):
            self.outside.append(f"{browser_request.resource_type} {browser_request.url}")

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(f"console: {message.text}")

    def csp_violations(self) -> list[str]:
        violations: list[str] = self.page.evaluate("window.__cspViolations")
        return violations

    def assert_clean(self) -> None:
        """The policy refused nothing; then, once the page is left (which flushes anything
        a UI sends on its way out), nothing went out and nothing failed."""
        assert self.csp_violations() == []
        self.page.goto(self.base_url + "/docs/openapi.json")
        assert self.outside == []
        assert self.errors == []
        assert self.requests and all(self.is_ours(url) for url in self.requests)


@contextlib.contextmanager
def open_visit(browser: Browser, base_url: str, **options: t.Any) -> t.Iterator[Visit]:
    """A fresh browser context on ``base_url``; ``options`` go to ``new_context``."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, **options)
    try:
        page = context.new_page()
        visit = Visit(base_url, context, page)
        context.route("**/*", visit.route)
        context.on("request", visit.on_request)
        context.add_init_script(RECORD_CSP_VIOLATIONS)
        page.on("console", visit.on_console)
        page.on("pageerror", lambda error: visit.errors.append(f"page error: {error}"))
        page.set_default_timeout(WAIT_MS)
        yield visit
    finally:
        context.close()


@pytest.fixture
def visit(browser: Browser, base_url: str) -> t.Iterator[Visit]:
    with open_visit(browser, base_url) as visit:
        yield visit


def open_swagger_ui(visit: Visit) -> Page:
    page = visit.page
    response = page.goto(visit.base_url + "/docs/")
    assert response is not None and response.status == 200
    assert "default-src 'none'" in (response.headers.get("content-security-policy") or "")
    page.locator(".opblock").first.wait_for()
    return page


def test_swagger_ui_renders_the_3_1_document(visit: Visit) -> None:
    page = open_swagger_ui(visit)
    assert page.locator(".info .title").inner_text().startswith(TITLE)
    assert "OAS 3.1" in page.locator(".info").inner_text()
    assert "kept" in page.locator(".info .description").inner_text()
    assert page.locator(".opblock").count() == 4
    for summary in SUMMARIES:
        assert page.locator(".opblock-summary-description", has_text=summary).count() == 1
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert sorted(p.replace("\u200b", "") for p in paths) == [
        "/dogs", "/dogs", "/dogs/{dog_id}", "/health",
    ]  # fmt: skip
    assert "Unable to render this definition" not in page.locator("body").inner_text()
    assert visit.base_url + "/docs/openapi.json" in visit.requests
    visit.assert_clean()


def test_swagger_ui_try_it_out_shows_the_real_response(visit: Visit) -> None:
    page = open_swagger_ui(visit)
    operation = page.locator(".opblock-get", has_text="/dogs/{dog_id}")
    operation.locator(".opblock-summary").click()
    operation.get_by_role("button", name="Try it out").click()
    operation.locator("input[placeholder='dog_id']").fill("2")
    with page.expect_response(visit.base_url + "/dogs/2") as answer:
        operation.get_by_role("button", name="Execute").click()
    assert answer.value.status == 200
    live = operation.locator(".live-responses-table")
    live.locator(".response-col_status", has_text="200").wait_for()
    shown = live.locator(".response-col_description pre").first.inner_text()
    assert json.loads(shown) == {"id": 2, "name": "Fido", "good": False}
    curl = operation.locator(".curl-command").inner_text()
    assert f"{visit.base_url}/dogs/2" in curl
    visit.assert_clean()


def test_redoc_renders_the_document(visit: Visit) -> None:
    page = visit.page
    response = page.goto(visit.base_url + "/docs/redoc")
    assert response is not None and response.status == 200
    assert "default-src 'none'" in (response.headers.get("content-security-policy") or "")
    page.locator(".api-info h1", has_text=TITLE).wait_for()
    for summary in SUMMARIES:
        page.locator("h2", has_text=summary).first.wait_for()
        assert page.locator(".menu-content", has_text=summary).count() == 1
    # ReDoc's logo, which it would fetch from its CDN, comes from the app.
    logo = visit.base_url + "/docs/_static/redoc/logo-mini.svg"
    page.wait_for_function(
        "src => [...document.images].some(i => i.src === src && i.complete && i.naturalWidth)",
        arg=logo,
    )
    assert logo in visit.requests
    # Search runs in a worker made from a blob: URL, which the policy must allow.
    page.get_by_placeholder("Search...").fill("adopt")
    page.locator("[data-role='search:results']", has_text="Adopt a dog.").wait_for()
    visit.assert_clean()


def test_the_watch_sees_a_request_out_and_stops_it(visit: Visit) -> None:
    # The checks above are only worth something if they would catch a UI calling out.
    from playwright.sync_api import Error as PlaywrightError

    page = open_swagger_ui(visit)
    page.evaluate("fetch('https://cdn.example.org/ui.js').catch(() => null)")
    page.wait_for_function("window.__cspViolations.length > 0")
    assert visit.csp_violations() == ["connect-src https://cdn.example.org/ui.js"]
    assert any("cdn.example.org" in error for error in visit.errors)
    # A navigation is not the page's CSP's business: the route stops it.
    with pytest.raises(PlaywrightError):
        page.goto("https://cdn.example.org/")
    assert visit.outside == ["document https://cdn.example.org/"]


# What an attacker who gets text into a description (a docstring, a model's docstring, a
# field a plug-in fills in) would write: rendered as HTML, the first line takes the page
# elsewhere and the second runs script.
HOSTILE_MARKUP = """\
<meta http-equiv="refresh" content="0; url=/landed">

<img src=x onerror="window.__pwned = (window.__pwned || 0) + 1">
"""


def create_hostile_app() -> Flask:
    app = Flask(__name__)
    apidocs = APIDocs(app, title=TITLE, description="Dogs, kept.\n\n" + HOSTILE_MARKUP)

    @app.get("/trap")
    def trap() -> dict[str, str]:
        """Spring the trap.

        Traps are set here.

        <meta http-equiv="refresh" content="0; url=/landed">

        <img src=x onerror="window.__pwned = (window.__pwned || 0) + 1">
        """
        return {}

    @app.get("/landed")
    @apidocs.exclude
    def landed() -> str:
        return "landed"

    return app


@pytest.fixture
def hostile_url(live_server: t.Callable[[Flask], str]) -> str:
    return on_host(live_server(create_hostile_app()))


def assert_inert(visit: Visit, url: str) -> None:
    """The markup was rendered as harmless HTML: it neither moved the page nor ran."""
    page = visit.page
    # The markup is in the page by now; a zero-second refresh or an image error fires at
    # once, so a second is ample for either to have happened.
    page.wait_for_timeout(1000)
    # Swagger UI's deep links change the fragment only.
    assert page.url.partition("#")[0] == url
    assert visit.base_url + "/landed" not in visit.requests
    assert page.evaluate("window.__pwned") is None
    assert page.locator("meta[http-equiv], [onerror]").count() == 0
    # The CSP may report refusing an inline handler: DOMPurify, which both UIs sanitise
    # with, sets the attribute on a parsed element before it strips it.


# Without the page's CSP too: the rendering must be safe on its own, not only because the
# policy refuses inline handlers (and a policy does not stop a meta refresh at all).
CSP_CASES = pytest.mark.parametrize("bypass_csp", [False, True], ids=["csp", "no-csp"])


@CSP_CASES
def test_redoc_renders_markup_in_descriptions_inert(
    browser: Browser, hostile_url: str, bypass_csp: bool
) -> None:
    with open_visit(browser, hostile_url, bypass_csp=bypass_csp) as visit:
        url = hostile_url + "/docs/redoc"
        visit.page.goto(url)
        visit.page.locator("h2", has_text="Spring the trap.").first.wait_for()
        visit.page.get_by_text("Traps are set here.").first.wait_for()
        visit.page.get_by_text("Dogs, kept.").first.wait_for()
        assert_inert(visit, url)


@CSP_CASES
def test_swagger_ui_renders_markup_in_descriptions_inert(
    browser: Browser, hostile_url: str, bypass_csp: bool
) -> None:
    with open_visit(browser, hostile_url, bypass_csp=bypass_csp) as visit:
        url = hostile_url + "/docs/"
        page = visit.page
        page.goto(url)
        page.get_by_text("Dogs, kept.").first.wait_for()
        operation = page.locator(".opblock", has_text="/trap")
        operation.locator(".opblock-summary").click()
        operation.get_by_text("Traps are set here.").wait_for()
        assert_inert(visit, url)


# -- Try it out of a multipart upload ------------------------------------------------------


class Upload(pydantic.BaseModel):
    title: t.Annotated[str, pydantic.Field(min_length=1, max_length=40)]
    file: File


class Stored(pydantic.BaseModel):
    """What the server read of an upload."""

    title: str
    filename: str | None
    size: int


def create_upload_app(received: list[bytes]) -> Flask:
    app = Flask(__name__)
    apidocs = APIDocs(app, title=TITLE)

    @app.post("/uploads")
    @apidocs.validate
    def upload(form: Upload) -> Stored:
        """Upload a file."""
        data = form.file.read()
        received.append(data)
        return Stored(title=form.title, filename=form.file.filename, size=len(data))

    return app


FILE_BYTES = b"\x00\x01binary \xff payload\n" * 40


def fill_upload(visit: Visit, title: str) -> Locator:
    """Swagger UI's upload operation, tried out with ``title`` and :data:`FILE_BYTES`."""
    page = open_swagger_ui(visit)
    operation = page.locator(".opblock-post", has_text="/uploads")
    operation.locator(".opblock-summary").click()
    operation.get_by_role("button", name="Try it out").click()
    # Swagger UI fills a text field with its example, "string": replaced, or emptied.
    operation.locator("input[placeholder='title']").fill(title)
    operation.locator("input[type=file]").set_input_files(
        {"name": "photo.bin", "mimeType": "application/octet-stream", "buffer": FILE_BYTES}
    )
    return operation


@pytest.mark.parametrize("title", ["Holiday", "x" * 41], ids=["valid", "title-too-long"])
def test_swagger_ui_try_it_out_uploads_a_file(
    browser: Browser, live_server: t.Callable[[Flask], str], title: str
) -> None:
    received: list[bytes] = []
    base_url = on_host(live_server(create_upload_app(received)))
    with open_visit(browser, base_url) as visit:
        operation = fill_upload(visit, title)
        with visit.page.expect_response(base_url + "/uploads") as answer:
            operation.get_by_role("button", name="Execute").click()
        status = 200 if len(title) <= 40 else 422
        assert answer.value.status == status
        live = operation.locator(".live-responses-table")
        live.locator(".response-col_status", has_text=str(status)).wait_for()
        shown = json.loads(live.locator(".response-col_description pre").first.inner_text())
        if status == 200:
            assert shown == {"title": title, "filename": "photo.bin", "size": len(FILE_BYTES)}
            assert received == [FILE_BYTES]
        else:
            assert shown["status"] == 422
            assert [(e["location"], e["field"]) for e in shown["errors"]] == [("form", ["title"])]
            assert received == []
            # Chromium logs every 4xx a page fetches: this one is the answer expected.
            assert visit.errors == [
                "console: Failed to load resource: the server responded with a status of 422"
                " (UNPROCESSABLE ENTITY)"
            ]
            visit.errors.clear()
        visit.assert_clean()


def test_swagger_ui_does_not_send_an_upload_without_its_required_title(
    browser: Browser, live_server: t.Callable[[Flask], str]
) -> None:
    received: list[bytes] = []
    base_url = on_host(live_server(create_upload_app(received)))
    with open_visit(browser, base_url) as visit:
        operation = fill_upload(visit, "")
        operation.get_by_role("button", name="Execute").click()
        # Swagger UI checks the document's `required` itself: the field is marked, and
        # nothing is sent.
        operation.locator("input[placeholder='title'].invalid").wait_for()
        assert operation.locator(".live-responses-table").count() == 0
        assert base_url + "/uploads" not in visit.requests
        assert received == []
        visit.assert_clean()
