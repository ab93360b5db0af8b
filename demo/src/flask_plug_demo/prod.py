"""``hatch run demo:prod``: the demo as it runs in production.

gunicorn with several workers; rate limits in Redis, shared by every worker; users,
sessions and tokens in PostgreSQL; stats in prometheus_client's multiprocess mode, so
the dashboard counts every worker's requests; access logs as JSON lines on stdout.

Settings come from the environment, all optional:

``REDIS_URL``      default ``redis://127.0.0.1:6379/0``
``DATABASE_URL``   default ``postgresql://postgres@127.0.0.1:5432/test``
``BIND``           default ``127.0.0.1:8000``
``WORKERS``        default 4
``DEMO_INSTANCE``  the instance folder (secret key, first-run passwords); default the
                   demo's own
``THREADS``        threads per worker, default 16

``python -m flask_plug_demo.prod init`` (``hatch run demo:prod init``) only creates the
tables and the first users, as ``flask demo init`` does, in this environment.

Any ``FLASK_*`` variable sets the config key of the same name, as in development:
``FLASK_REQLOG_FORMAT=combined``, ``FLASK_SESSION_COOKIE_SECURE=false`` …
"""

from __future__ import annotations

import os
import sys
import tempfile


def environment(environ: dict[str, str]) -> dict[str, str]:
    """The environment gunicorn and its workers run in: production defaults filled in."""
    env = dict(environ)
    database = env.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    if database.startswith("postgresql://"):
        database = "postgresql+psycopg://" + database.removeprefix("postgresql://")
    env.setdefault("FLASK_AUTH_DATABASE_URI", database)
    env.setdefault("FLASK_RATELIMIT_STORAGE_URI", env.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    env.setdefault("FLASK_REQLOG_FORMAT", "json")
    env.setdefault("FLASK_REQLOG_OUTPUT", "stdout")
    env.setdefault("FLASK_TIMER_SPANS", "false")
    # Browsers keep Secure cookies on http://127.0.0.1 and localhost too; behind TLS, as
    # production is, nothing else works anyway.
    env.setdefault("FLASK_SESSION_COOKIE_SECURE", "true")
    # Every worker writes its metrics here; a fresh folder, so old runs do not count.
    env.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="flask-plug-demo-"))
    return env


def main() -> None:
    env = environment(dict(os.environ))
    os.environ.update(env)
    if sys.argv[1:] == ["init"]:  # the one-off set-up, as a release step: no server
        flask = [sys.executable, "-m", "flask", "--app", "flask_plug_demo:create_app"]
        os.execve(sys.executable, [*flask, "demo", "init"], {**env, "FLASK_DEMO_INIT": "false"})
    instance = env.get("DEMO_INSTANCE")
    # Tables and the first users are made once, by gunicorn's master (on_starting in
    # gunicorn_conf), not by every worker.
    factory = f"flask_plug_demo:create_app(instance_path={instance!r})"
    args = [sys.executable, "-m", "gunicorn", "-c", "python:flask_plug_demo.gunicorn_conf"]
    os.execve(sys.executable, [*args, *sys.argv[1:], factory], env)


if __name__ == "__main__":
    main()
