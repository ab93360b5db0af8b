"""gunicorn settings of ``hatch run demo:prod`` (see :mod:`flask_plug_demo.prod`)."""

from __future__ import annotations

import os
import typing as t

bind = os.environ.get("BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WORKERS", "4"))
# Threads: a slow client holds one thread while it sends its request, not a whole
# worker (the sync worker gave 8 slow connections all 4 workers). A reverse proxy that
# buffers requests is still the real defence; see the deploying guide.
worker_class = "gthread"
threads = int(os.environ.get("THREADS", "16"))
# flask-plug-reqlog writes the access log; gunicorn's own would say it twice.
accesslog = None
errorlog = "-"
graceful_timeout = 10
control_socket_disable = True  # gunicorn >= 25.1 would open ~/.gunicorn/gunicorn.ctl


def on_starting(server: t.Any) -> None:
    """Set up once, in the master, before any worker starts: create the tables and the
    first users, and check the configuration. Workers then never touch the database
    while they boot, so one restarted while it is down starts all the same.

    A deployment that runs ``flask demo init`` as a release step of its own sets
    ``FLASK_DEMO_INIT=false``; then nothing here connects to the database either.
    """
    from flask_plug_demo.app import close_app, create_app, init_instance

    app = create_app({"DEMO_INIT": False}, instance_path=os.environ.get("DEMO_INSTANCE"))
    if os.environ.get("FLASK_DEMO_INIT", "true").lower() != "false":
        init_instance(app)
    close_app(app)  # no connection of the master's reaches a worker
    os.environ["FLASK_DEMO_INIT"] = "false"  # the workers, forked from here, skip it


def child_exit(server: t.Any, worker: t.Any) -> None:
    """A worker is gone: drop its live gauges (requests in flight) from the stats."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]
