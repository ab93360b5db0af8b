"""Render an exported OpenAPI document as a Markdown API reference, at build time.

``openapi_reference = {"demo-api.md": "demo-openapi.json"}`` in conf.py writes
``_generated/demo-api.md`` from ``demo-openapi.json`` before Sphinx reads the pages; a page
includes it. The document is the one ``flask apidocs export`` wrote, so the reference
shows exactly what the app serves at ``/docs/openapi.json``.
"""

from __future__ import annotations

import json
import typing as t
from pathlib import Path

if t.TYPE_CHECKING:
    from sphinx.application import Sphinx

_METHODS = ("get", "put", "post", "delete", "patch")


def render(document: dict[str, t.Any]) -> str:
    """The document as Markdown: each operation, then each schema."""
    lines = [f"# {document['info']['title']} {document['info']['version']}", ""]
    if document["info"].get("description"):
        lines += [document["info"]["description"], ""]
    lines += [
        f"OpenAPI {document['openapi']}. Rendered from the document the app exports; "
        "the running demo shows the same at `/docs/` (Swagger UI) and `/docs/redoc`.",
        "",
    ]
    for path, item in document["paths"].items():
        for method in _METHODS:
            if method in item:
                lines += _operation(method, path, item[method])
    schemas = document.get("components", {}).get("schemas", {})
    if schemas:
        lines += ["## Schemas", ""]
        for name, schema in schemas.items():
            lines += [f"### {name}", "", "```json", json.dumps(schema, indent=2), "```", ""]
    return "\n".join(lines)


def _operation(method: str, path: str, operation: dict[str, t.Any]) -> list[str]:
    lines = [f"## `{method.upper()} {path}`", ""]
    if operation.get("summary"):
        lines += [f"**{operation['summary']}**", ""]
    if operation.get("description"):
        lines += [operation["description"], ""]
    if operation.get("security"):
        schemes = ", ".join(f"`{name}`" for choice in operation["security"] for name in choice)
        lines += [f"Authentication: one of {schemes}.", ""]
    if operation.get("parameters"):
        lines += ["| parameter | in | required | schema |", "| --- | --- | --- | --- |"]
        for parameter in operation["parameters"]:
            lines.append(
                f"| `{parameter['name']}` | {parameter['in']} | "
                f"{'yes' if parameter.get('required') else 'no'} | {_schema(parameter['schema'])} |"
            )
        lines.append("")
    body = operation.get("requestBody")
    if body:
        for media, content in body["content"].items():
            lines += [f"Request body (`{media}`): {_schema(content['schema'])}", ""]
    lines += ["| status | meaning | body |", "| --- | --- | --- |"]
    for status, response in operation["responses"].items():
        contents = response.get("content", {})
        shown = ", ".join(f"`{m}` {_schema(c['schema'])}" for m, c in contents.items()) or "none"
        lines.append(f"| {status} | {response['description']} | {shown} |")
    lines.append("")
    return lines


def _schema(schema: dict[str, t.Any]) -> str:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return f"[{name}](#{name.lower()})"
    if schema.get("type") == "array" and "items" in schema:
        return f"array of {_schema(schema['items'])}"
    return f"`{json.dumps(schema, sort_keys=True)}`"


def _generate(app: Sphinx) -> None:
    source = Path(app.srcdir)
    for page, document in app.config.openapi_reference.items():
        text = render(json.loads((source / document).read_text(encoding="utf-8")))
        target = source / "_generated" / page
        target.parent.mkdir(exist_ok=True)
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            target.write_text(text, encoding="utf-8")


def setup(app: Sphinx) -> dict[str, t.Any]:
    app.add_config_value("openapi_reference", {}, "env")
    app.connect("builder-inited", _generate)
    return {"parallel_read_safe": True}
