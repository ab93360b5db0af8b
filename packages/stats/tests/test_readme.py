"""The README's examples run as written, and their apps export what the README says.

A block right after ``<!-- example: NAME -->`` is named. Each ``python`` block runs as the
body of a module of its own, as a file pasted from the README would; one that continues
another runs in the namespace that one left.
"""

from __future__ import annotations

import importlib.metadata
import re
import sys
import types
import typing as t
from pathlib import Path

import pytest
from flask import g
from prometheus_client.parser import text_string_to_metric_families

if t.TYPE_CHECKING:
    from flask import Flask

HERE = Path(__file__).resolve().parent
README = HERE.parent / "README.md"
BLOCK = re.compile(r"(?:<!-- example: ([\w-]+) -->\n)?```(\w+)\n(.*?)^```", re.DOTALL | re.M)
CONTINUES = {
    "access-check": "quickstart",
    "scrape-credentials": "access-check",
    "labelled-collector": "scrape-credentials",
    "custom-metrics": "labelled-collector",
    "info": "custom-metrics",
}
TOKEN = "readme-token-0123456789"


class Block(t.NamedTuple):
    name: str | None
    language: str
    code: str


def readme() -> str:
    if README.exists():
        return README.read_text(encoding="utf-8")
    # Tests run against the installed wheel (dist:check): its description is the README.
    description = importlib.metadata.metadata("flask-plug-stats").json["description"]
    assert isinstance(description, str)
    return description


def blocks() -> list[Block]:
    return [Block(*match) for match in BLOCK.findall(readme())]


def run(name: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, t.Any]:
    """Run the block ``name`` after the blocks it continues, as the module ``app``."""
    chain = [name]
    while chain[-1] in CONTINUES:
        chain.append(CONTINUES[chain[-1]])
    module = types.ModuleType("app")
    monkeypatch.setitem(sys.modules, "app", module)
    for step in reversed(chain):
        [block] = [block for block in blocks() if block.name == step]
        exec(compile(block.code, f"<example {step}>", "exec"), module.__dict__)  # noqa: S102
    return module.__dict__


def says(claim: str) -> None:
    assert claim in " ".join(readme().split()), f"the README no longer says {claim!r}"


@pytest.fixture(autouse=True)
def metrics_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("METRICS_TOKEN", TOKEN)


def test_every_python_example_is_named_and_run_here() -> None:
    names = [block.name for block in blocks() if block.language == "python"]
    assert names == [
        "quickstart",
        "access-check",
        "scrape-credentials",
        "labelled-collector",
        "custom-metrics",
        "info",
        "gunicorn-conf",
    ]


def test_quick_start_serves_the_three_views(monkeypatch: pytest.MonkeyPatch) -> None:
    app: Flask = run("quickstart", monkeypatch)["create_app"]()
    client = app.test_client()
    for path in ("/admin/stats", "/admin/stats/dashboard", "/admin/stats/metrics"):
        assert client.get(path).status_code == 200


def scrape(app: Flask) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = app.test_client().get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.get_data(as_text=True))
        for sample in family.samples
    }


def test_the_scraper_needs_the_token_and_the_pages_an_admin(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app: Flask = run("scrape-credentials", monkeypatch)["create_app"]()
    app.before_request(lambda: setattr(g, "user", None))  # nobody logged in
    client = app.test_client()
    refused = client.get("/metrics")
    assert refused.status_code == 401
    assert refused.headers["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert scrape(app)
    assert client.get("/admin/stats/dashboard").status_code == 403
    assert client.get("/admin/stats").status_code == 403
    says("metrics_path: /metrics")


def test_the_custom_metrics_count_as_the_readme_says(monkeypatch: pytest.MonkeyPatch) -> None:
    app: Flask = run("info", monkeypatch)["app"]
    client = app.test_client()
    assert client.get("/reports/daily").json == {"kind": "daily"}
    assert client.get("/reports/daily").status_code == 200
    assert client.get("/export/users.csv").status_code == 200
    exported = scrape(app)
    assert exported[("report_requests_total", (("kind", "daily"), ("status", "200")))] == 2
    assert exported[("report_seconds_count", ())] == 2
    assert exported[("report_seconds_bucket", (("le", "30.0"),))] == 2
    assert exported[("reports_in_progress", ())] == 0
    assert exported[("export_seconds_count", (("format", "csv"),))] == 1
    collected = (("collector", "response_bytes"), ("content_type", "application/json"))
    key = ("flask_http_collected_response_bytes_total", (*collected, ("endpoint", "report")))
    assert exported[key] == 2 * len(client.get("/reports/daily").data)

    text = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).get_data(
        as_text=True
    )
    [line] = [line for line in text.splitlines() if line.startswith("app_info")]
    says(f"exports `{line}`")


def test_the_gunicorn_config_defines_child_exit(monkeypatch: pytest.MonkeyPatch) -> None:
    assert callable(run("gunicorn-conf", monkeypatch)["child_exit"])
