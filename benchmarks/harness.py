"""Per-request overhead of Flask extensions, measured in one process.

Each variant is a WSGI app answering the same request. Requests go straight through the
WSGI interface (no test client, no network), so what is measured is Flask plus the
extension. Rounds interleave the variants in a shuffled order, so drift of the machine
(frequency scaling, other load) spreads over all of them; the median round is reported.
"""

from __future__ import annotations

import gc
import random
import statistics
import typing as t
from dataclasses import dataclass
from io import BytesIO
from time import perf_counter_ns

from werkzeug.test import EnvironBuilder

if t.TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication


@dataclass(frozen=True)
class Variant:
    """One way of serving the benchmark request."""

    label: str
    app: WSGIApplication
    path: str = "/"
    method: str = "GET"
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    """The request body (set its Content-Type in ``headers``); each request reads it from
    a new stream."""
    settle: t.Callable[[], object] | None = None
    """Called at the end of each timed run, so work a variant defers (a log writer
    thread's) is counted in its time."""


@dataclass(frozen=True)
class Result:
    label: str
    micros: float
    """Median microseconds per request."""
    spread: float
    """Half the interquartile range of the rounds, in microseconds."""


def _start_response(status: str, headers: list[tuple[str, str]], exc_info: t.Any = None) -> t.Any:
    return lambda data: None


def _run(
    app: WSGIApplication,
    environ: dict[str, t.Any],
    requests: int,
    settle: t.Callable[[], object] | None = None,
    request_body: bytes = b"",
) -> int:
    start = perf_counter_ns()
    for _ in range(requests):
        request = environ.copy()
        if request_body:  # a stream is read once: each request gets its own
            request["wsgi.input"] = BytesIO(request_body)
        body = app(request, _start_response)
        for _chunk in body:
            pass
        close = getattr(body, "close", None)
        if close is not None:
            close()
    if settle is not None:
        settle()
    return perf_counter_ns() - start


def measure(variants: list[Variant], *, requests: int = 2000, rounds: int = 21) -> list[Result]:
    """Median µs/request of each variant over ``rounds`` interleaved rounds."""
    environs = {
        v.label: EnvironBuilder(
            path=v.path,
            method=v.method,
            headers=list(v.headers),
            data=v.body or None,
            base_url="http://127.0.0.1/",
        ).get_environ()
        for v in variants
    }
    for v in variants:
        # Warm caches and lazy imports.
        _run(v.app, environs[v.label], requests // 4, v.settle, v.body)
    samples: dict[str, list[float]] = {v.label: [] for v in variants}
    order = list(variants)
    shuffle = random.Random(0).shuffle
    gc.disable()
    try:
        for _ in range(rounds):
            shuffle(order)
            for v in order:
                elapsed = _run(v.app, environs[v.label], requests, v.settle, v.body)
                samples[v.label].append(elapsed / requests / 1000)
            gc.collect()
    finally:
        gc.enable()
    results = []
    for v in variants:
        q1, _, q3 = statistics.quantiles(samples[v.label], n=4)
        results.append(Result(v.label, statistics.median(samples[v.label]), (q3 - q1) / 2))
    return results


def table(title: str, results: list[Result], *, baseline: str) -> str:
    """A Markdown table: each variant's cost, its overhead and ratio to ``baseline``."""
    base = next(r for r in results if r.label == baseline).micros
    lines = [
        f"**{title}**",
        "",
        "| variant | µs/request | overhead (µs) | ratio to bare Flask |",
        "| --- | ---: | ---: | ---: |",
    ]
    for r in results:
        overhead = "" if r.label == baseline else f"{r.micros - base:+.2f}"
        lines.append(
            f"| {r.label} | {r.micros:.2f} ± {r.spread:.2f} | {overhead} | {r.micros / base:.3f} |"
        )
    return "\n".join(lines)
