"""The Redis Cluster storage against a real cluster of three masters: the same answers as
memory, all or none across slots, exact across processes, slots that move, a node that
fails, ``flask ratelimit reset``, and the URIs checked at ``init_app``."""

from __future__ import annotations

import re
import textwrap
import time
import typing as t
from uuid import uuid4

import pytest
from flask import Flask, request

from flask_plug.ratelimit import RateLimiter
from flask_plug.ratelimit.backends import open_storage
from flask_plug.ratelimit.limits import parse_limits
from flask_plug.ratelimit.storage import Check
from flask_plug_testing import RedisClusterServers, TLSFiles

redis = pytest.importorskip("redis")

if t.TYPE_CHECKING:
    from pathlib import Path

    from flask.testing import FlaskClient
    from werkzeug.test import TestResponse

    from flask_plug.ratelimit.limits import Limit
    from flask_plug.ratelimit.storage import Storage
    from flask_plug_testing import RedisServer

STRATEGIES = ["gcra", "fixed-window", "sliding-window"]
_STATE = re.compile(r'"(?P<name>[^"]*)";r=(?P<r>\d+);t=\d+')


def _remaining(response: TestResponse) -> dict[str, int]:
    """The ``RateLimit`` header as ``{policy name: remaining}``."""
    return {m["name"]: int(m["r"]) for m in _STATE.finditer(response.headers.get("RateLimit", ""))}


def _clients_on_distinct_nodes(cluster: RedisClusterServers, count: int) -> list[str]:
    """Client names whose keys (hash tag ``{client}``) live on ``count`` different nodes."""
    clients: list[str] = []
    nodes: list[RedisServer] = []
    for i in range(1000):
        client = f"client-{uuid4().hex[:6]}-{i}"
        node = cluster.node_for_slot(cluster.key_slot("{" + client + "}"))
        if node not in nodes:
            clients.append(client)
            nodes.append(node)
            if len(clients) == count:
                return clients
    raise AssertionError("the cluster's slots are not spread over its nodes")


def _clear_of_window_edge(cluster: RedisClusterServers, period: int, margin: float) -> None:
    """Wait for the next window if the cluster's clock, or this process's (for memory
    storage), is within ``margin`` seconds of the end of an aligned ``period`` window."""
    seconds, micros = t.cast(list[str], cluster.nodes[0].call("TIME"))
    for now in (int(seconds) + int(micros) / 1e6, time.monotonic()):
        left = period - now % period
        if left < margin:
            time.sleep(left + 0.05)


@pytest.fixture
def prefix(redis_cluster: RedisClusterServers) -> t.Iterator[str]:
    """A key prefix of this test's own; its keys are deleted afterwards."""
    prefix = f"test-{uuid4().hex}"
    yield prefix
    open_storage(redis_cluster.url(), "gcra", timeout=2.0, max_keys=1).reset(prefix)


# --- the URI -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("uri", "problem"),
    [
        ("redis+cluster://", "empty host"),
        ("redis+cluster://h:7000,,h:7001", "empty host"),
        ("redis+cluster://h:7000,h:abc", "port"),
        ("redis+cluster://h:0", "port"),
        ("redis+cluster://h:7000/3", "database"),
        ("redis+cluster://h:7000?db=1", "database"),
        ("valkey+cluster://h:7000/1", "database"),
        ("redis+cluster://h:7000?socket_timeout=abc", "socket_timeout"),
        ("redis+cluster://h:7000?no_such_option=1", "no_such_option"),
        ("redis+cluster://h:7000?health_check_interval=5", "health_check_interval"),
        ("redis+cluster://h:7000?ssl_ca_certs=/ca.crt", "ssl_ca_certs"),  # TLS: rediss+cluster
        ("redis://h:7000,h:7001", "redis+cluster://"),  # several hosts need a cluster scheme
        ("redis+clustr://h:7000", "must be 'memory://'"),
    ],
)
def test_a_bad_cluster_uri_fails_at_init_app_naming_the_key(
    init_app_error: t.Callable[[str], str], uri: str, problem: str
) -> None:
    assert problem in init_app_error(uri)


@pytest.mark.parametrize(
    "uri",
    [
        "redis+cluster://user:s3cret@h:7000,h:abc",
        "redis+cluster://:s3cret@h:7000/2",
        "valkey+cluster://:s3cret@h:7000?no_such_option=1",
        "redis://:s3cret@h:7000,h:7001",
    ],
)
def test_a_bad_cluster_uri_error_does_not_show_the_password(
    init_app_error: t.Callable[[str], str], uri: str
) -> None:
    assert "s3cret" not in init_app_error(uri)


@pytest.mark.parametrize(
    "uri",
    [
        "redis+cluster://127.0.0.1:7000,127.0.0.1:7001,127.0.0.1:7002",
        "redis+cluster://user:pw@[::1]:7000/?socket_keepalive=true",
        "redis+cluster://h",  # port 6379
        "rediss+cluster://h:7000,h:7001/0?ssl_cert_reqs=none",
        "valkey+cluster://h:7000",
        "valkeys+cluster://h:7000",
    ],
)
def test_a_good_cluster_uri_is_accepted_without_connecting(uri: str) -> None:
    RateLimiter(Flask(__name__), storage_uri=uri)  # nothing listens on these


# --- the same answers as memory ------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["redis+cluster", "valkey+cluster"])
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_the_cluster_answers_as_memory_does(
    redis_cluster: RedisClusterServers, prefix: str, strategy: str, scheme: str
) -> None:
    if strategy != "gcra":
        _clear_of_window_edge(redis_cluster, 3600, margin=10)
    user, site, region = _clients_on_distinct_nodes(redis_cluster, 3)
    costs = [1, 2, 1, 3, 1, 1, 2, 1, 1, 2]

    def run(storage_uri: str) -> list[tuple[int, dict[str, int]]]:
        app = Flask(__name__)
        limiter = RateLimiter(app, storage_uri=storage_uri, key_prefix=prefix, strategy=strategy)

        # Three key functions: three slots, on three nodes.
        @app.get("/")
        @limiter.limit("5/hour; 7/day", key_func=lambda: user, cost=lambda: int(request.args["c"]))
        @limiter.shared_limit("9/hour", scope="site", key_func=lambda: site)
        @limiter.limit("6/hour", key_func=lambda: region)
        def index() -> str:
            return "ok"

        client = app.test_client()
        seen = []
        for cost in costs:
            response = client.get(f"/?c={cost}")
            seen.append((response.status_code, _remaining(response)))
        return seen

    memory = run("memory://")
    in_cluster = run(redis_cluster.url(scheme))

    assert in_cluster == memory
    codes = [code for code, _ in memory]
    assert 200 in codes and 429 in codes
    assert all(len(remaining) == 4 for _, remaining in memory)


# --- all or none across slots --------------------------------------------------------------


@pytest.mark.parametrize("slots", [1, 2, 3])
def test_a_request_refused_by_one_slot_is_charged_to_none(
    redis_cluster: RedisClusterServers,
    prefix: str,
    slots: int,
    requests_at_once: t.Callable[..., list[list[int]]],
) -> None:
    clients = _clients_on_distinct_nodes(redis_cluster, 3)
    # The small limit in the first slot; the shared ones in the others (or the first).
    small, big, other = (clients[min(i, slots - 1)] for i in range(3))
    app = Flask(__name__)
    limiter = RateLimiter(app, storage_uri=redis_cluster.url(), key_prefix=prefix)

    @app.get("/all")
    @limiter.limit("4/hour", key_func=lambda: small)
    @limiter.shared_limit("10/hour", scope="big", key_func=lambda: big)
    @limiter.shared_limit("10/hour", scope="other", key_func=lambda: other)
    def all_limits() -> str:
        return "ok"

    @app.get("/shared")
    @limiter.shared_limit("10/hour", scope="big", key_func=lambda: big)
    @limiter.shared_limit("10/hour", scope="other", key_func=lambda: other)
    def shared_only() -> str:
        return "ok"

    all_codes, shared_codes = requests_at_once(app, "/all", "/shared")

    assert set(all_codes) | set(shared_codes) <= {200, 429}
    all_ok, shared_ok = all_codes.count(200), shared_codes.count(200)
    assert all_ok <= 4
    if slots == 1:
        # One atomic call: the shared limits were spent exactly.
        assert all_ok + shared_ok == 10
    else:
        # While a slot that charged waits for its refund, a concurrent request may be
        # refused that would have fit: never more than the limit.
        assert all_ok + shared_ok <= 10

    # Once the refunds are in, the counts hold exactly the requests that were allowed:
    # every refused /all took nothing from "big" and "other", wherever they live.
    [four] = parse_limits("4/hour", "test")
    [ten] = parse_limits("10/hour", "test")
    keys = [
        (f"{prefix}:{{{small}}}:all_limits:4-3600", four),
        (f"{prefix}:{{{big}}}:big:10-3600", ten),
        (f"{prefix}:{{{other}}}:other:10-3600", ten),
    ]
    storage = open_storage(redis_cluster.url(), "gcra", timeout=2.0, max_keys=1)
    room = [_room(storage, key, limit) for key, limit in keys]
    assert room == [4 - all_ok, 10 - all_ok - shared_ok, 10 - all_ok - shared_ok]


def _room(storage: Storage, key: str, limit: Limit) -> int:
    """How many requests of cost 1 the count at ``key`` has room for, charging nothing."""
    [usage] = storage.hit([Check(key, limit, 1)], "check")
    return usage.remaining + 1 if usage.allowed else 0


# --- exact across processes ----------------------------------------------------------------

_WORKER = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    from flask import Flask, request
    from flask_plug.ratelimit import RateLimiter

    url, prefix, strategy, clients, rounds, barrier, index = sys.argv[1:]
    clients = clients.split(",")
    app = Flask("worker")
    limiter = RateLimiter(app, storage_uri=url, key_prefix=prefix, strategy=strategy)

    @app.get("/")
    @limiter.limit("20/hour", key_func=lambda: request.args["client"])
    @limiter.shared_limit("100/day", scope="site", key_func=lambda: "everyone")
    def index_view():
        return "ok"

    @app.get("/warm")
    @limiter.limit("1000/hour", key_func=lambda: "warm-up")
    def warm():
        return "ok"

    client = app.test_client()
    assert client.get("/warm").status_code == 200  # connected, slot map read
    Path(barrier, f"ready-{index}").touch()
    go = Path(barrier, "go")
    deadline = time.monotonic() + 30
    while not go.exists():
        if time.monotonic() > deadline:
            sys.exit("no go signal")
        time.sleep(0.002)
    allowed = {name: 0 for name in clients}
    for _ in range(int(rounds)):
        for name in clients:
            if client.get("/", query_string={"client": name}).status_code == 200:
                allowed[name] += 1
    print(json.dumps(allowed))
    """
)


def test_four_processes_on_the_cluster_allow_exactly_the_limit_per_client(
    redis_cluster: RedisClusterServers, prefix: str, run_workers: t.Callable[..., list[t.Any]]
) -> None:
    strategy = "gcra"  # the other strategies answer alike (see above)
    clients = _clients_on_distinct_nodes(redis_cluster, 3)
    args = [redis_cluster.url(), prefix, strategy, ",".join(clients), "12"]
    results = run_workers(_WORKER, args, 4, 60)

    # 4 processes x 12 requests = 48 per client, 20 allowed: exactly, on every node.
    assert {name: sum(r[name] for r in results) for name in clients} == dict.fromkeys(clients, 20)
    # The refused requests were charged to the site-wide count in another slot, then
    # given back: it holds exactly the 60 allowed.
    [site] = parse_limits("100/day", "test")
    storage = open_storage(redis_cluster.url(), strategy, timeout=2.0, max_keys=1)
    assert _room(storage, f"{prefix}:{{everyone}}:site:{site.id}", site) == 100 - 60


# --- slots that move, nodes that fail ------------------------------------------------------


def _one_client_on_one_node(
    cluster: RedisClusterServers, prefix: str
) -> tuple[FlaskClient, str, int, RedisServer, RedisServer]:
    """A test client of an app that allows one client 5 requests an hour and denies when
    storage fails; the client's name, the slot of its keys, the node that serves the slot,
    and another node."""
    [client_name] = _clients_on_distinct_nodes(cluster, 1)
    slot = cluster.key_slot("{" + client_name + "}")
    home = cluster.node_for_slot(slot)
    app = Flask(__name__)
    limiter = RateLimiter(
        app, storage_uri=cluster.url(), key_prefix=prefix, on_storage_error="deny"
    )
    app.add_url_rule(
        "/", "index", limiter.limit("5/hour", key_func=lambda: client_name)(lambda: "ok")
    )
    away = next(node for node in cluster.nodes if node is not home)
    return app.test_client(), client_name, slot, home, away


def test_counts_follow_a_slot_moved_to_another_node(
    redis_cluster: RedisClusterServers, prefix: str
) -> None:
    client, client_name, slot, home, away = _one_client_on_one_node(redis_cluster, prefix)
    codes = [client.get("/").status_code for _ in range(3)]

    redis_cluster.move_slot(slot, away)  # the app still thinks the slot is at home: MOVED
    try:
        codes += [client.get("/").status_code for _ in range(3)]
        keys = t.cast(list[str], away.call("KEYS", f"{prefix}:*"))
    finally:
        redis_cluster.move_slot(slot, home)

    assert codes == [200, 200, 200, 200, 200, 429]
    assert len(keys) == 1 and client_name in keys[0]
    assert client.get("/").status_code == 429  # and back again


def test_counts_follow_a_slot_while_it_migrates(
    redis_cluster: RedisClusterServers, prefix: str
) -> None:
    client, _, slot, home, away = _one_client_on_one_node(redis_cluster, prefix)
    codes = [client.get("/").status_code for _ in range(2)]

    # Halfway: the key has moved, the slot still belongs to its old node, which answers
    # ASK; redis-py asks the new node.
    redis_cluster.migrate_slot(slot, away)
    try:
        asked = _asking_calls(away)
        codes += [client.get("/").status_code for _ in range(2)]
        assert _asking_calls(away) == asked + 2
        assert home.call("KEYS", f"{prefix}:*") == []
    finally:
        redis_cluster.move_slot(slot, away)
    codes += [client.get("/").status_code for _ in range(2)]
    redis_cluster.move_slot(slot, home)

    assert codes == [200, 200, 200, 200, 200, 429]


def _asking_calls(node: RedisServer) -> int:
    """How many ``ASKING`` commands ``node`` has run."""
    stats = t.cast(str, node.call("INFO", "commandstats"))
    found = re.search(r"^cmdstat_asking:calls=(\d+)", stats, re.MULTILINE)
    return int(found[1]) if found else 0


def test_a_failed_node_gets_the_policy_while_the_others_count_on(tmp_path: Path) -> None:
    # A cluster of this test's own, as it stops a node; a long node timeout, so that the
    # other nodes go on serving their slots while it is down.
    with RedisClusterServers(tmp_path, node_timeout_ms=60_000) as cluster:
        down, up = _clients_on_distinct_nodes(cluster, 2)
        lost = cluster.node_for_slot(cluster.key_slot("{" + down + "}"))
        app = Flask(__name__)
        limiter = RateLimiter(
            app, storage_uri=cluster.url(), on_storage_error="deny", storage_timeout_ms=500
        )

        @app.get("/both")
        @limiter.limit("3/hour", key_func=lambda: down)
        @limiter.shared_limit("3/hour", scope="up", key_func=lambda: up)
        def both() -> str:
            return "ok"

        @app.get("/up")
        @limiter.shared_limit("3/hour", scope="up", key_func=lambda: up)
        def up_only() -> str:
            return "ok"

        client = app.test_client()
        assert client.get("/both").status_code == 200

        lost.stop()
        # The slot on the stopped node fails: the request is denied, and what the other
        # slot charged is given back.
        assert client.get("/both").status_code == 503
        assert client.get("/both").status_code == 503  # at once: that node is skipped
        assert [client.get("/up").status_code for _ in range(3)] == [200, 200, 429]

        lost.start()  # empty: nothing is persisted
        cluster.wait_until_ok()
        time.sleep(1.1)  # the pause after a failure
        refused = client.get("/both")
        assert refused.status_code == 429  # by "up": the node answered again
        assert _remaining(refused) == {"both/3-3600": 3, "up/3-3600": 0}


# --- TLS -----------------------------------------------------------------------------------


def test_rediss_cluster_speaks_tls_to_every_node(redis_tls: TLSFiles, tmp_path: Path) -> None:
    with RedisClusterServers(tmp_path, tls=redis_tls) as cluster:
        clients = _clients_on_distinct_nodes(cluster, 3)

        def codes(storage_uri: str) -> list[int]:
            app = Flask(__name__)
            limiter = RateLimiter(app, storage_uri=storage_uri, on_storage_error="deny")
            view = limiter.limit("2/hour", key_func=lambda: clients[0])(lambda: "ok")
            for i, name in enumerate(clients[1:]):
                view = limiter.shared_limit("5/hour", scope=f"s{i}", key_func=lambda n=name: n)(
                    view
                )
            app.add_url_rule("/", "index", view)
            client = app.test_client()
            return [client.get("/").status_code for _ in range(3)]

        # rediss+cluster://...?ssl_ca_certs=<the CA>: three slots, three nodes, all TLS.
        assert codes(cluster.url()) == [200, 200, 429]
        assert codes(cluster.url("valkeys+cluster")) == [429, 429, 429]  # the same counts
        # Without TLS the nodes do not answer.
        plain = cluster.url("redis+cluster").partition("?")[0]
        assert codes(plain) == [503, 503, 503]


# --- the CLI -------------------------------------------------------------------------------


def test_cli_reset_forgets_one_client_then_everyone_on_every_node(
    redis_cluster: RedisClusterServers, prefix: str
) -> None:
    clients = _clients_on_distinct_nodes(redis_cluster, 3)
    app = Flask(__name__)
    limiter = RateLimiter(app, storage_uri=redis_cluster.url(), key_prefix=prefix)

    @app.get("/")
    @limiter.limit("2/minute; 20/day", key_func=lambda: request.args["client"])
    def index() -> str:
        return "ok"

    client = app.test_client()
    for name in clients:
        codes = [client.get("/", query_string={"client": name}).status_code for _ in range(3)]
        assert codes == [200, 200, 429]
    stored = [
        len(t.cast(list[str], node.call("KEYS", f"{prefix}:*"))) for node in redis_cluster.nodes
    ]
    assert stored == [2, 2, 2]  # two limits per client, one client per node

    runner = app.test_cli_runner()
    result = runner.invoke(args=["ratelimit", "reset", clients[1]])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"removed 2 counters for {clients[1]}"
    assert client.get("/", query_string={"client": clients[1]}).status_code == 200
    assert client.get("/", query_string={"client": clients[2]}).status_code == 429

    result = runner.invoke(args=["ratelimit", "reset"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "removed 6 counters"
    assert all(node.call("KEYS", f"{prefix}:*") == [] for node in redis_cluster.nodes)
