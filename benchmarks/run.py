"""Run every benchmark, print Markdown tables and write them into the docs.

``hatch run bench:all`` runs this; ``--no-write`` only prints.
"""

from __future__ import annotations

import datetime
import os
import platform
import sys
from importlib.metadata import version
from pathlib import Path

import bench_apidocs
import bench_auth
import bench_cors
import bench_ratelimit
import bench_reqlog
import bench_stack
import bench_stats
import bench_timer
import bench_validation
import chart
from harness import table

DOCS_TABLE = Path(__file__).resolve().parent.parent / "docs" / "_generated" / "benchmarks.md"
SUITES = [
    bench_timer,
    bench_cors,
    bench_ratelimit,
    bench_auth,
    bench_stats,
    bench_reqlog,
    bench_apidocs,
    bench_validation,
    bench_stack,
]


def main(argv: list[str]) -> int:
    sections = [
        f"Measured {datetime.date.today():%Y-%m-%d} on {platform.machine()},"
        f" {os.cpu_count()} CPUs, Python {platform.python_version()}, Flask {version('flask')};"
        " median of 21 interleaved rounds of 2000 WSGI requests each (Redis: 11 of 500),"
        " ± half the interquartile range."
    ]
    measured = []
    for suite in SUITES:
        for title, results in suite.run():
            measured.append((title, results))
            sections.append(table(title, results, baseline="bare Flask"))
        notes = getattr(suite, "notes", None)  # what the tables alone do not say
        if notes is not None:
            sections.append(notes())
    sections.append(bench_apidocs.build_times())
    sections.append(bench_stack.server_table())
    text = "\n\n".join(sections) + "\n"
    print(text)
    if "--no-write" not in argv:
        DOCS_TABLE.parent.mkdir(exist_ok=True)
        DOCS_TABLE.write_text(text)
        # Validation adds hundreds of µs where the other suites add a few: on one axis it
        # would flatten every other bar, so its tables stand alone.
        chart.write_chart([(title, rs) for title, rs in measured
                           if not title.startswith("validation:")])  # fmt: skip
        print(f"written to {DOCS_TABLE.relative_to(Path.cwd())}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
