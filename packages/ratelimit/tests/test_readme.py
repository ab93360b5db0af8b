"""What the README promises beyond its examples, which run through the root conftest.py
(Sybil) with their checks in hidden blocks beside them."""

from __future__ import annotations

import importlib.metadata
import re
from pathlib import Path

from flask_plug.ratelimit import RateLimitNeverAllowed

README = Path(__file__).resolve().parent.parent / "README.md"


def readme() -> str:
    if README.exists():
        return README.read_text(encoding="utf-8")
    # Tests run against the installed wheel (dist:check): its description is the README.
    description = importlib.metadata.metadata("flask-plug-ratelimit").json["description"]
    assert isinstance(description, str)
    return description


def test_the_never_pass_problem_type_is_its_readme_section() -> None:
    # MyST names a heading's anchor as GitHub does: lower case, spaces to hyphens.
    anchors = {
        re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        for heading in re.findall(r"^#{2,3} (.+)$", readme(), re.M)
    }
    page, _, anchor = RateLimitNeverAllowed.type.partition("#")
    assert page == "https://flask-plug.github.io/flask-plug/ratelimit.html"
    assert anchor in anchors
