from __future__ import annotations

import logging
import typing as t

import pytest
from flask import Flask

from flask_plug.stats import Stats

if t.TYPE_CHECKING:
    from flask.testing import FlaskClient


def test_collector_values_add_up_per_endpoint(
    stats: Stats, client: FlaskClient, summary: t.Any
) -> None:
    stats.register_collector("bytes", lambda request, response, elapsed: response.content_length)

    @stats.collector("slow")
    def slow(request: t.Any, response: t.Any, elapsed: float) -> int:
        return 1 if elapsed > 10 else 0

    for user_id in (1, 22, 333):
        client.get(f"/users/{user_id}")
    collectors = summary(client)["user"]["collectors"]
    assert collectors == {"bytes": len("user 1") + len("user 22") + len("user 333"), "slow": 0}


def test_a_raising_collector_is_logged_once_and_skipped(
    stats: Stats, client: FlaskClient, summary: t.Any, caplog: pytest.LogCaptureFixture, app: Flask
) -> None:
    def broken(request: t.Any, response: t.Any, elapsed: float) -> int:
        raise RuntimeError("collector bug")

    stats.register_collector("broken", broken)
    stats.register_collector("count", lambda request, response, elapsed: 1)
    with caplog.at_level(logging.ERROR, logger=app.logger.name):
        codes = [client.get("/users/1").status_code for _ in range(5)]
    assert codes == [200] * 5
    assert summary(client)["user"]["collectors"] == {"count": 5}
    assert len([r for r in caplog.records if "'broken' failed" in r.getMessage()]) == 1


@pytest.mark.parametrize("value", ["3", -1, float("nan"), True])
def test_a_collector_returning_a_non_count_is_skipped(
    stats: Stats, client: FlaskClient, summary: t.Any, value: t.Any
) -> None:
    stats.register_collector("odd", lambda request, response, elapsed: value)
    assert client.get("/users/1").status_code == 200
    assert summary(client)["user"]["collectors"] == {}
