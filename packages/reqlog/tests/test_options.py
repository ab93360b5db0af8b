"""Every option: keyword over ``REQLOG_*`` config over default, every bad value refused at
``init_app`` naming its config key, and what skipping and sampling log."""

from __future__ import annotations

import logging
import random
import re
import typing as t
from pathlib import Path

import pytest
from flask import Flask, abort, request

from flask_plug.reqlog import DEFAULT_REDACT, RequestLog, RequestLogSettings

if t.TYPE_CHECKING:
    from flask.testing import FlaskClient

EXTENSION_KEY = "flask-plug-reqlog"


@pytest.fixture
def make_app(tmp_path: Path) -> t.Iterator[t.Callable[..., Flask]]:
    """New apps with the given config; every registered one is closed afterwards."""
    apps: list[Flask] = []

    def make(**config: t.Any) -> Flask:
        app = Flask(__name__, instance_path=str(tmp_path / "instance"), static_folder=None)
        app.config.update(config)
        apps.append(app)
        return app

    yield make
    for app in apps:
        if EXTENSION_KEY in app.extensions:
            RequestLog().close(app)


def get(client: FlaskClient, path: str = "/") -> int:
    with client.get(path) as response:
        response.get_data()
        return response.status_code


def lines(path: Path) -> list[str]:
    return path.read_text("utf-8").splitlines() if path.exists() else []


def extra_redact(settings: RequestLogSettings) -> set[str]:
    return set(settings.redactor.names) - set(DEFAULT_REDACT)


def skips(settings: RequestLogSettings) -> tuple[set[str], tuple[str, ...]]:
    return set(settings.skip_paths), settings.skip_prefixes


# option, keyword value, config value; what the settings show for the keyword, the config
# value and the default.
Read = t.Callable[[RequestLogSettings], t.Any]
PRECEDENCE: list[tuple[str, t.Any, t.Any, Read, tuple[t.Any, t.Any, t.Any]]] = [
    ("format", "json", "common", lambda s: s.format, ("json", "common", "combined")),
    (
        "output",
        "logger:reqlog.tests.options",
        "stderr",
        lambda s: s.output,
        (logging.getLogger("reqlog.tests.options"), "stderr", "stdout"),
    ),
    ("max_bytes", 1000, 2000, lambda s: s.max_bytes, (1000, 2000, None)),
    ("rotate_when", "h", "midnight", lambda s: s.rotate_when, ("H", "MIDNIGHT", None)),
    ("backup_count", 3, 5, lambda s: s.backup_count, (3, 5, 7)),
    (
        "request_id_header",
        "X-Trace-ID",
        "X-Correlation-ID",
        lambda s: s.request_id_header,
        ("X-Trace-ID", "X-Correlation-ID", "X-Request-ID"),
    ),
    ("trust_request_id", True, False, lambda s: s.trust_request_id, (True, False, True)),
    (
        "request_id_from",
        ["traceparent", "X-Request-ID"],
        ("X-Correlation-ID", "x-correlation-id"),
        lambda s: s.request_id_from,
        (("traceparent", "X-Request-ID"), ("X-Correlation-ID",), ("X-Request-ID",)),
    ),
    (
        "extra_fields",
        dict,
        list,
        lambda s: s.extra_fields,
        (dict, list, None),
    ),
    ("redact", ["ssn"], ["PIN"], extra_redact, ({"ssn"}, {"pin"}, set())),
    (
        "skip_paths",
        ["/a"],
        ["/b/*"],
        skips,
        (({"/a"}, ()), (set(), ("/b/",)), (set(), ())),
    ),
    ("sample", 0.5, 0.25, lambda s: s.sample, (0.5, 0.25, 1.0)),
    ("queue_size", 10, 20, lambda s: s.queue_size, (10, 20, 10_000)),
    ("flush_interval", 0, 2, lambda s: s.flush_interval, (0.0, 2.0, 0.1)),
]


@pytest.mark.parametrize(
    ("option", "keyword", "config", "read", "expected"),
    PRECEDENCE,
    ids=[case[0] for case in PRECEDENCE],
)
def test_keyword_beats_config_beats_default(
    make_app: t.Callable[..., Flask],
    tmp_path: Path,
    option: str,
    keyword: t.Any,
    config: t.Any,
    read: t.Callable[[RequestLogSettings], t.Any],
    expected: tuple[t.Any, t.Any, t.Any],
) -> None:
    key = f"REQLOG_{option.upper()}"
    base = {} if option == "output" else {"REQLOG_OUTPUT": str(tmp_path / "access.log")}
    reqlog = RequestLog()
    with_keyword = make_app(**base, **{key: config})
    reqlog.init_app(with_keyword, **{option: keyword})
    with_config = make_app(**base, **{key: config})
    reqlog.init_app(with_config)
    with_default = make_app(**base)
    reqlog.init_app(with_default)
    assert read(reqlog.settings(with_keyword)) == expected[0]
    assert read(reqlog.settings(with_config)) == expected[1]
    assert read(reqlog.settings(with_default)) == expected[2]


def test_init_app_keyword_beats_constructor_keyword_beats_config(
    make_app: t.Callable[..., Flask],
) -> None:
    reqlog = RequestLog(format="common", sample=0.5)
    first = make_app(REQLOG_FORMAT="json", REQLOG_SAMPLE=0.1)
    reqlog.init_app(first, format="%h")
    second = make_app(REQLOG_FORMAT="json", REQLOG_SAMPLE=0.1)
    reqlog.init_app(second)
    assert (reqlog.settings(first).format, reqlog.settings(first).sample) == ("%h", 0.5)
    assert (reqlog.settings(second).format, reqlog.settings(second).sample) == ("common", 0.5)


def test_none_keyword_falls_back_to_config(make_app: t.Callable[..., Flask]) -> None:
    reqlog = RequestLog(format=None)
    app = make_app(REQLOG_FORMAT="common")
    reqlog.init_app(app, sample=None)
    assert (reqlog.settings(app).format, reqlog.settings(app).sample) == ("common", 1.0)


def test_keyword_wins_over_a_bad_config_value(make_app: t.Callable[..., Flask]) -> None:
    app = make_app(REQLOG_SAMPLE="half", REQLOG_FORMAT=42)
    reqlog = RequestLog(app, sample=0.5, format="common")
    assert reqlog.settings(app).sample == 0.5


def test_settings_default_to_the_current_app(make_app: t.Callable[..., Flask]) -> None:
    app = make_app(REQLOG_FORMAT="common")
    reqlog = RequestLog(app)
    with app.app_context():
        assert reqlog.settings().format == "common"


def test_an_app_without_the_request_log_says_so(make_app: t.Callable[..., Flask]) -> None:
    app = make_app()
    with pytest.raises(RuntimeError, match=r"not initialised on this app: call init_app\(app\)"):
        RequestLog().settings(app)


# Bad values

BAD_VALUES: list[tuple[str, t.Any]] = [
    ("REQLOG_FORMAT", ""),
    ("REQLOG_FORMAT", 42),
    ("REQLOG_FORMAT", ["combined"]),
    ("REQLOG_FORMAT", "no atoms here"),
    ("REQLOG_FORMAT", "%Z"),
    ("REQLOG_FORMAT", "%h %"),
    ("REQLOG_FORMAT", "%{Referer}"),
    ("REQLOG_FORMAT", "%>b"),
    ("REQLOG_FORMAT", "%{fortnights}T"),
    ("REQLOG_FORMAT", "%{x}h"),
    ("REQLOG_FORMAT", "%{}i"),
    ("REQLOG_OUTPUT", ""),
    ("REQLOG_OUTPUT", 42),
    ("REQLOG_OUTPUT", ["stdout"]),
    ("REQLOG_OUTPUT", "logger:"),
    ("REQLOG_MAX_BYTES", 0),
    ("REQLOG_MAX_BYTES", -1),
    ("REQLOG_MAX_BYTES", "1000"),
    ("REQLOG_MAX_BYTES", 1000.0),
    ("REQLOG_MAX_BYTES", True),
    ("REQLOG_ROTATE_WHEN", "weekly"),
    ("REQLOG_ROTATE_WHEN", "W7"),
    ("REQLOG_ROTATE_WHEN", ""),
    ("REQLOG_ROTATE_WHEN", 1),
    ("REQLOG_BACKUP_COUNT", 0),
    ("REQLOG_BACKUP_COUNT", -3),
    ("REQLOG_BACKUP_COUNT", "3"),
    ("REQLOG_BACKUP_COUNT", 2.5),
    ("REQLOG_BACKUP_COUNT", False),
    ("REQLOG_REQUEST_ID_HEADER", ""),
    ("REQLOG_REQUEST_ID_HEADER", "X Request ID"),
    ("REQLOG_REQUEST_ID_HEADER", "X-Request-ID:"),
    ("REQLOG_REQUEST_ID_HEADER", "X-Request-\xc9D"),
    ("REQLOG_REQUEST_ID_HEADER", "X-Request-ID\r\n"),
    ("REQLOG_REQUEST_ID_HEADER", 5),
    ("REQLOG_TRUST_REQUEST_ID", "false"),
    ("REQLOG_TRUST_REQUEST_ID", 0),
    ("REQLOG_TRUST_REQUEST_ID", 1),
    ("REQLOG_REQUEST_ID_FROM", "traceparent"),
    ("REQLOG_REQUEST_ID_FROM", []),
    ("REQLOG_REQUEST_ID_FROM", ["X-Request-ID", ""]),
    ("REQLOG_REQUEST_ID_FROM", ["X Request ID"]),
    ("REQLOG_REQUEST_ID_FROM", ["traceparent", 7]),
    ("REQLOG_REQUEST_ID_FROM", {"traceparent"}),
    ("REQLOG_EXTRA_FIELDS", "myapp.log_fields"),
    ("REQLOG_EXTRA_FIELDS", {"user_id": 1}),
    ("REQLOG_REDACT", "password"),
    ("REQLOG_REDACT", ["ssn", ""]),
    ("REQLOG_REDACT", ["ssn", 1]),
    ("REQLOG_REDACT", {"ssn": True}),
    ("REQLOG_REDACT", 7),
    ("REQLOG_SKIP_PATHS", "/health"),
    ("REQLOG_SKIP_PATHS", ["health"]),
    ("REQLOG_SKIP_PATHS", [""]),
    ("REQLOG_SKIP_PATHS", ["/health", None]),
    ("REQLOG_SAMPLE", 0),
    ("REQLOG_SAMPLE", -0.5),
    ("REQLOG_SAMPLE", 1.01),
    ("REQLOG_SAMPLE", "0.5"),
    ("REQLOG_SAMPLE", True),
    ("REQLOG_SAMPLE", float("nan")),
    ("REQLOG_SAMPLE", float("inf")),
    ("REQLOG_QUEUE_SIZE", 0),
    ("REQLOG_QUEUE_SIZE", "100"),
    ("REQLOG_QUEUE_SIZE", 10.5),
    ("REQLOG_QUEUE_SIZE", True),
    ("REQLOG_FLUSH_INTERVAL", -0.1),
    ("REQLOG_FLUSH_INTERVAL", 61),
    ("REQLOG_FLUSH_INTERVAL", "0.1"),
    ("REQLOG_FLUSH_INTERVAL", True),
    ("REQLOG_FLUSH_INTERVAL", float("nan")),
    ("REQLOG_FLUSH_INTERVAL", float("inf")),
]


@pytest.mark.parametrize(("key", "value"), BAD_VALUES, ids=[f"{k}={v!r}" for k, v in BAD_VALUES])
def test_bad_config_value_is_refused_naming_its_key(
    make_app: t.Callable[..., Flask], tmp_path: Path, key: str, value: t.Any
) -> None:
    config = {"REQLOG_OUTPUT": str(tmp_path / "access.log"), key: value}
    app = make_app(**config)
    original = app.wsgi_app
    with pytest.raises(ValueError, match=re.escape(key)):
        RequestLog().init_app(app)
    assert EXTENSION_KEY not in app.extensions
    assert app.wsgi_app == original


@pytest.mark.parametrize(("key", "value"), BAD_VALUES, ids=[f"{k}={v!r}" for k, v in BAD_VALUES])
def test_bad_keyword_value_is_refused_naming_its_config_key(
    make_app: t.Callable[..., Flask], tmp_path: Path, key: str, value: t.Any
) -> None:
    app = make_app(REQLOG_OUTPUT=str(tmp_path / "access.log"))
    option = key.removeprefix("REQLOG_").lower()
    with pytest.raises(ValueError, match=re.escape(key)):
        RequestLog(app, **{option: value})
    assert EXTENSION_KEY not in app.extensions


def test_app_can_be_registered_after_a_refused_value(
    make_app: t.Callable[..., Flask], tmp_path: Path
) -> None:
    log_path = tmp_path / "access.log"
    app = make_app(REQLOG_OUTPUT=str(log_path), REQLOG_FORMAT="%L", REQLOG_SAMPLE=2)
    reqlog = RequestLog()
    with pytest.raises(ValueError, match="REQLOG_SAMPLE"):
        reqlog.init_app(app)
    reqlog.init_app(app, sample=1)
    app.get("/")(lambda: "ok")
    assert get(app.test_client()) == 200
    assert reqlog.flush(app, timeout=10)
    assert len(lines(log_path)) == 1


def test_size_and_time_rotation_together_are_refused(
    make_app: t.Callable[..., Flask], tmp_path: Path
) -> None:
    app = make_app(REQLOG_OUTPUT=str(tmp_path / "access.log"), REQLOG_ROTATE_WHEN="midnight")
    with pytest.raises(ValueError, match="REQLOG_MAX_BYTES and REQLOG_ROTATE_WHEN"):
        RequestLog(app, max_bytes=10_000)
    assert not (tmp_path / "access.log").exists()


@pytest.mark.parametrize("output", ["stdout", "-", "stderr", "logger:access"])
@pytest.mark.parametrize("rotation", [{"max_bytes": 10_000}, {"rotate_when": "D"}])
def test_rotation_needs_a_file(
    make_app: t.Callable[..., Flask], output: str, rotation: dict[str, t.Any]
) -> None:
    app = make_app(REQLOG_OUTPUT=output)
    with pytest.raises(ValueError, match="REQLOG_OUTPUT"):
        RequestLog(app, **rotation)


def test_rotation_with_a_logger_instance_is_refused(make_app: t.Callable[..., Flask]) -> None:
    app = make_app()
    with pytest.raises(ValueError, match="REQLOG_OUTPUT"):
        RequestLog(app, output=logging.getLogger("reqlog.tests.options"), max_bytes=100)


def test_unknown_keyword_is_a_type_error(make_app: t.Callable[..., Flask]) -> None:
    app = make_app()
    with pytest.raises(TypeError, match="fromat"):
        RequestLog(app, fromat="json")  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="fromat"):
        RequestLog().init_app(app, fromat="json")  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="fromat"):
        RequestLog(fromat="json")  # type: ignore[call-arg]
    assert EXTENSION_KEY not in app.extensions


def test_init_app_twice_is_refused_and_logs_once(
    make_app: t.Callable[..., Flask], tmp_path: Path
) -> None:
    log_path = tmp_path / "access.log"
    app = make_app(REQLOG_OUTPUT=str(log_path), REQLOG_FORMAT="%L")
    app.get("/")(lambda: "ok")
    reqlog = RequestLog(app)
    with pytest.raises(RuntimeError, match="already registered"):
        reqlog.init_app(app)
    with pytest.raises(RuntimeError, match="already registered"):
        RequestLog().init_app(app)
    assert get(app.test_client()) == 200
    assert reqlog.flush(app, timeout=10)
    assert len(lines(log_path)) == 1


# Files


@pytest.mark.parametrize("relative", ["logs/access.log", Path("logs") / "access.log"])
def test_relative_output_is_in_the_instance_folder(tmp_path: Path, relative: str | Path) -> None:
    instance = tmp_path / "not-yet" / "instance"
    app = Flask(__name__, instance_path=str(instance))
    app.config["REQLOG_OUTPUT"] = relative
    app.config["REQLOG_FORMAT"] = "%L"
    app.get("/")(lambda: "ok")
    reqlog = RequestLog(app)
    try:
        expected = instance / "logs" / "access.log"
        assert reqlog.settings(app).output == str(expected)
        assert expected.parent.is_dir()
        with app.test_client().get("/") as response:
            request_id = response.headers["X-Request-ID"]
            response.get_data()
        assert reqlog.flush(app, timeout=10)
        assert lines(expected) == [request_id]
    finally:
        reqlog.close(app)


def test_absolute_output_folder_is_created(
    make_app: t.Callable[..., Flask], tmp_path: Path
) -> None:
    log_path = tmp_path / "deep" / "er" / "access.log"
    app = make_app(REQLOG_OUTPUT=log_path)
    RequestLog(app)
    assert log_path.parent.is_dir()


def test_output_under_a_regular_file_is_refused(
    make_app: t.Callable[..., Flask], tmp_path: Path
) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("not a folder")
    app = make_app(REQLOG_OUTPUT=str(blocker / "access.log"))
    with pytest.raises(ValueError, match="REQLOG_OUTPUT"):
        RequestLog(app)
    assert EXTENSION_KEY not in app.extensions
    assert blocker.read_text() == "not a folder"


def test_output_that_is_a_folder_is_refused(
    make_app: t.Callable[..., Flask], tmp_path: Path
) -> None:
    app = make_app(REQLOG_OUTPUT=str(tmp_path))
    with pytest.raises(ValueError, match="REQLOG_OUTPUT"):
        RequestLog(app)


@pytest.mark.parametrize("rotation", [{"max_bytes": 1000}, {"rotate_when": "H"}])
def test_rotated_output_under_a_regular_file_is_refused(
    make_app: t.Callable[..., Flask], tmp_path: Path, rotation: dict[str, t.Any]
) -> None:
    blocker = tmp_path / "blocker"
    blocker.touch()
    app = make_app(REQLOG_OUTPUT=str(blocker / "access.log"))
    with pytest.raises(ValueError, match="REQLOG_OUTPUT"):
        RequestLog(app, **rotation)


def test_one_request_log_serves_two_apps_with_separate_files(
    make_app: t.Callable[..., Flask], tmp_path: Path
) -> None:
    reqlog = RequestLog(format="%L")
    first, second = make_app(), make_app()
    reqlog.init_app(first, output=tmp_path / "first.log")
    reqlog.init_app(second, output=tmp_path / "second.log", format="%L %U")
    for app in (first, second):
        app.get("/")(lambda: "ok")

    def ids(app: Flask, count: int) -> list[str]:
        found = []
        with app.test_client() as client:
            for _ in range(count):
                with client.get("/") as response:
                    response.get_data()
                    found.append(response.headers["X-Request-ID"])
        return found

    first_ids, second_ids = ids(first, 3), ids(second, 2)
    assert reqlog.flush(first, timeout=10) and reqlog.flush(second, timeout=10)
    assert lines(tmp_path / "first.log") == first_ids
    assert lines(tmp_path / "second.log") == [f"{i} /" for i in second_ids]
    assert reqlog.settings(first).format == "%L"
    reqlog.close(first)
    assert ids(second, 1)
    assert reqlog.flush(second, timeout=10)
    assert len(lines(tmp_path / "second.log")) == 3


# Skipping and sampling


@pytest.fixture
def skip_app(make_app: t.Callable[..., Flask], tmp_path: Path) -> Flask:
    app = make_app(REQLOG_OUTPUT=str(tmp_path / "access.log"), REQLOG_FORMAT="%U %>s")

    @app.route("/health", methods=["GET"])
    @app.route("/health/deep")
    @app.route("/healthz")
    @app.route("/static/<path:name>")
    @app.route("/staticky")
    def answer(name: str = "") -> tuple[str, int]:
        if name == "missing.css":
            abort(404)
        return "ok", int(request.args.get("status", 200))

    return app


def test_skip_paths_exact_and_prefix(skip_app: Flask, tmp_path: Path) -> None:
    reqlog = RequestLog(skip_app, skip_paths=["/health", "/static/*"])
    client = skip_app.test_client()
    for path in [
        "/health",
        "/health?verbose=1",
        "/health/deep",
        "/healthz",
        "/static/app.css",
        "/static/js/app.js",
        "/static/missing.css",
        "/staticky",
    ]:
        get(client, path)
    assert reqlog.flush(skip_app, timeout=10)
    assert lines(tmp_path / "access.log") == [
        "/health/deep 200",
        "/healthz 200",
        "/static/missing.css 404",
        "/staticky 200",
    ]


def test_bare_star_prefix_matches_like_a_string_prefix(skip_app: Flask, tmp_path: Path) -> None:
    reqlog = RequestLog(skip_app, skip_paths=["/static*"])
    client = skip_app.test_client()
    for path in ["/static/app.css", "/staticky", "/healthz"]:
        get(client, path)
    assert reqlog.flush(skip_app, timeout=10)
    assert lines(tmp_path / "access.log") == ["/healthz 200"]


@pytest.mark.parametrize(
    ("status", "logged"),
    [(200, False), (204, False), (302, False), (399, False), (400, True), (404, True),
     (429, True), (500, True), (503, True)],
)  # fmt: skip
def test_skipped_path_is_logged_when_it_fails(
    skip_app: Flask, tmp_path: Path, status: int, logged: bool
) -> None:
    reqlog = RequestLog(skip_app, skip_paths=["/health", "/static/*"])
    client = skip_app.test_client()
    assert get(client, f"/health?status={status}") == status
    assert get(client, f"/static/x.css?status={status}") == status
    assert reqlog.flush(skip_app, timeout=10)
    expected = [f"/health {status}", f"/static/x.css {status}"] if logged else []
    assert lines(tmp_path / "access.log") == expected


def test_skipped_path_with_a_propagated_exception_is_logged(
    make_app: t.Callable[..., Flask], tmp_path: Path
) -> None:
    app = make_app(REQLOG_OUTPUT=str(tmp_path / "access.log"), REQLOG_FORMAT="%U %>s")
    app.testing = True

    @app.get("/health")
    def health() -> str:
        raise RuntimeError("down")

    reqlog = RequestLog(app, skip_paths=["/health"])
    with pytest.raises(RuntimeError):
        app.test_client().get("/health")
    assert reqlog.flush(app, timeout=10)
    assert lines(tmp_path / "access.log") == ["/health 500"]


@pytest.fixture
def seeded_random() -> t.Iterator[None]:
    """Sampling draws from the random module: seed it, and restore it afterwards."""
    state = random.getstate()
    random.seed(20260101)
    yield
    random.setstate(state)


@pytest.mark.usefixtures("seeded_random")
def test_sample_logs_about_that_share_of_successes_and_every_failure(
    skip_app: Flask, tmp_path: Path
) -> None:
    reqlog = RequestLog(skip_app, sample=0.5)
    client = skip_app.test_client()
    for _ in range(1000):
        get(client, "/healthz")
    for _ in range(100):
        get(client, "/healthz?status=404")
        get(client, "/healthz?status=500")
    assert reqlog.flush(skip_app, timeout=10)
    logged = lines(tmp_path / "access.log")
    successes = logged.count("/healthz 200")
    assert 400 <= successes <= 600, successes
    assert logged.count("/healthz 404") == 100
    assert logged.count("/healthz 500") == 100
    assert len(logged) == successes + 200


@pytest.mark.usefixtures("seeded_random")
def test_small_sample_still_logs_every_failure(skip_app: Flask, tmp_path: Path) -> None:
    reqlog = RequestLog(skip_app, sample=0.01)
    client = skip_app.test_client()
    for _ in range(300):
        get(client, "/healthz")
        get(client, "/static/missing.css")
    assert reqlog.flush(skip_app, timeout=10)
    logged = lines(tmp_path / "access.log")
    assert logged.count("/static/missing.css 404") == 300
    assert logged.count("/healthz 200") < 30


def test_sample_one_logs_everything(skip_app: Flask, tmp_path: Path) -> None:
    reqlog = RequestLog(skip_app, sample=1)
    client = skip_app.test_client()
    for _ in range(200):
        get(client, "/healthz")
    assert reqlog.flush(skip_app, timeout=10)
    assert len(lines(tmp_path / "access.log")) == 200
