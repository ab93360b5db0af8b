"""Whatever span names and descriptions are accepted, a strict parser reads them back."""

from __future__ import annotations

import typing as t

from flask import Flask
from hypothesis import given, settings
from hypothesis import strategies as st

from flask_plug.timer import Timer

TCHAR = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
names = st.text(alphabet=TCHAR, min_size=1, max_size=20)
descs = st.none() | st.text(
    alphabet=st.characters(max_codepoint=0xFF, exclude_characters="\x7f"), max_size=40
).filter(lambda s: all(c == "\t" or c >= " " for c in s))


@settings(max_examples=200, deadline=None)
@given(spans=st.lists(st.tuples(names, descs), min_size=1, max_size=6, unique_by=lambda s: s[0]))
def test_accepted_spans_read_back_identically(
    spans: list[tuple[str, str | None]], parse: t.Any
) -> None:
    app = Flask(__name__)
    timer = Timer(app, spans=True)

    @app.get("/")
    def index() -> str:
        for name, desc in spans:
            with timer.span(name, desc=desc):
                pass
        return "ok"

    header = app.test_client().get("/").headers["Server-Timing"]
    metrics = parse(header)
    assert [m["name"] for m in metrics] == ["app"] + [name for name, _ in spans]
    for metric, (_, desc) in zip(metrics[1:], spans, strict=True):
        assert metric.get("desc") == desc
        assert float(metric["dur"]) >= 0
