"""Per-request cost of each variant of the benchmarks in CPU instructions, under callgrind.

Wall-clock figures on a shared, frequency-scaled machine spread by several microseconds;
instruction counts do not depend on the load or the clock, so they show the effect of a
code change that timings would hide. They still move by 1 to 2% with the memory layout
of the process (Python's caches hash some objects by address): a different ``PYTHONPATH``
or set of imports shifts a bare Flask request by a few thousand instructions.
They count the instructions executed (by Python, the extension, its C libraries), not
what they cost: cache misses, branch mispredictions, system calls and waits on the
network or the disk are not in them.

Every variant runs in its own process under ``valgrind --tool=callgrind``, twice: each
process builds the variant's suite, warms the variant up, then sends it ``N`` requests,
the other ``2N``, through the WSGI interface as :func:`harness.measure` does (with the
variant's ``settle`` at the end, so a log writer thread's work is counted). Callgrind
cannot switch counting on and off around Python code, so the difference of the two totals
divided by ``N`` is taken: start-up, imports and warm-up cancel out.

``hatch run bench:instructions`` prints a Markdown table per suite. ``--json FILE`` also
writes the figures; ``--compare OLD NEW`` prints two such files side by side (e.g. a
release against the working tree, with the release's ``src`` folders first on
``PYTHONPATH``). The gunicorn/wrk table of the stack and apidocs' build times are left
out: neither is a per-request cost in one process.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import typing as t
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

from harness import Variant, _run
from werkzeug.test import EnvironBuilder

BASELINE = "bare Flask"
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
# The children's Redis keys start with this; the parent removes them at the end.
PREFIX_VARIABLE = "BENCH_INSTRUCTIONS_PREFIX"
# About how much a bare Flask request's count moves with the memory layout of the process
# (another PYTHONPATH, other imports): changes smaller than this share of it are noise.
NOISE = 0.01
# The same hash seed in both runs of a variant, so their start-up is the same work.
HASH_SEED = "0"

Builder = t.Callable[[Path], list[Variant]]


def _module(name: str) -> t.Any:
    return importlib.import_module(name)


def _ratelimit(storage: str) -> Builder:
    def build(folder: Path) -> list[Variant]:
        prefix = os.environ.get(PREFIX_VARIABLE, "bench-instructions")
        return list(_module("bench_ratelimit")._variants(storage, prefix))

    return build


def _auth(logged_in: bool) -> Builder:
    def build(folder: Path) -> list[Variant]:
        bench = _module("bench_auth")
        ours, _ = bench._ours(folder)
        peer, _ = bench._peer(folder)
        bare = bench._bare()
        headers = bench.HEADERS
        if not logged_in:
            return [
                Variant(BASELINE, bare, headers=headers),
                Variant("flask-plug-auth", ours, headers=headers),
                Variant("Flask-Login 0.6.3", peer, headers=headers),
            ]
        our_cookie, peer_cookie = bench._login_cookie(ours), bench._login_cookie(peer)
        return [
            Variant(BASELINE, bare, "/private", headers=our_cookie),
            Variant("flask-plug-auth", ours, "/private", headers=our_cookie),
            Variant("Flask-Login 0.6.3", peer, "/private", headers=peer_cookie),
        ]

    return build


def _call(module: str, function: str, with_folder: bool = False) -> Builder:
    def build(folder: Path) -> list[Variant]:
        make = getattr(_module(module), function)
        return list(make(folder) if with_folder else make())

    return build


# suite -> its tables, (title, builder); the titles are those of `hatch run bench:all`.
SUITES: dict[str, list[tuple[str, Builder]]] = {
    "timer": [
        ("timer: trivial JSON route, total only", _call("bench_timer", "trivial_route")),
        ("timer: JSON route with one span sent", _call("bench_timer", "one_span")),
    ],
    "cors": [
        ("cors: simple GET from an allowed origin", _call("bench_cors", "simple_get")),
        (
            "cors: preflight (bare Flask answers OPTIONS without CORS)",
            _call("bench_cors", "preflight"),
        ),
    ],
    "ratelimit": [
        ("ratelimit: two limits, memory storage", _ratelimit("memory://")),
        ("ratelimit: two limits, Redis storage on loopback", _ratelimit(REDIS_URL)),
    ],
    "auth": [
        ("auth: JSON route that never touches the user", _auth(logged_in=False)),
        (
            "auth: logged-in request to a login-required route (session cookie, SQLite user store)",
            _auth(logged_in=True),
        ),
    ],
    "stats": [("stats: trivial JSON route", _call("bench_stats", "trivial_route"))],
    "reqlog": [
        ("reqlog: Combined lines to a file", _call("bench_reqlog", "combined_to_file", True))
    ],
    "apidocs": [
        (
            "apidocs: trivial JSON route (docs registered, not requested)",
            _call("bench_apidocs", "trivial_route"),
        )
    ],
    "validation": [
        (
            "validation: POST of a 10-field JSON body, validated; the created item answered (201)",
            _call("bench_validation", "create_item"),
        ),
        (
            "validation: a GET view declaring no input and no return type",
            _call("bench_validation", "undeclared_view"),
        ),
    ],
    "stack": [
        (
            "stack: the demo, all seven extensions, GET /api/notes",
            _call("bench_stack", "full_stack", True),
        )
    ],
}


def _environ(variant: Variant) -> dict[str, t.Any]:
    return EnvironBuilder(
        path=variant.path,
        method=variant.method,
        headers=list(variant.headers),
        data=variant.body or None,
        base_url="http://127.0.0.1/",
    ).get_environ()


def child(suite: str, table: int, index: int, warmup: int, requests: int, folder: Path) -> None:
    """Build, warm up, then send ``requests`` requests to one variant; exit at once, so
    tearing down (which differs with what the run left behind) is not counted."""
    variant = SUITES[suite][table][1](folder)[index]
    environ = _environ(variant)
    _run(variant.app, environ, warmup, variant.settle, variant.body)
    gc.collect()
    gc.disable()
    _run(variant.app, environ, requests, variant.settle, variant.body)
    # The cyclic garbage of the run is part of its cost (the wall-clock harness collects
    # it between rounds, untimed).
    gc.collect()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


# -- the parent ----------------------------------------------------------------------------


class Job(t.NamedTuple):
    suite: str
    table: int
    variant: int
    requests: int


_COLLECTED = re.compile(r"^==\d+== Collected : (\d+)$", re.MULTILINE)


def _instructions(job: Job, warmup: int, work: Path, env: dict[str, str]) -> int:
    folder = work / f"{job.suite}-{job.table}-{job.variant}-{job.requests}"
    folder.mkdir()
    command = [
        "valgrind", "--tool=callgrind", f"--callgrind-out-file={folder / 'callgrind.out'}",
        sys.executable, str(Path(__file__).resolve()), "--child",
        job.suite, str(job.table), str(job.variant), str(warmup), str(job.requests), str(folder),
    ]  # fmt: skip
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    found = _COLLECTED.search(done.stderr)
    if done.returncode != 0 or found is None:
        raise RuntimeError(f"{job} failed ({done.returncode}):\n{done.stderr[-4000:]}")
    print(f"  {job.suite} {job.table} {job.variant} N={job.requests}: {found.group(1)}",
          file=sys.stderr, flush=True)  # fmt: skip
    return int(found.group(1))


def _reachable(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 6379), 1):
            return True
    except OSError:
        return False


def _labels(suite: str, table: int, work: Path) -> list[str]:
    """The variants' labels, from the suite built once outside valgrind."""
    folder = work / f"labels-{suite}-{table}"
    folder.mkdir()
    return [v.label for v in SUITES[suite][table][1](folder)]


def _imported_from() -> str:
    """Where each flask_plug package is imported from (a release or the working tree)."""
    names = ["timer", "cors", "ratelimit", "auth", "stats", "reqlog", "apidocs"]
    places = {}
    for name in names:
        module = importlib.import_module(f"flask_plug.{name}")
        places[name] = str(Path(module.__file__ or "?").parent)
    demo = importlib.import_module("flask_plug_demo")
    places["demo"] = str(Path(demo.__file__ or "?").parent)
    return "; ".join(f"{name}: {place}" for name, place in places.items())


Figures = dict[str, list[tuple[str, float]]]
"""Table title -> (variant label, instructions per request), in the suite's order."""


def measure(
    selected: list[tuple[str, int]], *, warmup: int, requests: int, jobs: int, redis: bool
) -> Figures:
    """Instructions per request of each variant of the ``(suite, table)`` pairs."""
    prefix = f"bench-instructions-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, PREFIX_VARIABLE: prefix, "PYTHONHASHSEED": HASH_SEED}
    os.environ.update(env)
    figures: Figures = {}
    with tempfile.TemporaryDirectory(prefix="bench-instructions-") as name:
        work = Path(name)
        tables: list[tuple[str, str, int, list[str]]] = []
        for suite, table in selected:
            title = SUITES[suite][table][0]
            if "Redis" in title and not (redis and _reachable(REDIS_URL)):
                print(f"skipping {title!r}", file=sys.stderr)
                continue
            tables.append((suite, title, table, _labels(suite, table, work)))
        runs = [
            Job(suite, table, index, count)
            for suite, _, table, labels in tables
            for index in range(len(labels))
            for count in (requests, 2 * requests)
        ]
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            counts = pool.map(lambda job: _instructions(job, warmup, work, env), runs)
            totals = dict(zip(runs, counts, strict=True))
    for suite, title, table, labels in tables:
        figures[title] = [
            (
                label,
                (
                    totals[Job(suite, table, index, 2 * requests)]
                    - totals[Job(suite, table, index, requests)]
                )
                / requests,
            )
            for index, label in enumerate(labels)
        ]
    if redis and _reachable(REDIS_URL):
        import redis as redis_client

        client = redis_client.Redis.from_url(REDIS_URL)
        for key in client.scan_iter(match=f"{prefix}*"):
            client.delete(key)
        client.close()
    return figures


def table(title: str, rows: list[tuple[str, float]]) -> str:
    """A Markdown table like :func:`harness.table`, in instructions."""
    base = dict(rows)[BASELINE]
    lines = [
        f"**{title}**",
        "",
        "| variant | instructions/request | overhead (instructions) | ratio to bare Flask |",
        "| --- | ---: | ---: | ---: |",
    ]
    for label, count in rows:
        overhead = "" if label == BASELINE else f"{count - base:+,.0f}"
        lines.append(f"| {label} | {count:,.0f} | {overhead} | {count / base:.3f} |")
    return "\n".join(lines)


def compare(old_name: str, new_name: str, old: Figures, new: Figures) -> str:
    """Two measurements side by side: each variant's instructions per request, its
    overhead over bare Flask and its ratio to it, the change of the overhead, and the
    overhead of our variant (the second row) to the peer's (the third). An overhead that
    grew by more than 10%, and by more than :data:`NOISE`, is flagged."""
    sections = []
    for title, new_rows in new.items():
        if title not in old:
            continue
        old_counts, new_counts = dict(old[title]), dict(new_rows)
        old_base, new_base = old_counts[BASELINE], new_counts[BASELINE]
        labels = [label for label, _ in new_rows]
        peer = labels[2] if len(labels) > 2 and not labels[2].startswith("flask-plug") else None
        lines = [
            f"**{title}**",
            "",
            f"| variant | instr./req. {old_name} | {new_name} | overhead {old_name}"
            f" | {new_name} | overhead change | ratio to bare {old_name} | {new_name}"
            f" | overhead to peer's {old_name} | {new_name} |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for label in labels:
            was, now = old_counts[label], new_counts[label]
            cells = [label, f"{was:,.0f}", f"{now:,.0f}"]
            if label == BASELINE:
                cells += ["", "", f"{(now - was) / was:+.1%} (total)", "1", "1", "", ""]
            else:
                over_was, over_now = was - old_base, now - new_base
                change = (over_now - over_was) / abs(over_was) if over_was else float("nan")
                # Flagged: grew by over 10%, and by more than the noise of memory layout.
                grew = change > 0.10 and over_now - over_was > NOISE * new_base
                flag = " ⚠" if grew and label.startswith("flask-plug") else ""
                cells += [
                    f"{over_was:+,.0f}", f"{over_now:+,.0f}", f"{change:+.1%}{flag}",
                    f"{was / old_base:.3f}", f"{now / new_base:.3f}",
                ]  # fmt: skip
                if peer is not None and label != peer:
                    peer_was = old_counts[peer] - old_base
                    peer_now = new_counts[peer] - new_base
                    cells += [f"{over_was / peer_was:.2f}", f"{over_now / peer_now:.2f}"]
                else:
                    cells += ["", ""]
            lines.append("| " + " | ".join(cells) + " |")
        sections.append("\n".join(lines))
    return "\n\n".join(sections)


def main(argv: list[str]) -> int:
    if argv[:1] == ["--child"]:
        suite, table_index, index, warmup, requests, folder = argv[1:7]
        child(suite, int(table_index), int(index), int(warmup), int(requests), Path(folder))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "suites",
        nargs="*",
        help=f"of {', '.join(SUITES)}, or one table of one, like timer:0 (default: all)",
    )
    parser.add_argument("--requests", type=int, default=300, help="N (default 300)")
    parser.add_argument("--warmup", type=int, default=100, help="requests first (default 100)")
    parser.add_argument("--jobs", type=int, default=2, help="processes at once (default 2)")
    parser.add_argument("--no-redis", action="store_true", help="skip the Redis table")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--name", default="measured", help="what --json calls this run")
    parser.add_argument("--compare", nargs=2, type=Path, metavar=("OLD", "NEW"),
                        help="print two --json files side by side, measure nothing")  # fmt: skip
    args = parser.parse_args(argv)
    if args.compare:
        old, new = (json.loads(path.read_text()) for path in args.compare)
        print(compare(old["name"], new["name"], old["figures"], new["figures"]))
        return 0
    selected = []
    for name in args.suites or list(SUITES):
        suite, colon, number = name.partition(":")
        if suite not in SUITES or (colon and number not in map(str, range(len(SUITES[suite])))):
            parser.error(f"no such suite or table: {name}")
        indexes = [int(number)] if colon else range(len(SUITES[suite]))
        selected += [(suite, index) for index in indexes]
    origin = _imported_from()
    figures = measure(
        selected,
        warmup=args.warmup,
        requests=args.requests,
        jobs=args.jobs,
        redis=not args.no_redis,
    )
    print(
        f"Instructions per request under callgrind: (I({2 * args.requests}) -"
        f" I({args.requests})) / {args.requests} after {args.warmup} warm-up requests,"
        f" Python {sys.version.split()[0]}. Imported from: {origin}.\n"
    )
    for title, rows in figures.items():
        print(table(title, rows), end="\n\n")
    if args.json:
        # Tables measured earlier into the same file are kept: suites can run one by one.
        kept = json.loads(args.json.read_text())["figures"] if args.json.exists() else {}
        document = {"name": args.name, "origin": origin, "figures": {**kept, **figures}}
        args.json.write_text(json.dumps(document, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
