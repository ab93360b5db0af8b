"""Install every package by name from a real package index, as users will after a release.

Builds the wheel and sdist of each package under packages/ (or the names given), serves
them from pypiserver on 127.0.0.1 (a free port; stopped at the end), and with the oldest
and the newest Python the packages claim (their ``Programming Language :: Python :: 3.X``
classifiers; ``python3.X`` must be on PATH), in a fresh virtualenv per package and Python:

- ``pip install --index-url http://127.0.0.1:PORT/simple/ flask-plug-<name>``, then runs
  the README's quick start with ``.ci/readme_quickstart.py``;
- ``pip install "flask-plug-<name>[<extra>]"`` for each extra of its pyproject.toml, then
  the quick start again and the check of what the extra enables;
- on the newest Python, installs the sdist in place of the wheel and runs the quick start.

Only our distributions come from the local index. pypiserver redirects a name it does not
hold to PyPI (its fallback), so Flask and the other dependencies come from PyPI, and pip
is given that one index: a ``flask-plug-*`` on PyPI, of any version, is never a candidate
(``--extra-index-url`` would make it one, and pip would take the higher version). pip's
``--report`` then proves it: each ``flask-plug-*`` it installed must come from the local
index with the sha256 of the file built here. pip's configuration files and ``PIP_*``
variables are ignored (they could add an index or a find-links folder).

Run it with ``hatch run dist:index [NAME ...] [--python 3.X ...] [--jobs N]``; it exits
non-zero with a line per failing package, extra and Python.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DRIVER = ROOT / ".ci" / "readme_quickstart.py"
CLASSIFIER = re.compile(r"^Programming Language :: Python :: 3\.(\d+)$")
# What pip may still read from the environment: how to reach PyPI, never where to look.
PIP_TRANSPORT = {
    "PIP_CACHE_DIR", "PIP_CERT", "PIP_CLIENT_CERT", "PIP_DEFAULT_TIMEOUT", "PIP_NO_CACHE_DIR",
    "PIP_PROXY", "PIP_RETRIES",
}  # fmt: skip


@dataclass
class Package:
    name: str
    path: Path
    extras: list[str]
    versions: set[tuple[int, int]]
    files: dict[str, str] = field(default_factory=dict)
    """Built file name: its sha256."""


@dataclass
class Result:
    package: str
    python: str
    failures: list[str] = field(default_factory=list)
    log: list[str] = field(default_factory=list)
    seconds: float = 0.0


def read_package(path: Path) -> Package:
    import tomllib  # here, so that the tests import this module on Python 3.10 too

    project = tomllib.loads((path / "pyproject.toml").read_text("utf-8"))["project"]
    versions = {
        (3, int(m[1]))
        for classifier in project.get("classifiers", [])
        if (m := CLASSIFIER.match(classifier))
    }
    extras = sorted(project.get("optional-dependencies", {}))
    return Package(path.name, path, extras, versions)


def find_pythons(packages: list[Package], wanted: list[str]) -> dict[str, Path]:
    """``{"3.10": path, "3.13": path}``: the oldest and newest claimed Python, or ``wanted``."""
    if not wanted:
        claimed = set.union(*(p.versions for p in packages))
        if not claimed:
            raise SystemExit("no package has a 'Programming Language :: Python :: 3.X' classifier")
        wanted = [f"{v[0]}.{v[1]}" for v in sorted({min(claimed), max(claimed)})]
    found = {}
    for version in wanted:
        path = shutil.which(f"python{version}")
        if path is None:
            raise SystemExit(
                f"python{version} is not on PATH: the packages claim Python {wanted[0]} to"
                f" {wanted[-1]} and this check installs them with both ends. Put its bin"
                " folder on PATH (pyenv: $(pyenv root)/versions/<version>/bin; .ci/run does)."
            )
        answer = subprocess.run(
            [path, "-c", "import sys, venv; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
        )
        if answer.stdout.strip() != version:
            raise SystemExit(
                f"{path} (python{version} on PATH) does not run as Python {version} with venv:"
                f" {(answer.stdout + answer.stderr).strip()[-500:]}"
            )
        found[version] = Path(path)
    return found


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build(package: Package, index: Path) -> None:
    """Build the wheel and sdist of ``package`` into ``index``."""
    before = set(index.iterdir())
    subprocess.run(
        [sys.executable, "-m", "hatchling", "build", "-d", str(index)],
        cwd=package.path,
        check=True,
        capture_output=True,
        text=True,
    )
    built = sorted(set(index.iterdir()) - before)
    kinds = sorted(p.suffix for p in built)
    if kinds != [".gz", ".whl"]:
        raise SystemExit(f"{package.name}: expected a wheel and an sdist, built {built}")
    package.files = {p.name: sha256(p) for p in built}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Index:
    """pypiserver serving ``folder`` on 127.0.0.1, as a subprocess.

    :param fallback: the index it sends a project it does not hold to (PyPI by default).
    """

    def __init__(
        self, folder: Path, log: Path, *, fallback: str = "https://pypi.org/simple/"
    ) -> None:
        self.folder = folder
        self.log_path = log
        self.fallback = fallback
        self.url = ""
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Index:
        for _ in range(5):  # another process may take the free port before pypiserver does
            port = free_port()
            with self.log_path.open("wb") as log:
                self.process = subprocess.Popen(
                    [sys.executable, "-m", "pypiserver", "run", "-i", "127.0.0.1", "-p",
                     str(port), "--fallback-url", self.fallback, str(self.folder)],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )  # fmt: skip
            self.url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and self.process.poll() is None:
                try:
                    with urllib.request.urlopen(f"{self.url}/health", timeout=2) as answer:
                        if answer.status == 200:
                            return self
                except OSError:
                    time.sleep(0.2)
            self.__exit__()
        raise SystemExit(f"pypiserver did not start: {self.log_path.read_text()[-2000:]}")

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None


def clean_env() -> dict[str, str]:
    """The environment without what could change where pip or Python look."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not (key.startswith("PIP_") and key not in PIP_TRANSPORT)
        and key not in {"PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV"}
    }
    env["PIP_CONFIG_FILE"] = os.devnull  # pip reads no configuration file at all
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def step(result: Result, args: list[str], cwd: Path) -> str | None:
    """Run ``args``; on failure return the end of its output."""
    started = time.monotonic()
    done = subprocess.run(
        args, cwd=cwd, env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    shown = " ".join(a if " " not in a else repr(a) for a in args[1:])
    result.log.append(f"$ {Path(args[0]).name} {shown}  ({time.monotonic() - started:.1f} s)")
    result.log.append(done.stdout.rstrip())
    if done.returncode:
        lines = done.stdout.strip().splitlines()
        # The driver's own verdict, without its "FAILED <name> quick start on Python X: ".
        failed = [line.split(": ", 1)[-1] for line in lines if line.startswith("FAILED")]
        return "\n".join(failed or lines[-15:]) or f"exit status {done.returncode}"
    return None


def verify_report(package: Package, index: Index, report: Path, *, expect: str) -> str | None:
    """Every ``flask-plug-*`` pip installed is a file built here, served by ``index``.

    :param expect: ``"wheel"`` or ``"sdist"``: what the package itself must have been installed
        from; ``""`` when it was already installed.
    """
    installed = json.loads(report.read_text("utf-8")).get("install", [])
    ours = False
    for item in installed:
        name = re.sub(r"[-_.]+", "-", item["metadata"]["name"]).lower()
        if not name.startswith("flask-plug-"):
            continue
        url = item["download_info"]["url"]
        archive = item["download_info"].get("archive_info", {})
        digest = archive.get("hashes", {}).get("sha256") or archive.get("hash", "=").split("=")[1]
        filename = url.rsplit("/", 1)[-1].split("#")[0]
        if not url.startswith(f"{index.url}/"):
            return f"pip installed {name} from {url}, not from the local index"
        if package.files.get(filename) != digest:
            return f"pip installed {filename} with sha256 {digest}: not the file built here"
        if name == f"flask-plug-{package.name}":
            ours = True
            kind = "sdist" if filename.endswith(".tar.gz") else "wheel"
            if expect and kind != expect:
                return f"pip installed flask-plug-{package.name} from its {kind}, not its {expect}"
    if expect and not ours:
        return f"pip did not install flask-plug-{package.name}"
    return None


def check(
    package: Package, python: Path, version: str, index: Index, work: Path, *, sdist: bool
) -> Result:
    """Install ``package`` in a fresh virtualenv of ``python`` and run its quick start."""
    result = Result(package.name, version)
    started = time.monotonic()
    folder = work / f"py{version}-{package.name}"
    folder.mkdir()
    env = folder / "venv"
    pip_python = str(env / "bin" / "python")
    readme = str(package.path / "README.md")
    report = folder / "report.json"

    def install(requirement: str, *options: str, expect: str) -> str | None:
        failure = step(
            result,
            [pip_python, "-m", "pip", "install", "--quiet", "--index-url",
             f"{index.url}/simple/", "--report", str(report), *options, requirement],
            folder,
        )  # fmt: skip
        return failure or verify_report(package, index, report, expect=expect)

    def quick_start(*extras: str) -> str | None:
        options = [f"--extra={extra}" for extra in extras]
        failure = step(
            result, [pip_python, str(DRIVER), package.name, readme, "--installed", *options], folder
        )
        return failure and f"quick start: {failure}"

    distribution = f"flask-plug-{package.name}"
    failure = step(result, [str(python), "-m", "venv", str(env)], folder)
    if failure:
        result.failures.append(f"python{version} -m venv: {failure}")
    else:
        failure = install(distribution, expect="wheel") or quick_start()
        if failure:
            result.failures.append(f"{distribution}: {failure}")
    for extra in package.extras if not result.failures else ():
        failure = install(f"{distribution}[{extra}]", expect="") or quick_start(extra)
        if failure:
            result.failures.append(f"{distribution}[{extra}]: {failure}")
    if sdist and not result.failures:
        # The sdist too: what pip builds where no wheel fits (build backend from the index).
        options = ("--force-reinstall", "--no-deps", "--no-binary", distribution)
        failure = install(distribution, *options, expect="sdist") or quick_start()
        if failure:
            result.failures.append(f"{distribution} from its sdist: {failure}")
    result.seconds = time.monotonic() - started
    return result


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="packages to check (default: all)")
    parser.add_argument("--python", action="append", default=[], help="3.X (default: both ends)")
    parser.add_argument("--jobs", type=int, default=2, help="virtualenvs set up at once")
    parser.add_argument("-v", "--verbose", action="store_true", help="show every step's output")
    args = parser.parse_args(argv)

    started = time.monotonic()
    packages = [
        read_package(p)
        for p in sorted((ROOT / "packages").iterdir())
        if (p / "pyproject.toml").exists()
    ]
    if args.names:
        unknown = set(args.names) - {p.name for p in packages}
        if unknown:
            raise SystemExit(f"no such package: {', '.join(sorted(unknown))}")
        packages = [p for p in packages if p.name in args.names]
    pythons = find_pythons(packages, args.python)
    newest = list(pythons)[-1]

    with tempfile.TemporaryDirectory(prefix="index-check-") as scratch:
        work = Path(scratch)
        folder = work / "index"
        folder.mkdir()
        for package in packages:
            build(package, folder)
        print(f"built {len(packages) * 2} files in {time.monotonic() - started:.0f} s", flush=True)
        with Index(folder, work / "pypiserver.log") as index:
            print(f"serving them at {index.url}/simple/", flush=True)
            jobs = [(p, v) for v in pythons for p in packages]
            with concurrent.futures.ThreadPoolExecutor(max(1, args.jobs)) as pool:
                futures = [
                    pool.submit(check, p, pythons[v], v, index, work, sdist=v == newest)
                    for p, v in jobs
                ]
                results = []
                for (package, version), future in zip(jobs, futures, strict=True):
                    try:
                        result = future.result()
                    except Exception as e:  # a bug of this script: still report the others
                        failure = f"flask-plug-{package.name}: the check itself failed: {e!r}"
                        result = Result(package.name, version, [failure])
                    results.append(result)
                    status = "FAILED" if result.failures else "ok"
                    print(
                        f"{status:6} {result.package:10} Python {result.python}"
                        f"  ({result.seconds:.0f} s)",
                        flush=True,
                    )
                    if result.failures or args.verbose:
                        print("\n".join(f"    {line}" for line in result.log), flush=True)

    failures = [f"{failure} (Python {r.python})" for r in results for failure in r.failures]
    elapsed = time.monotonic() - started
    print()
    if failures:
        print("index check FAILED:", file=sys.stderr)
        for failure in failures:
            print(f"  {failure}", file=sys.stderr)
        return 1
    names = ", ".join(p.name for p in packages)
    print(f"index check passed for {names} on Python {', '.join(pythons)} in {elapsed:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
