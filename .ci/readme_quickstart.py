"""Run a package's README quick start the way a user would, against the installed package.

The quick start is the first ``python`` code block under the README's "Quick start"
heading (HTML comments, where test markers live, are ignored). It is written to ``app.py``
in an empty folder, and Flask finds the app in it as ``flask --app app`` would: an ``app``
object or a ``create_app()`` factory. Then every ``GET`` route of the app (the extension's
own included) is requested through Flask's test client, with ``1`` for each URL argument:
none may answer 5xx, log an error, or raise a warning from flask_plug's code.

``--extra NAME`` then checks what that extra enables (see :data:`EXTRA_CHECKS`), with the
services it needs: ``REDIS_URL`` (default ``redis://127.0.0.1:6379/0``) and
``DATABASE_URL`` (default ``postgresql://postgres@127.0.0.1:5432/test``).

Used by ``.ci/index_check.py`` in each fresh virtualenv, and by the release workflow after
installing from TestPyPI. Standard library only at import time, and Python 3.10 syntax::

    python .ci/readme_quickstart.py timer packages/timer/README.md --extra otel --installed
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import re
import secrets
import sys
import tempfile
import traceback
import typing as t
import warnings
from pathlib import Path

if t.TYPE_CHECKING:
    from flask import Flask

FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})\s*(?P<info>[^`]*?)\s*$")
HEADING = re.compile(r"^ {0,3}(?P<level>#{1,6})\s+(?P<title>.*?)\s*#*\s*$")
COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
PYTHON = {"python", "py", "python3"}


class QuickStartError(Exception):
    """The quick start could not be found or did not run as the README says."""


def extract(readme: str) -> str:
    """The code of the first ``python`` block in the README's "Quick start" section.

    :param readme: the README's Markdown.
    :raises QuickStartError: if there is no such heading, or no such block under it.
    """
    # Markers such as Sybil's are HTML comments; a block inside one is not shown to users.
    lines = COMMENT.sub("", readme).splitlines()
    section_level = 0
    fence = ""
    block: list[str] | None = None
    for line in lines:
        if fence:
            closing = FENCE.match(line)
            ends = closing and not closing["info"] and closing["fence"][0] == fence[0]
            if ends and len(closing["fence"]) >= len(fence):  # type: ignore[index]
                if block is not None:
                    return "\n".join(block) + "\n"
                fence = ""
            elif block is not None:
                block.append(line)
            continue
        opening = FENCE.match(line)
        if opening:
            fence = opening["fence"]
            language = opening["info"].split()[0].lower() if opening["info"] else ""
            if section_level and language in PYTHON:
                block = []
            continue
        heading = HEADING.match(line)
        if heading:
            level = len(heading["level"])
            if section_level and level <= section_level:
                break
            if not section_level and heading["title"].lower().rstrip(":") == "quick start":
                section_level = level
    if not section_level:
        raise QuickStartError('the README has no "Quick start" heading')
    raise QuickStartError('the README\'s "Quick start" section has no ```python block')


def load_app(code: str, folder: Path) -> Flask:
    """Write ``code`` to ``folder/app.py``, import it and return its app.

    :raises QuickStartError: if it defines no app Flask can find.
    """
    from flask.cli import NoAppException, find_best_app

    (folder / "app.py").write_text(code, encoding="utf-8")
    os.chdir(folder)
    sys.path.insert(0, str(folder))
    sys.modules.pop("app", None)
    module = importlib.import_module("app")
    try:
        return find_best_app(module)
    except NoAppException as e:
        raise QuickStartError(f"Flask finds no app in the quick start: {e}") from None


class ErrorRecords(logging.Handler):
    """Keeps every record at ERROR or above: the extension's hooks log their failures."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def exercise(app: Flask, name: str) -> list[str]:
    """Request every ``GET`` route of ``app``; return a line per answer.

    :raises QuickStartError: on a 5xx answer, a logged error, or no route at all.
    """
    if f"flask-plug-{name}" not in app.extensions:
        raise QuickStartError(f"the quick start's app does not register flask-plug-{name}")
    errors = ErrorRecords()
    logging.getLogger().addHandler(errors)
    app.logger.addHandler(errors)
    adapter = app.url_map.bind("localhost")
    client = app.test_client()
    seen: list[str] = []
    try:
        for rule in app.url_map.iter_rules():
            if "GET" not in (rule.methods or ()) or rule.endpoint == "static":
                continue
            url = adapter.build(rule.endpoint, dict.fromkeys(rule.arguments, 1), method="GET")
            if url in seen:
                continue
            response = client.get(url)
            seen.append(url)
            if response.status_code >= 500:
                # One line: the check's summary shows it beside the package and Python.
                body = " ".join(response.get_data(as_text=True).split())
                raise QuickStartError(f"GET {url} answered {response.status}: {body[:200]}")
            if errors.records:
                record = errors.records[0]
                raise QuickStartError(f"GET {url} logged an error: {record.getMessage()}")
            print(f"  GET {url} -> {response.status_code}")
    finally:
        logging.getLogger().removeHandler(errors)
        app.logger.removeHandler(errors)
    if not seen:
        raise QuickStartError("the quick start's app has no GET route to request")
    return seen


def check_installed(name: str) -> None:
    """Fail unless ``flask_plug.<name>`` comes from this environment's site-packages."""
    import sysconfig

    module = importlib.import_module(f"flask_plug.{name}")
    where = Path(module.__file__ or "").resolve()
    site = Path(sysconfig.get_paths()["purelib"]).resolve()
    if not where.is_relative_to(site):
        raise QuickStartError(f"flask_plug.{name} was imported from {where}, not from {site}")


# --- what each extra enables -------------------------------------------------------------


def _timer_otel(app: Flask, folder: Path) -> None:
    from flask import Flask
    from opentelemetry import trace

    from flask_plug.timer import Timer  # type: ignore[import-not-found,unused-ignore]

    otel = Flask("timer_otel")
    otel.config.update(TIMER_OTEL=True, TIMER_SPANS=True)
    timer = Timer(otel)

    @otel.get("/")
    def index() -> str:
        with timer.span("work"):
            assert trace.get_current_span() is not None
        return "ok"

    response = otel.test_client().get("/")
    assert response.status_code == 200, response.status
    assert "work" in response.headers.get("Server-Timing", ""), response.headers


def _ratelimit_redis(app: Flask, folder: Path) -> None:
    import redis
    import redis.utils
    from flask import Flask

    from flask_plug.ratelimit import RateLimiter  # type: ignore[import-not-found,unused-ignore]

    # The extra brings hiredis, redis-py's fast parser.
    assert redis.utils.HIREDIS_AVAILABLE, "redis-py does not find hiredis"
    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    prefix = f"index-check-{secrets.token_hex(6)}"
    limited = Flask("ratelimit_redis")
    limited.config.update(RATELIMIT_STORAGE_URI=url, RATELIMIT_KEY_PREFIX=prefix)
    limiter = RateLimiter(limited)

    @limited.get("/")
    @limiter.limit("1/minute")
    def index() -> str:
        return "ok"

    client = limited.test_client()
    server = redis.Redis.from_url(url, socket_timeout=5)
    try:
        first, second = client.get("/"), client.get("/")
        assert first.status_code == 200, f"first request: {first.status}"
        assert second.status_code == 429, f"second request: {second.status}, not 429 (Redis {url})"
        assert server.keys(f"{prefix}:*"), f"no key {prefix}:* in Redis at {url}"
    finally:
        keys = server.keys(f"{prefix}:*")
        if keys:
            server.delete(*keys)


def _auth_two_factor(app: Flask, folder: Path) -> None:
    from flask import Flask

    from flask_plug.auth import Auth  # type: ignore[import-not-found,unused-ignore]

    second = Flask("auth_two_factor", instance_path=str(folder / "instance-two-factor"))
    second.config.update(
        SECRET_KEY=secrets.token_hex(32),
        AUTH_TWO_FACTOR=True,
        AUTH_DATABASE_URI=f"sqlite:///{folder / 'two-factor.db'}",
    )
    auth = Auth(second)
    password = secrets.token_urlsafe(16)
    with second.app_context():
        auth.store.create_tables()  # what `flask auth init-db` does
        auth.register_user("ada", password)
    client = second.test_client()
    token = client.get("/auth/csrf").json["csrf_token"]  # type: ignore[index]
    login = client.post(
        "/auth/login",
        json={"username": "ada", "password": password},
        headers={"X-CSRF-Token": token},
    )
    assert login.status_code == 200, login.status
    # The setup page draws the QR code (segno) of a new TOTP secret (pyotp).
    setup = client.get("/auth/two-factor/setup")
    assert setup.status_code == 200, setup.status
    assert b"<svg" in setup.data, "no QR code on the two-factor setup page"


def _auth_postgresql(app: Flask, folder: Path) -> None:
    from flask import Flask
    from sqlalchemy import create_engine, make_url, text

    from flask_plug.auth import Auth  # type: ignore[import-not-found,unused-ignore]

    url = make_url(os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"))
    url = url.set(drivername="postgresql+psycopg")  # the driver the extra installs
    # A schema of its own: the tables never meet those of a test run on the same database.
    schema = f"index_check_{secrets.token_hex(6)}"
    admin = create_engine(url)
    with admin.begin() as connection:
        connection.execute(text(f"create schema {schema}"))
    try:
        engine = create_engine(url, connect_args={"options": f"-csearch_path={schema}"})
        users = Flask("auth_postgresql", instance_path=str(folder / "instance-postgresql"))
        users.config["SECRET_KEY"] = secrets.token_hex(32)
        auth = Auth(users, engine=engine)
        password = secrets.token_urlsafe(16)
        with users.app_context():
            auth.store.create_tables()
            auth.register_user("ada", password)
            assert auth.check_credentials("ada", password) is not None
        with admin.connect() as connection:
            tables = connection.execute(
                text("select count(*) from information_schema.tables where table_schema = :s"),
                {"s": schema},
            ).scalar()
        assert tables, f"no table in schema {schema}: the users went elsewhere"
        engine.dispose()
    finally:
        with admin.begin() as connection:
            connection.execute(text(f"drop schema {schema} cascade"))
        admin.dispose()


def _apidocs_yaml(app: Flask, folder: Path) -> None:
    import yaml

    output = folder / "openapi.yaml"
    result = app.test_cli_runner().invoke(args=["apidocs", "export", "-o", str(output)])
    assert result.exit_code == 0, result.output
    document = yaml.safe_load(output.read_text(encoding="utf-8"))
    assert str(document["openapi"]).startswith("3.1"), document.get("openapi")


def _apidocs_pydantic(app: Flask, folder: Path) -> None:
    # Kept for old installs: pydantic is a dependency now, the extra is empty.
    import pydantic

    assert int(pydantic.VERSION.split(".")[0]) >= 2, pydantic.VERSION


EXTRA_CHECKS: dict[tuple[str, str], t.Callable[[Flask, Path], None]] = {
    ("apidocs", "pydantic"): _apidocs_pydantic,
    ("apidocs", "yaml"): _apidocs_yaml,
    ("auth", "postgresql"): _auth_postgresql,
    ("auth", "two-factor"): _auth_two_factor,
    ("ratelimit", "redis"): _ratelimit_redis,
    ("timer", "otel"): _timer_otel,
}
"""``(package, extra)``: a check that what the extra enables works, given the quick
start's app and a scratch folder. Every extra a package declares needs one here
(tests/test_index_install.py says so)."""


def run(name: str, readme: Path, extras: list[str], *, installed: bool) -> None:
    """Run the quick start of ``name`` and the checks of ``extras``.

    :raises QuickStartError: naming what failed.
    """
    missing = [extra for extra in extras if (name, extra) not in EXTRA_CHECKS]
    if missing:
        raise QuickStartError(
            f"no check for extra {', '.join(missing)} of {name}: add one to EXTRA_CHECKS"
            " in .ci/readme_quickstart.py"
        )
    code = extract(readme.read_text(encoding="utf-8"))
    # What the quick starts ask of the user's environment (auth's reads SECRET_KEY).
    os.environ.setdefault("SECRET_KEY", secrets.token_hex(32))
    # Our own code may not warn on this Python; other libraries' warnings are theirs.
    warnings.filterwarnings("error", module=r"flask_plug(\.|$)")
    if installed:
        check_installed(name)
    home = Path.cwd()
    with tempfile.TemporaryDirectory(prefix=f"quickstart-{name}-") as scratch:
        folder = Path(scratch)
        try:
            app = load_app(code, folder)
            exercise(app, name)
            for extra in extras:
                print(f"  [{extra}]")
                try:
                    EXTRA_CHECKS[name, extra](app, folder)
                except AssertionError as e:
                    raise QuickStartError(f"extra [{extra}]: {e}") from e
        finally:
            os.chdir(home)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("name", help="the package, e.g. timer")
    parser.add_argument("readme", type=Path, help="its README.md")
    parser.add_argument("--extra", action="append", default=[], help="an extra to check too")
    parser.add_argument(
        "--installed",
        action="store_true",
        help="fail unless flask_plug.<name> is imported from this environment's site-packages",
    )
    args = parser.parse_args(argv)
    version = ".".join(map(str, sys.version_info[:3]))
    try:
        run(args.name, args.readme, args.extra, installed=args.installed)
    except QuickStartError as e:
        print(f"FAILED {args.name} quick start on Python {version}: {e}", file=sys.stderr)
        return 1
    except Exception as e:
        traceback.print_exc()
        print(f"FAILED {args.name} quick start on Python {version}: {e!r}", file=sys.stderr)
        return 1
    print(f"{args.name} quick start ran on Python {version}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
