"""``flask apidocs export``."""

from __future__ import annotations

import json
import os
import sys

import click
from flask import current_app
from flask.cli import AppGroup

from ._state import get_state

apidocs_cli = AppGroup("apidocs", help="The OpenAPI document of the app.")


@apidocs_cli.command("export")
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, writable=True), default=None,
    help="Write to this file instead of standard output.",
)  # fmt: skip
@click.option(
    "--format", "output_format", type=click.Choice(["json", "yaml"]), default=None,
    help="Default: yaml for an output file named *.yaml or *.yml, else json."
    " YAML needs PyYAML installed.",
)  # fmt: skip
def export(output: str | None, output_format: str | None) -> None:
    """Print the OpenAPI document, byte for byte what /docs/openapi.json serves."""
    text = get_state(current_app).document_text(current_app)
    if output_format is None:
        suffix = os.path.splitext(output or "")[1].lower()
        output_format = "yaml" if suffix in (".yaml", ".yml") else "json"
    if output_format == "yaml":
        try:
            import yaml  # type: ignore[import-untyped]
        except ImportError:
            raise click.UsageError("--format yaml needs PyYAML: pip install pyyaml") from None
        text = yaml.safe_dump(json.loads(text), sort_keys=True, allow_unicode=True)
    if output is None:
        sys.stdout.write(text)
    else:
        with open(output, "w", encoding="utf-8", newline="\n") as file:
            file.write(text)
