"""The Python examples of the "Bring your own user model" guide run as written.

A block right after ``<!-- example: NAME -->`` is named; a ``-check`` block runs in the
namespace its app block left, as a reader continuing in the same file would.
"""

from __future__ import annotations

import re
import secrets
import sys
import types
import typing as t
from pathlib import Path

import pytest

pytest.importorskip("flask_sqlalchemy")

GUIDE = Path(__file__).resolve().parent.parent / "docs" / "guides" / "user-model.md"
BLOCK = re.compile(r"<!-- example: ([\w-]+) -->\n```python\n(.*?)```", re.DOTALL)
EXAMPLES = dict(BLOCK.findall(GUIDE.read_text(encoding="utf-8")))


def run(name: str, namespace: dict[str, t.Any] | None = None) -> dict[str, t.Any]:
    """Run a block as the body of a module of its own, as a file pasted from the guide."""
    module = types.ModuleType(f"guide_user_model_{name.replace('-', '_')}")
    module.__dict__.update(namespace or {})
    sys.modules[module.__name__] = module  # SQLAlchemy resolves annotations through it
    try:
        exec(compile(EXAMPLES[name], f"{GUIDE.name}:{name}", "exec"), module.__dict__)  # noqa: S102
    except BaseException:
        close(module.__dict__)
        raise
    finally:
        del sys.modules[module.__name__]
    return module.__dict__


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SECRET_KEY", secrets.token_hex(32))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'app.db'}")
    monkeypatch.chdir(tmp_path)


def test_every_example_is_run_here() -> None:
    assert set(EXAMPLES) == {"fsqla-app", "fsqla-check", "plain-app", "legacy-model"}


def close(namespace: dict[str, t.Any]) -> None:
    """Close what an example left open: its sessions and engines."""
    from flask_sqlalchemy import SQLAlchemy
    from sqlalchemy.engine import Engine
    from sqlalchemy.orm import scoped_session

    for value in namespace.values():
        if isinstance(value, scoped_session):
            value.remove()
        elif isinstance(value, Engine):
            value.dispose()
    if isinstance(namespace.get("db"), SQLAlchemy) and "app" in namespace:
        with namespace["app"].app_context():
            namespace["db"].session.remove()
            namespace["db"].engine.dispose()


def test_flask_sqlalchemy_example() -> None:
    close(run("fsqla-check", run("fsqla-app")))


@pytest.mark.parametrize("name", ["plain-app", "legacy-model"])
def test_standalone_examples(name: str) -> None:
    close(run(name))
