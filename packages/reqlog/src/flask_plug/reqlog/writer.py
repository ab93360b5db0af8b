"""The queue and the thread that format entries and write them, off the request thread."""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import sys
import threading
import typing as t
import weakref
from queue import Empty, SimpleQueue

from .entry import LogEntry

if t.TYPE_CHECKING:
    from .formats import Formatter

LOGGER_NAME = "flask_plug.reqlog"
BATCH_INTERVAL = 0.1
"""Seconds the writer thread gathers entries before writing them in one go, by default."""
_MAX_BATCH = 512
"""Entries written with one write call, so a backlog still rotates files in time."""

_STOP = object()


@t.runtime_checkable
class Reopens(t.Protocol):
    """A handler that can drop its stream after a failed write, to open it again with the
    next one (a file: the error may be gone with a new file descriptor)."""

    def reopen(self) -> None: ...


class LogWriter:
    """Formats queued entries on its own thread and hands the lines to a handler or logger.

    The request thread only puts an entry on a queue: it never formats, waits on a lock
    or touches the disk. The thread starts with the first entry in each process, so a
    writer created before a fork (gunicorn ``--preload``) works in every worker.

    A write that raises costs its lines, never the thread: the first failure of an outage
    and the first success after it are logged as warnings on ``flask_plug.reqlog``, the
    second with the count of lines lost, and a handler that :class:`Reopens` drops its
    stream so that the next write opens it again.

    :param formatter: turns an entry into its line.
    :param handler: where lines go in batches (a file or a standard stream) …
    :param logger: … or the logger each line is sent to as an INFO record.
    :param max_queued: entries that may wait; more are dropped and counted.
    :param interval: seconds the thread gathers entries before writing them.
    :param target: the output as the warnings name it.
    """

    def __init__(
        self,
        formatter: Formatter,
        *,
        handler: logging.Handler | None = None,
        logger: logging.Logger | None = None,
        max_queued: int = 10_000,
        interval: float = BATCH_INTERVAL,
        target: str = "",
    ) -> None:
        if (handler is None) == (logger is None):
            raise TypeError("give a handler or a logger")
        self._formatter = formatter
        self.handler = handler
        """The handler lines are written to in batches, if writing to a file or stream."""
        self.logger = logger
        """The logger each line is sent to as an INFO record, if writing to a logger."""
        self._queue: SimpleQueue[object] = SimpleQueue()
        self._max_queued = max_queued
        self._interval = interval
        self._target = target or (f"logger {logger.name!r}" if logger else repr(handler))
        self._dropped = 0
        self._lost = 0
        self._lost_in_outage = 0
        self._failing = False
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._wake = threading.Event()
        _writers.add(self)

    def put(self, entry: LogEntry) -> None:
        """Queue ``entry`` to be written; returns at once.

        If the writer is that far behind (a disk or a logging backend that hangs), the
        entry is dropped and counted instead: a flood of requests must not grow memory
        without bound. The writer logs the count once it writes again.
        """
        if self._thread is None:
            self._start()
        if self._queue.qsize() >= self._max_queued:
            self._dropped += 1  # a lost increment between threads only under-reports
            return
        self._queue.put(entry)

    def queued(self) -> int:
        """Entries waiting for the writer thread, about."""
        return self._queue.qsize()

    def dropped(self) -> int:
        """Lines not written in this process: dropped from a full queue, lost to write
        errors, or whose format failed."""
        return self._lost + self._dropped

    def alive(self) -> bool:
        """Whether the writer thread runs (it starts with the first entry)."""
        thread = self._thread
        return thread is not None and thread.is_alive()

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every entry queued so far is written.

        :returns: ``False`` if ``timeout`` seconds passed first.
        """
        if self._thread is None:
            return True
        written = threading.Event()
        self._queue.put(written)
        self._wake.set()
        return written.wait(timeout)

    def close(self, timeout: float | None = 10.0) -> None:
        """Write what is queued, stop the thread and close the handler's file. A later
        entry starts the thread and opens the file again."""
        with self._lock:
            thread, self._thread = self._thread, None
            if thread is not None:
                self._queue.put(_STOP)
                self._wake.set()
                thread.join(timeout)
            if self.handler is not None:
                self.handler.close()

    def _start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, args=(self._queue,), name="flask-plug-reqlog", daemon=True
                )
                self._thread.start()

    def _after_fork_in_child(self) -> None:
        # The parent's thread does not exist here, and its queued entries are the parent's.
        self._queue = SimpleQueue()
        self._dropped = 0
        self._lost = 0
        self._lost_in_outage = 0
        self._failing = False
        self._thread = None
        self._lock = threading.Lock()
        self._wake = threading.Event()

    def _run(self, queue: SimpleQueue[object]) -> None:
        while True:
            # The round's entries are its locals: none outlives it, so a writer waiting for
            # the next request holds nothing of the last ones. Flushes hear of it after.
            stop, flushes = self._round(queue)
            for flush in flushes:
                flush.set()
            if stop:
                return

    def _round(self, queue: SimpleQueue[object]) -> tuple[bool, list[threading.Event]]:
        """Write what is queued, once the first entry arrives.

        :returns: whether :meth:`close` asked the thread to stop, and the events of the
            :meth:`flush` calls this round served.
        """
        items = [queue.get()]
        # Gather what arrives meanwhile, so a busy app makes a few writes a second rather
        # than one per request. flush() and close() cut the wait short.
        self._wake.wait(self._interval)
        self._wake.clear()
        while True:
            try:
                items.append(queue.get_nowait())
            except Empty:
                break
        stop = False
        flushes: list[threading.Event] = []
        for start in range(0, len(items), _MAX_BATCH):
            batch = items[start : start + _MAX_BATCH]
            entries = [item for item in batch if isinstance(item, LogEntry)]
            if entries:
                self._write(entries)
            for item in batch:
                if isinstance(item, threading.Event):
                    flushes.append(item)
                elif item is _STOP:
                    stop = True
        dropped, self._dropped = self._dropped, 0
        if dropped:
            self._lost += dropped
            logging.getLogger(LOGGER_NAME).warning(
                "dropped %d access log lines: more than %d requests waited for the writer",
                dropped,
                self._max_queued,
            )
        return stop, flushes

    def _write(self, entries: list[LogEntry]) -> None:
        lines: list[tuple[str, str]] = []
        for entry in entries:
            try:
                lines.append((entry.request_id, self._formatter(entry)))
            except Exception:
                # A bug in a format must cost one line, not the writer thread.
                self._lost += 1
                logging.getLogger(LOGGER_NAME).exception(
                    "could not format the access log line of request %s", entry.request_id
                )
        if self.logger is not None:
            if self.logger.isEnabledFor(logging.INFO):
                for index, (request_id, line) in enumerate(lines):
                    try:
                        self.logger.handle(_record(self.logger.name, line, request_id))
                    except Exception as error:
                        self._failed(error, len(lines) - index)
                        return
                self._written()
        elif lines and self.handler is not None:
            # Few records for many lines: one lock, one rotation check, one write each.
            # A size-rotating handler checks the size per record, so no record may be
            # larger than the file may grow.
            limit = getattr(self.handler, "maxBytes", 0) or sys.maxsize
            chunk: list[str] = []
            size = 0
            for request_id, line in lines:
                if chunk and size + len(line) + 1 >= limit:
                    self._handle(chunk, request_id)
                    chunk, size = [], 0
                chunk.append(line)
                size += len(line) + 1
            if chunk:
                self._handle(chunk, lines[-1][0])

    def _handle(self, chunk: list[str], request_id: str) -> None:
        assert self.handler is not None
        try:
            self.handler.handle(_record(LOGGER_NAME, "\n".join(chunk), request_id))
        except Exception as error:
            # Whatever it is (a removed directory, a full disk, a bug in a handler), it
            # costs these lines, not the thread; the next write tries again.
            self._failed(error, len(chunk))
            if isinstance(self.handler, Reopens):
                # If reopening fails too, the next write says so by failing.
                with contextlib.suppress(Exception):
                    self.handler.reopen()
        else:
            self._written()

    def _failed(self, error: Exception, lost: int) -> None:
        self._lost += lost
        self._lost_in_outage += lost
        if not self._failing:
            self._failing = True
            logging.getLogger(LOGGER_NAME).warning(
                "cannot write the access log to %s (%s: %s); lines are lost until it can, "
                "and each batch tries again",
                self._target,
                type(error).__name__,
                error,
            )

    def _written(self) -> None:
        if self._failing:
            lost, self._lost_in_outage, self._failing = self._lost_in_outage, 0, False
            logging.getLogger(LOGGER_NAME).warning(
                "writing the access log to %s again; %d lines were lost", self._target, lost
            )


def _record(name: str, message: str, request_id: str) -> logging.LogRecord:
    return logging.makeLogRecord(
        {
            "name": name,
            "msg": message,
            "levelno": logging.INFO,
            "levelname": "INFO",
            "request_id": request_id,
        }
    )


_writers: weakref.WeakSet[LogWriter] = weakref.WeakSet()


def _close_all() -> None:
    for writer in list(_writers):
        writer.close()


def _after_fork_in_child() -> None:
    for writer in list(_writers):
        writer._after_fork_in_child()


# Runs before logging's own exit handler (atexit is last in, first out), so the
# handlers are still open when the last lines are written.
atexit.register(_close_all)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
