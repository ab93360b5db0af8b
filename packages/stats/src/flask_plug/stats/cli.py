"""``flask stats serve-metrics``: the metrics on a port of their own."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from .server import make_metrics_server

stats_cli = AppGroup("stats", help="The request metrics of flask-plug-stats.")


@stats_cli.command("serve-metrics")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=9100, show_default=True, help="Port; 0 lets the system choose.")
@click.option("--path", default="/metrics", show_default=True, help="Path of the metrics.")
def serve_metrics(host: str, port: int, path: str) -> None:
    """Serve the app's metrics on their own port until stopped: in multiprocess mode
    (PROMETHEUS_MULTIPROC_DIR set as for the workers), every worker's."""
    if not path.startswith("/"):
        raise click.BadParameter("a path starts with '/'", param_hint="--path")
    try:
        server = make_metrics_server(current_app, host=host, port=port, path=path)
    except OSError as e:
        raise click.ClickException(f"cannot listen on {host}:{port}: {e}") from e
    where = f"[{host}]" if ":" in host else host
    click.echo(
        f"Serving the metrics of {current_app.name} on http://{where}:{server.server_port}{path}"
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
