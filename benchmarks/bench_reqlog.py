"""flask-plug-reqlog against bare Flask and a plain ``logging.FileHandler`` access logger.

Both loggers write a Combined line per request to a file in a temporary folder. Ours
writes from its own thread; each timed run ends by waiting for that thread to write
everything, so its work is counted too.
"""

from __future__ import annotations

import logging
import tempfile
import typing as t
from pathlib import Path

from flask import Flask, Response, request
from harness import Result, Variant, measure

from flask_plug.reqlog import RequestLog

PAYLOAD = {"id": 1, "title": "hello", "tags": ["a", "b"]}
HEADERS = (
    ("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36"),
    ("Referer", "https://example.com/notes?page=2"),
)


def _plain_file_logger(app: Flask, path: Path) -> None:
    """What many apps do: an after_request hook and a FileHandler, without escaping."""
    logger = logging.getLogger("bench.access")
    logger.handlers.clear()
    logger.addHandler(logging.FileHandler(path, encoding="utf-8"))
    logger.setLevel(logging.INFO)
    logger.propagate = False

    @app.after_request
    def log_request(response: Response) -> Response:
        logger.info(
            '%s - - [%s] "%s %s %s" %s %s "%s" "%s"',
            request.remote_addr, "-", request.method, request.full_path,
            request.environ.get("SERVER_PROTOCOL"), response.status_code,
            response.content_length, request.referrer, request.user_agent.string,
        )  # fmt: skip
        return response


def combined_to_file(folder: Path) -> list[Variant]:
    bare = Flask("bare")
    bare.get("/")(lambda: PAYLOAD)

    ours = Flask("ours")
    reqlog = RequestLog(ours, output=str(folder / "reqlog.log"), format="combined")
    ours.get("/")(lambda: PAYLOAD)

    peer = Flask("peer")
    _plain_file_logger(peer, folder / "plain.log")
    peer.get("/")(lambda: PAYLOAD)

    return [
        Variant("bare Flask", bare, headers=HEADERS),
        Variant(
            "flask-plug-reqlog, combined to a file",
            ours,
            headers=HEADERS,
            settle=lambda: reqlog.flush(ours),
        ),  # fmt: skip
        Variant("logging.FileHandler in after_request", peer, headers=HEADERS),
    ]


def run() -> list[tuple[str, list[Result]]]:
    with tempfile.TemporaryDirectory() as folder:
        results = measure(combined_to_file(Path(folder)))
    return [("reqlog: Combined lines to a file", results)]


if t.TYPE_CHECKING:
    _: t.Callable[[], list[tuple[str, list[Result]]]] = run
