"""Hatch environment collector: ``hatch test`` gets every workspace member's ``test`` group.

Hatch installs a workspace member with its features but not its dependency groups (PEP 735),
and an environment's ``dependency-groups`` only name groups of the root pyproject.toml. So
this adds the ``test`` group of each member of the ``hatch-test`` environment to its
``extra-dependencies``: each package's pyproject.toml stays the one list of what its tests
need, for ``hatch test`` as for ``hatch run dist:check``.

Registered in hatch.toml under ``[env.collectors.custom]``.
"""

from __future__ import annotations

import sys
import typing as t
from pathlib import Path

from hatch.env.collectors.plugin.interface import EnvironmentCollectorInterface

if sys.version_info >= (3, 11):
    import tomllib
else:  # Hatch on Python 3.10 reads TOML with tomli (a dependency of hatchling) too.
    import tomli as tomllib


class TestGroupsCollector(EnvironmentCollectorInterface):
    def finalize_config(self, config: dict[str, dict[str, t.Any]]) -> None:
        env = config["hatch-test"]
        members = env.get("workspace", {}).get("members", [])
        extra = env.setdefault("extra-dependencies", [])
        for pattern in members:
            for member in sorted(Path(self.root).glob(pattern)):
                project = tomllib.loads((member / "pyproject.toml").read_text())
                for requirement in project.get("dependency-groups", {}).get("test", []):
                    if requirement not in extra:
                        extra.append(requirement)
