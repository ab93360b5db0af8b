"""flask-plug-ratelimit counts the users of flask-plug-auth by who they are, with the
built-in user table and with an app's own model whose primary key is not ``id``: the
limiter reads ``g.user`` only, without importing auth."""

from __future__ import annotations

import secrets
import typing as t
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import String, create_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from flask_plug.auth import Auth, UserModelMixin
from flask_plug.ratelimit import RateLimiter, user_or_remote_addr

PASSWORD = "correct-horse-battery-staple"


class Base(DeclarativeBase):
    pass


class Member(UserModelMixin, Base):
    __tablename__ = "members"
    member_no: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(150), unique=True)


@pytest.mark.parametrize("model", [None, Member], ids=["built-in", "user_model"])
def test_each_user_has_a_count_of_their_own(tmp_path: Path, model: type[t.Any] | None) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'users.db'}")
    app = Flask(__name__, instance_path=str(tmp_path))
    app.config.update(SECRET_KEY=secrets.token_urlsafe(32), TESTING=True)
    auth = Auth(app, engine=engine, user_model=model)
    limiter = RateLimiter(app, key_func=user_or_remote_addr)

    @app.get("/key")
    @limiter.limit("2/minute")
    def key() -> str:
        return user_or_remote_addr()

    if model is not None:
        model.metadata.create_all(engine)
    with app.app_context():
        auth.store.create_tables()
        tokens = {
            name: auth.create_token(auth.register_user(name, PASSWORD), "ci")
            for name in ("ann", "bob")
        }
    client = app.test_client()

    def get(name: str) -> t.Any:
        return client.get("/key", headers={"Authorization": f"Bearer {tokens[name]}"})

    assert get("ann").get_data(as_text=True) == "user:1"
    assert [get("ann").status_code for _ in range(2)] == [200, 429]
    assert [get("bob").status_code for _ in range(3)] == [200, 200, 429]
    assert client.get("/key").get_data(as_text=True) == "addr:127.0.0.1"
    engine.dispose()
