"""The Python examples of the migration guides from APIFlask, flask-openapi3 and SpecTree
run as written.

Each ```python block of the two guides is run on its own, in a fresh namespace, except
those right after a ``<!-- peer code: not run -->`` comment: they show the peer's code
("before"), which needs the peer installed. A block right after
``<!-- example: NAME -->`` is named, so a later block can continue it (the "checking the
result" blocks assert on the worked example's app) and tests can pick it out.
"""

from __future__ import annotations

import re
import sys
import types
import typing as t
from pathlib import Path

import pytest

pytest.importorskip("pydantic")

MIGRATING = Path(__file__).resolve().parent.parent / "docs" / "migrating"
GUIDES = ("apiflask.md", "flask-openapi3-spectree.md")
SKIP = "<!-- peer code: not run -->"
BLOCK = re.compile(r"(?:(<!--[^\n]*-->)\n)?```python\n(.*?)```", re.DOTALL)
NAMED = re.compile(r"<!-- example: ([\w-]+) -->")
CONTINUES = {"apiflask-check": "apiflask-after", "openapi3-check": "openapi3-after"}


class Block(t.NamedTuple):
    guide: str
    line: int
    name: str | None
    code: str


def blocks(guide: str) -> list[Block]:
    text = (MIGRATING / guide).read_text(encoding="utf-8")
    found = []
    for match in BLOCK.finditer(text):
        comment, code = match.group(1), match.group(2)
        if comment == SKIP:
            continue
        named = NAMED.fullmatch(comment or "")
        line = text.count("\n", 0, match.start(2)) + 1
        found.append(Block(guide, line, named.group(1) if named else None, code))
    return found


ALL = [block for guide in GUIDES for block in blocks(guide)]


def run(block: Block, namespace: dict[str, t.Any] | None = None) -> dict[str, t.Any]:
    """Run ``block`` as the body of a module of its own (``from __future__`` and all), as
    a reader pasting it into a file would."""
    module = types.ModuleType(f"guide_{block.guide.split('.')[0].replace('-', '_')}_{block.line}")
    if namespace is not None:
        module.__dict__.update({k: v for k, v in namespace.items() if not k.startswith("__")})
    sys.modules[module.__name__] = module  # pydantic resolves hints through the module
    try:
        # Blank lines first, so a traceback's line numbers are the guide's.
        code = "\n" * (block.line - 1) + block.code
        exec(compile(code, str(MIGRATING / block.guide), "exec"), module.__dict__)
    finally:
        del sys.modules[module.__name__]
    return module.__dict__


def named(name: str) -> Block:
    (block,) = [block for block in ALL if block.name == name]
    return block


def test_the_guides_have_runnable_examples_and_peer_examples_are_marked() -> None:
    for guide in GUIDES:
        text = (MIGRATING / guide).read_text(encoding="utf-8")
        assert blocks(guide), guide
        # Every peer import is in a block the extractor skips.
        for block in blocks(guide):
            for peer in ("apiflask", "flask_openapi3", "spectree"):
                assert not re.search(rf"^\s*(from|import) {peer}\b", block.code, re.M), (
                    f"{guide}:{block.line} imports {peer} but is not marked {SKIP}"
                )
        assert SKIP in text


@pytest.mark.parametrize(
    "block",
    [block for block in ALL if block.name not in CONTINUES],
    ids=lambda block: f"{block.guide}:{block.line}",
)
def test_example_runs(block: Block) -> None:
    namespace = run(block)
    # Whatever app an example makes, its document builds (every hint is describable).
    for value in list(namespace.values()):
        if type(value).__name__ == "Flask" and "flask-plug-apidocs" in value.extensions:
            apidocs = value.extensions["flask-plug-apidocs"]
            assert apidocs.document(value)["openapi"].startswith("3.1")


@pytest.mark.parametrize("check", sorted(CONTINUES))
def test_checking_the_result(check: str) -> None:
    """The "checking the result" blocks assert what the guides say the worked example
    answers; they run against that example's app."""
    run(named(check), run(named(CONTINUES[check])))
