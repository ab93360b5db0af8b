"""Every Python and console example of the READMEs and docs pages runs as written.

What the markers in a page mean is documented in :mod:`flask_plug_testing.examples`.
"""

from __future__ import annotations

import typing as t
from pathlib import Path

import pytest

from flask_plug_testing.examples import examples, keep_pages_in_order

pytest_collect_file = examples(
    path=str(Path(__file__).parent),
    patterns=["*.md"],
    # Jinja sources of the package scaffold, and pages generated from other sources.
    excludes=["template/**/*.md", "docs/_generated/*.md", "docs/_build/**/*.md"],
).pytest()


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    keep_pages_in_order(t.cast("list[t.Any]", items))
