from __future__ import annotations

import typing as t


def test_home_page_links_the_api(client: t.Any) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert b'href="/api/notes"' in response.data


def test_api_is_timed_with_spans(client: t.Any) -> None:
    response = client.get("/api/notes")
    assert response.json["notes"][0]["title"] == "Try the timer"
    server_timing = response.headers["Server-Timing"]
    assert server_timing.startswith("app;dur=")
    assert "notes.load;dur=" in server_timing
    assert response.headers["X-Response-Time"].endswith("ms")
