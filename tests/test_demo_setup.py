"""Setting the demo up: once (``flask demo init``), in ``demo/instance`` by default, and
never in a worker that runs with ``DEMO_INIT`` off."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy

from flask_plug_demo import close_app, create_app
from flask_plug_demo.app import default_instance_path
from flask_plug_demo.extensions import auth

DEMO = Path(__file__).resolve().parents[1] / "demo"


def test_the_instance_folder_is_demo_instance(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DEMO_INSTANCE", raising=False)
    assert default_instance_path() == str(DEMO / "instance")
    monkeypatch.setenv("DEMO_INSTANCE", "/srv/notes/instance")
    assert default_instance_path() == "/srv/notes/instance"


def test_without_demo_init_the_factory_never_touches_the_database(tmp_path: Path) -> None:
    # Nothing listens on port 1: any connection attempt would fail the factory.
    app = create_app(
        {
            "TESTING": True,
            "DEMO_INIT": False,
            "AUTH_DATABASE_URI": "postgresql+psycopg://postgres@127.0.0.1:1/test",
        },
        instance_path=str(tmp_path),
    )
    try:
        assert app.test_client().get("/api/notes").status_code == 200
        assert app.test_client().get("/").status_code == 200
    finally:
        close_app(app)


def test_flask_demo_init_sets_up_once(tmp_path: Path) -> None:
    app = create_app({"DEMO_INIT": False}, instance_path=str(tmp_path))
    try:
        with app.app_context():
            assert sqlalchemy.inspect(auth.store.engine).get_table_names() == []
        runner = app.test_cli_runner()
        first = runner.invoke(args=["demo", "init"])
        assert first.exit_code == 0, first.output
        assert "admin" in first.output and "demo" in first.output
        assert Path(tmp_path, "first-run-passwords.txt").exists()
        again = runner.invoke(args=["demo", "init"])
        assert again.exit_code == 0
        assert "already" in again.output
        with app.app_context():
            assert {u.username for u in auth.store.list_users()} == {"admin", "demo"}
    finally:
        close_app(app)


def test_flask_demo_init_after_the_factory_did_it(tmp_path: Path) -> None:
    app = create_app({}, instance_path=str(tmp_path))  # DEMO_INIT on: users made here
    try:
        result = app.test_cli_runner().invoke(args=["demo", "init"])
        assert result.exit_code == 0
        assert "already" not in result.output
    finally:
        close_app(app)
