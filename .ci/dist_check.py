"""Prove that every distribution stands alone.

For each package under packages/ (or the names given as arguments): refuse a stray
``src/flask_plug/__init__.py``, build the wheel and sdist, run ``twine check``, make sure both
carry the package's ``LICENSE.txt`` (the wheel in ``.dist-info/licenses/``), install the
wheel alone in a fresh virtualenv with only its ``test`` dependency group and the unpublished
pytest plugin of ``testing/``, and run the package's own tests there against the installed
wheel, away from the source tree.

Run it with ``hatch run dist:check [NAME ...]``.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import tempfile
import venv
import zipfile
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parent.parent
PYTEST_INI = """\
[pytest]
addopts = --import-mode=importlib -ra -p no:cacheprovider
filterwarnings = error
markers =
    browser: drives the system Chromium through Playwright
"""


def run(*args: str | Path, cwd: Path | None = None) -> None:
    print("$", " ".join(str(a) for a in args), flush=True)
    subprocess.run([str(a) for a in args], cwd=cwd, check=True)


def check(package: Path, work: Path) -> None:
    name = package.name
    stray = package / "src" / "flask_plug" / "__init__.py"
    if stray.exists():
        raise SystemExit(
            f"{stray.relative_to(ROOT)} exists: it turns the flask_plug namespace into a"
            " regular package and hides every other flask-plug distribution. Delete it."
        )
    project = tomllib.loads((package / "pyproject.toml").read_text())
    test_requires = project.get("dependency-groups", {}).get("test", [])

    dist = work / "dist"
    run(sys.executable, "-m", "hatchling", "build", "-d", dist, cwd=package)
    [wheel] = dist.glob("*.whl")
    [sdist] = dist.glob("*.tar.gz")
    run(sys.executable, "-m", "twine", "check", "--strict", *sorted(dist.iterdir()))

    with zipfile.ZipFile(wheel) as archive:
        files = set(archive.namelist())
    if "flask_plug/__init__.py" in files:
        raise SystemExit(f"{wheel.name} ships flask_plug/__init__.py")
    if f"flask_plug/{name}/py.typed" not in files:
        raise SystemExit(f"{wheel.name} does not ship flask_plug/{name}/py.typed")
    distribution, version = wheel.name.split("-")[:2]
    dist_info = f"{distribution}-{version}.dist-info"
    if f"{dist_info}/licenses/LICENSE.txt" not in files:
        raise SystemExit(f"{wheel.name} does not ship {dist_info}/licenses/LICENSE.txt")
    with tarfile.open(sdist) as archive:
        root = sdist.name.removesuffix(".tar.gz")
        if f"{root}/LICENSE.txt" not in archive.getnames():
            raise SystemExit(f"{sdist.name} does not ship {root}/LICENSE.txt")

    env = work / "venv"
    venv.create(env, with_pip=True)
    python = env / "bin" / "python"
    run(
        python,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        wheel,
        # The shared pytest plugin (fault proxy), unpublished: from the source tree.
        ROOT / "testing",
        *test_requires,
    )

    tests = work / "tests"
    shutil.copytree(package / "tests", tests)
    (work / "pytest.ini").write_text(PYTEST_INI)
    located = subprocess.run(
        [str(python), "-c", f"import flask_plug.{name} as m; print(m.__file__)"],
        cwd=work,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    if not Path(located).is_relative_to(env):
        raise SystemExit(f"flask_plug.{name} was imported from {located}, not the wheel")
    run(python, "-m", "pytest", "-q", tests, cwd=work)


def main(names: list[str]) -> int:
    packages = sorted(p for p in (ROOT / "packages").iterdir() if (p / "pyproject.toml").exists())
    if names:
        unknown = set(names) - {p.name for p in packages}
        if unknown:
            raise SystemExit(f"no such package: {', '.join(sorted(unknown))}")
        packages = [p for p in packages if p.name in names]
    failed = []
    for package in packages:
        print(f"\n=== {package.name} ===", flush=True)
        with tempfile.TemporaryDirectory(prefix=f"dist-check-{package.name}-") as work:
            try:
                check(package, Path(work))
            except (subprocess.CalledProcessError, SystemExit) as e:
                print(f"FAILED {package.name}: {e}", file=sys.stderr)
                failed.append(package.name)
    print()
    if failed:
        print(f"dist check failed for: {', '.join(failed)}", file=sys.stderr)
        return 1
    print(f"dist check passed for: {', '.join(p.name for p in packages)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
