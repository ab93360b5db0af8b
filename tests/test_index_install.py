"""The quick parts of the install-from-index check (``hatch run dist:index``, .ci/index_check.py).

The full check builds every package, serves it from pypiserver and installs it in fresh
virtualenvs of two Pythons: minutes, so it runs in .ci/run, not here. These tests hold what
it relies on: every README has a quick start it can find and run, every extra has a check,
the driver fails on a broken example, and the local index never hands out an upstream
``flask-plug-*``.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import tempfile
import textwrap
import types
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
PACKAGES = sorted(p.name for p in (ROOT / "packages").iterdir() if (p / "pyproject.toml").exists())
DRIVER = ROOT / ".ci" / "readme_quickstart.py"


def load(name: str) -> types.ModuleType:
    """A script of .ci/ as a module."""
    spec = importlib.util.spec_from_file_location(f"_ci_{name}", ROOT / ".ci" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


quickstart = load("readme_quickstart")
index_check = load("index_check")


@pytest.mark.parametrize("name", PACKAGES)
def test_every_readme_has_a_quick_start_flask_can_find(name: str) -> None:
    code = quickstart.extract((ROOT / "packages" / name / "README.md").read_text("utf-8"))
    compile(code, f"packages/{name}/README.md", "exec")
    assert "create_app" in code or "app = Flask(" in code


README = """\
# flask-plug-example

```python
print("above the quick start")
```

## Install

## Quick start

```console
$ pip install flask-plug-example
```

<!-- invisible-code-block: python
```python
hidden = True
```
-->

```python
from flask import Flask

# a comment, not a heading
app = Flask(__name__)
```

```python
second_block = True
```

## Configuration

```python
print("later")
```
"""


def test_quick_start_is_the_first_shown_python_block_of_its_section() -> None:
    assert quickstart.extract(README) == (
        "from flask import Flask\n\n# a comment, not a heading\napp = Flask(__name__)\n"
    )


def test_a_readme_without_a_quick_start_is_named() -> None:
    with pytest.raises(quickstart.QuickStartError, match='no "Quick start" heading'):
        quickstart.extract("# x\n\n```python\napp = 1\n```\n")
    with pytest.raises(quickstart.QuickStartError, match="section has no ```python block"):
        quickstart.extract("## Quick start\n\ntext\n\n## Usage\n\n```python\napp = 1\n```\n")


def test_every_extra_has_a_check() -> None:
    pytest.importorskip("tomllib", reason="tomllib is Python 3.11+")
    declared = {
        (package.name, extra)
        for package in map(index_check.read_package, sorted((ROOT / "packages").iterdir()))
        for extra in package.extras
    }
    assert declared == set(quickstart.EXTRA_CHECKS)


def run_driver(name: str, readme: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(DRIVER), name, str(readme)],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("name", PACKAGES)
def test_quick_start_runs_in_the_test_environment(name: str) -> None:
    done = run_driver(name, ROOT / "packages" / name / "README.md")
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{name} quick start ran on Python" in done.stdout


def test_a_quick_start_that_answers_500_fails(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    code = """\
        from flask import Flask
        from flask_plug.timer import Timer

        app = Flask(__name__)
        Timer(app)


        @app.get("/")
        def index():
            return {"half": 1 / 0}
    """
    readme.write_text(f"## Quick start\n\n```python\n{textwrap.dedent(code)}```\n")
    done = run_driver("timer", readme)
    assert done.returncode == 1
    assert "GET / answered 500 INTERNAL SERVER ERROR" in done.stderr.splitlines()[-1]


def wheel(folder: Path, name: str, version: str) -> None:
    """A minimal wheel of ``name`` (no code): enough for pip to download and read it."""
    stem = f"{name.replace('-', '_')}-{version}"
    info = f"{stem}.dist-info"
    files = {
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{info}/WHEEL": "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        f"{info}/RECORD": "",
    }
    with zipfile.ZipFile(folder / f"{stem}-py3-none-any.whl", "w") as archive:
        for path, text in files.items():
            archive.writestr(path, text)


def download(*options: str) -> str:
    """The file name ``pip download`` fetches, run from the wheel that ensurepip bundles."""
    import ensurepip

    [pip] = Path(ensurepip.__file__).parent.joinpath("_bundled").glob("pip-*.whl")
    with tempfile.TemporaryDirectory() as into:
        done = subprocess.run(
            [sys.executable, str(pip / "pip"), "download", "--no-deps", "-d", into, *options],
            env=index_check.clean_env(),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        [downloaded] = Path(into).iterdir()
        return downloaded.name


def test_local_index_never_takes_our_names_from_upstream(tmp_path: Path) -> None:
    """pypiserver stands in for PyPI too: upstream holds a higher flask-plug-timer (as anyone
    could upload to PyPI) and a dependency the local index does not hold."""
    upstream_files, local_files = tmp_path / "upstream", tmp_path / "local"
    upstream_files.mkdir()
    local_files.mkdir()
    wheel(upstream_files, "flask-plug-timer", "99.0")
    wheel(upstream_files, "some-dependency", "1.0")
    wheel(local_files, "flask-plug-timer", "0.1")
    with index_check.Index(upstream_files, tmp_path / "upstream.log") as upstream:
        with index_check.Index(
            local_files, tmp_path / "local.log", fallback=f"{upstream.url}/simple/"
        ) as local:
            only_local = ("--index-url", f"{local.url}/simple/")
            # What the check does: ours from the local index, whatever upstream holds...
            assert download(*only_local, "flask-plug-timer") == (
                "flask_plug_timer-0.1-py3-none-any.whl"
            )
            # ... and what it does not hold from upstream, through pypiserver's redirect.
            assert (
                download(*only_local, "some-dependency") == "some_dependency-1.0-py3-none-any.whl"
            )
            # Why not --extra-index-url: pip takes the highest version of all indexes.
            both = ("--extra-index-url", f"{upstream.url}/simple/")
            assert download(*only_local, *both, "flask-plug-timer") == (
                "flask_plug_timer-99.0-py3-none-any.whl"
            )
