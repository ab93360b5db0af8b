"""The Python examples of the "Bring your own user model" guide, and of the Flask-Login
migration guide's "Keep your user model", run as written.

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

DOCS = Path(__file__).resolve().parent.parent / "docs"
GUIDES = (DOCS / "guides" / "user-model.md", DOCS / "migrating" / "flask-login.md")
BLOCK = re.compile(r"<!-- example: ([\w-]+) -->\n```python\n(.*?)```", re.DOTALL)
EXAMPLES = {
    name: code for guide in GUIDES for name, code in BLOCK.findall(guide.read_text("utf-8"))
}


def run(name: str, namespace: dict[str, t.Any] | None = None) -> dict[str, t.Any]:
    """Run a block as the body of a module of its own, as a file pasted from the guide."""
    module = types.ModuleType(f"guide_user_model_{name.replace('-', '_')}")
    module.__dict__.update(namespace or {})
    sys.modules[module.__name__] = module  # SQLAlchemy resolves annotations through it
    try:
        exec(compile(EXAMPLES[name], f"example {name}", "exec"), module.__dict__)  # noqa: S102
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
    assert set(EXAMPLES) == {
        "fsqla-app",
        "fsqla-check",
        "plain-app",
        "legacy-model",
        "flask-login-keep",
    }


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


def test_a_flask_login_model_kept_as_it_is() -> None:
    """The Flask-Login guide's model, with a user the old app made: logs in by name or
    address in any case, and leaves with an Argon2id hash."""
    pytest.importorskip("flask_login")
    from sqlalchemy import select
    from werkzeug.security import generate_password_hash

    namespace = run("flask-login-keep")
    app, db, auth, user_model = (namespace[k] for k in ("create_app", "db", "auth", "User"))
    app = app()
    namespace["app"] = app
    try:
        with app.app_context():
            db.create_all()
            auth.store.create_tables()
            old_hash = generate_password_hash("the old password")
            db.session.add(
                user_model(username="ann", email="ann@example.org", password_hash=old_hash)
            )
            db.session.commit()
        with app.test_request_context():
            found = auth.check_credentials("ANN@EXAMPLE.ORG", "the old password")
            assert isinstance(found, user_model) and found.username == "ann"
            assert auth.check_credentials("Ann", "not the password") is None
        with app.app_context():
            assert db.session.scalar(select(user_model.password_hash)).startswith("$argon2id$")
    finally:
        close(namespace)
