"""gunicorn settings of ``hatch run demo:prod`` (see :mod:`flask_plug_demo.prod`)."""

from __future__ import annotations

import os
import typing as t

bind = os.environ.get("BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WORKERS", "4"))
# flask-plug-reqlog writes the access log; gunicorn's own would say it twice.
accesslog = None
errorlog = "-"
graceful_timeout = 10
control_socket_disable = True  # gunicorn >= 25.1 would open ~/.gunicorn/gunicorn.ctl


def child_exit(server: t.Any, worker: t.Any) -> None:
    """A worker is gone: drop its live gauges (requests in flight) from the stats."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]
