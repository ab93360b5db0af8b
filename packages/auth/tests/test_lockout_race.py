"""Concurrent wrong guesses against a live, threaded server: the brute-force limits hold.

Each guess comes from its own client: its own session cookie, its own CSRF token and,
for the per-account test, its own source address (any 127.0.0.0/8 address is local on
Linux). All of them wait at a barrier and post together, so every check of the limit
happens while other guesses are still hashing.
"""

from __future__ import annotations

import http.client
import re
import threading
import typing as t
from datetime import timedelta
from urllib.parse import urlencode, urlsplit

import pytest
from flask import Flask
from sqlalchemy.engine import Engine

from flask_plug.auth import Auth, Store, User, login_failed

GUESSES = 30
LIMIT = 5
HTML = {"Accept": "text/html"}
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def checked_passwords(app: Flask) -> list[str]:
    """The user names of logins whose password was checked and found wrong."""
    checked: list[str] = []
    lock = threading.Lock()

    @login_failed.connect_via(app, weak=False)
    def count(sender: Flask, username: str, reason: str, **extra: t.Any) -> None:
        if reason == "credentials":
            with lock:
                checked.append(username)

    return checked


class Guesser:
    """One attacker's client: its own connection, source address and session."""

    def __init__(self, port: int, source: str) -> None:
        self.port = port
        self.source = source
        self.cookie = ""
        self.csrf = ""

    def _request(
        self, method: str, body: str | None = None, headers: dict[str, str] | None = None
    ) -> http.client.HTTPResponse:
        connection = http.client.HTTPConnection(
            "127.0.0.1", self.port, timeout=60, source_address=(self.source, 0)
        )
        sent = {**HTML, **(headers or {})}
        if self.cookie:
            sent["Cookie"] = self.cookie
        connection.request(method, "/auth/login", body=body, headers=sent)
        response = connection.getresponse()
        response.read()
        connection.close()
        return response

    def open_form(self) -> None:
        connection = http.client.HTTPConnection(
            "127.0.0.1", self.port, timeout=60, source_address=(self.source, 0)
        )
        connection.request("GET", "/auth/login", headers=HTML)
        response = connection.getresponse()
        page = response.read().decode()
        connection.close()
        assert response.status == 200
        self.cookie = response.getheader("Set-Cookie", "").split(";", 1)[0]
        match = CSRF_FIELD.search(page)
        assert match is not None and self.cookie
        self.csrf = match.group(1)

    def guess(self, username: str, password: str) -> int:
        body = urlencode({"csrf_token": self.csrf, "username": username, "password": password})
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        return self._request("POST", body, headers).status


def guess_together(guessers: list[Guesser], names: list[str]) -> list[int]:
    """Every guesser posts one wrong password at once; their status codes."""
    for guesser in guessers:
        guesser.open_form()
    barrier = threading.Barrier(len(guessers))
    statuses: list[int] = [0] * len(guessers)

    def run(index: int) -> None:
        barrier.wait()
        statuses[index] = guessers[index].guess(names[index], f"wrong-guess-{index:04}")

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(guessers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def test_concurrent_guesses_check_at_most_the_account_limit(
    make_app: t.Callable[..., Flask],
    auth: Auth,
    users: dict[str, User],
    live_server: t.Callable[[Flask], str],
    passwords: dict[str, str],
) -> None:
    app = make_app(AUTH_MAX_FAILURES=LIMIT, AUTH_MAX_FAILURES_PER_ADDRESS=1000)
    checked = checked_passwords(app)
    port = urlsplit(live_server(app)).port
    guessers = [Guesser(port, f"127.0.1.{i + 1}") for i in range(GUESSES)]

    statuses = guess_together(guessers, ["ann"] * GUESSES)

    assert len(checked) == LIMIT, f"{len(checked)} passwords checked, limit {LIMIT}"
    assert sorted(statuses) == [401] * LIMIT + [429] * (GUESSES - LIMIT)
    # The account stays locked, even with the right password from a fresh address.
    late = Guesser(port, "127.0.2.1")
    late.open_form()
    assert late.guess("ann", passwords["ann"]) == 429


def test_concurrent_guesses_from_one_address_check_at_most_the_address_limit(
    make_app: t.Callable[..., Flask],
    users: dict[str, User],
    live_server: t.Callable[[Flask], str],
) -> None:
    app = make_app(AUTH_MAX_FAILURES=1000, AUTH_MAX_FAILURES_PER_ADDRESS=LIMIT)
    checked = checked_passwords(app)
    port = urlsplit(live_server(app)).port
    guessers = [Guesser(port, "127.0.3.1") for _ in range(GUESSES)]

    statuses = guess_together(guessers, [f"user-{i}" for i in range(GUESSES)])

    assert len(checked) == LIMIT, f"{len(checked)} passwords checked, limit {LIMIT}"
    assert sorted(statuses) == [401] * LIMIT + [429] * (GUESSES - LIMIT)


class UpdateThenSelectStore(Store):
    """The store as it runs on databases without ``INSERT ... ON CONFLICT ... RETURNING``
    (SQLite before 3.35, MySQL): a locking UPDATE, then a SELECT in the same transaction."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self._upsert = None


@pytest.mark.parametrize("store_class", [Store, UpdateThenSelectStore], ids=["upsert", "update"])
def test_concurrent_reservations_grant_at_most_the_limit(
    db: t.Any, store_class: type[Store]
) -> None:
    store = store_class(db.engine())
    store.create_tables()
    barrier = threading.Barrier(GUESSES)
    granted: list[bool] = []

    def reserve(index: int) -> None:
        limits = {"user:ann": LIMIT, f"addr:10.0.0.{index}": 1000}
        barrier.wait()
        wait = store.reserve_attempt(limits, timedelta(minutes=15))
        granted.append(wait is None)
        if wait is not None:
            assert 0 < wait <= 15 * 60

    threads = [threading.Thread(target=reserve, args=(i,)) for i in range(GUESSES)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert granted.count(True) == LIMIT
    counts = store.failures(["user:ann", "addr:10.0.0.0"], timedelta(minutes=15))
    assert counts["user:ann"][0] == LIMIT  # refused attempts were rolled back
    store.release_attempt(["user:ann"])
    assert store.reserve_attempt({"user:ann": LIMIT}, timedelta(minutes=15)) is None
