"""``hatch run new NAME``: an eighth (ninth, ...) package in packages/NAME.

Renders the copier template in ``template/`` into ``packages/NAME`` (``monorepo=true``),
then does what the template cannot: writes the package's docs page, ``docs/NAME.md``,
and adds the package to every list of packages the repository keeps (see ``LISTS``
below), so that ``hatch test``, ``dist:check``, ``lint:all``, ``types:check`` and
``docs:build`` take it in at once. The new files are added to git with
``--intent-to-add``: pre-commit (``lint:all``) checks only the files git knows.

Those edits are here, not in copier tasks, on purpose: the same template makes standalone
projects outside this repository (``copier copy .../template my-ext``), where none of these
files exist; copier runs tasks only for a trusted template (``--trust``), as shell
commands; and a script can refuse a taken name before anything is written. Each edit
fails loudly when the line it looks for is gone, and ``tests/test_scaffold.py`` runs them
all on a copy of the repository, so a change to one of these files that breaks the script
fails a test rather than the next ``hatch run new``.

Usage::

    hatch run new NAME [--middleware] [--class-name NAME] [--description TEXT] [--defaults]

In a terminal, copier asks whatever the options do not say; otherwise (or with
``--defaults``) the template's defaults are used.
"""

from __future__ import annotations

import argparse
import datetime
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

DOCS_PAGE = """\
# {distribution}

```{{include}} ../packages/{name}/README.md
:start-after: <!-- docs:start -->
:end-before: <!-- docs:end -->
```

## API reference

```{{eval-rst}}
.. autoclass:: {module}.{cls}
   :members: init_app

.. autoclass:: {module}.{cls}Options

.. autoclass:: {module}.{cls}Settings
   :members:
```
"""

CHANGELOG_SECTION = """
## {distribution}

```{{include}} ../packages/{name}/CHANGELOG.md
:start-after: "## [Unreleased]"
```
"""

DEPTRY_HOOK = """\
      - <<: *deptry
        id: deptry-{name}
        name: deptry packages/{name}
        entry: deptry --config packages/{name}/pyproject.toml packages/{name}/src
        files: ^packages/{name}/(src/|pyproject\\.toml$)
"""


class Package:
    """The names of the new package, as the template answered them."""

    def __init__(self, answers: dict[str, object]) -> None:
        self.name = str(answers["name"])
        self.cls = str(answers["class_name"])
        self.description = str(answers["description"])
        self.distribution = str(answers["distribution"])
        self.module = str(answers["import_name"])


def fail(message: str) -> SystemExit:
    return SystemExit(f"hatch run new: {message}")


def edit(root: Path, path: str, change: str, new: str) -> None:
    """Write ``new`` to ``path``, or fail naming the edit if the text did not change."""
    file = root / path
    if new == file.read_text(encoding="utf-8"):
        raise fail(f"{path}: {change} found nothing to change; has the file changed shape?")
    file.write_text(new, encoding="utf-8")


def insert_after_last(text: str, pattern: str, line: str, path: str) -> str:
    """``line`` inserted after the last line matching ``pattern`` (a regex)."""
    found = list(re.finditer(f"^{pattern}.*\n", text, re.M))
    if not found:
        raise fail(f"{path}: no line matches {pattern!r}; has the file changed shape?")
    end = found[-1].end()
    return text[:end] + line + text[end:]


# -- the lists of packages -------------------------------------------------------------


def mypy_paths(root: Path, package: Package) -> None:
    """pyproject.toml: ``mypy_path`` and ``files`` name every package (no globs there)."""
    path = "pyproject.toml"
    text = (root / path).read_text(encoding="utf-8")
    entry = f'    "packages/{package.name}/src",\n'

    def add(match: re.Match[str]) -> str:
        lines = match.group(2).splitlines(keepends=True)
        packages = [line for line in lines if line.startswith('    "packages/')]
        others = [line for line in lines if line not in packages]
        return match.group(1) + "".join(sorted([*packages, entry]) + others)

    new, count = re.subn(
        r"^((?:mypy_path|files) = \[\n)((?:    .*\n)*?)(?=\])", add, text, flags=re.M
    )
    if count != 2:
        raise fail(f"{path}: expected the lists mypy_path and files in [tool.mypy]")
    edit(root, path, "adding the package to mypy_path and files", new)


def deptry_hook(root: Path, package: Package) -> None:
    """.pre-commit-config.yaml: one deptry hook per distribution, in name order (after the
    first, which holds the ``&deptry`` anchor the others refer to)."""
    path = ".pre-commit-config.yaml"
    text = (root / path).read_text(encoding="utf-8")
    hooks = list(re.finditer(r"^      - <<: \*deptry\n        id: deptry-(\w+)\n", text, re.M))
    later = [h for h in hooks if h.group(1) > package.name or h.group(1) in ("demo", "testing")]
    if not later:
        raise fail(f"{path}: no deptry hook of demo or testing to insert before")
    at = later[0].start()
    new = text[:at] + DEPTRY_HOOK.format(name=package.name) + text[at:]
    edit(root, path, "adding a deptry hook", new)


def readme_row(root: Path, package: Package) -> None:
    """README.md: the table of packages."""
    path = "README.md"
    text = (root / path).read_text(encoding="utf-8")
    row = (
        f"| [{package.name}](packages/{package.name}) | `pip install {package.distribution}` "
        f"| {package.description} | unreleased |\n"
    )
    new = insert_after_last(text, r"\| \[\w+\]\(packages/\w+\) \|", row, path)
    edit(root, path, "adding a table row", new)


def docs_index(root: Path, package: Package) -> None:
    """docs/index.md: the table of packages and the *Packages* toctree."""
    path = "docs/index.md"
    text = (root / path).read_text(encoding="utf-8")
    install = f"`pip install {package.distribution}`"
    row = f"| [{package.name}]({package.name}.md) | {install} | {package.description} |\n"
    text = insert_after_last(text, r"\| \[\w+\]\(\w+\.md\) \| `pip install ", row, path)
    toctree = re.search(
        r"^```\{toctree\}\n(?::.*\n)*:caption: Packages\n(?:.*\n)*?(?=```)", text, re.M
    )
    if toctree is None:
        raise fail(f"{path}: no toctree with the caption Packages")
    text = text[: toctree.end()] + f"{package.name}\n" + text[toctree.end() :]
    edit(root, path, "adding a table row and a toctree entry", text)


def quickstart_row(root: Path, package: Package) -> None:
    """docs/quickstart.md: the table of packages and their pages."""
    path = "docs/quickstart.md"
    text = (root / path).read_text(encoding="utf-8")
    install = f"`pip install {package.distribution}`"
    row = f"| {package.name} | {install} | [{package.name}]({package.name}.md) |\n"
    new = insert_after_last(text, r"\| \w+ \| `pip install ", row, path)
    edit(root, path, "adding a table row", new)


def changelog(root: Path, package: Package) -> None:
    """docs/changelog.md: every package's changelog, included."""
    path = "docs/changelog.md"
    text = (root / path).read_text(encoding="utf-8")
    section = CHANGELOG_SECTION.format(name=package.name, distribution=package.distribution)
    edit(root, path, "adding a section", text + section)


def shape_test(root: Path, package: Package) -> None:
    """tests/test_package_shape.py: ``PACKAGES``, the packages held to the house shape."""
    path = "tests/test_package_shape.py"
    text = (root / path).read_text(encoding="utf-8")
    found = re.search(r"^PACKAGES = \[(.*?)\]\n", text, re.M | re.S)
    if found is None:
        raise fail(f"{path}: no PACKAGES = [...] list")
    names = sorted({*re.findall(r'"(\w+)"', found.group(1)), package.name})
    line = "PACKAGES = [" + ", ".join(f'"{n}"' for n in names) + "]\n"
    if len(line) > 101:  # as ruff format writes a list longer than the line length
        line = "PACKAGES = [\n" + "".join(f'    "{n}",\n' for n in names) + "]\n"
    new = text[: found.start()] + line + text[found.end() :]
    edit(root, path, "adding the package to PACKAGES", new)


LISTS = [mypy_paths, deptry_hook, readme_row, docs_index, quickstart_row, changelog, shape_test]
"""Every place the repository lists its packages. (hatch.toml's workspace, the CI workflows
and dist:check find packages/* by themselves; the demo composes the seven it shows.)"""


# -- the package -------------------------------------------------------------------------


def render(root: Path, name: str, data: dict[str, object], defaults: bool) -> Package:
    """Render the template into packages/NAME; copier validates the answers first."""
    from copier import run_copy

    target = root / "packages" / name
    if target.exists():
        raise fail(f"packages/{name} exists already: choose another name")
    if (root / "docs" / f"{name}.md").exists():
        raise fail(f"docs/{name}.md exists already: choose another name")
    try:
        worker = run_copy(
            str(root / "template"),
            target,
            data={"monorepo": True, "year": datetime.date.today().year, "name": name, **data},
            defaults=defaults,
            quiet=True,
        )
    except ValueError as e:  # an answer the template's validators refuse
        shutil.rmtree(target, ignore_errors=True)
        raise fail(str(e)) from None
    return Package(worker.answers.combined)


def main(argv: list[str] | None = None, root: Path = ROOT) -> int:
    parser = argparse.ArgumentParser(prog="hatch run new", description=__doc__.split("\n\n")[0])
    parser.add_argument("name", help="the short name: lowercase letters and digits")
    parser.add_argument("--middleware", action="store_true", default=None, help="add middleware.py")
    parser.add_argument("--class-name", help="the extension class (default: Name)")
    parser.add_argument("--description", help="one line for PyPI, the README and the docs")
    parser.add_argument("--defaults", action="store_true", help="ask nothing")
    args = parser.parse_args(argv)
    data = {
        key: value
        for key, value in [
            ("middleware", args.middleware),
            ("class_name", args.class_name),
            ("description", args.description),
        ]
        if value is not None
    }
    package = render(root, args.name, data, args.defaults or not sys.stdin.isatty())
    page = root / "docs" / f"{package.name}.md"
    page.write_text(
        DOCS_PAGE.format(
            name=package.name,
            distribution=package.distribution,
            module=package.module,
            cls=package.cls,
        ),
        encoding="utf-8",
    )
    for add in LISTS:
        add(root, package)
    new = [f"packages/{package.name}", f"docs/{package.name}.md"]
    if (root / ".git").exists() and shutil.which("git"):
        subprocess.run(["git", "add", "--intent-to-add", *new], cwd=root, check=True)
    print(
        f"Made {new[0]} and {new[1]}; listed {package.name} in pyproject.toml,"
        " .pre-commit-config.yaml, README.md, docs/index.md, docs/quickstart.md,"
        " docs/changelog.md and tests/test_package_shape.py.\n"
        f"Next: hatch test {new[0]}, hatch run dist:check {package.name}, hatch run lint:all,"
        " hatch run types:check, hatch run docs:build."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
