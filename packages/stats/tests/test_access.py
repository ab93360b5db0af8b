"""Who may read each stats view: one rule for all, a rule per view, and credentials a
scraper of the metrics can be asked for (401 with ``WWW-Authenticate``)."""

from __future__ import annotations

import base64
import typing as t

import pytest
from flask import Flask, request
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flask_plug.stats import Stats

if t.TYPE_CHECKING:
    from flask.testing import FlaskClient

REMOTE = {"REMOTE_ADDR": "203.0.113.9"}
VIEWS = {
    "json": "/admin/stats",
    "dashboard": "/admin/stats/dashboard",
    "static": "/admin/stats/static/stats/dashboard.js",
    "metrics": "/admin/stats/metrics",
}
TOKEN = "s3cr3t-Token_0123456789abcdef"


def make_client(stats: Stats | None = None, **config: t.Any) -> FlaskClient:
    app = Flask(__name__)
    app.config.update({f"STATS_{key.upper()}": value for key, value in config.items()})
    (stats or Stats()).init_app(app)
    return app.test_client()


def statuses(client: FlaskClient, **environ: t.Any) -> dict[str, int]:
    answers = {}
    for view, path in VIEWS.items():
        with client.get(path, environ_base=environ) as response:
            answers[view] = response.status_code
    return answers


def basic(user: str, password: str) -> dict[str, str]:
    pair = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {pair}"}


def test_by_default_loopback_clients_see_every_view_and_others_none() -> None:
    client = make_client()
    assert set(statuses(client).values()) == {200}
    assert set(statuses(client, **REMOTE).values()) == {403}


def test_one_rule_for_every_view() -> None:
    client = make_client(access=lambda: request.headers.get("X-Admin") == "yes")
    assert set(statuses(client).values()) == {403}
    client.environ_base["HTTP_X_ADMIN"] = "yes"
    assert set(statuses(client, **REMOTE).values()) == {200}


def test_a_rule_per_view_replaces_the_common_one_for_that_view() -> None:
    client = make_client(
        access=lambda: False,
        dashboard_access=lambda: request.headers.get("X-Role") == "viewer",
        metrics_access=lambda: request.headers.get("X-Role") == "scraper",
    )
    assert statuses(client) == {"json": 403, "dashboard": 403, "static": 403, "metrics": 403}
    client.environ_base["HTTP_X_ROLE"] = "viewer"
    assert statuses(client) == {"json": 403, "dashboard": 200, "static": 200, "metrics": 403}
    client.environ_base["HTTP_X_ROLE"] = "scraper"
    assert statuses(client) == {"json": 403, "dashboard": 403, "static": 403, "metrics": 200}


def test_a_json_rule_leaves_the_others_to_access_check() -> None:
    stats = Stats()
    stats.access_check(lambda: request.headers.get("X-Admin") == "yes")
    client = make_client(stats, json_access=lambda: True)
    assert statuses(client, **REMOTE) == {
        "json": 200,
        "dashboard": 403,
        "static": 403,
        "metrics": 403,
    }


def test_basic_credentials_admit_a_scraper_from_anywhere() -> None:
    client = make_client(metrics_username="prometheus", metrics_password="pässword")
    response = client.get(
        VIEWS["metrics"], headers=basic("prometheus", "pässword"), environ_base=REMOTE
    )
    assert response.status_code == 200
    assert b"flask_http_requests_in_flight" in response.data
    # The other views keep their rule.
    assert (
        client.get(
            VIEWS["json"], headers=basic("prometheus", "pässword"), environ_base=REMOTE
        ).status_code
        == 403
    )


@pytest.mark.parametrize(
    "headers",
    [
        {},
        basic("prometheus", "wrong"),
        basic("other", "pässword"),
        basic("prometheus", "pässword") | {"Authorization": "Basic !!!"},
        {"Authorization": f"Bearer {TOKEN}"},
    ],
)
def test_a_scraper_without_the_basic_credentials_is_asked_for_them(
    headers: dict[str, str],
) -> None:
    client = make_client(metrics_username="prometheus", metrics_password="pässword")
    # Loopback too: the credentials replace the default rule for the metrics.
    response = client.get(VIEWS["metrics"], headers=headers)
    assert response.status_code == 401
    assert response.headers.getlist("WWW-Authenticate") == [
        'Basic realm="metrics", charset="UTF-8"'
    ]
    assert b"flask_http" not in response.data


def test_a_bearer_token_admits_a_scraper() -> None:
    client = make_client(metrics_bearer_token=TOKEN)
    ok = client.get(
        VIEWS["metrics"], headers={"Authorization": f"bearer  {TOKEN}"}, environ_base=REMOTE
    )
    assert ok.status_code == 200
    refused = client.get(VIEWS["metrics"], headers={"Authorization": f"Bearer {TOKEN}x"})
    assert refused.status_code == 401
    assert refused.headers.getlist("WWW-Authenticate") == ['Bearer realm="metrics"']


def test_with_both_schemes_either_admits_and_both_are_offered() -> None:
    client = make_client(
        metrics_username="prometheus", metrics_password="pw", metrics_bearer_token=TOKEN
    )
    assert client.get(VIEWS["metrics"], headers=basic("prometheus", "pw")).status_code == 200
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    assert client.get(VIEWS["metrics"], headers=bearer).status_code == 200
    refused = client.get(VIEWS["metrics"])
    assert refused.headers.getlist("WWW-Authenticate") == [
        'Basic realm="metrics", charset="UTF-8"',
        'Bearer realm="metrics"',
    ]


def test_a_metrics_rule_applies_on_top_of_the_credentials() -> None:
    client = make_client(
        metrics_bearer_token=TOKEN,
        metrics_access=lambda: request.remote_addr == "10.0.0.5",
    )
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    assert client.get(VIEWS["metrics"], headers=bearer, environ_base=REMOTE).status_code == 403
    inside = {"REMOTE_ADDR": "10.0.0.5"}
    assert client.get(VIEWS["metrics"], headers=bearer, environ_base=inside).status_code == 200
    assert client.get(VIEWS["metrics"], environ_base=inside).status_code == 401


@pytest.fixture(scope="module")
def guarded() -> FlaskClient:
    return make_client(
        metrics_username="prometheus", metrics_password="pw", metrics_bearer_token=TOKEN
    )


LATIN_1 = st.characters(min_codepoint=32, max_codepoint=255)


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    header=st.one_of(
        st.text(LATIN_1, max_size=80),
        st.builds(
            lambda scheme, credentials: f"{scheme} {credentials}",
            st.sampled_from(["Basic", "basic", "BASIC", "Bearer", "bearer", "Digest"]),
            st.text(LATIN_1, max_size=60),
        ),
        st.builds(
            lambda user, password: basic(user, password)["Authorization"],
            st.text(st.characters(exclude_categories=["Cs"]), max_size=20),
            st.text(st.characters(exclude_categories=["Cs"]), max_size=20),
        ),
    )
)
def test_no_authorization_header_but_the_right_one_gets_in_or_breaks_anything(
    guarded: FlaskClient, header: str
) -> None:
    if header in (basic("prometheus", "pw")["Authorization"], f"Bearer {TOKEN}"):
        return
    response = guarded.get(VIEWS["metrics"], headers={"Authorization": header})
    assert response.status_code == 401
