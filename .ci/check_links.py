#!/usr/bin/env python3
"""Check that every internal link of the built docs site resolves.

Reads every HTML page under the build folder (default docs/_build/html) and checks each
relative ``href`` and ``src``: the file must exist and, for ``page.html#part``, the page
must have an element with that id. External links are not fetched (the build machines
have no network beyond package registries). Exits 1 listing every broken link.
"""

from __future__ import annotations

import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value is None:
                continue
            if name == "id":
                self.ids.add(value)
            elif name in ("href", "src") and not (tag == "link" and "://" in value):
                self.links.append(value)


def main(argv: list[str]) -> int:
    root = Path(argv[0] if argv else "docs/_build/html").resolve()
    pages: dict[Path, _Page] = {}
    for path in sorted(root.rglob("*.html")):
        page = _Page()
        page.feed(path.read_text(encoding="utf-8"))
        pages[path] = page
    if not pages:
        print(f"no HTML pages under {root}; build the docs first", file=sys.stderr)
        return 1
    broken = []
    checked = 0
    for path, page in pages.items():
        for link in page.links:
            parts = urlsplit(link)
            if parts.scheme or parts.netloc or link.startswith(("mailto:", "data:")):
                continue
            target = (path.parent / unquote(parts.path)).resolve() if parts.path else path
            if target.is_dir():
                target = target / "index.html"
            checked += 1
            if not target.exists():
                broken.append(f"{path.relative_to(root)}: {link} (no such file)")
            elif parts.fragment and target.suffix == ".html":
                ids = pages[target].ids if target in pages else set()
                if unquote(parts.fragment) not in ids:
                    broken.append(f"{path.relative_to(root)}: {link} (no such anchor)")
    for line in broken:
        print(line, file=sys.stderr)
    print(f"{checked} internal links in {len(pages)} pages; {len(broken)} broken")
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
