"""auth's ``g.user`` and reqlog's ``g.request_id`` compose: both extensions on one app, in
either order, over an app's own ``g`` class, each read every way before anything loads it."""

from __future__ import annotations

import secrets
import typing as t
from pathlib import Path

import pytest
from flask import Flask, g
from flask.ctx import _AppCtxGlobals

from flask_plug.auth import Auth
from flask_plug.reqlog import RequestLog


class AppGlobals(_AppCtxGlobals):
    """An app's own lazy attribute, written the same way."""

    def __getattr__(self, name: str) -> t.Any:
        if name == "tenant":
            self.tenant = "acme"
            return self.tenant
        return super().__getattr__(name)

    def get(self, name: str, default: t.Any | None = None) -> t.Any:
        if name == "tenant" and name not in self.__dict__:
            return self.__getattr__(name)
        return super().get(name, default)

    def __contains__(self, item: str) -> bool:
        return item == "tenant" or super().__contains__(item)


def make_app(tmp_path: Path, order: str, own_class: bool) -> tuple[Flask, RequestLog, str]:
    app = Flask(__name__, instance_path=str(tmp_path / "instance"))
    app.config.update(SECRET_KEY=secrets.token_urlsafe(40), TESTING=True)
    if own_class:
        app.app_ctx_globals_class = AppGlobals
    auth = Auth()
    reqlog = RequestLog()
    for name in order.split(","):
        if name == "auth":
            auth.init_app(app, database_uri=f"sqlite:///{tmp_path / 'auth.db'}")
        else:
            reqlog.init_app(app, output=str(tmp_path / "access.log"))

    @app.get("/reads/<way>")
    def reads(way: str) -> dict[str, t.Any]:
        def name_of(user: t.Any) -> t.Any:
            return getattr(user, "username", user)

        if way == "get":
            found = {"user": name_of(g.get("user")), "request_id": g.get("request_id")}
        elif way == "in":
            found = {"user": "user" in g, "request_id": "request_id" in g}
        elif way == "getattr":
            found = {
                "user": name_of(getattr(g, "user", "missing")),
                "request_id": getattr(g, "request_id", "missing"),
            }
        else:
            found = {"user": name_of(g.user), "request_id": g.request_id}
        if own_class:
            found["tenant"] = [g.get("tenant"), "tenant" in g, g.tenant]
        return found

    with app.app_context():
        auth.store.create_tables()
        user = auth.register_user("ann", "ann-correct-horse-battery")
        token = auth.create_token(user)
    return app, reqlog, token


@pytest.mark.parametrize("own_class", [False, True], ids=["flask-g", "app-g"])
@pytest.mark.parametrize("order", ["auth,reqlog", "reqlog,auth"])
@pytest.mark.parametrize("way", ["get", "in", "getattr", "attr"])
def test_user_and_request_id_read_the_same_every_way_in_either_order(
    tmp_path: Path, order: str, own_class: bool, way: str
) -> None:
    app, reqlog, token = make_app(tmp_path, order, own_class)
    try:
        response = app.test_client().get(
            f"/reads/{way}",
            headers={"Authorization": f"Bearer {token}", "X-Request-ID": "req-123"},
        )
        assert response.status_code == 200
        found = response.get_json()
        request_id = response.headers["X-Request-ID"]
        if way == "in":
            assert (found["user"], found["request_id"]) == (True, True)
        else:
            assert (found["user"], found["request_id"]) == ("ann", request_id)
        if own_class:
            assert found["tenant"] == ["acme", True, "acme"]
    finally:
        reqlog.close(app)
        # The engine auth opened, whose SQLite connections Python 3.13 reports when the
        # garbage collector closes them.
        app.extensions["flask-plug-auth"].store.engine.dispose()
