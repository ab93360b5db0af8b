"""The package scaffold: template/ (copier) and ``hatch run new`` (.ci/new_package.py).

The packages the template makes pass their own tests, inside this repository and
standalone; ``hatch run new`` lists a new package wherever the repository lists packages,
and refuses a name it cannot use. ``hatch run new:check`` (.ci/new_check.py) goes further,
in a scratch copy of the repository: lint, types, docs and dist:check on the result.
"""

from __future__ import annotations

import ast
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import typing as t
from pathlib import Path

import pytest
import yaml
from copier import run_copy

if t.TYPE_CHECKING:
    from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template"
# What .ci/new_package.py edits, and what it reads.
LISTS = [
    "pyproject.toml",
    ".pre-commit-config.yaml",
    "README.md",
    "docs/index.md",
    "docs/quickstart.md",
    "docs/changelog.md",
    "tests/test_package_shape.py",
]


def render(target: Path, **data: t.Any) -> Path:
    run_copy(str(TEMPLATE), target, data={"year": 2026, **data}, defaults=True, quiet=True)
    return target


def pytest_in(directory: Path, *args: str, src: Path) -> subprocess.CompletedProcess[str]:
    """Run pytest in a fresh interpreter, with ``src`` first on the import path."""
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=directory,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(src), *sys.path])},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("middleware", [False, True])
def test_a_package_made_for_this_repository_passes_its_own_tests(
    tmp_path: Path, middleware: bool
) -> None:
    package = render(
        tmp_path / "packages" / "scaffolded",
        name="scaffolded",
        monorepo=True,
        middleware=middleware,
    )
    assert (package / "src" / "flask_plug" / "scaffolded" / "py.typed").exists()
    assert not (package / "src" / "flask_plug" / "__init__.py").exists()
    assert (package / "src" / "flask_plug" / "scaffolded" / "middleware.py").exists() is middleware
    # The repository's pytest settings (warnings are errors), and the shared testing
    # plugin, whose live_server serves tests/test_live.py.
    settings = ["-c", str(ROOT / "pyproject.toml"), "--rootdir", str(package)]
    ran = pytest_in(package, *settings, "tests", src=package / "src")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert re.search(r"^\d+ passed in", ran.stdout, re.M), ran.stdout


def test_a_standalone_project_passes_its_own_tests_without_the_shared_plugin(
    tmp_path: Path,
) -> None:
    project = render(tmp_path / "flask-scaffolded", name="scaffolded", middleware=True)
    pyproject = (project / "pyproject.toml").read_text()
    assert 'name = "flask-scaffolded"\n' in pyproject
    assert 'packages = ["src/flask_scaffolded"]\n' in pyproject
    assert not (project / "tests" / "test_live.py").exists()
    ran = pytest_in(project, "-p", "no:flask_plug_testing", src=project / "src")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert re.search(r"^\d+ passed in", ran.stdout, re.M), ran.stdout


@pytest.mark.parametrize("monorepo", [False, True])
def test_the_longest_names_still_make_house_style_lines(tmp_path: Path, monorepo: bool) -> None:
    """The limits the template sets on names keep every line within ruff's 100 and the
    files clean for the pre-commit hygiene hooks, whatever the names."""
    project = render(
        tmp_path / "p",
        name="a" * 20,
        class_name="B" * 24,
        description="d" * 80,
        middleware=True,
        monorepo=monorepo,
    )
    for path in sorted(project.rglob("*")):
        if not path.is_file() or path.name == "py.typed":
            continue
        text = path.read_text()
        assert text.endswith("\n") and not text.endswith("\n\n"), path
        for number, line in enumerate(text.splitlines(), 1):
            assert line == line.rstrip(), f"{path}:{number} ends in white space"
            if path.suffix == ".py":
                assert len(line) <= 100, f"{path}:{number} is {len(line)} characters"


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("Maintenance", "lowercase ASCII letters and digits"),
        ("my-ext", "lowercase ASCII letters and digits"),
        ("my_ext", "lowercase ASCII letters and digits"),
        ("2fa", "starting with a letter"),
        ("café", "lowercase ASCII letters"),
        ("x" * 21, "too long"),
        ("import", "Python keyword"),
        ("run", "taken by Flask"),
    ],
)
def test_the_template_refuses_a_name_it_cannot_use(tmp_path: Path, name: str, reason: str) -> None:
    with pytest.raises(ValueError, match=f"question 'name'.*{reason}"):
        render(tmp_path / "out", name=name)
    assert not (tmp_path / "out").exists()


# -- hatch run new ---------------------------------------------------------------------


def new_package_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("new_package", ROOT / ".ci" / "new_package.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """The files ``hatch run new`` reads and edits, copied, and the existing packages."""
    for name in LISTS:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, tmp_path / name)
    shutil.copytree(TEMPLATE, tmp_path / "template")
    for package in (ROOT / "packages").iterdir():
        (tmp_path / "packages" / package.name).mkdir(parents=True)
    return tmp_path


def test_hatch_run_new_lists_the_package_wherever_packages_are_listed(repo: Path) -> None:
    before = {name: (repo / name).read_text() for name in LISTS}
    description = "Maintenance mode: 503 while a flag file exists."
    new_package_script().main(["maintenance", "--defaults", "--description", description], repo)

    assert (repo / "packages/maintenance/src/flask_plug/maintenance/extension.py").exists()
    assert not (repo / "packages/maintenance/src/flask_plug/maintenance/middleware.py").exists()
    page = (repo / "docs/maintenance.md").read_text()
    assert "```{include} ../packages/maintenance/README.md" in page
    assert ".. autoclass:: flask_plug.maintenance.Maintenance\n" in page

    # tomllib is Python 3.11's: the lists are read as the script writes them.
    pyproject = (repo / "pyproject.toml").read_text()
    lists = re.findall(r"^(?:mypy_path|files) = \[\n(.*?)^\]", pyproject, re.M | re.S)
    assert len(lists) == 2
    for listed in lists:
        packages = re.findall(r'"(packages/.*)",', listed)
        assert "packages/maintenance/src" in packages
        assert packages == sorted(packages)

    hooks = yaml.safe_load((repo / ".pre-commit-config.yaml").read_text())["repos"][0]["hooks"]
    [deptry] = [hook for hook in hooks if hook["id"] == "deptry-maintenance"]
    assert deptry["entry"] == (
        "deptry --config packages/maintenance/pyproject.toml packages/maintenance/src"
    )
    [timer] = [hook for hook in hooks if hook["id"] == "deptry-timer"]
    assert deptry["additional_dependencies"] == timer["additional_dependencies"]

    readme = (repo / "README.md").read_text()
    assert (
        "| [maintenance](packages/maintenance) | `pip install flask-plug-maintenance`"
        f" | {description} | unreleased |\n"
    ) in readme
    index = (repo / "docs/index.md").read_text()
    row = (
        f"| [maintenance](maintenance.md) | `pip install flask-plug-maintenance` | {description} |"
    )
    assert row in index
    toctree = re.search(r":caption: Packages\n\n(.*?)```", index, re.S)
    assert toctree is not None and toctree.group(1).split()[-1] == "maintenance"
    assert (
        "| maintenance | `pip install flask-plug-maintenance` | [maintenance](maintenance.md) |"
        in (repo / "docs/quickstart.md").read_text()
    )
    assert (
        "```{include} ../packages/maintenance/CHANGELOG.md"
        in (repo / "docs/changelog.md").read_text()
    )

    shape = ast.parse((repo / "tests/test_package_shape.py").read_text())
    [packages] = [
        ast.literal_eval(node.value)
        for node in shape.body
        if isinstance(node, ast.Assign) and ast.unparse(node.targets[0]) == "PACKAGES"
    ]
    assert packages == sorted([*packages]) and "maintenance" in packages

    # Each file changed by additions only.
    for name, text in before.items():
        after = (repo / name).read_text()
        if name != "tests/test_package_shape.py":
            assert all(line in after.splitlines() for line in text.splitlines()), name


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("timer", "packages/timer exists already"),
        ("changelog", "docs/changelog.md exists already"),
        ("Bad-Name", "cannot be a name: use lowercase ASCII letters and digits"),
    ],
)
def test_hatch_run_new_refuses_a_name_it_cannot_use(repo: Path, name: str, message: str) -> None:
    before = {name: (repo / name).read_text() for name in LISTS}
    packages = sorted(p.name for p in (repo / "packages").iterdir())
    with pytest.raises(SystemExit, match=re.escape(message)):
        new_package_script().main([name, "--defaults"], repo)
    assert sorted(p.name for p in (repo / "packages").iterdir()) == packages
    assert {name: (repo / name).read_text() for name in LISTS} == before
