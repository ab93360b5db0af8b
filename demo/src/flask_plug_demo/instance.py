"""The demo's instance folder: private to the user who runs the demo.

The folder holds the secret key, the first-run passwords, the user database and the
access log. It is made ``0700`` and every file in it that the demo creates is made
``0600`` from the start: a file written with the umask's mode and chmod-ed afterwards
can be opened by another local user in between, and an open file stays readable.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
import typing as t
from pathlib import Path

PRIVATE_FILE = 0o600
PRIVATE_FOLDER = 0o700


def make_private_folder(instance: Path) -> None:
    """Create ``instance`` as ``0700``, or close an existing one of ours to others."""
    instance.mkdir(mode=PRIVATE_FOLDER, parents=True, exist_ok=True)
    info = instance.stat()
    if info.st_uid == os.getuid() and stat.S_IMODE(info.st_mode) & 0o077:
        instance.chmod(PRIVATE_FOLDER)


def create_private_file(path: Path, text: str = "") -> bool:
    """Create ``path`` as ``0600`` holding ``text``; ``False`` if it already exists."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w") as file:
        file.write(text)
    return True


@contextlib.contextmanager
def setup_lock(instance: Path) -> t.Iterator[None]:
    """Hold an exclusive lock on the instance folder (POSIX; elsewhere, no lock)."""
    make_private_folder(instance)
    try:
        import fcntl
    except ImportError:
        yield
        return
    lock_path = instance / ".setup.lock"
    create_private_file(lock_path)
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def instance_secret(instance: Path) -> str:
    """A random secret key kept in the instance folder, made on first run."""
    path = instance / "secret_key"
    create_private_file(path, secrets.token_hex(32))
    return path.read_text().strip()
