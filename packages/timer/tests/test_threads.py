"""Spans in threads the request starts reach its ``Server-Timing`` if they end in time.

A thread sees the request's record when it runs in a copy of the request's context
(``contextvars.copy_context().run``) or in a copy of Flask's request context
(``copy_current_request_context``). Spans that end after the response started are
dropped, counted and logged at debug level, and never raise in the thread.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import threading
import typing as t
from concurrent.futures import ThreadPoolExecutor

import pytest
from flask import Flask, copy_current_request_context

from flask_plug.timer import SpanTiming, Timer, request_timed

from .conftest import parse_server_timing


def run_and_record(
    app: Flask, path: str
) -> tuple[dict[str, dict[str, str]], dict[str, SpanTiming]]:
    seen: list[tuple[SpanTiming, ...]] = []

    def record(sender: Flask, spans: tuple[SpanTiming, ...], **extra: t.Any) -> None:
        seen.append(spans)

    with request_timed.connected_to(record, app):
        response = app.test_client().get(path)
    assert response.status_code == 200, response.get_data(as_text=True)
    metrics = parse_server_timing(*response.headers.getlist("Server-Timing"))
    return {m["name"]: m for m in metrics}, {span.name: span for span in seen[0]}


def test_thread_run_in_a_copied_context(app: Flask, timer: Timer) -> None:
    def work() -> None:
        with timer.span("in-thread", desc="copy_context"):
            sum(range(1000))

    @app.get("/thread")
    def view() -> str:
        thread = threading.Thread(target=contextvars.copy_context().run, args=(work,))
        thread.start()
        thread.join()
        return "ok"

    metrics, spans = run_and_record(app, "/thread")
    assert metrics["in-thread"]["desc"] == "copy_context"
    assert spans["in-thread"].finished


def test_thread_run_with_copy_current_request_context(app: Flask, timer: Timer) -> None:
    @app.get("/thread")
    def view() -> str:
        @copy_current_request_context
        def work() -> None:
            with timer.span("flask-copy"):
                pass
            timer.start("started-in-thread")
            timer.stop("started-in-thread")

        thread = threading.Thread(target=work)
        thread.start()
        thread.join()
        return "ok"

    metrics, spans = run_and_record(app, "/thread")
    assert {"flask-copy", "started-in-thread"} <= set(metrics)
    assert spans["flask-copy"].finished and spans["started-in-thread"].finished


def test_thread_pool_both_ways(app: Flask, timer: Timer) -> None:
    fetch = timer.span("fetch")

    def fetch_one(n: int) -> int:
        with fetch:
            return n * 2

    @app.get("/pool")
    def view() -> str:
        with ThreadPoolExecutor(4) as pool:
            copied = [pool.submit(contextvars.copy_context().run, fetch_one, n) for n in range(8)]
            flask_copied = [
                pool.submit(copy_current_request_context(fetch_one), n) for n in range(8)
            ]
            total = sum(f.result() for f in copied + flask_copied)
        return str(total)

    metrics, spans = run_and_record(app, "/pool")
    assert (spans["fetch"].count, spans["fetch"].finished) == (16, True)
    assert "unfinished" not in metrics["fetch"]


def test_a_plain_thread_without_the_context_records_nothing(app: Flask, timer: Timer) -> None:
    def work() -> None:
        with timer.span("lost"):
            pass

    @app.get("/plain")
    def view() -> str:
        thread = threading.Thread(target=work)
        thread.start()
        thread.join()
        return "ok"

    metrics, spans = run_and_record(app, "/plain")
    assert "lost" not in metrics and not spans


def test_many_threads_adding_at_once_lose_nothing(app: Flask, timer: Timer) -> None:
    shared = timer.span("shared")
    threads, rounds = 8, 300
    start = threading.Barrier(threads)

    def work() -> None:
        start.wait()
        for _ in range(rounds):
            with shared:
                pass
            timer.start("named")
            timer.stop("named")

    @app.get("/many")
    def view() -> str:
        with ThreadPoolExecutor(threads) as pool:
            for future in [pool.submit(contextvars.copy_context().run, work) for _ in range(8)]:
                future.result()
        return "ok"

    _, spans = run_and_record(app, "/many")
    assert (spans["shared"].count, spans["shared"].finished) == (threads * rounds, True)
    assert (spans["named"].count, spans["named"].finished) == (threads * rounds, True)


@pytest.mark.parametrize("copy", ["contextvars", "flask"])
def test_spans_ending_after_the_response_are_dropped_and_logged(
    app: Flask, timer: Timer, caplog: pytest.LogCaptureFixture, copy: str
) -> None:
    started, response_sent = threading.Event(), threading.Event()
    outcome: list[BaseException | None] = []

    def work() -> None:
        try:
            with timer.span("early"):
                pass
            timer.start("straddles")
            with timer.span("late"):
                started.set()
                response_sent.wait(30)
            timer.stop("straddles")
            timer.start("after")
            timer.stop("after")
            outcome.append(None)
        except BaseException as e:  # the test fails on any exception in the thread
            outcome.append(e)

    threads: list[threading.Thread] = []

    @app.get("/late")
    def view() -> str:
        if copy == "contextvars":
            thread = threading.Thread(target=contextvars.copy_context().run, args=(work,))
        else:
            thread = threading.Thread(target=copy_current_request_context(work))
        threads.append(thread)
        thread.start()
        started.wait(30)
        return "ok"

    with caplog.at_level(logging.DEBUG):
        metrics, spans = run_and_record(app, "/late")
        response_sent.set()
        threads[0].join(30)
    assert outcome == [None]
    assert "early" in metrics
    assert metrics["straddles"]["unfinished"] == "1"
    assert metrics["late"]["unfinished"] == "1"
    assert "after" not in metrics and "after" not in spans
    dropped = [r for r in caplog.records if "ended after the response started" in r.getMessage()]
    assert [r.levelno for r in dropped] == [logging.DEBUG] * 3
    assert [r.getMessage() for r in dropped] == [
        f"timer: span {name!r} ended after the response started, so it is not in"
        f" Server-Timing ({n} dropped in this request)"
        for n, name in enumerate(["late", "straddles", "after"], 1)
    ]


def test_async_view_hands_work_to_a_thread(app: Flask, timer: Timer) -> None:
    def blocking() -> int:
        with timer.span("blocking", desc="to_thread"):
            return 1

    @app.get("/async")
    async def view() -> str:
        # asyncio.to_thread runs the function in a copy of the task's context.
        results = await asyncio.gather(*(asyncio.to_thread(blocking) for _ in range(3)))
        return str(sum(results))

    metrics, spans = run_and_record(app, "/async")
    assert (spans["blocking"].count, spans["blocking"].finished) == (3, True)
    assert metrics["blocking"]["desc"] == "to_thread"
