"""The Flask-Limiter migration guide's own example runs as written and answers what the
guide says, in the Redis it names.

Blocks right after ``<!-- peer code: not run -->`` show Flask-Limiter's code, which is not
installed here; every other ``python`` block is named by ``<!-- example: NAME -->`` and
run. The guide's app keeps its counts under ``key_prefix="notes"`` in
``redis://127.0.0.1:6379/0``, as written: its keys are deleted before and after.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import sys
import tempfile
import types
import typing as t
from pathlib import Path

import pytest

if t.TYPE_CHECKING:
    from flask import Flask

GUIDE = Path(__file__).resolve().parent.parent / "docs" / "migrating" / "flask-limiter.md"
BLOCK = re.compile(r"(?:<!-- ([^\n]*) -->\n)?```(\w+)\n(.*?)^```", re.DOTALL | re.M)
PEER = "peer code: not run"


class Block(t.NamedTuple):
    comment: str
    language: str
    code: str


def guide() -> str:
    return GUIDE.read_text(encoding="utf-8")


def blocks() -> list[Block]:
    return [Block(*match) for match in BLOCK.findall(guide())]


def named(name: str) -> Block:
    [block] = [block for block in blocks() if block.comment == f"example: {name}"]
    return block


def test_every_python_block_is_run_here_or_flask_limiters() -> None:
    python = [block for block in blocks() if block.language == "python"]
    assert [block.comment for block in python] == [PEER, PEER, "example: after"]
    for block in python:
        if block.comment == PEER:
            assert re.search(r"^from flask_limiter\b", block.code, re.M)
    # The import block's own line imports what it says.
    [imports] = [line for line in python[0].code.splitlines() if "flask_plug" in line]
    exec(imports, {})  # noqa: S102


@pytest.fixture
def guide_app(monkeypatch: pytest.MonkeyPatch) -> t.Iterator[Flask]:
    """The guide's "after" app, run as the module ``app``, with no counts in Redis."""
    redis = pytest.importorskip("redis")
    module = types.ModuleType("app")
    monkeypatch.setitem(sys.modules, "app", module)
    exec(compile(named("after").code, str(GUIDE), "exec"), module.__dict__)  # noqa: S102
    app: Flask = module.create_app()
    settings = app.extensions["flask-plug-ratelimit"].settings
    url = os.environ.get("REDIS_URL", settings.storage_uri)
    if url != settings.storage_uri:
        pytest.skip(f"the guide's example uses {settings.storage_uri}, not REDIS_URL {url}")
    client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
    try:
        client.ping()
    except (redis.RedisError, OSError) as e:
        client.close()
        if os.environ.get("CI"):
            pytest.fail(f"Redis at {url} is unreachable ({e})")
        pytest.skip(f"Redis at {url} is unreachable ({e})")

    def forget_counts() -> None:
        for key in client.scan_iter(match=f"{settings.key_prefix}:*"):
            client.delete(key)

    # The guide's keys are the same for every test and every run: one test at a time holds
    # them, across pytest-xdist workers and runs side by side on this machine.
    lock = Path(tempfile.gettempdir(), "flask-plug-flask-limiter-guide.lock")
    with lock.open("a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        forget_counts()
        try:
            yield app
        finally:
            forget_counts()
            client.close()


def test_five_logins_then_the_handlers_answer(guide_app: Flask) -> None:
    text = " ".join(guide().split())
    assert "Each allowed five logins and refused the sixth with 429." in text
    shown_in = r"the rest of the current minute, 29 seconds in that run, with `(.*?)`"
    [body] = re.findall(shown_in, text)
    shown = json.loads(body)

    client = guide_app.test_client()
    logins = [client.post("/login") for _ in range(6)]
    assert [r.status_code for r in logins] == [200] * 5 + [429]
    assert logins[0].json == {"ok": True}
    assert logins[0].headers["X-RateLimit-Limit"] == "5"  # legacy_headers=True

    refused = logins[-1]
    # Sliding window: no room until the current minute of Redis's clock ends.
    wait = int(refused.headers["Retry-After"])
    assert 1 <= wait <= 60
    assert refused.json == {**shown, "retry_after": wait}

    search = client.get("/search").headers["RateLimit"]
    assert search.startswith('"search/300-3600";r=299;')
    advanced = client.get("/search/advanced").headers["RateLimit"]
    assert advanced.startswith('"search/300-3600";r=298;')
    health = client.get("/health")
    assert health.text == "ok" and "RateLimit" not in health.headers


def test_checking_the_result_shows_each_route(guide_app: Flask) -> None:
    command, *output = named("show").code.splitlines()
    assert command == "$ flask --app app:create_app ratelimit show"
    result = guide_app.test_cli_runner().invoke(args=["ratelimit", "show"])
    assert result.exit_code == 0
    assert result.output.splitlines() == output
