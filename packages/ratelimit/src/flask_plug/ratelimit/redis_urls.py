"""Redis storage URIs: one server, a Redis Cluster's nodes, or Sentinels and the service
they watch; Valkey's schemes name the same. Read and checked without connecting."""

from __future__ import annotations

import re
import typing as t
from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

Topology = t.Literal["server", "cluster", "sentinel"]

SCHEMES: dict[str, tuple[Topology, bool]] = {
    "redis": ("server", False),
    "rediss": ("server", True),
    "unix": ("server", False),
    "redis+cluster": ("cluster", False),
    "rediss+cluster": ("cluster", True),
    "redis+sentinel": ("sentinel", False),
    "rediss+sentinel": ("sentinel", True),
    # Valkey speaks the Redis protocol: redis-py serves these schemes too.
    "valkey": ("server", False),
    "valkeys": ("server", True),
    "valkey+cluster": ("cluster", False),
    "valkeys+cluster": ("cluster", True),
    "valkey+sentinel": ("sentinel", False),
    "valkeys+sentinel": ("sentinel", True),
}
"""Each scheme: what it names, and whether connections use TLS."""

_DEFAULT_PORTS = {"server": 6379, "cluster": 6379, "sentinel": 26379}
_HOST = re.compile(r"[^\s/?#@,]*")
_SENTINEL_OPTIONS = ("sentinel_username", "sentinel_password")


@dataclass(frozen=True)
class StorageURL:
    """What a Redis storage URI names, ready for redis-py."""

    topology: Topology
    """``"server"``, ``"cluster"`` or ``"sentinel"``."""
    server_url: str
    """A ``redis://``, ``rediss://`` or ``unix://`` URL for ``redis.connection.parse_url``:
    the server's own, or the first node's or Sentinel's with the credentials, database and
    options that apply to the data servers."""
    addresses: tuple[tuple[str, int], ...] = ()
    """The Cluster's startup nodes, or the Sentinels."""
    service: str = ""
    """The service the Sentinels watch."""
    sentinel_auth: dict[str, str] = field(default_factory=dict)
    """``username`` and ``password`` for the Sentinels (``sentinel_*`` options, else the
    URL's own credentials)."""


def scheme_of(uri: str) -> str:
    """The scheme of ``uri``, lower case: ``"redis+cluster"``."""
    return uri.partition("://")[0].lower() if "://" in uri else ""


def parse_storage_url(uri: str) -> StorageURL:
    """Read a Redis storage URI of any scheme in :data:`SCHEMES`.

    :raises ValueError: saying what is wrong, worded to follow the config key's name
        (``"names no Sentinel service: ..."``); it never repeats the password.
    """
    scheme = scheme_of(uri)
    topology, tls = SCHEMES[scheme]
    rest = uri.partition("://")[2]
    if topology == "server":
        server_url = f"{'unix' if scheme == 'unix' else 'rediss' if tls else 'redis'}://{rest}"
        problem = redis_url_problem(server_url)
        if problem is not None:
            raise ValueError(problem)
        return StorageURL("server", server_url)

    # Several hosts in one netloc are beyond urlsplit: split them off first. As in any
    # URL, the netloc ends at the first "/", "?" or "#", and the credentials at its last "@".
    end = min([len(rest), *(at for at in map(rest.find, "/?#") if at != -1)])
    netloc, tail = rest[:end], rest[end:]
    userinfo, _, hosts = netloc.rpartition("@")
    addresses = tuple(_address(host, _DEFAULT_PORTS[topology], scheme) for host in hosts.split(","))
    path, _, query_text = tail.partition("?")
    query_text = query_text.partition("#")[0]
    query = parse_qs(query_text, keep_blank_values=True)
    credentials = f"{userinfo}@" if userinfo else ""
    sentinel_auth: dict[str, str] = {}
    service = ""
    if topology == "cluster":
        if path.strip("/") not in ("", "0") or query.get("db", ["0"]) != ["0"]:
            raise ValueError(
                f"names a database, which a Redis Cluster does not have (only 0):"
                f" write {scheme}://host:port,host:port"
            )
        query.pop("db", None)
        database = ""
    else:
        service, _, database = path.lstrip("/").partition("/")
        if not service:
            raise ValueError(
                f"names no Sentinel service: write {scheme}://host:26379,host:26379/<service>"
            )
        for option in _SENTINEL_OPTIONS:
            values = query.pop(option, [])
            if values:
                sentinel_auth[option.removeprefix("sentinel_")] = values[-1]
        if "password" not in sentinel_auth:
            # As Flask-Limiter does: the URL's credentials serve the Sentinels too, unless
            # sentinel_password= (blank for none) says otherwise.
            parts = urlsplit(f"redis://{credentials}h")
            if parts.password:
                sentinel_auth["password"] = unquote(parts.password)
                if parts.username and "username" not in sentinel_auth:
                    sentinel_auth["username"] = unquote(parts.username)
        sentinel_auth = {key: value for key, value in sentinel_auth.items() if value}
    host, port = addresses[0]
    host_text = f"[{host}]" if ":" in host else host
    options = f"?{urlencode(query, doseq=True)}" if query else ""
    server_url = (
        f"{'rediss' if tls else 'redis'}://{credentials}{host_text}:{port}/{database}{options}"
    )
    problem = redis_url_problem(server_url)
    if problem is not None:
        raise ValueError(problem)
    return StorageURL(topology, server_url, addresses, service, sentinel_auth)


def _address(text: str, default_port: int, scheme: str) -> tuple[str, int]:
    """``host[:port]`` (``[v6]:port`` for IPv6) as ``(host, port)``."""
    try:
        parts = urlsplit(f"//{text}")
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        port = 0
    else:
        if not host:
            raise ValueError(f"has an empty host; write {scheme}://host:port,host:port")
        if _HOST.fullmatch(host) is None:
            raise ValueError(f"has the host {host!r}, which cannot be a host name")
    if port == 0:
        raise ValueError("has a port that is not a number from 1 to 65535")
    return host, port or default_port


def redis_url_problem(uri: str) -> str | None:
    """What is wrong with the Redis URL ``uri``, or ``None``; never repeats its password.

    redis-py takes ``redis://host/abc`` as database 0 and ``redis://host:0`` as given, and
    names no setting when it does refuse a URL: these would surface as an outage, or as an
    error without the key, long after start-up.
    """
    try:
        parts = urlsplit(uri)
        if "," in parts.netloc.rpartition("@")[2]:
            return (
                "names several hosts; write redis+cluster://host:port,host:port for a Redis"
                " Cluster, or redis+sentinel://host:port,host:port/service for Sentinels"
            )
        host = parts.hostname or ""
        query = parse_qs(parts.query, keep_blank_values=True)
    except ValueError as e:
        return f"is not a URL ({e})"
    try:
        port = parts.port
    except ValueError:
        port = 0
    if port == 0:
        return "has a port that is not a number from 1 to 65535"
    if _HOST.fullmatch(host) is None:
        return f"has the host {host!r}, which cannot be a host name"
    dbs = query.get("db", [])
    if parts.scheme == "unix":
        if not parts.path:
            return "has no socket path; use unix:///path/to/redis.sock?db=0"
    elif parts.path not in ("", "/"):
        db = parts.path[1:]
        if not db.isdigit() or not db.isascii():
            return f"names the database {db!r}; use a number (redis://host:6379/0)"
        dbs = [db, *dbs]
    for db in dbs:
        if not db.isdigit() or not db.isascii():
            return f"has db={db!r}; use a number"
    return None
