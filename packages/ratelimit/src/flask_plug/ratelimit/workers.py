"""How many worker processes the server runs: memory storage counts in each apart."""

from __future__ import annotations

import os
import sys


def worker_processes() -> int:
    """How many worker processes the server runs, where that can be told; else 1."""
    uwsgi = sys.modules.get("uwsgi")  # present only inside a uWSGI server
    if uwsgi is not None:
        return int(getattr(uwsgi, "numproc", 1))
    if "gunicorn" not in os.path.basename(sys.argv[0]) and "gunicorn" not in sys.modules:
        return 1
    return _gunicorn_workers(
        sys.argv[1:] + os.environ.get("GUNICORN_CMD_ARGS", "").split(),
        os.environ.get("WEB_CONCURRENCY", "1"),
    )


def _gunicorn_workers(args: list[str], default: str) -> int:
    """The last ``-w``/``--workers`` of gunicorn's arguments, else ``default``."""
    workers = default
    for i, arg in enumerate(args):
        if arg in ("-w", "--workers") and i + 1 < len(args):
            workers = args[i + 1]
        elif arg.startswith("--workers="):
            workers = arg.partition("=")[2]
        elif arg.startswith("-w") and arg[2:].isdigit():
            workers = arg[2:]
    return int(workers) if workers.isdigit() else 1
