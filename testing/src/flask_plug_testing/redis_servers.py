"""Real Redis servers on free ports of 127.0.0.1, for tests and benchmarks: one server, a
Redis Cluster of three masters, or a master and its replica watched by three Sentinels.

They run ``redis-server`` and ``redis-cli`` from ``PATH``, persist nothing, and keep their
logs and configuration files in a directory the caller gives. Nothing here needs pytest or
redis-py: the benchmarks start clusters too, and the plugin's ``redis_cluster`` and
``redis_sentinel`` fixtures are instances of these classes.
"""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import time
import typing as t
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

if t.TYPE_CHECKING:
    from types import TracebackType

    from typing_extensions import Self

HOST = "127.0.0.1"
_STARTUP_SECONDS = 15.0
_POLL = 0.05

Reply: t.TypeAlias = "str | int | None | list[Reply]"
"""A RESP2 answer: simple and bulk strings decoded as UTF-8, integers, nil, arrays."""


class RedisUnavailable(RuntimeError):
    """``redis-server`` or ``redis-cli`` is not installed."""


class ReplyError(Exception):
    """Redis answered a command with an error (``-ERR ...``)."""


def binary(name: str) -> str:
    """The path of the program ``name`` (``redis-server``, ``redis-cli``).

    :raises RedisUnavailable: it is not on ``PATH``.
    """
    path = shutil.which(name)
    if path is None:
        raise RedisUnavailable(f"{name} is not installed (Debian: apt-get install redis-server)")
    return path


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def command(
    port: int,
    *args: str | int,
    timeout: float = 5.0,
    tls: ssl.SSLContext | None = None,
    password: str | None = None,
) -> Reply:
    """Send one command to the Redis (or Sentinel) on ``port`` over a new connection.

    :param tls: the client context of a server that speaks TLS only.
    :param password: ``AUTH`` with it first.
    :raises ReplyError: the server answered with an error.
    :raises OSError: it could not be reached, or closed the connection.
    """
    commands = [args] if password is None else [("AUTH", password), args]
    with socket.create_connection((HOST, port), timeout=timeout) as plain:
        sock = plain if tls is None else tls.wrap_socket(plain, server_hostname=HOST)
        with sock:
            sock.sendall(b"".join(_encode(*c) for c in commands))
            with sock.makefile("rb") as reader:
                replies = [_read_reply(reader) for _ in commands]
    return replies[-1]


def _encode(*args: str | int) -> bytes:
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        data = str(arg).encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(parts)


def _read_reply(reader: t.BinaryIO) -> Reply:
    line = reader.readline()
    if not line.endswith(b"\r\n"):
        raise ConnectionError("the server closed the connection")
    kind, rest = line[:1], line[1:-2].decode()
    if kind == b"+":
        return rest
    if kind == b"-":
        raise ReplyError(rest)
    if kind == b":":
        return int(rest)
    if kind in (b"$", b"*") and int(rest) < 0:
        return None
    if kind == b"$":
        return reader.read(int(rest) + 2)[:-2].decode()
    if kind == b"*":
        return [_read_reply(reader) for _ in range(int(rest))]
    raise ConnectionError(f"not a RESP2 reply: {line!r}")


def info(server: RedisServer, section: str) -> dict[str, str]:
    """``INFO section`` of ``server``, as ``{field: value}``."""
    text = t.cast(str, server.call("INFO", section))
    return dict(line.split(":", 1) for line in text.splitlines() if ":" in line and line[0] != "#")


def wait_for(what: str, ready: t.Callable[[], bool], timeout: float = _STARTUP_SECONDS) -> None:
    """Call ``ready`` until it returns true; servers that are not up yet count as not ready.

    :raises TimeoutError: naming ``what``, after ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            if ready():
                return
        except (OSError, ReplyError):
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {timeout:g} seconds")
        time.sleep(_POLL)


@dataclass(frozen=True)
class TLSFiles:
    """A certificate authority and the certificate it signed for 127.0.0.1, for servers
    that speak TLS only (:meth:`create` makes them with ``openssl``)."""

    ca: Path
    cert: Path
    key: Path

    @classmethod
    def create(cls, directory: Path) -> TLSFiles:
        """Make a CA and a server certificate for 127.0.0.1 in ``directory``, valid 2 days.

        :raises RedisUnavailable: ``openssl`` is not installed.
        """
        openssl = binary("openssl")
        directory.mkdir(parents=True, exist_ok=True)
        files = cls(directory / "ca.crt", directory / "server.crt", directory / "server.key")
        ca_key, request = directory / "ca.key", directory / "server.csr"
        extensions = directory / "server.ext"
        # What Python's strict verification (3.13's default) asks of a server certificate.
        extensions.write_text(
            "subjectAltName=IP:127.0.0.1\nbasicConstraints=critical,CA:FALSE\n"
            "keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\n"
            "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n"
        )
        ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        for argv in (
            [openssl, "req", "-x509", *ec, "-days", "2", "-subj", "/CN=flask-plug test CA"]
            + ["-keyout", str(ca_key), "-out", str(files.ca)]
            + ["-addext", "basicConstraints=critical,CA:TRUE"]
            + ["-addext", "keyUsage=critical,keyCertSign,cRLSign"],
            [openssl, "req", *ec, "-subj", "/CN=127.0.0.1"]
            + ["-keyout", str(files.key), "-out", str(request)],
            [openssl, "x509", "-req", "-in", str(request), "-days", "2", "-CA", str(files.ca)]
            + ["-CAkey", str(ca_key), "-CAcreateserial", "-out", str(files.cert)]
            + ["-extfile", str(extensions)],
        ):
            subprocess.run(argv, check=True, capture_output=True, timeout=60)
        return files

    def server_args(self) -> list[str]:
        """``redis-server`` options: these files, clients need no certificate of their own."""
        return [
            "--tls-cert-file",
            str(self.cert),
            "--tls-key-file",
            str(self.key),
            "--tls-ca-cert-file",
            str(self.ca),
            "--tls-auth-clients",
            "no",
            "--tls-replication",
            "yes",
        ]

    def client_context(self) -> ssl.SSLContext:
        """A client context that trusts the CA."""
        return ssl.create_default_context(cafile=str(self.ca))


class _StartedInWith:
    """``with`` starts it, and stops it at the end of the block."""

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class RedisServer(_StartedInWith):
    """One ``redis-server`` on a port of 127.0.0.1, to start, stop or kill at any moment.

    :param workdir: its directory, for its log (``<name>.log``) and configuration.
    :param args: more ``redis-server`` options, as on its command line.
    :param port: default: a free port.
    :param config: the text of a configuration file to start from (a Sentinel needs one,
        which it rewrites); default: none.
    :param sentinel: run as a Sentinel (``redis-server --sentinel``).
    :param tls: speak TLS only, with these files, on ``port``.
    :param password: ``requirepass``: clients must ``AUTH`` (:meth:`call` does).
    :param name: names its files and its log lines in errors.
    """

    def __init__(
        self,
        workdir: Path,
        *args: str,
        port: int | None = None,
        config: str | None = None,
        sentinel: bool = False,
        tls: TLSFiles | None = None,
        password: str | None = None,
        name: str = "redis",
    ) -> None:
        self.workdir = workdir
        self.args = args if password is None else (*args, "--requirepass", password)
        self.password = password
        self.port = port or free_port()
        self.sentinel = sentinel
        self.tls = tls
        self._client_tls = None if tls is None else tls.client_context()
        self.name = f"{name}-{self.port}"
        self._config = config
        self._process: subprocess.Popen[bytes] | None = None

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<RedisServer {self.name} {state}>"

    @property
    def address(self) -> tuple[str, int]:
        return (HOST, self.port)

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:<port>``."""
        return f"redis://{HOST}:{self.port}"

    @property
    def log(self) -> Path:
        return self.workdir / f"{self.name}.log"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        """Start it and wait until it answers ``PING``.

        :raises RuntimeError: with its log, if it exits or does not answer within 15 s.
        """
        if self.running:
            return
        self.workdir.mkdir(parents=True, exist_ok=True)
        argv = [binary("redis-server")]
        if self._config is not None:
            config = self.workdir / f"{self.name}.conf"
            if not config.exists():  # a Sentinel's own rewrites survive a restart
                config.write_text(self._config)
            argv.append(str(config))
        if self.sentinel:
            argv.append("--sentinel")
        else:
            argv += ["--save", "", "--appendonly", "no", "--dir", str(self.workdir)]
        if self.tls is None:
            argv += ["--port", str(self.port)]
        else:
            argv += ["--port", "0", "--tls-port", str(self.port), *self.tls.server_args()]
        argv += ["--bind", HOST, "--daemonize", "no", *self.args]
        # setpriv makes the kernel kill the server if this process dies without cleaning up.
        setpriv = shutil.which("setpriv")
        if setpriv is not None:
            argv = [setpriv, "--pdeathsig", "KILL", *argv]
        with self.log.open("ab") as log:
            self._process = subprocess.Popen(
                argv, stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir
            )
        try:
            wait_for(f"{self.name} answering PING", self._answers)
        except TimeoutError:
            self.kill()
            raise RuntimeError(self._failure("did not start")) from None

    def _answers(self) -> bool:
        if not self.running:
            raise RuntimeError(self._failure("exited at start"))
        return self.call("PING", timeout=1.0) == "PONG"

    def _failure(self, what: str) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        tail = "\n".join(text.splitlines()[-30:])
        return f"redis-server {self.name} {what}; its log ends:\n{tail}"

    def call(self, *args: str | int, timeout: float = 5.0) -> Reply:
        """Send it one command: see :func:`command`."""
        return command(
            self.port, *args, timeout=timeout, tls=self._client_tls, password=self.password
        )

    def stop(self) -> None:
        """Stop it (SIGTERM, then SIGKILL after 10 s) and wait until it has exited."""
        process, self._process = self._process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)

    def kill(self) -> None:
        """Kill it at once (SIGKILL), as a crash would, and wait until it has exited."""
        process, self._process = self._process, None
        if process is None:
            return
        process.kill()
        process.wait(timeout=10)


class RedisClusterServers(_StartedInWith):
    """A Redis Cluster of ``masters`` masters and no replicas, on free ports of 127.0.0.1,
    the slots spread evenly by ``redis-cli --cluster create``.

    ``url()`` names every node: ``redis+cluster://127.0.0.1:P1,127.0.0.1:P2,127.0.0.1:P3``.
    :meth:`start` returns once every node reports ``cluster_state:ok``.

    :param workdir: the nodes' logs and ``nodes-<port>.conf`` files.
    :param node_timeout_ms: how long a node may be silent before the others count it as
        failing (Redis's default is 15 seconds).
    :param tls: speak TLS only, clients and cluster bus alike, with these files.
    """

    def __init__(
        self,
        workdir: Path,
        *,
        masters: int = 3,
        node_timeout_ms: int = 2000,
        tls: TLSFiles | None = None,
    ) -> None:
        self.workdir = workdir
        self.tls = tls
        self.nodes = []
        for _ in range(masters):
            port, bus_port = free_port(), free_port()
            # An explicit bus port: port + 10000, Redis's default, can be above 65535.
            self.nodes.append(
                RedisServer(
                    workdir,
                    "--cluster-enabled",
                    "yes",
                    "--cluster-port",
                    str(bus_port),
                    "--cluster-config-file",
                    f"nodes-{port}.conf",
                    "--cluster-node-timeout",
                    str(node_timeout_ms),
                    *(() if tls is None else ("--tls-cluster", "yes")),
                    port=port,
                    tls=tls,
                    name="cluster",
                )
            )

    def __repr__(self) -> str:
        return f"<RedisClusterServers {self.url()}>"

    def url(self, scheme: str | None = None) -> str:
        """The cluster's storage URI, every node a startup node; by default
        ``redis+cluster://``, or ``rediss+cluster://`` with ``ssl_ca_certs`` under TLS."""
        scheme = scheme or ("redis+cluster" if self.tls is None else "rediss+cluster")
        hosts = ",".join(f"{HOST}:{node.port}" for node in self.nodes)
        return f"{scheme}://{hosts}{_ca_query(self.tls)}"

    def start(self) -> None:
        """Start the nodes, join them into one cluster and wait until it serves every slot."""
        try:
            for node in self.nodes:
                node.start()
            created = subprocess.run(
                [
                    binary("redis-cli"),
                    "--cluster",
                    "create",
                    *(f"{HOST}:{node.port}" for node in self.nodes),
                    "--cluster-replicas",
                    "0",
                    "--cluster-yes",
                    *(() if self.tls is None else ("--tls", "--cacert", str(self.tls.ca))),
                ],
                capture_output=True,
                text=True,
                timeout=60,
            )
            if created.returncode != 0:
                raise RuntimeError(f"redis-cli --cluster create failed:\n{created.stdout}")
            self.wait_until_ok()
        except BaseException:
            self.stop()
            raise

    def wait_until_ok(self, timeout: float = _STARTUP_SECONDS) -> None:
        """Wait until every running node reports ``cluster_state:ok`` and they all agree
        on which node serves each slot."""

        def ok() -> bool:
            running = [node for node in self.nodes if node.running]
            states = {info(node, "cluster").get("cluster_enabled") for node in running}
            cluster = [node.call("CLUSTER", "INFO") for node in running]
            maps = {repr(self._slot_map(node)) for node in running}
            return (
                states == {"1"}
                and all("cluster_state:ok" in t.cast(str, text) for text in cluster)
                and len(maps) == 1
            )

        wait_for("the cluster reporting cluster_state:ok", ok, timeout)

    def _slot_map(self, node: RedisServer) -> list[tuple[int, int, int]]:
        """``(first slot, last slot, port)`` of each range, as ``node`` sees them."""
        ranges = t.cast(list[list[t.Any]], node.call("CLUSTER", "SLOTS"))
        return sorted((int(r[0]), int(r[1]), int(r[2][1])) for r in ranges)

    def key_slot(self, key: str) -> int:
        """The slot of ``key`` (``CLUSTER KEYSLOT``)."""
        node = next(node for node in self.nodes if node.running)
        return t.cast(int, node.call("CLUSTER", "KEYSLOT", key))

    def node_for_slot(self, slot: int) -> RedisServer:
        """The node that serves ``slot``."""
        node = next(node for node in self.nodes if node.running)
        for first, last, port in self._slot_map(node):
            if first <= slot <= last:
                return next(n for n in self.nodes if n.port == port)
        raise LookupError(f"no node serves slot {slot}")

    def node_id(self, node: RedisServer) -> str:
        return t.cast(str, node.call("CLUSTER", "MYID"))

    def migrate_slot(self, slot: int, target: RedisServer) -> None:
        """Start moving ``slot`` to ``target`` and move its keys, but leave the slot with
        its owner, as resharding does halfway: commands for its keys get ``ASK``."""
        source = self.node_for_slot(slot)
        if source is target:
            raise ValueError(f"{target.name} already serves slot {slot}")
        source_id, target_id = self.node_id(source), self.node_id(target)
        target.call("CLUSTER", "SETSLOT", slot, "IMPORTING", source_id)
        source.call("CLUSTER", "SETSLOT", slot, "MIGRATING", target_id)
        while True:
            keys = t.cast(list[str], source.call("CLUSTER", "GETKEYSINSLOT", slot, 100))
            if not keys:
                break
            source.call("MIGRATE", HOST, target.port, "", 0, 5000, "KEYS", *keys)

    def move_slot(self, slot: int, target: RedisServer) -> None:
        """Move ``slot`` and its keys to ``target`` (finishing what :meth:`migrate_slot`
        started, if it did), as resharding does: clients that cached the old owner get
        ``MOVED``."""
        source = self.node_for_slot(slot)
        if source is target:
            return
        self.migrate_slot(slot, target)  # again if it was started: no harm
        target_id = self.node_id(target)
        # The new owner first, then the old one, then the rest (as the Redis manual says).
        others = [node for node in self.nodes if node not in (source, target) and node.running]
        for node in (target, source, *others):
            node.call("CLUSTER", "SETSLOT", slot, "NODE", target_id)
        self.wait_until_ok()

    def stop(self) -> None:
        """Stop every node."""
        for node in self.nodes:
            node.stop()


class RedisSentinelServers(_StartedInWith):
    """A master and one replica, watched by three Sentinels as ``service``, on free ports
    of 127.0.0.1. A master that stops answering is declared down after ``down_after_ms``
    (two Sentinels must agree), so a failover takes a few seconds.

    ``url()`` names every Sentinel and the service:
    ``redis+sentinel://127.0.0.1:S1,127.0.0.1:S2,127.0.0.1:S3/flask-plug``.
    :meth:`start` returns once the Sentinels know the master, the replica and each other.

    :param workdir: the servers' logs and the Sentinels' configuration files.
    :param tls: every server and Sentinel speaks TLS only, with these files.
    """

    def __init__(
        self,
        workdir: Path,
        *,
        service: str = "flask-plug",
        down_after_ms: int = 1000,
        failover_timeout_ms: int = 3000,
        tls: TLSFiles | None = None,
    ) -> None:
        self.workdir = workdir
        self.service = service
        self.tls = tls
        # A full resynchronisation right away, instead of after the 5 s Redis waits by default.
        fast_sync = ("--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0")
        first = RedisServer(workdir, *fast_sync, tls=tls, name="data")
        self.servers = [first, RedisServer(workdir, *fast_sync, tls=tls, name="data")]
        """The two data servers: the first starts as the master."""
        self.sentinels = []
        for _ in range(3):
            port = free_port()
            config = "\n".join(
                [
                    f"port {port}",
                    f"bind {HOST}",
                    f"dir {workdir}",
                    f"sentinel monitor {service} {HOST} {first.port} 2",
                    f"sentinel down-after-milliseconds {service} {down_after_ms}",
                    f"sentinel failover-timeout {service} {failover_timeout_ms}",
                    f"sentinel parallel-syncs {service} 1",
                    "",
                ]
            )
            self.sentinels.append(
                RedisServer(
                    workdir, port=port, config=config, sentinel=True, tls=tls, name="sentinel"
                )
            )

    def __repr__(self) -> str:
        return f"<RedisSentinelServers {self.url()}>"

    def url(self, scheme: str | None = None) -> str:
        """The storage URI: every Sentinel, then the service name; by default
        ``redis+sentinel://``, or ``rediss+sentinel://`` with ``ssl_ca_certs`` under TLS."""
        scheme = scheme or ("redis+sentinel" if self.tls is None else "rediss+sentinel")
        hosts = ",".join(f"{HOST}:{sentinel.port}" for sentinel in self.sentinels)
        return f"{scheme}://{hosts}/{self.service}{_ca_query(self.tls)}"

    def start(self) -> None:
        """Start the servers and the Sentinels, and wait until they know one another."""
        try:
            first, second = self.servers
            first.start()
            self.restart(second)
            for sentinel in self.sentinels:
                self.restart(sentinel)
            self.wait_until_healthy()
        except BaseException:
            self.stop()
            raise

    def restart(self, server: RedisServer) -> None:
        """Start ``server`` again (one of :attr:`servers` or :attr:`sentinels`): a data
        server as a replica of the master, as the Sentinels would reconfigure it."""
        server.start()
        if server in self.sentinels:
            # Sentinel asks each server for INFO every 10 s and announces itself to the
            # others every 2 s: a second and half a second let a stopped master, once back,
            # become a replica within a second or two instead of ten.
            for parameter, value in [("INFO-PERIOD", 1000), ("PUBLISH-PERIOD", 500)]:
                server.call("SENTINEL", "DEBUG", parameter, value)
        elif any(sentinel.running for sentinel in self.sentinels):
            host, port = self.master_address()
            if port != server.port:
                server.call("REPLICAOF", host, port)
        elif server is not self.servers[0]:
            server.call("REPLICAOF", HOST, self.servers[0].port)

    def master_address(self, sentinel: RedisServer | None = None) -> tuple[str, int]:
        """The master's address, as ``sentinel`` (by default the first running one) says."""
        sentinel = sentinel or next(s for s in self.sentinels if s.running)
        host, port = t.cast(
            list[str], sentinel.call("SENTINEL", "GET-MASTER-ADDR-BY-NAME", self.service)
        )
        return host, int(port)

    @property
    def master(self) -> RedisServer:
        """The data server the Sentinels name master."""
        port = self.master_address()[1]
        return next(server for server in self.servers if server.port == port)

    @property
    def replica(self) -> RedisServer:
        """The data server the Sentinels do not name master."""
        master = self.master
        return next(server for server in self.servers if server is not master)

    def wait_until_healthy(self, timeout: float = 30.0) -> None:
        """Wait until every Sentinel names the same master, which answers as one; the other
        data server replicates it; and each Sentinel sees the other two and the replica."""

        def healthy() -> bool:
            addresses = {self.master_address(sentinel) for sentinel in self.sentinels}
            if len(addresses) != 1:
                return False
            master = self.master
            replica = self.replica
            replication = info(replica, "replication")
            if info(master, "replication").get("role") != "master" or not (
                replication.get("role") == "slave"
                and replication.get("master_port") == str(master.port)
                and replication.get("master_link_status") == "up"
            ):
                return False
            for sentinel in self.sentinels:
                state = _pairs(sentinel.call("SENTINEL", "MASTER", self.service))
                if state.get("num-other-sentinels") != "2" or "s_down" in state.get("flags", ""):
                    return False
                replicas = t.cast(list[t.Any], sentinel.call("SENTINEL", "REPLICAS", self.service))
                if not any(_promotable(_pairs(r), replica) for r in replicas):
                    return False
            return True

        wait_for("the Sentinels agreeing on a master with a replica", healthy, timeout)

    def wait_for_new_master(self, old: RedisServer, timeout: float = 30.0) -> RedisServer:
        """Wait until every running Sentinel names a master other than ``old``, and it
        answers as one; return it."""

        def promoted() -> bool:
            ports = {self.master_address(s)[1] for s in self.sentinels if s.running}
            if ports != {self.replica_of(old).port}:
                return False
            return info(self.replica_of(old), "replication").get("role") == "master"

        wait_for(f"a master other than {old.name}", promoted, timeout)
        return self.replica_of(old)

    def replica_of(self, server: RedisServer) -> RedisServer:
        """The other data server."""
        return next(other for other in self.servers if other is not server)

    def wait_for_replica(self, timeout: float = 10.0) -> None:
        """Wait until the replica has every write the master had when this was called.

        (``WAIT`` would not do: it waits for the writes of its own connection.)
        """
        master, replica = self.master, self.replica
        offset = int(info(master, "replication")["master_repl_offset"])

        def caught_up() -> bool:
            return int(info(replica, "replication").get("slave_repl_offset", -1)) >= offset

        wait_for(f"{replica.name} replicating {master.name}", caught_up, timeout)

    def failover(self, timeout: float = 30.0) -> RedisServer:
        """``SENTINEL FAILOVER``: promote the replica while the master still runs; return
        the new master once the old one replicates it."""
        old = self.master
        self.sentinels[0].call("SENTINEL", "FAILOVER", self.service)
        new = self.wait_for_new_master(old, timeout)
        self.wait_until_healthy(timeout)
        return new

    def stop(self) -> None:
        """Stop the Sentinels, then the servers."""
        for server in (*self.sentinels, *self.servers):
            server.stop()


def _promotable(state: dict[str, str], replica: RedisServer) -> bool:
    """Whether a Sentinel's ``state`` of a replica (``SENTINEL REPLICAS``) is ``replica``
    as a failover may choose it: seen up, replicating, its link to the master up (until a
    Sentinel has seen that, ``SENTINEL FAILOVER`` answers ``NOGOODSLAVE``)."""
    flags = set(state.get("flags", "").split(","))
    return (
        state.get("port") == str(replica.port)
        and not flags & {"s_down", "o_down", "disconnected"}
        and state.get("role-reported") == "slave"
        and state.get("master-link-status") == "ok"
        and state.get("master-link-down-time") == "0"
    )


def _pairs(reply: Reply) -> dict[str, str]:
    """A flat ``[field, value, ...]`` reply as a dict."""
    items = t.cast(list[str], reply)
    return dict(zip(items[::2], items[1::2], strict=True))


def _ca_query(tls: TLSFiles | None) -> str:
    """The query string that makes redis-py trust the CA of ``tls``, if any."""
    return "" if tls is None else "?" + urlencode({"ssl_ca_certs": str(tls.ca)})
