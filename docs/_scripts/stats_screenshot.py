"""Regenerate ``docs/_static/stats-dashboard.png``: the stats dashboard of a small shop app,
served on 127.0.0.1, after a minute of real traffic, as Debian's Chromium draws it.

Run it with a Python that has flask-plug-stats and Playwright (the test environment has
both), from the repository's root::

    python docs/_scripts/stats_screenshot.py [--seconds 60]

The history samples every second here, so a minute of traffic fills the charts; the app's
defaults (10 s, 30 minutes) would need half an hour.
"""

from __future__ import annotations

import argparse
import http.client
import math
import random
import threading
import time
import typing as t
from pathlib import Path

from flask import Flask, abort, request
from playwright.sync_api import sync_playwright
from werkzeug.serving import WSGIRequestHandler, make_server

from flask_plug.stats import Stats

OUTPUT = Path(__file__).resolve().parents[1] / "_static" / "stats-dashboard.png"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def shop() -> Flask:
    """Five endpoints of different speeds; search sometimes fails, unknown products 404."""
    app = Flask("shop")
    app.config["PROPAGATE_EXCEPTIONS"] = False
    app.logger.disabled = True  # the failing searches' tracebacks are expected
    stats = Stats(app, history_interval=1, history_samples=60)

    @stats.collector("large_responses")
    def large_responses(request: object, response: t.Any, elapsed: float) -> int:
        return 1 if (response.content_length or 0) > 1000 else 0

    @app.get("/")
    def index() -> str:
        return "welcome"

    @app.get("/products")
    def products() -> dict[str, list[int]]:
        time.sleep(random.uniform(0.005, 0.02))
        return {"products": list(range(400))}

    @app.get("/products/<int:product_id>")
    def product(product_id: int) -> dict[str, int]:
        if product_id > 90:
            abort(404)
        time.sleep(random.uniform(0.002, 0.008))
        return {"id": product_id}

    @app.get("/search")
    def search() -> dict[str, str]:
        time.sleep(random.expovariate(1 / 0.06))
        if random.random() < 0.04:
            raise TimeoutError("the search backend did not answer")
        return {"query": request.args.get("q", "")}

    @app.post("/cart")
    def cart() -> tuple[dict[str, bool], int]:
        time.sleep(random.uniform(0.02, 0.05))
        return {"added": True}, 201

    return app


class QuietHandler(WSGIRequestHandler):
    def log(self, type: str, message: str, *args: t.Any) -> None:
        pass


PATHS = [
    ("GET", "/", 30),
    ("GET", "/products", 20),
    ("GET", "/products/{id}", 25),
    ("GET", "/search?q=tea", 10),
    ("POST", "/cart", 10),
    ("GET", "/favicon.ico", 5),
]


def shopper(port: int, stop: threading.Event, started: float, seconds: float) -> None:
    """Requests at a rate that swells and ebbs over the run, as a day's traffic would."""
    rng = random.Random()
    methods, paths, weights = zip(*PATHS, strict=True)
    while not stop.is_set():
        index = rng.choices(range(len(PATHS)), weights)[0]
        path = paths[index].format(id=rng.randint(1, 100))
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            connection.request(methods[index], path)
            connection.getresponse().read()
        finally:
            connection.close()
        phase = (time.monotonic() - started) / seconds
        time.sleep(rng.uniform(0.01, 0.05) * (1.6 - math.sin(phase * 2.5 * math.pi)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="how long the traffic runs")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args()

    server = make_server("127.0.0.1", 0, shop(), threaded=True, request_handler=QuietHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_port
    stop = threading.Event()
    started = time.monotonic()
    shoppers = [
        threading.Thread(target=shopper, args=(port, stop, started, args.seconds)) for _ in range(6)
    ]
    for thread in shoppers:
        thread.start()
    try:
        time.sleep(args.seconds)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
            )
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            page.goto(f"http://127.0.0.1:{port}/admin/stats/dashboard")
            page.wait_for_selector("#rate-chart path.requests")
            page.wait_for_selector("#endpoints tr")
            page.screenshot(path=str(args.output), full_page=True)
            browser.close()
    finally:
        stop.set()
        for thread in shoppers:
            thread.join()
        server.shutdown()
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
