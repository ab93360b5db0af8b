"""Chromium renders the stats dashboard from the app's own JSON, with no error and no
request to any other origin; its history and percentiles are there at the first load and
after a reload."""

from __future__ import annotations

import math
import time
import typing as t

import pytest
from flask import Flask, abort

from flask_plug.stats import Stats

pytestmark = pytest.mark.browser

REFRESH_MS = 5000  # the dashboard's data-refresh-seconds
INTERVAL = 0.5  # the history's, in seconds: short, so that intervals end within the test


def stats_app() -> Flask:
    app = Flask(__name__)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    Stats(app, history_interval=INTERVAL)

    @app.get("/")
    def index() -> dict[str, str]:
        return {"hello": "world"}

    @app.get("/items/<int:item_id>")
    def item(item_id: int) -> dict[str, int]:
        if item_id > 100:
            abort(404)
        return {"id": item_id}

    @app.get("/boom")
    def boom() -> str:
        raise ZeroDivisionError("on purpose")

    return app


@pytest.fixture
def stats_live_server(live_server: t.Callable[[Flask], str]) -> tuple[Flask, str]:
    """An app with Stats served on 127.0.0.1 on a free port: the app and its origin."""
    app = stats_app()
    return app, live_server(app)


def generate_traffic(app: Flask, *, index: int) -> None:
    client = app.test_client()
    for _ in range(index):
        assert client.get("/").status_code == 200
    for item_id in (1, 2, 3, 101):
        client.get(f"/items/{item_id}")
    assert client.get("/nowhere").status_code == 404
    assert client.get("/boom").status_code == 500


def table_counts(page: t.Any) -> dict[str, int]:
    rows = page.eval_on_selector_all(
        "#endpoints tr", "rows => rows.map(r => [...r.cells].map(c => c.textContent))"
    )
    return {row[0]: int(row[1]) for row in rows}


def count(page: t.Any, selector: str) -> int:
    return int(page.locator(selector).count())


def test_dashboard_draws_every_chart_from_its_own_origin(
    browser: t.Any, stats_live_server: tuple[Flask, str]
) -> None:
    app, origin = stats_live_server
    generate_traffic(app, index=3)

    page = browser.new_page()
    console_errors: list[str] = []
    page_errors: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: page_errors.append(str(error)))
    page.on("request", lambda r: requests.append(r.url))
    try:
        # A fake clock drives the page's setInterval: two refreshes without waiting 10 s.
        page.clock.install()
        page.goto(origin + "/admin/stats/dashboard")
        page.wait_for_selector("#endpoints tr")
        assert page.get_attribute("body", "data-refresh-seconds") == str(REFRESH_MS // 1000)
        assert table_counts(page)["index"] == 3

        page.clock.run_for(REFRESH_MS)
        generate_traffic(app, index=5)  # the second refresh must show these
        page.clock.run_for(REFRESH_MS)
        page.wait_for_function(
            "() => [...document.querySelectorAll('#endpoints tr')]"
            ".some(r => r.cells[0].textContent === 'index' && r.cells[1].textContent === '8')"
        )

        counts = table_counts(page)
        assert counts["index"] == 8
        assert counts["item"] == 8  # 404s from abort() count under their route
        assert counts["boom"] == 2
        assert counts["<unmatched>"] == 2  # /nowhere twice; the page asks for no favicon
        assert not any(name.startswith("flask_plug_stats") for name in counts)

        assert count(page, "#rate-chart path.requests") == 1
        assert count(page, "#rate-chart path.errors") == 1
        assert count(page, "#latency-history-chart path.p99") == 1
        # One bar per endpoint and percentile, plus the three legend swatches.
        assert count(page, "#latency-chart rect") == 3 * len(counts) + 3
        assert count(page, "#status-chart rect") > len(counts)
        legend = page.locator("#status-chart text.legend").all_text_contents()
        assert {"200", "404", "500"} <= set(legend)
        assert "requests" in (page.text_content("#status") or "")

        summary_fetches = [url for url in requests if url == origin + "/admin/stats"]
        assert len(summary_fetches) == 3  # the first load and two refreshes
        assert console_errors == []
        assert page_errors == []
        assert requests and all(url.startswith(origin + "/") for url in requests), requests
    finally:
        page.close()


def wait_for_interval(number: int) -> None:
    time.sleep(max(0.0, number * INTERVAL - time.time()) + 0.002)


def plotted(page: t.Any, selector: str) -> int:
    """How many points a line chart's path draws."""
    d = page.get_attribute(selector, "d") or ""
    return d.count("M") + d.count("L")


def table(page: t.Any) -> dict[str, list[str]]:
    rows = page.eval_on_selector_all(
        "#endpoints tr", "rows => rows.map(r => [...r.cells].map(c => c.textContent))"
    )
    return {row[0]: row[1:] for row in rows}


def test_history_and_percentiles_are_there_at_the_first_load_and_after_a_reload(
    browser: t.Any, stats_live_server: tuple[Flask, str]
) -> None:
    app, origin = stats_live_server
    now = math.floor(time.time() / INTERVAL)
    for number, requests in [(now + 1, 3), (now + 2, 6), (now + 3, 2)]:
        wait_for_interval(number)
        generate_traffic(app, index=requests)
    wait_for_interval(now + 4)
    summary = app.test_client().get("/admin/stats").json
    points = summary["history"]["points"]
    assert len(points) >= 3 and sum(p["requests"] for p in points) == 3 * 6 + 11

    page = browser.new_page()
    errors: list[str] = []
    fetches: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("request", lambda r: fetches.append(r.url))
    try:
        page.clock.install()  # no refresh runs: what is drawn comes from the first fetch
        for load in ("first load", "reload"):
            if load == "first load":
                page.goto(origin + "/admin/stats/dashboard")
            else:
                page.reload()
            page.wait_for_selector("#endpoints tr")
            # Every interval of the history, drawn at once: no second fetch needed.
            drawn = plotted(page, "#rate-chart path.requests")
            assert drawn >= len(points), load
            assert plotted(page, "#rate-chart path.errors") == drawn, load
            assert plotted(page, "#latency-history-chart path.p50") >= 3, load
            assert "requests/s" in (page.text_content("#status") or ""), load

            rows = table(page)
            assert set(rows) == set(summary["endpoints"]), load
            for name, entry in summary["endpoints"].items():
                count, server_errors, _, *latency, _ = rows[name]
                assert int(count) == entry["count"], (load, name)
                # Rounded to one decimal: JavaScript rounds 6.25 up, Python to even.
                shown = float(server_errors.rstrip("%"))
                assert shown == pytest.approx(entry["error_rate"] * 100, abs=0.051), (load, name)
                for cell, key in zip(latency, ("mean", "p50", "p95", "p99"), strict=True):
                    assert float(cell) == pytest.approx(entry[key] * 1000, abs=0.051), (load, key)
            assert rows["boom"][1] == "100.0%" and rows["<unmatched>"][2] == "100.0%", load

        summary_fetches = [url for url in fetches if url == origin + "/admin/stats"]
        assert len(summary_fetches) == 2  # one per load
        assert errors == []
        assert all(url.startswith(origin + "/") for url in fetches), fetches
    finally:
        page.close()
