"""``flask ratelimit show`` and ``flask ratelimit reset``."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from ._state import get_state
from .plan import describe
from .storage import MemoryStorage, StorageError

ratelimit_cli = AppGroup("ratelimit", help="Inspect and reset rate limits.")


@ratelimit_cli.command("show")
def show() -> None:
    """List every route with the limits that apply to each method; HEAD shows the limits
    of GET, which it is counted with."""
    state = get_state(current_app)
    rules = sorted(current_app.url_map.iter_rules(), key=lambda rule: (rule.rule, rule.endpoint))
    for rule in rules:
        for method in sorted(rule.methods or ()):
            plan = state.plan_for(rule.endpoint, method)
            shown = "-"
            if plan is not None:
                shown = "; ".join(f"{text} [{scope}]" for scope, text in describe(plan))
            click.echo(f"{method:7} {rule.rule:40} {shown}")
    click.echo(f"storage: {state.settings.storage_uri} ({state.settings.strategy})")


@ratelimit_cli.command("reset")
@click.argument("key", required=False)
def reset(key: str | None) -> None:
    """Forget the counts of KEY (a client, as the key function names it), or of everyone."""
    state = get_state(current_app)
    if isinstance(state.storage, MemoryStorage):
        raise click.ClickException(
            "memory storage lives inside each server process; restart the server to reset it"
        )
    try:
        count = state.storage.reset(state.storage_prefix(key))
    except StorageError as e:
        raise click.ClickException(f"cannot reach the storage: {e}") from e
    click.echo(f"removed {count} counters" + ("" if key is None else f" for {key}"))
