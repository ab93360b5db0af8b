"""Random methods, paths, header values and login forms: never a 500, bounded growth.

Runs on SQLite and PostgreSQL (the ``app`` fixture): some inputs only fail on one of them
(a 150 x "İ" user name overflowed a PostgreSQL column).
"""

from __future__ import annotations

import base64
import tracemalloc
import typing as t
from urllib.parse import quote

from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from flask_plug.auth import Auth, User
from flask_plug.auth.models import failed_logins
from flask_plug.auth.names import normalize_username, username_key

Csrf = t.Callable[[FlaskClient], str]
FEW = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)
WARM_UP = 15
"""Requests before memory is counted: the first ones fill Flask's and SQLAlchemy's caches."""
MAX_RETAINED = 2_000_000
"""Bytes the app may keep from all the counted requests together."""

DOTTED_I = "\N{LATIN CAPITAL LETTER I WITH DOT ABOVE}"
header_text = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"),
    max_size=300,
)
any_text = st.text(max_size=200)
user_names = st.one_of(
    any_text,
    st.sampled_from(["ann", "ANN", " ann ", "bob", "", "an\x00n", "\ufeffann"]),
    st.integers(1, 400).map(lambda n: DOTTED_I * n),
    st.integers(140, 160).map(lambda n: "\N{LATIN SMALL LETTER SHARP S}" * n),
    st.integers(1_000, 20_000).map(lambda n: "x" * n),
)
methods = st.one_of(
    st.sampled_from(["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "TRACE"]),
    st.from_regex(r"[A-Za-z!#$%&'*+.^_`|~-]{1,20}", fullmatch=True),
)
paths = st.one_of(
    st.sampled_from(["/", "/private", "/admin", "/api/me", "/auth/login", "/auth/logout"]),
    st.sampled_from(["/auth/logout-everywhere", "/auth/", "/auth/login/"]),
    any_text.map(lambda text: "/auth/" + quote(text, safe="")),
    any_text.map(lambda text: "/" + quote(text, safe="/?=&").lstrip("/")),
)


def basic(username: str, password: str) -> str:
    credentials = f"{username}:{password}".encode(errors="surrogatepass")
    return "Basic " + base64.b64encode(credentials).decode()


authorization = st.one_of(
    header_text,
    header_text.map(lambda text: "Bearer " + text),
    st.tuples(user_names, any_text).map(lambda pair: basic(*pair)),
)
headers = st.fixed_dictionaries(
    {},
    optional={
        "Authorization": authorization,
        "Cookie": st.one_of(header_text, header_text.map(lambda v: f"session={v}")),
        "X-Forwarded-For": header_text,
        "Accept": st.one_of(header_text, st.just("text/html")),
        "Content-Type": st.one_of(
            header_text, st.just("application/x-www-form-urlencoded"), st.just("application/json")
        ),
    },
)
bodies = st.one_of(st.none(), st.binary(max_size=2_000), any_text)


def failure_keys(app: Flask, auth: Auth) -> set[str]:
    with app.app_context(), auth.store.engine.connect() as conn:
        return set(conn.scalars(select(failed_logins.c.key)))


def test_random_requests_never_500_and_grow_nothing(
    make_app: t.Callable[..., Flask], auth: Auth
) -> None:
    """Without a valid CSRF token no form reaches the password check; HTTP Basic does
    (``AUTH_API_BASIC`` is on here), so each name it tries may add one counter row."""
    app = make_app(AUTH_API_BASIC=True)
    with app.app_context():
        auth.register_user("ann", "ann-correct-horse-battery", roles=["admin"])
    client = app.test_client()
    named: set[str] = set()
    calls = 0
    retained = 0

    @FEW
    @given(method=methods, path=paths, headers=headers, body=bodies)
    @example(  # found by hand: PostgreSQL answered 500 (the counter key overflowed)
        method="GET",
        path="/private",
        headers={"Authorization": basic(DOTTED_I * 150, "x")},
        body=None,
    )
    def request(method: str, path: str, headers: dict[str, str], body: t.Any) -> None:
        nonlocal calls, retained
        basic = headers.get("Authorization", "")
        if basic.startswith("Basic "):
            decoded = base64.b64decode(basic[6:]).decode(errors="replace")
            name = normalize_username(decoded.partition(":")[0])
            if name is not None:
                named.add(f"user:{username_key(name)}")
        before = tracemalloc.get_traced_memory()[0]
        response = client.open(path, method=method, headers=headers, data=body)
        response.close()
        calls += 1
        if calls > WARM_UP:
            retained += tracemalloc.get_traced_memory()[0] - before
        assert response.status_code < 500, (method, path, headers, response.status_code)

    tracemalloc.start()
    try:
        request()
    finally:
        tracemalloc.stop()
    assert failure_keys(app, auth) <= {"addr:127.0.0.1", *named}
    assert retained < MAX_RETAINED, f"{retained} bytes kept after {calls} requests"


def test_random_login_forms_never_500_and_count_only_real_names(
    app: Flask, auth: Auth, users: dict[str, User], csrf: Csrf
) -> None:
    client = app.test_client()
    token = csrf(client)
    named: set[str] = set()

    @FEW
    @given(
        username=user_names,
        password=st.one_of(any_text, st.integers(1_000, 5_000).map(lambda n: "p" * n)),
        csrf_token=st.one_of(st.just(token), any_text),
        remember=st.sampled_from([None, "on", "\x00"]),
        extra=st.dictionaries(any_text, any_text, max_size=3),
    )
    @example(DOTTED_I * 150, "wrong-password", token, None, {})  # 500 on PostgreSQL in 0.1
    def post(
        username: str, password: str, csrf_token: str, remember: str | None, extra: dict[str, str]
    ) -> None:
        form = {**extra, "csrf_token": csrf_token, "username": username, "password": password}
        if remember is not None:
            form["remember"] = remember
        response = client.post("/auth/login", data=form, headers={"Accept": "text/html"})
        assert response.status_code in (400, 401, 429), response.status_code
        name = normalize_username(username.strip())
        if csrf_token == token and response.status_code != 400 and name is not None:
            named.add(f"user:{username_key(name)}")

    post()
    keys = failure_keys(app, auth)
    assert keys <= {"addr:127.0.0.1", *named}
    assert all(len(key) <= 200 for key in keys)  # the column's length
