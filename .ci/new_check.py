"""``hatch run new:check``: the package scaffold, proven end to end.

1. Copies the repository as it is in the work tree (the files git tracks and new files
   it does not ignore) to a scratch folder, and makes that a git repository.
2. Runs ``hatch run new NAME --middleware --defaults`` there.
3. Runs the checks a package must pass, there, on the new package, with no edit:
   ``hatch test packages/NAME tests/test_package_shape.py``, ``hatch run dist:check NAME``,
   ``hatch run lint:all``, ``hatch run types:check`` and ``hatch run docs:build``.
4. Renders the template as someone outside this repository would (``monorepo`` false) and
   runs that standalone project's ``hatch test``, ``hatch run types:check`` and
   ``hatch run lint:check``.

Hatch keeps the environments of the scratch projects under ``HATCH_DATA_DIR``, set to the
scratch folder, so they go with it instead of piling up, one set per run; downloads come
from the caches the other checks filled. Prints each step's time, and exits non-zero if
any step fails.

Usage: ``hatch run new:check [--name NAME] [--keep]``
"""

from __future__ import annotations

import argparse
import datetime
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def clean_environment(data_dir: Path) -> dict[str, str]:
    """This process's environment without the hatch environment it runs in, so that the
    scratch projects' hatch makes and uses environments of their own."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("HATCH_ENV") and key not in ("VIRTUAL_ENV", "PYTHONPATH")
    }
    ours = str(Path(sys.prefix) / "bin")
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p != ours)
    env["HATCH_DATA_DIR"] = str(data_dir)
    return env


def copy_repository(target: Path) -> None:
    """The work tree's files, tracked or new (not ignored), in a fresh git repository."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout.decode()
    for name in sorted(set(filter(None, listed.split("\0")))):
        source = ROOT / name
        if source.is_file():  # a tracked file deleted in the work tree is left out
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    for command in (["init", "-q"], ["add", "-A"]):
        subprocess.run(["git", *command], cwd=target, check=True)


class Steps:
    """Runs commands, timing each; remembers the ones that failed."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.times: list[tuple[str, float, bool]] = []

    def run(self, title: str, command: list[str], cwd: Path) -> bool:
        print(f"\n=== {title}\n$ {' '.join(command)}  (in {cwd})", flush=True)
        start = time.monotonic()
        ok = (
            subprocess.run(command, cwd=cwd, env=self.env, stdin=subprocess.DEVNULL).returncode == 0
        )
        self.times.append((title, time.monotonic() - start, ok))
        return ok

    def report(self) -> int:
        print("\n=== new:check")
        for title, seconds, ok in self.times:
            print(f"{'ok    ' if ok else 'FAILED'} {seconds:7.1f} s  {title}")
        print(f"{'':7}{sum(s for _, s, _ in self.times):7.1f} s  in all")
        return 0 if all(ok for _, _, ok in self.times) else 1


def standalone(target: Path, name: str) -> None:
    """The template rendered as ``copier copy template my-ext`` would, with no questions."""
    from copier import run_copy

    run_copy(
        str(ROOT / "template"),
        target,
        data={"name": name, "middleware": True, "year": datetime.date.today().year},
        defaults=True,
        quiet=True,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hatch run new:check", description=__doc__)
    parser.add_argument("--name", default="maintenance", help="the package to make")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    args = parser.parse_args(argv)
    hatch = shutil.which("hatch", path=clean_environment(Path()).get("PATH"))
    if hatch is None:
        raise SystemExit("new:check needs hatch on PATH")
    scratch = Path(tempfile.mkdtemp(prefix="flask-plug-new-check-"))
    try:
        repo, outside = scratch / "repo", scratch / "outside" / f"flask-{args.name}"
        steps = Steps(clean_environment(scratch / "hatch-data"))
        copy_repository(repo)
        name = args.name
        if steps.run(
            "hatch run new", [hatch, "run", "new", name, "--middleware", "--defaults"], repo
        ):
            steps.run(
                "hatch test",
                [hatch, "test", f"packages/{name}", "tests/test_package_shape.py"],
                repo,
            )
            steps.run("dist:check", [hatch, "run", "dist:check", name], repo)
            steps.run("lint:all", [hatch, "run", "lint:all"], repo)
            steps.run("types:check", [hatch, "run", "types:check"], repo)
            steps.run("docs:build", [hatch, "run", "docs:build"], repo)
        standalone(outside, name)
        steps.run("standalone: hatch test", [hatch, "test"], outside)
        steps.run("standalone: types:check", [hatch, "run", "types:check"], outside)
        steps.run("standalone: lint:check", [hatch, "run", "lint:check"], outside)
        return steps.report()
    finally:
        if args.keep:
            print(f"kept {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
