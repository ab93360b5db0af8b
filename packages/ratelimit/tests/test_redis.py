"""The Redis storage against a real server: exact across processes, atomic across limits,
on Redis's clock, one round trip per request, failing open or closed, same results as
memory, and the ``flask ratelimit`` commands."""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
import sys
import textwrap
import time
import typing as t
from pathlib import Path
from uuid import uuid4

import pytest
from flask import Flask, request

from flask_plug.ratelimit import RateLimiter
from flask_plug.ratelimit.limits import parse_limits
from flask_plug.ratelimit.redis_script import SCRIPT_SHA
from flask_plug.ratelimit.storage import Check, RedisStorage
from flask_plug_testing import RedisServer

redis = pytest.importorskip("redis")

if t.TYPE_CHECKING:
    from werkzeug.test import TestResponse

STRATEGIES = ["gcra", "fixed-window", "sliding-window"]


# --- helpers -----------------------------------------------------------------------------


def _unavailable(reason: str) -> t.NoReturn:
    """Redis missing fails the run in CI and skips elsewhere."""
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def redis_url() -> str:
    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    client = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
    try:
        client.ping()
    except (redis.RedisError, OSError) as e:
        _unavailable(f"Redis at {url} is unreachable ({e}); set REDIS_URL")
    finally:
        client.close()
    return url


@pytest.fixture
def prefix(redis_url: str) -> t.Iterator[str]:
    """A key prefix of this test's own; its keys are deleted afterwards."""
    prefix = f"test-{uuid4().hex}"
    yield prefix
    RedisStorage("gcra", redis_url, timeout=1.0).reset(prefix)


def _redis_client(url: str) -> t.Any:
    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)


def _redis_now(url: str) -> float:
    with _redis_client(url) as client:
        seconds, micros = client.time()
    return float(seconds) + micros / 1_000_000


def _clear_of_window_edge(url: str, period: int, margin: float) -> None:
    """Wait for the next window if Redis's clock is within ``margin`` seconds of the end of
    an aligned ``period`` window, so a short test never straddles two windows."""
    left = period - _redis_now(url) % period
    if left < margin:
        time.sleep(left + 0.05)


_STATE = re.compile(r'"(?P<name>[^"]*)";r=(?P<r>\d+);t=(?P<t>\d+)')


def _state(response: TestResponse) -> dict[str, tuple[int, int]]:
    """The ``RateLimit`` header as ``{policy name: (remaining, reset seconds)}``."""
    header = response.headers.get("RateLimit", "")
    return {m["name"]: (int(m["r"]), int(m["t"])) for m in _STATE.finditer(header)}


def _remaining(response: TestResponse) -> dict[str, int]:
    return {name: r for name, (r, _) in _state(response).items()}


@pytest.fixture
def private_redis(tmp_path: Path) -> t.Iterator[RedisServer]:
    """A redis-server of this test's own, so nothing else touches it."""
    if shutil.which("redis-server") is None:
        _unavailable("redis-server is not installed")
    with RedisServer(tmp_path) as server:
        yield server


# --- exact across processes ----------------------------------------------------------------

_WORKER = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    from flask import Flask
    from flask_plug.ratelimit import RateLimiter

    url, prefix, strategy, requests, barrier, index = sys.argv[1:]
    app = Flask("worker")
    limiter = RateLimiter(app, storage_uri=url, key_prefix=prefix, strategy=strategy)

    @app.get("/")
    @limiter.limit("100/hour")
    def index_view():
        return "ok"

    @app.get("/warm")
    @limiter.limit("1000/hour", key_func=lambda: "warm-up")
    def warm():
        return "ok"

    client = app.test_client()
    assert client.get("/warm").status_code == 200  # connected, script loaded
    Path(barrier, f"ready-{index}").touch()
    go = Path(barrier, "go")
    deadline = time.monotonic() + 30
    while not go.exists():
        if time.monotonic() > deadline:
            sys.exit("no go signal")
        time.sleep(0.002)
    codes = [client.get("/").status_code for _ in range(int(requests))]
    print(json.dumps({"200": codes.count(200), "429": codes.count(429)}))
    """
)


@pytest.mark.parametrize("strategy", ["gcra", "fixed-window"])
def test_four_processes_sharing_redis_allow_exactly_the_limit_in_total(
    redis_url: str, prefix: str, strategy: str, run_workers: t.Callable[..., list[t.Any]]
) -> None:
    if strategy == "fixed-window":
        _clear_of_window_edge(redis_url, 3600, margin=30)
    results = run_workers(_WORKER, [redis_url, prefix, strategy, "60"], 4, 30)

    assert sum(r["200"] for r in results) == 100
    assert sum(r["429"] for r in results) == 4 * 60 - 100
    assert all(r["200"] + r["429"] == 60 for r in results)


# --- atomic across limits ------------------------------------------------------------------


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_a_request_refused_by_one_limit_is_charged_to_none(
    redis_url: str,
    prefix: str,
    strategy: str,
    requests_at_once: t.Callable[..., list[list[int]]],
) -> None:
    if strategy != "gcra":
        _clear_of_window_edge(redis_url, 3600, margin=10)
    app = Flask(__name__)
    limiter = RateLimiter(app, storage_uri=redis_url, key_prefix=prefix, strategy=strategy)

    @app.get("/both")
    @limiter.shared_limit("10/hour", scope="big")
    @limiter.limit("4/hour")
    def both() -> str:
        return "ok"

    @app.get("/big-only")
    @limiter.shared_limit("10/hour", scope="big")
    def big_only() -> str:
        return "ok"

    both_codes, big_codes = requests_at_once(app, "/both", "/big-only")

    assert set(both_codes) | set(big_codes) <= {200, 429}
    both_ok, big_ok = both_codes.count(200), big_codes.count(200)
    # The refused /both requests took nothing from "big", the shared limit:
    assert both_ok + big_ok == 10
    assert both_ok <= 4

    client = app.test_client()
    refused = client.get("/both")
    assert refused.status_code == 429
    assert _remaining(refused) == {"big/10-3600": 0, "both/4-3600": 4 - both_ok}
    assert _remaining(client.get("/big-only")) == {"big/10-3600": 0}

    if strategy == "fixed-window":
        # The stored counters say the same: only allowed requests were counted. Each
        # holds "<window> <count>".
        with _redis_client(redis_url) as r:
            big = [r.get(k) for k in r.scan_iter(match=f"{prefix}:*:big:10-3600")]
            small = [r.get(k) for k in r.scan_iter(match=f"{prefix}:*:both:4-3600")]
        assert [int(v.split()[1]) for v in big] == [10]
        assert [int(v.split()[1]) for v in small] == ([both_ok] if both_ok else [])


# --- Redis's clock, not the app's ----------------------------------------------------------


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_limits_follow_the_redis_clock_whatever_the_app_clock_says(
    redis_url: str, prefix: str, strategy: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if strategy != "gcra":
        _clear_of_window_edge(redis_url, 60, margin=3)
    shift = [0.0]
    real_time, real_monotonic = time.time, time.monotonic

    def run(key_prefix: str, shifts: list[float]) -> list[tuple[int, dict[str, tuple[int, int]]]]:
        app = Flask(__name__)
        limiter = RateLimiter(app, storage_uri=redis_url, key_prefix=key_prefix, strategy=strategy)

        @app.get("/")
        @limiter.limit("3/minute")
        def index() -> str:
            return "ok"

        client = app.test_client()
        seen = []
        for offset in shifts:
            shift[0] = offset
            response = client.get("/")
            seen.append((response.status_code, _state(response)))
        shift[0] = 0.0
        return seen

    plain = run(f"{prefix}-plain", [0.0] * 6)
    monkeypatch.setattr(time, "time", lambda: real_time() + shift[0])
    monkeypatch.setattr(time, "monotonic", lambda: real_monotonic() + shift[0])
    shifted = run(f"{prefix}-shifted", [0.0, 30.0, -30.0, 30.0, -30.0, 30.0])

    assert [code for code, _ in plain] == [200, 200, 200, 429, 429, 429]
    assert [code for code, _ in shifted] == [code for code, _ in plain]
    for (_, expected), (_, got) in zip(plain, shifted, strict=True):
        assert expected.keys() == got.keys() == {"index/3-60"}
        (r_expected, t_expected), (r_got, t_got) = expected["index/3-60"], got["index/3-60"]
        assert r_got == r_expected
        assert abs(t_got - t_expected) <= 1


# --- one round trip ------------------------------------------------------------------------


def test_a_request_with_three_limits_makes_one_redis_call(
    private_redis: RedisServer,
) -> None:
    app = Flask(__name__)
    limiter = RateLimiter(app, storage_uri=private_redis.url)

    @app.get("/")
    @limiter.limit("10/minute; 100/hour; 1000/day")
    def index() -> str:
        return "ok"

    client = app.test_client()
    assert client.get("/").status_code == 200  # connects and loads the script

    with _redis_client(private_redis.url) as stats_client:  # one connection: one HELLO

        def calls() -> dict[str, int]:
            stats = stats_client.info("commandstats")
            return {name: int(stat["calls"]) for name, stat in stats.items()}

        before = calls()
        codes = [client.get("/").status_code for _ in range(20)]
        after = calls()

    assert codes == [200] * 9 + [429] * 11
    changed = {
        name.removeprefix("cmdstat_"): after[name] - before.get(name, 0)
        for name in after
        if after[name] != before.get(name, 0) and name != "cmdstat_info"
    }
    # One EVALSHA per request, allowed or refused. Redis also counts the commands the
    # script runs inside that call (TIME, one MGET of every limit, SET); nothing else
    # reached the server.
    assert changed["evalsha"] == changed["mget"] == 20
    assert set(changed) <= {"evalsha", "time", "mget", "set"}, changed


# --- one key per limit, declared --------------------------------------------------------


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_the_script_touches_only_the_keys_it_is_given(
    private_redis: RedisServer, strategy: str
) -> None:
    # Redis Cluster needs every key a script touches passed in KEYS. A user whose ACL
    # allows exactly the limits' keys shows it: any other key would be refused (NOPERM).
    if strategy != "gcra":
        _clear_of_window_edge(private_redis.url, 60, margin=3)
    keys = ["rl:{10.0.0.1}:index:5-60", "rl:{10.0.0.1}:index:50-3600"]
    with _redis_client(private_redis.url) as admin:
        allowed_keys = ["~" + key for key in keys]
        admin.execute_command("ACL", "SETUSER", "limiter", "on", ">secret", *allowed_keys, "+@all")
        url = f"redis://limiter:secret@127.0.0.1:{private_redis.port}/0"
        store = RedisStorage(strategy, url, timeout=2.0)
        limits = parse_limits("5/minute; 50/hour", "test")
        checks = [Check(key, limit, 1) for key, limit in zip(keys, limits, strict=True)]
        for mode in ("check", "charge", "force", "refund", "charge"):
            store.hit(checks, mode)  # type: ignore[arg-type]
        # Two requests charged; a third would leave:
        assert [usage.remaining for usage in store.hit(checks, "check")] == [2, 47]
        assert sorted(admin.keys("*")) == [key.encode() for key in keys]


# --- the script and the connections, gone and back ----------------------------------------


def test_requests_go_on_when_the_server_forgets_the_script(private_redis: RedisServer) -> None:
    store = RedisStorage("gcra", private_redis.url, timeout=2.0)
    checks = [Check("rl:{c}:index:10-60", parse_limits("10/minute", "test")[0], 1)]
    assert store.hit(checks)[0].remaining == 9
    with _redis_client(private_redis.url) as admin:
        admin.script_flush()
        assert store.hit(checks)[0].remaining == 8
        assert admin.script_exists(SCRIPT_SHA) == [True]  # sent whole once, stored again
        assert store.hit(checks)[0].remaining == 7
        # The first request and the one after the flush; the others ran it by its SHA.
        assert admin.info("commandstats")["cmdstat_eval"]["calls"] == 2


def test_connections_the_server_closed_are_opened_again_without_an_error(
    private_redis: RedisServer,
) -> None:
    store = RedisStorage("gcra", private_redis.url, timeout=2.0)
    checks = [Check("rl:{c}:index:10-60", parse_limits("10/minute", "test")[0], 1)]
    assert store.hit(checks)[0].remaining == 9
    with _redis_client(private_redis.url) as admin:
        killed = admin.execute_command("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")
    assert killed == 1  # the storage's idle connection
    assert store.hit(checks)[0].remaining == 8  # counted, not failed open


_FORKED = textwrap.dedent(
    """
    import os, sys
    from flask_plug.ratelimit.limits import parse_limits
    from flask_plug.ratelimit.storage import Check, RedisStorage

    store = RedisStorage("fixed-window", sys.argv[1], timeout=5.0)
    limits = parse_limits("100000/hour; 200000/hour", "t")
    checks = [Check(f"rl:{{c}}:index:{limit.id}", limit, 1) for limit in limits]
    store.hit(checks)  # the parent now holds an idle connection
    pid = os.fork()
    # Each process its own number of limits, so a reply read by the other one shows.
    mine = checks[:1] if pid else checks
    wrong = 0
    for _ in range(500):
        try:
            wrong += len(store.hit(mine)) != len(mine)
        except Exception:
            wrong += 1
    if pid == 0:
        os._exit(min(wrong, 100))
    _, status = os.waitpid(pid, 0)
    print(wrong, os.waitstatus_to_exitcode(status), store.hit(checks, "check")[1].remaining)
    """
)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no os.fork")
def test_a_forked_child_connects_on_its_own(private_redis: RedisServer) -> None:
    # Both processes at once on one inherited socket would read each other's replies.
    _clear_of_window_edge(private_redis.url, 3600, margin=30)
    done = subprocess.run(
        [sys.executable, "-c", _FORKED, private_redis.url],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    parent_wrong, child_wrong, remaining = map(int, done.stdout.split())
    assert (parent_wrong, child_wrong) == (0, 0)
    assert remaining == 200000 - 501 - 1  # the child's requests and the first


def _evalsha_calls(url: str, requests: t.Callable[[], object]) -> int:
    """How many script calls Redis received while ``requests`` ran."""
    with _redis_client(url) as stats_client:

        def calls() -> int:
            stats = stats_client.info("commandstats")
            return int(stats.get("cmdstat_evalsha", {}).get("calls", 0))

        before = calls()
        requests()
        return calls() - before


def test_application_and_default_limits_share_the_one_call(private_redis: RedisServer) -> None:
    app = Flask(__name__)
    RateLimiter(app, storage_uri=private_redis.url, default="10/minute", application="50/hour")
    app.add_url_rule("/", "index", lambda: "ok")
    client = app.test_client()
    client.get("/")  # connects and loads the script
    assert _evalsha_calls(private_redis.url, lambda: [client.get("/") for _ in range(5)]) == 5
    assert client.get("/").headers["RateLimit"].count(";r=") == 2


def test_deduct_when_checks_then_charges_after_the_response(private_redis: RedisServer) -> None:
    app = Flask(__name__)
    limiter = RateLimiter(app, storage_uri=private_redis.url)

    @app.get("/login/<outcome>")
    @limiter.limit("100/hour", deduct_when=lambda response: response.status_code == 401)
    @limiter.limit("100/minute")
    def login(outcome: str) -> tuple[str, int]:
        return outcome, 200 if outcome == "ok" else 401

    @app.get("/plain")
    @limiter.limit("100/minute")
    def plain() -> str:
        return "ok"

    client = app.test_client()
    client.get("/plain")  # connects and loads the script
    # Without deduct_when: one call. With it: a check and a charge before the view, and
    # a forced charge after it when the response counts.
    assert _evalsha_calls(private_redis.url, lambda: client.get("/plain")) == 1
    assert _evalsha_calls(private_redis.url, lambda: client.get("/login/ok")) == 2
    assert _evalsha_calls(private_redis.url, lambda: client.get("/login/no")) == 3


# --- outage and recovery -------------------------------------------------------------------


def _failures_logged(caplog: pytest.LogCaptureFixture, app: Flask) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.name == app.logger.name and "rate limit storage failed" in record.getMessage()
    ]


def test_storage_outage_allows_or_denies_by_policy_then_limits_resume(
    private_redis: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    allow_app = Flask("ratelimit_outage_allow")
    allow = RateLimiter(allow_app, storage_uri=private_redis.url, storage_timeout_ms=100)
    deny_app = Flask("ratelimit_outage_deny")
    deny = RateLimiter(
        deny_app, storage_uri=private_redis.url, storage_timeout_ms=100, on_storage_error="deny"
    )

    @allow_app.get("/limited")
    @allow.limit("3/minute")
    def limited() -> str:
        return "ok"

    @allow_app.get("/strict")
    @allow.limit("3/minute", on_storage_error="deny")
    def strict() -> str:
        return "ok"

    @deny_app.get("/limited")
    @deny.limit("3/minute")
    def deny_limited() -> str:
        return "ok"

    allow_client, deny_client = allow_app.test_client(), deny_app.test_client()
    assert allow_client.get("/limited").status_code == 200
    assert allow_client.get("/strict").status_code == 200
    assert deny_client.get("/limited").status_code == 200

    private_redis.stop()

    # Policy "allow": every request passes, past the quota, and one error is logged.
    started = time.monotonic()
    assert [allow_client.get("/limited").status_code for _ in range(20)] == [200] * 20
    assert time.monotonic() - started < 2
    failures = _failures_logged(caplog, allow_app)
    assert len(failures) == 1
    assert "requests are allowed" in failures[0]

    # A limit that says "deny" denies even though the app's policy allows.
    strict_response = allow_client.get("/strict")
    assert strict_response.status_code == 503
    assert allow_client.get("/limited").status_code == 200
    assert len(_failures_logged(caplog, allow_app)) == 1

    # Policy "deny": 503 with a problem+json body and Retry-After.
    for _ in range(5):
        response = deny_client.get("/limited")
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "1"
        assert response.mimetype == "application/problem+json"
        body = json.loads(response.get_data(as_text=True))
        assert body["status"] == 503
        assert body["title"] == "Service Unavailable"
    assert strict_response.mimetype == "application/problem+json"
    assert strict_response.headers["Retry-After"] == "1"
    denied = _failures_logged(caplog, deny_app)
    assert len(denied) == 1
    assert "requests are denied" in denied[0]

    # Back up on the same port: once the 1-second pause is over, limits apply again.
    private_redis.start()
    time.sleep(1.1)
    codes = [allow_client.get("/limited").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    assert deny_client.get("/limited").status_code == 200
    assert any(
        record.name == allow_app.logger.name
        and record.getMessage() == "rate limit storage is answering again"
        for record in caplog.records
    )


# --- memory and Redis agree ----------------------------------------------------------------


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_memory_and_redis_allow_and_count_the_same_burst_alike(
    redis_url: str, prefix: str, strategy: str
) -> None:
    if strategy != "gcra":
        _clear_of_window_edge(redis_url, 3600, margin=10)
        if 3600 - time.monotonic() % 3600 < 10:  # the memory storage's windows
            time.sleep(3600 - time.monotonic() % 3600 + 0.05)
    costs = [1, 2, 1, 3, 1, 1, 2, 1, 1]

    def burst(storage_uri: str) -> list[tuple[int, dict[str, int]]]:
        app = Flask(__name__)
        limiter = RateLimiter(app, storage_uri=storage_uri, key_prefix=prefix, strategy=strategy)

        @app.get("/")
        @limiter.limit("5/hour; 7/day", cost=lambda: int(request.args["cost"]))
        def index() -> str:
            return "ok"

        client = app.test_client()
        seen = []
        for cost in costs:
            response = client.get(f"/?cost={cost}")
            seen.append((response.status_code, _remaining(response)))
        return seen

    memory = burst("memory://")
    in_redis = burst(redis_url)

    assert in_redis == memory
    codes = [code for code, _ in memory]
    assert 200 in codes and 429 in codes
    assert all(set(remaining) == {"index/5-3600", "index/7-86400"} for _, remaining in memory)


# --- the CLI -------------------------------------------------------------------------------


def test_cli_reset_forgets_one_client_then_everyone_and_show_lists_limits(
    redis_url: str, prefix: str
) -> None:
    app = Flask(__name__)
    limiter = RateLimiter(app, storage_uri=redis_url, key_prefix=prefix)

    @app.get("/limited")
    @limiter.limit("2/minute; 20/day")
    def limited() -> str:
        return "ok"

    @app.get("/free")
    def free() -> str:
        return "ok"

    first = app.test_client()
    first.environ_base["REMOTE_ADDR"] = "10.0.0.1"
    second = app.test_client()
    second.environ_base["REMOTE_ADDR"] = "10.0.0.2"
    for client in (first, second):
        assert [client.get("/limited").status_code for _ in range(3)] == [200, 200, 429]

    runner = app.test_cli_runner()
    result = runner.invoke(args=["ratelimit", "reset", "10.0.0.1"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "removed 2 counters for 10.0.0.1"
    with _redis_client(redis_url) as r:
        assert list(r.scan_iter(match=f"{prefix}:{{10.0.0.1}}:*")) == []
        assert len(list(r.scan_iter(match=f"{prefix}:{{10.0.0.2}}:*"))) == 2
    assert first.get("/limited").status_code == 200
    assert second.get("/limited").status_code == 429

    result = runner.invoke(args=["ratelimit", "reset"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "removed 4 counters"
    assert second.get("/limited").status_code == 200

    result = runner.invoke(args=["ratelimit", "show"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert re.search(
        r"^GET\s+/limited\s+2 per 1 minute \[limited\]; 20 per 1 day \[limited\]$",
        result.output,
        re.MULTILINE,
    ), result.output
    assert any(re.fullmatch(r"GET\s+/free\s+-", line) for line in lines), result.output
    assert lines[-1] == f"storage: {redis_url} (gcra)"


def test_cli_reset_of_one_client_forgets_its_application_wide_count(
    redis_url: str, prefix: str
) -> None:
    app = Flask(__name__)
    RateLimiter(app, storage_uri=redis_url, key_prefix=prefix, application="2/minute")
    app.add_url_rule("/", "index", lambda: "ok")
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = "10.0.0.1"
    # A client whose name starts with the other's: its count must stay.
    longer = app.test_client()
    longer.environ_base["REMOTE_ADDR"] = "10.0.0.10"
    for each in (client, longer):
        assert [each.get("/").status_code for _ in range(3)] == [200, 200, 429]
    result = app.test_cli_runner().invoke(args=["ratelimit", "reset", "10.0.0.1"])
    assert result.output.strip() == "removed 1 counters for 10.0.0.1"
    assert client.get("/").status_code == 200
    assert longer.get("/").status_code == 429


# --- Valkey's schemes ----------------------------------------------------------------------


def test_a_valkey_url_is_served_by_redis_py(redis_url: str, prefix: str) -> None:
    # Valkey speaks Redis's protocol; no valkey-server here: the same Redis answers.
    scheme, _, rest = redis_url.partition("://")
    valkey_url = {"redis": "valkey", "rediss": "valkeys"}.get(scheme, scheme) + "://" + rest
    app = Flask(__name__)
    limiter = RateLimiter(app, storage_uri=valkey_url, key_prefix=prefix)
    app.add_url_rule("/", "index", limiter.limit("3/hour")(lambda: "ok"))
    client = app.test_client()

    assert [client.get("/").status_code for _ in range(4)] == [200, 200, 200, 429]
    with _redis_client(redis_url) as r:
        assert len(list(r.scan_iter(match=f"{prefix}:*"))) == 1
