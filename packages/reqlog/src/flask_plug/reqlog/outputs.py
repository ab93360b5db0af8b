"""Where lines go: a file (rotated or not), standard output or error, or a logger."""

from __future__ import annotations

import contextlib
import io
import logging
import logging.handlers
import os
import stat
import sys
import typing as t

from .writer import LogWriter

if t.TYPE_CHECKING:
    from .settings import RequestLogSettings


def _raise_error(record: logging.LogRecord) -> None:
    # logging's handleError prints a traceback per failed record and carries on; the
    # writer must see the error instead, to warn once per outage and count what is lost.
    error = sys.exc_info()[1]
    if error is not None:
        raise error


class StandardStreamHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to ``sys.stdout`` or ``sys.stderr`` as they are when each line is written,
    so a stream replaced after start-up (by a test runner or a daemon) is followed.
    A failed write raises, for the writer to report."""

    def __init__(self, name: t.Literal["stdout", "stderr"]) -> None:
        super().__init__(getattr(sys, name))
        self._name = name

    def flush(self) -> None:
        self.stream = getattr(sys, self._name)
        super().flush()

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = getattr(sys, self._name)
        super().emit(record)

    def handleError(self, record: logging.LogRecord) -> None:
        _raise_error(record)


class FileHandler(logging.FileHandler):
    """A file appended to; reopened when it was moved or deleted (logrotate, an operator,
    a full disk's clean-up) and after any failed write, which raises for the writer to
    report."""

    _reopened = False

    def emit(self, record: logging.LogRecord) -> None:
        if self.stream is not None and self._moved(self.stream):
            self.reopen()
        super().emit(record)

    def handleError(self, record: logging.LogRecord) -> None:
        _raise_error(record)

    def _moved(self, stream: t.TextIO) -> bool:
        # Two system calls per batch, not per line. A deleted file kept open would hold
        # its disk space, and its lines, for good.
        try:
            return not os.path.samestat(os.stat(self.baseFilename), os.fstat(stream.fileno()))
        except FileNotFoundError:
            return True

    def reopen(self) -> None:
        """Close the stream without writing what it buffers; the next write opens the
        file again."""
        self.acquire()
        try:
            stream, self.stream = self.stream, None
            self._reopened = True
            if stream is not None:
                # Closing flushes first, which fails the same way; the descriptor is
                # closed anyway, which is what frees a deleted file's space.
                with contextlib.suppress(OSError, ValueError):
                    stream.close()
        finally:
            self.release()

    def _open(self) -> io.TextIOWrapper:
        stream = super()._open()
        if self._reopened:
            self._reopened = False
            # A write cut short (a full disk) may have left half a line: start a new one.
            if not _ends_a_line(self.baseFilename):
                stream.write("\n")
        return stream


def _ends_a_line(path: str) -> bool:
    """Whether the regular file at ``path`` is empty or ends with a newline; ``True`` for
    anything else (a device, a pipe) and for a file that cannot be read."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return True
    try:
        status = os.fstat(fd)
        if not stat.S_ISREG(status.st_mode) or status.st_size == 0:
            return True
        os.lseek(fd, status.st_size - 1, os.SEEK_SET)
        return os.read(fd, 1) == b"\n"
    except OSError:
        return True
    finally:
        os.close(fd)


class RotatingFileHandler(FileHandler, logging.handlers.RotatingFileHandler):
    """A file rotated by size, reopened when moved away."""


class TimedRotatingFileHandler(FileHandler, logging.handlers.TimedRotatingFileHandler):
    """A file rotated on a schedule, reopened when moved away."""


def make_writer(settings: RequestLogSettings) -> LogWriter:
    """The writer for ``settings.output``; a file is opened now, so a bad path fails here.

    :raises ValueError: naming ``REQLOG_OUTPUT`` if the file cannot be opened.
    """
    output = settings.output
    if isinstance(output, logging.Logger):
        if output.level == logging.NOTSET:
            # Access lines are INFO records; an unconfigured logger would drop them all.
            output.setLevel(logging.INFO)
        return LogWriter(
            settings.formatter,
            logger=output,
            max_queued=settings.queue_size,
            interval=settings.flush_interval,
            target=f"logger {output.name!r}",
        )
    if output in ("stdout", "stderr"):
        handler: logging.Handler = StandardStreamHandler(output)  # type: ignore[arg-type]
    else:
        try:
            os.makedirs(os.path.dirname(output), exist_ok=True)
            handler = _file_handler(settings, output)
        except OSError as error:
            raise ValueError(
                f"REQLOG_OUTPUT: cannot open {output!r} for writing: {error.strerror}"
            ) from None
    return LogWriter(
        settings.formatter,
        handler=handler,
        max_queued=settings.queue_size,
        interval=settings.flush_interval,
        target=output if output in ("stdout", "stderr") else repr(output),
    )


def _file_handler(settings: RequestLogSettings, path: str) -> logging.Handler:
    if settings.max_bytes is not None:
        return RotatingFileHandler(
            path,
            maxBytes=settings.max_bytes,
            backupCount=settings.backup_count,
            encoding="utf-8",
        )
    if settings.rotate_when is not None:
        return TimedRotatingFileHandler(
            path,
            when=settings.rotate_when,
            backupCount=settings.backup_count,
            encoding="utf-8",
        )
    return FileHandler(path, encoding="utf-8")
